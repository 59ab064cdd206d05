"""Train page figures: valid plotly JSON carrying exactly the data given."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from attnviz.training_figures import curves_figure, head_series_figure


def _valid(fig: go.Figure) -> dict:
    spec = json.loads(pio.to_json(fig))
    go.Figure(spec)  # validates every property against plotly's schema; raises on a bad one
    return spec


def test_curves_figure_two_axes_and_full_step_range():
    fig = curves_figure([1, 2, 3], [2.0, 1.0, 0.5], [0, 3], [0.1, 0.9], total_steps=400)
    spec = _valid(fig)
    loss, accuracy = spec["data"]
    assert list(fig.data[0].y) == [2.0, 1.0, 0.5] and list(fig.data[1].y) == [0.1, 0.9]
    assert accuracy["yaxis"] == "y2" and "yaxis" not in loss
    assert spec["layout"]["xaxis"]["range"] == [0, 400]
    assert spec["layout"]["yaxis"]["type"] == "log"
    low, high = spec["layout"]["yaxis"]["range"]
    assert low < np.log10(0.5) and high > np.log10(2.0)


def test_curves_figure_before_the_first_step():
    spec = _valid(curves_figure([], [], [0], [0.1], total_steps=10))
    assert "range" not in spec["layout"]["yaxis"]


def test_head_series_figure_one_line_per_head():
    fig = head_series_figure(
        [0, 20], {"L1 H1": np.array([3.0, 1.0]), "L1 H2": np.array([3.0, 2.5])}, title="entropy", y_title="bits"
    )
    spec = _valid(fig)
    assert [d["name"] for d in spec["data"]] == ["L1 H1", "L1 H2"]
    assert list(fig.data[1].y) == [3.0, 2.5] and list(fig.data[0].x) == [0, 20]
