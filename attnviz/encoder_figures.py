"""Figure builders of the Encoder page: the model view (layers × heads) and the BertViz-style head view.

Pure: arrays in, ``plotly.graph_objects.Figure`` out; colours and ticks follow :mod:`attnviz.figures`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from attnviz.figures import _SCALES, _TEMPLATE, SEQUENTIAL, _figure, to_numpy

__all__ = ["HEAD_COLOURS", "OPACITY_LEVELS", "head_view_figure", "model_view_figure", "model_view_panel"]

# One colour per head (plotly's qualitative "Plotly" palette, then "D3"), as BertViz colours its heads.
HEAD_COLOURS = (
    "#636EFA", "#EF553B", "#00CC96", "#AB63FA", "#FFA15A", "#19D3F3", "#FF6692", "#B6E880",
    "#FF97FF", "#FECB52", "#1F77B4", "#FF7F0E", "#2CA02C", "#D62728", "#9467BD", "#8C564B",
)  # fmt: skip
OPACITY_LEVELS = 8  # line weights are drawn at this many opacities (one trace each per head)
MIN_LINE_WEIGHT = 0.02  # lighter lines are left out of the all-tokens head view


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
        coloraxis={"colorscale": _SCALES[SEQUENTIAL], "cmin": 0.0, "cmax": float(top),
                   "colorbar": {"thickness": 12, "title": {"text": "weight"}, "len": min(1.0, 300 / height)}},
        annotations=annotations,
        shapes=shapes,
        height=height + top_margin + 20,
        width=width + left + 110,
        margin={"l": left, "r": 110, "t": top_margin, "b": 20, "pad": 0},
        dragmode=False,
        clickmode="event+select",
        hovermode="closest",
    )  # fmt: skip
    return _figure(data, layout)


def head_view_figure(
    weights,
    labels: Sequence[str],
    *,
    heads: Sequence[int] | None = None,
    focus: int | None = None,
    title: str = "",
) -> go.Figure:
    """BertViz's head view: the tokens in two columns (left: queries, right: keys) joined by lines whose opacity is
    the attention weight, one colour per head. ``weights`` ``(H, T, T)``; ``heads`` picks which heads to draw;
    ``focus`` draws only that query's lines (all of them), otherwise lines lighter than 2 % are left out.
    Masked cells (NaN) draw no line. Click a head in the legend to hide it."""
    w = to_numpy(weights)
    if w.ndim != 3 or w.shape[1] != w.shape[2]:
        raise ValueError(f"head_view_figure takes (H, T, T) weights, got shape {w.shape}")
    n_heads, t, _ = w.shape
    labels = [str(label) for label in labels]
    if len(labels) != t:
        raise ValueError(f"{len(labels)} labels for {t} tokens")
    heads = list(range(n_heads)) if heads is None else [int(h) for h in heads]
    if any(not 0 <= h < n_heads for h in heads):
        raise ValueError(f"heads {heads} must be from 0 to {n_heads - 1}")
    if focus is not None and not 0 <= focus < t:
        raise ValueError(f"focus={focus} must be a token from 0 to {t - 1}")
    data: list[dict] = []
    queries = [focus] if focus is not None else list(range(t))
    floor = 0.0 if focus is not None else MIN_LINE_WEIGHT
    for h in heads:
        colour = HEAD_COLOURS[h % len(HEAD_COLOURS)]
        sub = w[h, queries]  # (Q, T)
        keep = np.isfinite(sub) & (sub > 0) & (sub >= floor)
        level_of = np.minimum((np.nan_to_num(sub) * OPACITY_LEVELS).astype(int), OPACITY_LEVELS - 1)
        first = True
        for level in range(OPACITY_LEVELS):
            hi = (level + 1) / OPACITY_LEVELS
            pick = np.argwhere(keep & (level_of == level))
            if not len(pick):
                continue
            xs: list[float | None] = []
            ys: list[float | None] = []
            for qi, j in pick:
                xs += [0.0, 1.0, None]
                ys += [float(queries[qi]), float(j), None]
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "x": xs,
                    "y": ys,
                    "line": {"color": colour, "width": 2},
                    "opacity": round(0.12 + 0.88 * hi, 3),
                    "legendgroup": f"head {h}",
                    "name": f"head {h}",
                    "showlegend": first,
                    "hoverinfo": "skip",
                }
            )
            first = False
        if first:  # no line drawn for this head: keep its legend entry
            data.append({"type": "scatter", "mode": "lines", "x": [None], "y": [None], "name": f"head {h}",
                         "legendgroup": f"head {h}", "line": {"color": colour}})  # fmt: skip
    top = np.nan_to_num(w[heads]).argmax(-1) if heads else np.zeros((0, t), dtype=int)  # (len(heads), T)
    hover = [
        "<br>".join(f"head {h} → {labels[int(top[k, i])]} ({w[h, i, int(top[k, i])]:.2f})" for k, h in enumerate(heads))
        for i in range(t)
    ]
    colours = ["#d62728" if i == focus else "#2a3f5f" for i in range(t)]
    for x, anchor, name in ((-0.02, "middle left", "queries"), (1.02, "middle right", "keys")):
        data.append(
            {
                "type": "scatter",
                "mode": "text",
                "x": [x] * t,
                "y": list(range(t)),
                "text": labels,
                "textposition": "middle left" if anchor == "middle left" else "middle right",
                "textfont": {"color": colours, "size": 12},
                "hovertext": hover if name == "queries" else labels,
                "hoverinfo": "text",
                "showlegend": False,
                "name": name,
            }
        )
    height = int(min(1400, max(260, 22 * t + 80)))
    layout = {
        "title": {"text": title},
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 50 if title else 30, "b": 10},
        "plot_bgcolor": "white",
        "paper_bgcolor": "white",
        "xaxis": {"range": [-0.45, 1.45], "visible": False, "fixedrange": True},
        "yaxis": {"range": [t - 0.5, -0.5], "visible": False, "fixedrange": True},
        "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0, "itemclick": "toggle"},
        "hovermode": "closest",
    }
    return _figure(data, layout)
