"""The model view and head view figures: schema, layout from the data's shape, lines as the weights say."""

from __future__ import annotations

import base64
import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from attnviz.encoder_figures import (
    MIN_LINE_WEIGHT,
    OPACITY_LEVELS,
    head_view_figure,
    model_view_figure,
    model_view_panel,
)


def spec(fig) -> dict:
    return json.loads(pio.to_json(fig, validate=False))


def array(value) -> np.ndarray:
    if isinstance(value, dict) and "bdata" in value:
        data = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        if isinstance(shape, str):
            shape = [int(n) for n in shape.split(",")]
        return data.reshape(shape) if shape is not None else data
    return np.asarray(value, dtype=float)


def _weights(shape, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.random(shape) ** 3
    return w / w.sum(-1, keepdims=True)


def test_model_view_layout_follows_the_grid_and_panels_hold_their_weights():
    grid = _weights((3, 4, 5, 5))
    labels = list("abcde")
    fig = spec(model_view_figure(grid, labels, selected=(2, 1)))
    heatmaps = [t for t in fig["data"] if t["type"] == "heatmap"]
    assert len(heatmaps) == 12
    for layer in range(3):
        for head in range(4):
            trace = heatmaps[model_view_panel(layer, head, 4)]
            assert trace["name"] == f"layer {layer} head {head}"
            np.testing.assert_allclose(array(trace["z"]), grid[layer, head], atol=1e-6)
    texts = {a["text"] for a in fig["layout"]["annotations"]}
    assert {"head 0", "head 3", "layer 0", "layer 2"} <= texts
    click = fig["data"][-1]
    assert click["type"] == "scatter" and len(click["x"]) == 12
    assert [list(c) for c in click["customdata"]][model_view_panel(2, 1, 4)] == [2, 1]
    (rect,) = fig["layout"]["shapes"]
    panel = fig["layout"]["xaxis" + str(model_view_panel(2, 1, 4) + 1)]["domain"]
    assert rect["x0"] == pytest.approx(panel[0]) and rect["x1"] == pytest.approx(panel[1])
    assert fig["layout"]["coloraxis"]["cmax"] == 1.0


def test_model_view_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"\(L, H, G, G\)"):
        model_view_figure(np.ones((2, 3, 3)), list("abc"))
    with pytest.raises(ValueError, match="2 labels for 3 positions"):
        model_view_figure(np.ones((1, 1, 3, 3)), ["a", "b"])


def _lines(fig, head):
    """(query, key, opacity) of every drawn line of ``head``."""
    out = []
    for trace in fig["data"]:
        if trace.get("mode") == "lines" and trace["name"] == f"head {head}":
            xs, ys = trace["x"], trace["y"]
            for k in range(0, len(xs) - 2, 3):
                if xs[k] is not None:
                    out.append((int(ys[k]), int(ys[k + 1]), trace["opacity"]))
    return out


def test_head_view_draws_a_line_per_weight_with_opacity_rising():
    w = _weights((2, 6, 6), seed=1)
    w[1, 2, 3] = np.nan  # masked: no line
    fig = spec(head_view_figure(w, [f"{i} t" for i in range(6)]))
    for head in (0, 1):
        lines = _lines(fig, head)
        expected = {
            (i, j)
            for i in range(6)
            for j in range(6)
            if np.isfinite(w[head, i, j]) and w[head, i, j] >= MIN_LINE_WEIGHT
        }
        assert {(i, j) for i, j, _ in lines} == expected
        for i, j, opacity in lines:
            level = min(int(w[head, i, j] * OPACITY_LEVELS), OPACITY_LEVELS - 1)
            assert opacity == pytest.approx(0.12 + 0.88 * (level + 1) / OPACITY_LEVELS, abs=1e-3)
    strongest = max(_lines(fig, 0), key=lambda line: w[0, line[0], line[1]])
    assert strongest[2] == max(o for *_, o in _lines(fig, 0))
    names = [t["name"] for t in fig["data"] if t.get("showlegend")]
    assert names == ["head 0", "head 1"]


def test_head_view_focus_and_head_choice():
    w = _weights((3, 5, 5), seed=2)
    fig = spec(head_view_figure(w, list("abcde"), heads=[2], focus=4))
    assert not _lines(fig, 0) and not _lines(fig, 1)
    assert {(i, j) for i, j, _ in _lines(fig, 2)} == {(4, j) for j in range(5)}
    queries = next(t for t in fig["data"] if t.get("name") == "queries")
    assert queries["textfont"]["color"][4] == "#d62728"
    top = int(np.argmax(w[2, 0]))
    assert f"head 2 → {'abcde'[top]}" in queries["hovertext"][0]
    with pytest.raises(ValueError, match="focus=5"):
        head_view_figure(w, list("abcde"), focus=5)
    with pytest.raises(ValueError, match=r"heads \[3\]"):
        head_view_figure(w, list("abcde"), heads=[3])


@pytest.mark.parametrize(
    "build",
    [
        lambda: model_view_figure(_weights((2, 3, 4, 4)), list("abcd"), selected=(1, 2), top=0.5, pooled=True),
        lambda: head_view_figure(_weights((2, 4, 4)), list("abcd"), title="layer 0"),
        lambda: head_view_figure(np.zeros((1, 3, 3)), list("abc")),
    ],
)
def test_builders_follow_plotlys_schema(build):
    fig = build()
    validated = go.Figure(fig.to_dict())
    assert spec(validated) == spec(fig)
