"""Figure builders: properties of the plotly JSON (titles, axes, colour scales, panels, text, blank cells)."""

from __future__ import annotations

import base64
import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from attnviz.figures import (
    CELL_TEXT_LIMIT,
    MASKED_COLOUR,
    bar_chart,
    grid_shape,
    head_blocks_heatmap,
    heatmap_grid,
    line_chart,
    matrix_heatmap,
)


def spec(fig) -> dict:
    """The figure as the browser receives it (plotly's JSON, typed arrays as base64)."""
    return json.loads(pio.to_json(fig, validate=False))


def array(value) -> np.ndarray:
    if isinstance(value, dict) and "bdata" in value:
        data = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        return data.reshape([int(s) for s in str(shape).split(",")]) if shape else data
    return np.array(value, dtype=float)


def heatmaps(fig_json: dict) -> list[dict]:
    return [t for t in fig_json["data"] if t["type"] == "heatmap"]


LABELS3 = ["0 the", "1 cat", "2 the"]


# --- matrix_heatmap ------------------------------------------------------------------------------------


def test_matrix_heatmap_labels_titles_and_hover():
    fig = spec(matrix_heatmap(np.arange(9.0).reshape(3, 3), LABELS3, LABELS3, title="scores", value_title="score"))
    (trace,) = heatmaps(fig)
    assert fig["layout"]["title"]["text"] == "scores"
    assert trace["y"] == LABELS3 and trace["x"] == LABELS3  # rows are queries, columns are keys
    assert fig["layout"]["yaxis"]["title"]["text"] == "query"
    assert fig["layout"]["xaxis"]["title"]["text"] == "key"
    assert fig["layout"]["xaxis"]["type"] == "category" and fig["layout"]["yaxis"]["autorange"] == "reversed"
    assert trace["hovertemplate"] == "query %{y}<br>key %{x}<br>score %{z}<extra></extra>"
    assert trace["colorbar"]["title"]["text"] == "score"


def test_matrix_heatmap_ships_float32_typed_arrays():
    trace = heatmaps(spec(matrix_heatmap(np.eye(3, dtype=np.float64))))[0]
    assert trace["z"]["dtype"] == "f4"
    np.testing.assert_array_equal(array(trace["z"]), np.eye(3))


def test_weights_use_a_fixed_sequential_scale_unless_capped():
    trace = heatmaps(spec(matrix_heatmap(np.full((2, 2), 0.5), kind="weights")))[0]
    assert (trace["zmin"], trace["zmax"]) == (0.0, 1.0)
    capped = heatmaps(spec(matrix_heatmap(np.full((2, 2), 0.01), kind="weights", zmax=0.02)))[0]
    assert capped["zmax"] == 0.02 and capped["colorscale"] == trace["colorscale"]


def test_signed_scale_is_diverging_and_centred_on_zero():
    trace = heatmaps(spec(matrix_heatmap(np.array([[-1.0, 3.0]]))))[0]
    assert (trace["zmin"], trace["zmid"], trace["zmax"]) == (-3.0, 0.0, 3.0)
    weights = heatmaps(spec(matrix_heatmap(np.array([[0.2, 0.8]]), kind="weights")))[0]
    assert trace["colorscale"] != weights["colorscale"]


def test_cell_text_only_up_to_the_limit():
    side = int(CELL_TEXT_LIMIT**0.5)
    small = heatmaps(spec(matrix_heatmap(np.zeros((side, side)))))[0]
    big = heatmaps(spec(matrix_heatmap(np.zeros((side + 1, side + 1)))))[0]
    assert small["texttemplate"] == "%{z:.2f}"
    assert "texttemplate" not in big


def test_masked_cells_are_blank_and_show_the_grey_background():
    scores = np.array([[1.0, -np.inf], [2.0, 3.0]])
    fig = spec(matrix_heatmap(scores))
    z = array(heatmaps(fig)[0]["z"])
    assert np.isnan(z[0, 1]) and not np.isnan(z[:, 0]).any()
    assert fig["layout"]["template"]["layout"]["plot_bgcolor"] == MASKED_COLOUR


def test_long_axes_show_thinned_ticks_but_hover_keeps_every_label():
    labels = [f"{i} t{i % 7}" for i in range(512)]
    fig = spec(matrix_heatmap(np.zeros((512, 512), dtype=np.float32), labels, labels, kind="weights"))
    trace = heatmaps(fig)[0]
    assert trace["x"] == labels
    ticks = fig["layout"]["xaxis"]["tickvals"]
    assert len(ticks) <= 40 and ticks[0] == "0 t0" and set(ticks) <= set(labels)


def test_lean_template_keeps_small_figures_small():
    assert len(pio.to_json(matrix_heatmap(np.zeros((3, 3))))) < 2500  # plotly's default template alone is ~6.5 kB


def test_repeated_labels_are_rejected():
    with pytest.raises(ValueError, match="unique"):
        matrix_heatmap(np.zeros((2, 2)), ["the", "the"], ["a", "b"])


# --- heatmap_grid --------------------------------------------------------------------------------------


@pytest.mark.parametrize("heads", [1, 2, 3, 8, 16])
def test_grid_has_one_panel_per_head(heads):
    stack = np.random.default_rng(heads).random((heads, 5, 5))
    fig = spec(heatmap_grid(stack, title="weights"))
    traces = heatmaps(fig)
    assert len(traces) == heads
    titles = [a["text"] for a in fig["layout"]["annotations"]]
    assert titles == [f"head {h}" for h in range(heads)]
    axes = {t["xaxis"] for t in traces}
    assert len(axes) == heads  # each head on its own axes
    rows, cols = grid_shape(heads)
    assert rows * cols >= heads and cols <= 4


def test_grid_shares_one_colour_axis_with_plotly_names():
    fig = spec(heatmap_grid(np.array([[[-2.0, 1.0]], [[0.5, 0.0]]]), kind="signed", value_title="score"))
    assert all(t["coloraxis"] == "coloraxis" for t in heatmaps(fig))
    axis = fig["layout"]["coloraxis"]
    assert (axis["cmin"], axis["cmid"], axis["cmax"]) == (-2.0, 0.0, 2.0)
    assert axis["colorbar"]["title"]["text"] == "score"
    weights = spec(heatmap_grid(np.full((2, 2, 2), 0.5), zmax=0.7))["layout"]["coloraxis"]
    assert (weights["cmin"], weights["cmax"]) == (0.0, 0.7)
    assert axis["colorscale"] != weights["colorscale"]


def test_grid_axes_are_titled_on_the_outer_panels_and_zoom_together():
    fig = spec(heatmap_grid(np.zeros((6, 3, 3)), LABELS3, LABELS3))
    layout = fig["layout"]
    # 6 panels in rows of 4: panels 2 and 3 have no panel below them, nor do 4 and 5
    bottom = {f"xaxis{'' if h == 0 else h + 1}" for h in range(6) if h + 4 >= 6}
    for h in range(6):
        x = layout[f"xaxis{'' if h == 0 else h + 1}"]
        y = layout[f"yaxis{'' if h == 0 else h + 1}"]
        name = f"xaxis{'' if h == 0 else h + 1}"
        assert x["showticklabels"] == (name in bottom)
        assert (x["title"]["text"] == "key") == (name in bottom)
        assert y["showticklabels"] == (h % 4 == 0)
        assert (y["title"]["text"] == "query") == (h % 4 == 0)
        if h:
            assert x["matches"] == "x" and y["matches"] == "y"


def test_grid_text_only_for_small_panels_and_blank_masked_cells():
    causal = np.where(np.tril(np.ones((4, 4))) > 0, 0.25, np.nan)
    small = heatmaps(spec(heatmap_grid(np.stack([causal, causal]))))
    assert all(t["texttemplate"] == "%{z:.2f}" for t in small)
    assert np.isnan(array(small[0]["z"])[0, 3])
    big = heatmaps(spec(heatmap_grid(np.zeros((4, 30, 30)))))
    assert all("texttemplate" not in t for t in big)


def test_grid_rejects_wrong_shapes():
    with pytest.raises(ValueError, match="stack"):
        heatmap_grid(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="panel titles"):
        heatmap_grid(np.zeros((2, 3, 3)), panel_titles=["only one"])


# --- head_blocks_heatmap -------------------------------------------------------------------------------


def test_head_blocks_separate_and_name_each_head():
    fig = spec(head_blocks_heatmap(np.arange(24.0).reshape(3, 8), 4, LABELS3, title="concat"))
    trace = heatmaps(fig)[0]
    assert trace["x"] == [f"h{h} d{j}" for h in range(4) for j in range(2)]
    assert [s["x0"] for s in fig["layout"]["shapes"]] == [1.5, 3.5, 5.5]
    assert [a["text"] for a in fig["layout"]["annotations"]] == ["head 0", "head 1", "head 2", "head 3"]
    assert fig["layout"]["title"]["text"] == "concat"


def test_head_blocks_need_equal_blocks():
    with pytest.raises(ValueError, match="num_heads=3"):
        head_blocks_heatmap(np.zeros((2, 8)), 3)


# --- schema ------------------------------------------------------------------------------------------------


def _every_builder():
    z = np.arange(12.0).reshape(3, 4) - 5
    z[0, 1] = np.nan
    labels4 = ["a", "b", "c", "d"]
    return [
        matrix_heatmap(z, LABELS3, labels4, title="t", value_title="score"),
        matrix_heatmap(np.ones((30, 30)), kind="weights", zmax=0.5, height=400),
        matrix_heatmap(z, LABELS3, labels4, kind="sequential", show_text=False),
        heatmap_grid(np.stack([z, -z]), LABELS3, labels4, title="grid", kind="signed", value_title="score"),
        heatmap_grid(np.ones((8, 3, 3)) / 3, LABELS3, LABELS3, zmax=0.5),
        head_blocks_heatmap(z, 2, LABELS3, title="concat"),
        bar_chart([0.2, 0.3, 0.5], LABELS3, title="one query", highlight=1),
        line_chart(np.arange(5), {"dim 0": np.sin(np.arange(5)), "dim 1": np.cos(np.arange(5))}, title="PE"),
    ]


@pytest.mark.parametrize("index", range(len(_every_builder())))
def test_builders_follow_plotlys_schema(index):
    """The builders skip plotly's per-property validation for speed: the same dicts must pass it unchanged."""
    fig = _every_builder()[index]
    validated = go.Figure(fig.to_dict())  # raises ValueError on any property plotly does not know
    assert spec(validated) == spec(fig)


# --- tick policy --------------------------------------------------------------------------------------------


def test_four_heads_of_eleven_tokens_label_every_key():
    labels = [f"{i} tok" for i in range(11)]
    fig = spec(heatmap_grid(np.full((4, 11, 11), 1 / 11), labels, labels))
    for name in ("xaxis", "xaxis2", "xaxis3", "xaxis4"):
        assert fig["layout"][name]["tickmode"] == "auto", name  # all 11 keys labelled, not every other one


def test_thinned_ticks_are_an_explicit_array_and_never_nticks():
    labels = [f"{i} w" for i in range(300)]
    for fig in (
        spec(matrix_heatmap(np.zeros((300, 300)), labels, labels, max_ticks=40)),
        spec(bar_chart(np.zeros(300), labels)),
    ):
        axis = fig["layout"]["xaxis"]
        assert axis["tickmode"] == "array" and 0 < len(axis["tickvals"]) <= 60
        assert "nticks" not in axis
        assert axis["tickvals"] == labels[:: labels.index(axis["tickvals"][1])]


def test_odd_ticks_alternate_sin_and_cos():
    labels = [f"{j} {'sin' if j % 2 == 0 else 'cos'}" for j in range(64)]
    axis = spec(matrix_heatmap(np.zeros((2, 64)), ["0", "1"], labels, max_ticks=32, odd_ticks=True))["layout"]["xaxis"]
    assert axis["tickvals"] == labels[::3]
