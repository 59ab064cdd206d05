"""Figure builders of the Encoder page: the model view (layers × heads), one small heatmap per head.

Pure: arrays in, ``plotly.graph_objects.Figure`` out; colours and ticks follow :mod:`attnviz.figures`.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from attnviz.figures import _SCALES, _TEMPLATE, SEQUENTIAL, _figure, to_numpy

__all__ = ["HEAD_COLOURS", "model_view_figure", "model_view_panel"]

# One colour per head (plotly's qualitative "Plotly" palette, then "D3"), as BertViz colours its heads.
HEAD_COLOURS = (
    "#636EFA", "#EF553B", "#00CC96", "#AB63FA", "#FFA15A", "#19D3F3", "#FF6692", "#B6E880",
    "#FF97FF", "#FECB52", "#1F77B4", "#FF7F0E", "#2CA02C", "#D62728", "#9467BD", "#8C564B",
)  # fmt: skip


def model_view_panel(layer: int, head: int, num_heads: int) -> int:
    """Index of the (layer, head) panel in :func:`model_view_figure`'s traces (layers are rows)."""
    return layer * num_heads + head


def model_view_figure(
    grid,
    labels: Sequence[str],
    *,
    top: float = 1.0,
    selected: tuple[int, int] | None = None,
    pooled: bool = False,
) -> go.Figure:
    """Every layer × head's attention weights ``grid`` ``(L, H, G, G)`` as small heatmaps: rows = layers, columns =
    heads, on one colour scale capped at ``top``. ``selected`` ``(layer, head)`` is outlined. A transparent marker at
    each panel's centre makes a click select that panel (point selection does not apply to heatmaps)."""
    z = to_numpy(grid)
    if z.ndim != 4 or z.shape[-1] != z.shape[-2]:
        raise ValueError(f"model_view_figure takes (L, H, G, G) weights, got shape {z.shape}")
    n_layers, n_heads, g, _ = z.shape
    labels = [str(label) for label in labels]
    if len(labels) != g:
        raise ValueError(f"{len(labels)} labels for {g} positions")
    cell = int(min(130, max(56, 760 / n_heads)))
    gap = 6
    width = n_heads * cell + (n_heads - 1) * gap
    height = n_layers * cell + (n_layers - 1) * gap
    left, top_margin = 64, 40
    data: list[dict] = []
    layout: dict = {}
    annotations = []
    centres_x, centres_y, names = [], [], []
    what = "queries" if pooled else "query"
    for layer in range(n_layers):
        for head in range(n_heads):
            k = model_view_panel(layer, head, n_heads)
            suffix = "" if k == 0 else str(k + 1)
            x0 = head * (cell + gap) / width
            y1 = 1 - layer * (cell + gap) / height
            layout[f"xaxis{suffix}"] = {
                "domain": [x0, x0 + cell / width],
                "anchor": f"y{suffix}",
                "type": "category",
                "visible": False,
                **({"matches": "x"} if k else {}),
            }
            layout[f"yaxis{suffix}"] = {
                "domain": [max(0.0, y1 - cell / height), y1],
                "anchor": f"x{suffix}",
                "type": "category",
                "autorange": "reversed",
                "visible": False,
                **({"matches": "y"} if k else {}),
            }
            data.append(
                {
                    "type": "heatmap",
                    "z": z[layer, head],
                    "x": labels,
                    "y": labels,
                    "coloraxis": "coloraxis",
                    "xaxis": f"x{suffix}",
                    "yaxis": f"y{suffix}",
                    "name": f"layer {layer} head {head}",
                    "hovertemplate": f"layer {layer} head {head}<br>{what} %{{y}}<br>keys %{{x}}<br>"
                    "weight %{z:.3f}<extra></extra>",
                    "hoverongaps": False,
                }
            )
            centres_x.append(x0 + cell / width / 2)
            centres_y.append(y1 - cell / height / 2)
            names.append(f"layer {layer} head {head}")
    for head in range(n_heads):
        x0 = head * (cell + gap) / width
        annotations.append(
            {"text": f"head {head}", "x": x0 + cell / width / 2, "y": 1, "xref": "paper", "yref": "paper",
             "xanchor": "center", "yanchor": "bottom", "showarrow": False, "font": {"size": 12}}
        )  # fmt: skip
    for layer in range(n_layers):
        y1 = 1 - layer * (cell + gap) / height
        annotations.append(
            {"text": f"layer {layer}", "x": 0, "y": y1 - cell / height / 2, "xref": "paper", "yref": "paper",
             "xanchor": "right", "yanchor": "middle", "xshift": -6, "showarrow": False, "font": {"size": 12}}
        )  # fmt: skip
    k = len(data) + 1
    layout[f"xaxis{k}"] = {"domain": [0, 1], "range": [0, 1], "visible": False, "fixedrange": True}
    layout[f"yaxis{k}"] = {"domain": [0, 1], "range": [0, 1], "visible": False, "fixedrange": True, "anchor": f"x{k}"}
    layout[f"xaxis{k}"]["anchor"] = f"y{k}"
    data.append(
        {
            "type": "scatter",
            "mode": "markers",
            "x": centres_x,
            "y": centres_y,
            "xaxis": f"x{k}",
            "yaxis": f"y{k}",
            "customdata": [[i // n_heads, i % n_heads] for i in range(len(centres_x))],
            "text": names,
            "marker": {"size": cell * 0.9, "symbol": "square", "color": "rgba(0,0,0,0)"},
            "hovertemplate": "%{text}: click to open<extra></extra>",
            "showlegend": False,
            "name": "open",
        }
    )
    shapes = []
    if selected is not None:
        layer, head = selected
        if 0 <= layer < n_layers and 0 <= head < n_heads:
            x0 = head * (cell + gap) / width
            y1 = 1 - layer * (cell + gap) / height
            shapes.append(
                {"type": "rect", "xref": "paper", "yref": "paper", "x0": x0, "x1": x0 + cell / width,
                 "y0": y1 - cell / height, "y1": y1, "line": {"color": "#d62728", "width": 3}}
            )  # fmt: skip
    layout.update(
        template=_TEMPLATE,
        # The click layer's plot area lies over every panel: a transparent background keeps the panels visible
        # (masked cells show white here, not the grey of the other heatmaps).
        plot_bgcolor="rgba(0,0,0,0)",
        coloraxis={"colorscale": _SCALES[SEQUENTIAL], "cmin": 0.0, "cmax": float(top),
                   "colorbar": {"thickness": 12, "title": {"text": "weight"}, "len": min(1.0, 300 / height)}},
        annotations=annotations,
        height=height + top_margin + 20,
        width=width + left + 110,
        margin={"l": left, "r": 110, "t": top_margin, "b": 20, "pad": 0},
        dragmode=False,
        clickmode="event+select",
        hovermode="closest",
    )  # fmt: skip
    if shapes:
        layout["shapes"] = shapes
    return _figure(data, layout)
