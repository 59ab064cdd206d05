"""The model view figure: one image of layers × heads panels, each its layer and head, and a click layer."""

from __future__ import annotations

import base64
import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from attnviz.encoder_figures import BLANK, LEVELS, model_view_figure, model_view_panel, model_view_panel_at


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


def panel(fig: dict, layer: int, head: int) -> np.ndarray:
    """One panel's weights read back from the image through ``layout.meta`` (NaN where blank)."""
    meta = fig["layout"]["meta"]
    g, gap = meta["cells"], meta["gap"]
    z = array(fig["data"][0]["z"])
    block = z[layer * (g + gap) : layer * (g + gap) + g, head * (g + gap) : head * (g + gap) + g].astype(float)
    return np.where(block == meta["blank"], np.nan, (block - meta["offset"]) / meta["levels"] * meta["top"])


def _weights(shape, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.random(shape) ** 3
    return w / w.sum(-1, keepdims=True)


def test_panels_hold_their_weights_to_a_254th_of_the_top():
    grid = _weights((3, 4, 5, 5))
    grid[1, 2, 0, 4] = np.nan  # a masked cell stays blank
    fig = spec(model_view_figure(grid, top=0.8))
    assert fig["data"][0]["type"] == "heatmap" and array(fig["data"][0]["z"]).dtype == np.uint8
    for layer in range(3):
        for head in range(4):
            want = np.minimum(grid[layer, head], 0.8)
            got = panel(fig, layer, head)
            np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
            np.testing.assert_allclose(got[~np.isnan(want)], want[~np.isnan(want)], atol=0.8 / LEVELS / 2 + 1e-9)
    z = array(fig["data"][0]["z"])
    gap = fig["layout"]["meta"]["gap"]
    assert np.all(z[5 : 5 + gap, :] == BLANK) and np.all(z[:, 5 : 5 + gap] == BLANK)  # gaps between panels
    texts = {a["text"] for a in fig["layout"]["annotations"]}
    assert {"head 0", "head 3", "layer 0", "layer 2"} <= texts
    bar = fig["layout"]["coloraxis"]["colorbar"]
    assert bar["ticktext"][-1] == "0.8" and bar["tickvals"][-1] == 1 + LEVELS == 255
    assert BLANK == 0 and z.max() == 255


def test_blank_bytes_keep_the_json_small():
    """A blank cell is byte 0 ("A" in base64): 255 would be "/", which plotly's JSON escapes to 6 characters."""
    fig = model_view_figure(np.full((10, 3, 64, 64), np.nan))
    assert len(pio.to_json(fig, validate=False)) < 1.4 * fig.data[0].z.size + 10_000


def test_click_layer_names_each_panel():
    fig = spec(model_view_figure(_weights((2, 3, 4, 4))))
    click = fig["data"][1]
    assert click["type"] == "scatter" and len(click["x"]) == 6
    k = model_view_panel(1, 2, 3)
    assert list(click["customdata"][k]) == [1, 2] and click["text"][k] == "layer 1 head 2"
    meta = fig["layout"]["meta"]
    g, gap = meta["cells"], meta["gap"]
    assert click["x"][k] == pytest.approx(2 * (g + gap) + (g - 1) / 2)
    assert click["y"][k] == pytest.approx(1 * (g + gap) + (g - 1) / 2)


def test_model_view_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"\(L, H, G, G\)"):
        model_view_figure(np.ones((2, 3, 3)))
    with pytest.raises(ValueError, match="top=0"):
        model_view_figure(np.ones((1, 1, 2, 2)), top=0)


@pytest.mark.parametrize(
    "build",
    [
        lambda: model_view_figure(_weights((2, 3, 4, 4)), top=0.5, pooled=True),
        lambda: model_view_figure(np.full((1, 1, 2, 2), np.nan)),
    ],
)
def test_builders_follow_plotlys_schema(build):
    fig = build()
    validated = go.Figure(fig.to_dict())
    assert spec(validated) == spec(fig)


def test_a_click_anywhere_in_a_panel_names_it():
    fig = spec(model_view_figure(_weights((3, 4, 8, 8))))
    meta = fig["layout"]["meta"]
    click = fig["data"][1]
    for k, (layer, head) in enumerate(click["customdata"]):
        assert model_view_panel_at(click["x"][k], click["y"][k], 8, 3, 4) == (layer, head)
    g, gap = meta["cells"], meta["gap"]
    assert model_view_panel_at(2 * (g + gap), 1 * (g + gap) + g - 1, g, 3, 4) == (1, 2)  # panel corners
    assert model_view_panel_at(g, 0, g, 3, 4) is None  # the gap after head 0
    assert model_view_panel_at(0, 3 * (g + gap), g, 3, 4) is None  # below the last layer
