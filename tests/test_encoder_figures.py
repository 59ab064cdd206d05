"""The model view figure: schema, layout from the data's shape, each panel its layer and head."""

from __future__ import annotations

import base64
import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from attnviz.encoder_figures import model_view_figure, model_view_panel


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


@pytest.mark.parametrize(
    "build",
    [
        lambda: model_view_figure(_weights((2, 3, 4, 4)), list("abcd"), selected=(1, 2), top=0.5, pooled=True),
        lambda: model_view_figure(np.full((1, 1, 2, 2), np.nan), ["a", "b"]),
    ],
)
def test_builders_follow_plotlys_schema(build):
    fig = build()
    validated = go.Figure(fig.to_dict())
    assert spec(validated) == spec(fig)
