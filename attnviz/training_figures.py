"""Figure builders for the Train page: training curves and per-head summaries over training (pure: data in,
``go.Figure`` out). The layer × head attention grid is :func:`attnviz.figures.heatmap_grid`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative

from attnviz.figures import _figure
from attnviz.i18n import gettext as _

__all__ = ["curves_figure", "head_series_figure"]

_MARGIN = {"l": 10, "r": 10, "t": 50, "b": 10, "pad": 2}
_HEAD_COLOURS = qualitative.Plotly  # one colour per head (the chart is drawn without a template's colorway)


def curves_figure(
    loss_steps: Sequence[int] | np.ndarray,
    losses: Sequence[float] | np.ndarray,
    eval_steps: Sequence[int] | np.ndarray,
    accuracies: Sequence[float] | np.ndarray,
    *,
    total_steps: int,
    title: str | None = None,
) -> go.Figure:
    """Loss per step (left axis, log scale) and held-out token accuracy (right axis, 0–1) on one step axis that
    spans the whole run (``total_steps``), so the curves grow from left to right while training. Texts in the
    interface's language (the title defaults to "Training loss and held-out accuracy")."""
    title = _("Training loss and held-out accuracy") if title is None else title
    loss_y = np.asarray(losses, dtype=np.float64)
    positive = loss_y[loss_y > 0]
    data = [
        {
            "type": "scatter",
            "x": np.asarray(loss_steps, dtype=np.float64),
            "y": loss_y,
            "mode": "lines",
            "name": _("loss (training batch)"),
            "line": {"color": "#1f77b4"},
            "hovertemplate": _("step %{x}<br>loss %{y:.4f}<extra></extra>"),
        },
        {
            "type": "scatter",
            "x": np.asarray(eval_steps, dtype=np.float64),
            "y": np.asarray(accuracies, dtype=np.float64),
            "mode": "lines+markers",
            "name": _("held-out accuracy"),
            "yaxis": "y2",
            "line": {"color": "#2ca02c"},
            "marker": {"size": 4},
            "hovertemplate": _("step %{x}<br>accuracy %{y:.1%}<extra></extra>"),
        },
    ]
    y_range = None
    if positive.size:
        low, high = float(np.log10(positive.min())), float(np.log10(positive.max()))
        y_range = [low - 0.1, high + 0.1]
    layout = {
        "title": {"text": title},
        "height": 300,
        "margin": _MARGIN,
        "legend": {"orientation": "h", "y": -0.25},
        "xaxis": {"title": {"text": _("step")}, "range": [0, max(1, int(total_steps))], "automargin": True},
        "yaxis": {
            "title": {"text": _("loss")},
            "type": "log",
            "automargin": True,
            "exponentformat": "power",
            **({"range": y_range} if y_range else {}),
        },
        "yaxis2": {
            "title": {"text": _("accuracy")},
            "overlaying": "y",
            "side": "right",
            "range": [0, 1.02],
            "tickmode": "linear",
            "tick0": 0,
            "dtick": 0.25,
            "tickformat": ".0%",
            "showgrid": False,
            "automargin": True,
        },
    }
    return _figure(data, layout)


def head_series_figure(
    steps: Sequence[int],
    series: dict[str, np.ndarray],
    *,
    title: str,
    y_title: str,
    y_range: tuple[float, float] | None = None,
) -> go.Figure:
    """One line per head (``{"L1 H1": values, ...}``) over the snapshot steps, e.g. entropy during training
    (``title`` and ``y_title`` come translated)."""
    x = np.asarray(steps, dtype=np.float64)
    hover = _("{name}<br>step %{{x}}<br>{quantity} %{{y:.3f}}<extra></extra>")
    data = [
        {
            "type": "scatter",
            "x": x,
            "y": np.asarray(values, dtype=np.float64),
            "mode": "lines+markers",
            "marker": {"size": 4},
            "line": {"color": _HEAD_COLOURS[i % len(_HEAD_COLOURS)]},
            "name": name,
            "hovertemplate": hover.format(name=name, quantity=y_title),
        }
        for i, (name, values) in enumerate(series.items())
    ]
    layout = {
        "title": {"text": title},
        "height": 280,
        "margin": _MARGIN,
        "xaxis": {"title": {"text": _("step")}, "automargin": True},
        "yaxis": {"title": {"text": y_title}, "automargin": True, **({"range": list(y_range)} if y_range else {})},
    }
    return _figure(data, layout)
