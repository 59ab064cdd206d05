"""Figure builders of the Encoder page: the model view (every layer × head in one image).

Pure: arrays in, ``plotly.graph_objects.Figure`` out; colours and ticks follow :mod:`attnviz.figures`.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from attnviz.arrays import to_numpy
from attnviz.figures import _SCALES, _TEMPLATE, SEQUENTIAL, _figure
from attnviz.i18n import gettext as _

__all__ = [
    "BLANK",
    "HEAD_COLOURS",
    "LEVELS",
    "model_view_figure",
    "model_view_gap",
    "model_view_mosaic",
    "model_view_panel",
    "model_view_panel_at",
]

# One colour per head (plotly's qualitative "Plotly" palette, then "D3"), as BertViz colours its heads.
HEAD_COLOURS = (
    "#636EFA", "#EF553B", "#00CC96", "#AB63FA", "#FFA15A", "#19D3F3", "#FF6692", "#B6E880",
    "#FF97FF", "#FECB52", "#1F77B4", "#FF7F0E", "#2CA02C", "#D62728", "#9467BD", "#8C564B",
)  # fmt: skip


LEVELS = 254  # weights travel as uint8 1 … 255 (a quarter of float32's bytes); 0 marks a blank cell
BLANK = 0  # 0 bytes are "A" in base64; 255 would be "/", which plotly's JSON writes as 6 characters


def _blues_with_blank() -> list[list]:
    """White for 0 (gaps between panels and masked cells), then plotly's Blues over 1 … 255."""
    blues = _SCALES[SEQUENTIAL]
    scale = [[(1 + float(stop) * LEVELS) / 255, colour] for stop, colour in blues]
    return [[0.0, "#ffffff"], [0.5 / 255, "#ffffff"], *scale]


def model_view_panel(layer: int, head: int, num_heads: int) -> int:
    """Index of the (layer, head) panel among the click markers of :func:`model_view_figure` (layers are rows)."""
    return layer * num_heads + head


def model_view_gap(cells: int) -> int:
    """Blank rows/columns between two panels of ``cells`` × ``cells``."""
    return max(1, cells // 8)


def model_view_panel_at(x: float, y: float, cells: int, num_layers: int, num_heads: int) -> tuple[int, int] | None:
    """``(layer, head)`` of the panel holding the point ``(x, y)`` of the model view's image (None: a gap or
    outside)."""
    step = cells + model_view_gap(cells)
    layer, row = divmod(round(y), step)
    head, col = divmod(round(x), step)
    if not (0 <= layer < num_layers and 0 <= head < num_heads) or row >= cells or col >= cells:
        return None
    return int(layer), int(head)


def model_view_mosaic(grid, top: float = 1.0) -> tuple[np.ndarray, int]:
    """``grid`` ``(L, H, G, G)`` as one uint8 image ``(L·G + (L−1)·gap, H·G + (H−1)·gap)`` and its ``gap``:
    ``1 + round(min(w / top, 1) · 254)`` per cell, 0 in the gaps and where a weight is NaN (masked)."""
    z = to_numpy(grid)
    if z.ndim != 4 or z.shape[-1] != z.shape[-2]:
        raise ValueError(_("model_view_figure takes (L, H, G, G) weights, got shape {shape}").format(shape=z.shape))
    if not top > 0:
        raise ValueError(_("top={top} must be positive").format(top=repr(top)))
    n_layers, n_heads, g = z.shape[:3]
    gap = model_view_gap(g)
    mosaic = np.full((n_layers * (g + gap) - gap, n_heads * (g + gap) - gap), BLANK, dtype=np.uint8)
    levels = np.where(np.isfinite(z), 1 + np.rint(np.clip(np.nan_to_num(z) / top, 0, 1) * LEVELS), BLANK)
    for layer in range(n_layers):
        for head in range(n_heads):
            r, c = layer * (g + gap), head * (g + gap)
            mosaic[r : r + g, c : c + g] = levels[layer, head]
    return mosaic, gap


def model_view_figure(grid, *, top: float = 1.0, pooled: bool = False) -> go.Figure:
    """Every layer × head's attention weights ``grid`` ``(L, H, G, G)`` as one image of small panels: rows =
    layers, columns = heads, each panel rows = queries, columns = keys, on one colour scale capped at ``top``.

    One heatmap (fast to draw however many panels) of uint8 levels, see :func:`model_view_mosaic`; its geometry is
    in ``layout.meta``. A transparent marker on each panel makes a click select that panel (``customdata`` =
    ``[layer, head]``): point selection does not apply to heatmaps."""
    mosaic, gap = model_view_mosaic(grid, top)
    n_layers, n_heads, g = np.shape(grid)[:3]
    cell = int(min(130, max(48, 760 / n_heads)))  # pixels per panel
    width, height = n_heads * cell, n_layers * cell
    left, right, top_margin = 64, 90, 28
    centres = [(head * (g + gap) + (g - 1) / 2, layer * (g + gap) + (g - 1) / 2)
               for layer in range(n_layers) for head in range(n_heads)]  # fmt: skip
    hover = (
        _("{panel}: blocks of queries × keys · click to open")
        if pooled
        else _("{panel}: queries × keys · click to open")
    )
    ticks = [0.0, 0.25, 0.5, 0.75, 1.0]
    data = [
        {
            "type": "heatmap",
            "z": mosaic,
            "coloraxis": "coloraxis",
            "hoverinfo": "skip",
            "name": _("weights"),
        },
        {
            "type": "scatter",
            "mode": "markers",
            "x": [x for x, _y in centres],
            "y": [y for _x, y in centres],
            "customdata": [[i // n_heads, i % n_heads] for i in range(len(centres))],
            "text": [
                _("layer {layer} head {head}").format(layer=i // n_heads, head=i % n_heads) for i in range(len(centres))
            ],
            "marker": {"size": cell * 0.9, "symbol": "square", "color": "rgba(0,0,0,0)"},
            "hovertemplate": hover.format(panel="%{text}") + "<extra></extra>",
            "showlegend": False,
            "name": _("open"),
        },
    ]
    annotations = [
        {"text": _("head {head}").format(head=h), "x": h * (g + gap) + (g - 1) / 2, "y": -0.5, "xref": "x", "yref": "y",
         "yanchor": "bottom", "showarrow": False, "font": {"size": 12}}
        for h in range(n_heads)
    ] + [
        {"text": _("layer {layer}").format(layer=layer), "x": 0, "y": layer * (g + gap) + (g - 1) / 2, "xref": "paper", "yref": "y",
         "xanchor": "right", "xshift": -6, "showarrow": False, "font": {"size": 12}}
        for layer in range(n_layers)
    ]  # fmt: skip
    layout = {
        "template": _TEMPLATE,
        "plot_bgcolor": "#ffffff",
        "coloraxis": {
            "colorscale": _blues_with_blank(),
            "cmin": 0,
            "cmax": 255,
            "colorbar": {
                "thickness": 12,
                "len": min(1.0, 300 / max(height, 1)),
                "title": {"text": _("weight")},
                "tickvals": [1 + t * LEVELS for t in ticks],
                "ticktext": [f"{t * top:.2g}" for t in ticks],
            },
        },
        "xaxis": {"range": [-0.5, mosaic.shape[1] - 0.5], "visible": False, "fixedrange": True},
        "yaxis": {"range": [mosaic.shape[0] - 0.5, -0.5], "visible": False, "fixedrange": True},
        "annotations": annotations,
        "width": width + left + right,
        "height": height + top_margin + 10,
        "margin": {"l": left, "r": right, "t": top_margin, "b": 10, "pad": 0},
        "dragmode": False,
        "clickmode": "event+select",
        "hovermode": "closest",
        "meta": {
            "layers": n_layers,
            "heads": n_heads,
            "cells": g,
            "gap": gap,
            "top": float(top),
            "levels": LEVELS,
            "blank": BLANK,
            "offset": 1,
        },
    }
    return _figure(data, layout)
