"""Figure builders for the attention lab that are not heatmaps: histograms of scores and curves over d_k.

Pure: data in, ``plotly.graph_objects.Figure`` out, assembled as plain dicts (the tests check them against
plotly's schema). Heatmaps come from :mod:`attnviz.figures`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from attnviz.i18n import N_
from attnviz.i18n import gettext as _
from attnviz.scaling import ScalingPoint

__all__ = ["SCALING_STATS", "scaling_curve", "score_histogram"]

_MARGIN = {"l": 60, "r": 10, "t": 50, "b": 10, "pad": 2}  # room for the y tick labels and title
_UNSCALED, _SCALED = "#d62728", "#1f77b4"

SCALING_STATS = {
    "max_weight": (N_("largest weight in a row"), N_("mean over rows; 1 = one-hot")),
    "entropy": (N_("row entropy, bits"), N_("mean over rows; 0 = one-hot")),
    "jacobian": (N_("‖∂softmax/∂scores‖"), N_("mean over rows; 0 = no gradient")),
}
"""The statistics :func:`scaling_curve` draws: field stem → (axis title, what the extreme means), catalog
messages (the figure shows them in the current language)."""


def _figure(data: list[dict], layout: dict) -> go.Figure:
    return go.Figure(data=data, layout=layout, _validate=False)


def _values(values: object) -> np.ndarray:
    array = np.asarray(values.detach().cpu().numpy() if hasattr(values, "detach") else values, dtype=np.float64)
    return array.reshape(-1)


def score_histogram(
    series: dict[str, object], *, title: str = "", x_title: str | None = None, bins: int = 60, height: int = 320
) -> go.Figure:
    """Overlaid histograms, one per named series of values (any shape, flattened), shared bin edges.

    Bars are normalised to probability density, so series with different counts compare by shape. ``x_title``
    defaults to "score" in the current language.
    """
    x_title = _("score") if x_title is None else x_title
    density = _("density")
    if not series:
        raise ValueError("score_histogram needs at least one series")
    arrays = {name: _values(v) for name, v in series.items()}
    finite = np.concatenate([a[np.isfinite(a)] for a in arrays.values()])
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if high <= low:
        low, high = low - 0.5, high + 0.5
    size = (high - low) / max(1, int(bins))
    colours = [_UNSCALED, _SCALED, "#2ca02c", "#9467bd"]
    data = [
        {
            "type": "histogram",
            "x": values.astype(np.float32),
            "name": name,
            "histnorm": "probability density",
            "opacity": 0.6,
            "marker": {"color": colours[i % len(colours)]},
            "xbins": {"start": low, "end": high + size, "size": size},
            "hovertemplate": f"{name}<br>{x_title} %{{x}}<br>{density} %{{y:.3f}}<extra></extra>",
        }
        for i, (name, values) in enumerate(arrays.items())
    ]
    layout = {
        "title": {"text": title},
        "barmode": "overlay",
        "height": height,
        "margin": _MARGIN,
        "xaxis": {"title": {"text": x_title}, "automargin": True},
        "yaxis": {"title": {"text": density}, "automargin": True},
        "legend": {"orientation": "h", "y": -0.25},
    }
    return _figure(data, layout)


def scaling_curve(
    points: Sequence[ScalingPoint], stat: str, *, current: int | None = None, height: int = 300
) -> go.Figure:
    """One statistic of the √d_k experiment over d_k (log axis), unscaled and scaled; a dotted line at ``current``."""
    if stat not in SCALING_STATS:
        raise ValueError(f"stat must be one of {tuple(SCALING_STATS)}, got {stat!r}")
    if not points:
        raise ValueError("scaling_curve needs at least one point")
    y_title, extreme = (_(text) for text in SCALING_STATS[stat])
    d_ks = [p.d_k for p in points]
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "x": d_ks,
            "y": [getattr(p, f"{stat}_{kind}") for p in points],
            "name": name,
            "line": {"color": colour},
            "hovertemplate": f"{name}<br>d_k %{{x}}<br>%{{y:.4f}}<extra></extra>",
        }
        for kind, name, colour in (("unscaled", _("q·k (unscaled)"), _UNSCALED), ("scaled", "q·k / √d_k", _SCALED))
    ]
    layout = {
        "title": {"text": f"{y_title}<br><sup>{extreme}</sup>"},
        "height": height,
        "margin": _MARGIN,
        "xaxis": {"title": {"text": "d_k"}, "type": "log", "automargin": True},
        "yaxis": {"title": {"text": y_title}, "rangemode": "tozero", "automargin": True},
        "legend": {"orientation": "h", "y": -0.3},
    }
    if current is not None:
        layout["shapes"] = [
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": current,
                "x1": current,
                "y0": 0,
                "y1": 1,
                "line": {"dash": "dot", "color": "#555"},
            }
        ]
    return _figure(data, layout)
