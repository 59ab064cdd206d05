"""The lab's histogram and d_k curves: plotly-valid, and drawing exactly the numbers given."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from attnviz.lab_figures import SCALING_STATS, scaling_curve, score_histogram
from attnviz.scaling import ScalingPoint


def _valid(fig: go.Figure) -> dict:
    """Re-build with plotly's validation on (raises on any property outside its schema); return the dict."""
    checked = go.Figure(fig.to_dict())
    return checked.to_dict()


def _point(d_k: int, base: float) -> ScalingPoint:
    return ScalingPoint(d_k, d_k, 1.0, base, 0.2, 1 - base, 3.0, base / 10, 0.3)


def test_histogram_overlays_series_on_shared_bins():
    raw = np.array([-4.0, 0.0, 4.0, 8.0])
    scaled = raw / 2
    built = score_histogram({"raw": raw, "scaled": scaled}, x_title="q·k")
    fig = _valid(built)
    assert [t["name"] for t in fig["data"]] == ["raw", "scaled"]
    assert fig["data"][0]["xbins"] == fig["data"][1]["xbins"]
    assert fig["data"][0]["xbins"]["start"] == -4.0
    assert np.allclose(np.asarray(built.data[1].x, dtype=float), scaled)
    assert fig["layout"]["barmode"] == "overlay" and fig["data"][0]["histnorm"] == "probability density"


def test_histogram_of_a_constant_still_has_a_bin_width():
    fig = _valid(score_histogram({"c": np.zeros(5)}))
    assert fig["data"][0]["xbins"]["size"] > 0
    with pytest.raises(ValueError, match="at least one series"):
        score_histogram({})


@pytest.mark.parametrize("stat", list(SCALING_STATS))
def test_curve_draws_both_lines_on_a_log_axis(stat):
    points = [_point(1, 0.2), _point(16, 0.6), _point(1024, 0.95)]
    fig = _valid(scaling_curve(points, stat, current=16))
    assert fig["layout"]["xaxis"]["type"] == "log"
    unscaled, scaled = fig["data"]
    assert list(unscaled["x"]) == [1, 16, 1024]
    assert list(unscaled["y"]) == [getattr(p, f"{stat}_unscaled") for p in points]
    assert list(scaled["y"]) == [getattr(p, f"{stat}_scaled") for p in points]
    assert fig["layout"]["shapes"][0]["x0"] == 16


def test_curve_rejects_unknown_stat_and_no_points():
    with pytest.raises(ValueError, match="stat must be one of"):
        scaling_curve([_point(1, 0.1)], "variance")
    with pytest.raises(ValueError, match="at least one point"):
        scaling_curve([], "entropy")
