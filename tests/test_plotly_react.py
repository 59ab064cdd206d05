"""The plotly.js-alone benchmark's figures (benchmarks/plotly_react.py): the one-trace grid holds exactly the grid's
cells, and every figure it times is what the app draws."""

from __future__ import annotations

import base64
import json

import numpy as np
import plotly.graph_objects as go
import plotly.io

from attnviz.examples import WORKED_EXAMPLE
from attnviz.figures import heatmap_grid
from benchmarks.plotly_react import GAP, figures, one_trace_grid, worked_scores


def _grid(stack: np.ndarray, labels: tuple[str, ...]) -> dict:
    return json.loads(plotly.io.to_json(heatmap_grid(stack, labels, labels, kind="weights"), validate=False))


def test_one_trace_grid_puts_each_panel_in_its_place_with_blank_gaps():
    rng = np.random.default_rng(3)
    stack = rng.random((6, 3, 3))
    labels = ("0–7", "8–15", "16–23")
    spec = one_trace_grid(stack, labels, _grid(stack, labels), cols=4)
    (trace,) = spec["data"]
    z = np.array([[np.nan if v is None else v for v in row] for row in trace["z"]], dtype=float)
    # 6 panels in rows of 4: two rows of 3 cells, GAP blank cells between panels.
    assert z.shape == (2 * 3 + GAP, 4 * 3 + 3 * GAP)
    for h in range(6):
        r, c = divmod(h, 4)
        top, left = r * (3 + GAP), c * (3 + GAP)
        np.testing.assert_array_equal(z[top : top + 3, left : left + 3], stack[h])
        assert trace["text"][top + 2][left + 1] == f"head {h}<br>queries {labels[2]}<br>keys {labels[1]}"
    # Everything that is not a panel's cell is blank (the two missing panels of the second row included).
    assert np.isnan(z).sum() == z.size - stack.size
    assert [a["text"] for a in spec["layout"]["annotations"]] == [f"head {h}" for h in range(6)]
    # The grid's own colour axis and size: the same colours and the same room on the page.
    grid = _grid(stack, labels)
    assert spec["layout"]["coloraxis"] == grid["layout"]["coloraxis"]
    assert spec["layout"]["height"] == grid["layout"]["height"]
    go.Figure(spec)  # a valid plotly figure


def test_worked_scores_are_the_tutorials_scores_with_the_edited_cell():
    first, second = worked_scores()
    x = np.array(WORKED_EXAMPLE.x, dtype=np.float64)
    w_q, w_k = np.array(WORKED_EXAMPLE.w_q, dtype=np.float64), np.array(WORKED_EXAMPLE.w_k, dtype=np.float64)
    for value, spec in ((5.0, first), (1.5, second)):
        x[0, 0] = value
        expected = (x @ w_q) @ (x @ w_k).T  # float64 numpy, not the app's code
        (trace,) = spec["data"]
        z = trace["z"]
        if isinstance(z, dict):  # plotly's base64 typed array
            z = np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(3, 3)
        np.testing.assert_allclose(np.array(z, dtype=float), expected, rtol=1e-12)


def test_every_timed_pair_is_two_different_figures_of_one_shape():
    pairs = figures()
    assert len(pairs) == 4
    for name, (a, b) in pairs.items():
        assert a != b, name  # a react with new numbers, not a no-op
        assert len(a["data"]) == len(b["data"]), name
        go.Figure(a), go.Figure(b)
