"""Pure figure builders: arrays in, ``plotly.graph_objects.Figure`` out (no streamlit here).

Matrices are drawn with rows = queries (top to bottom) and columns = keys, labelled with unique strings.
Values are shipped as float32 typed arrays; cells show 2 decimals when the matrix is small, and hover shows
:data:`HOVER_DECIMALS` (``hover_format``: the same digits an explanation of a cell prints). Callers adjust titles and sizes with ``update_layout``.

Figures are assembled as plain dicts and wrapped once without plotly's per-property validation, which costs
about 10 ms a figure (most of a small page's rerun); the tests check every builder's output against plotly's schema.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from attnviz.arrays import SCIENTIFIC_FROM, to_numpy
from attnviz.i18n import N_
from attnviz.i18n import gettext as _

__all__ = [
    "CELL_TEXT_LIMIT",
    "DIVERGING",
    "FONT_FAMILY",
    "HEATMAP_TEMPLATE",
    "HOVER_DECIMALS",
    "MASKED_COLOUR",
    "SEQUENTIAL",
    "bar_chart",
    "grid_shape",
    "head_blocks_heatmap",
    "heatmap_grid",
    "hover_format",
    "line_chart",
    "matrix_heatmap",
]

DIVERGING = "RdBu_r"  # signed values: blue < 0 < red, centred on 0
SEQUENTIAL = "Blues"  # weights in [0, 1]
CELL_TEXT_LIMIT = 400  # above this many cells, no per-cell text (zoom and hover instead)
HOVER_DECIMALS = 4  # a heatmap's hover shows this many decimals (scientific notation for huge matrices)
_MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10, "pad": 2}
MASKED_COLOUR = "#d0d0d0"  # blank cells (masked, NaN) show the plot background: a grey that no colour scale uses
# Latin text in plotly's own face; Chinese from the first CJK face the reader's system has.
FONT_FAMILY = (
    '"Open Sans", verdana, arial, "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC", '
    '"Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif'
)
# A lean template for heatmaps: plotly's default one adds about 6.5 kB of JSON to every figure.
HEATMAP_TEMPLATE = go.layout.Template(
    layout={
        "font": {"color": "#2a3f5f", "family": FONT_FAMILY},
        "paper_bgcolor": "white",
        "plot_bgcolor": MASKED_COLOUR,
        "xaxis": {"showgrid": False, "zeroline": False},
        "yaxis": {"showgrid": False, "zeroline": False},
        "hoverlabel": {"align": "left"},
    }
)
_TEMPLATE = HEATMAP_TEMPLATE.to_plotly_json()
# Default titles, translated when a figure is built (``_(QUERY)``).
QUERY = N_("query")
KEY = N_("key")
VALUE = N_("value")
HEAD = N_("head {h}")
# plotly.js does not know plotly.py's scale names ("RdBu_r"): ship the colours, resolved once by plotly itself.
# Tuples: every figure shares these, so none can change them for the others.
_SCALES = {
    name: tuple(map(tuple, go.Heatmap(colorscale=name).colorscale)) for name in (DIVERGING, SEQUENTIAL, "Viridis")
}


def _figure(data: list[dict], layout: dict) -> go.Figure:
    """Wrap dicts that follow plotly's schema (checked by the tests) without validating each property again."""
    return go.Figure(data=data, layout=layout, _validate=False)


# Hebrew, Arabic, Syriac, Thaana, N'Ko and their presentation forms: letters that make a label read right to left.
_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
LTR_MARK = "\u200e"


def _labels(labels: Sequence[str] | None, n: int, prefix: str) -> list[str]:
    """Axis labels as drawn. A label with right-to-left letters starts with a left-to-right mark, so "0 القطة"
    keeps its position number on the left, as in the page's text (without it the label's own direction turns
    right to left and it reads "القطة 0")."""
    if labels is None:
        return [f"{prefix}{i}" for i in range(n)]
    labels = [str(label) for label in labels]
    if len(labels) != n:
        raise ValueError(
            _("{given} labels given for {n} {what}").format(given=len(labels), n=n, what=prefix or _("entries"))
        )
    if len(set(labels)) != n:
        raise ValueError(_("axis labels must be unique; prefix repeated tokens with their position"))
    return [LTR_MARK + label if _RTL.search(label) and not label.startswith(LTR_MARK) else label for label in labels]


def _colour(kind: str, z: np.ndarray, zmax: float | None = None) -> dict:
    if kind == "weights":
        return {"colorscale": _SCALES[SEQUENTIAL], "zmin": 0.0, "zmax": 1.0 if zmax is None else float(zmax)}
    if kind == "signed":
        if zmax is None:
            finite = z[np.isfinite(z)]
            bound = float(np.abs(finite).max()) if finite.size else 1.0
        else:
            bound = abs(float(zmax))
        bound = bound or 1.0
        return {"colorscale": _SCALES[DIVERGING], "zmid": 0.0, "zmin": -bound, "zmax": bound}
    if kind == "sequential":
        scale = {"colorscale": _SCALES["Viridis"]}
        return scale if zmax is None else {**scale, "zmax": float(zmax)}
    raise ValueError(_("kind must be 'signed', 'weights' or 'sequential', got {kind}").format(kind=repr(kind)))


def hover_format(z) -> str:
    """The d3 format of a heatmap's hover value: ``".4~f"`` (4 decimals, trailing zeros trimmed), or ``".4~e"``
    when an entry reaches :data:`~attnviz.arrays.SCIENTIFIC_FROM` (as the cell text switches to scientific)."""
    z = to_numpy(z)
    finite = np.abs(z[np.isfinite(z)])
    notation = "e" if finite.size and float(finite.max()) >= SCIENTIFIC_FROM else "f"
    return f".{HOVER_DECIMALS}~{notation}"


def _heatmap_trace(
    z: np.ndarray,
    row_labels: list[str],
    col_labels: list[str],
    *,
    kind: str,
    row_title: str,
    col_title: str,
    decimals: int,
    show_text: bool | None,
    showscale: bool = True,
    coloraxis: str | None = None,
    zmax: float | None = None,
    value_title: str | None = None,
) -> dict:
    if show_text is None:
        show_text = z.size <= CELL_TEXT_LIMIT
    gap = 1 if show_text else 0
    trace = {
        "type": "heatmap",
        "z": z,
        "x": col_labels,
        "y": row_labels,
        "hovertemplate": f"{row_title} %{{y}}<br>{col_title} %{{x}}<br>{value_title or _(VALUE)} %{{z}}<extra></extra>",
        "zhoverformat": hover_format(z),
        "hoverongaps": True,
        "xgap": gap,
        "ygap": gap,
    }
    if show_text:
        finite = np.abs(z[np.isfinite(z)])
        notation = "e" if finite.size and float(finite.max()) >= SCIENTIFIC_FROM else "f"  # huge: 9.01e+15
        trace["texttemplate"] = f"%{{z:.{decimals}{notation}}}"
    if coloraxis is not None:
        trace["coloraxis"] = coloraxis
    else:
        trace.update(showscale=showscale, **_colour(kind, z, zmax))
        if value_title is not None:
            trace["colorbar"] = {"title": {"text": value_title}}
    return trace


def _thinned_ticks(labels: Sequence[str], max_ticks: int, *, odd: bool = False) -> dict:
    """The one tick policy: label every k-th category so at most ``max_ticks`` labels show (hover names them all).

    ``odd``: k is odd, so the labels of a sin/cos encoding alternate sin and cos (an even k shows only sins).
    """
    every = max(1, math.ceil(len(labels) / max_ticks))
    if odd:
        every += 1 - every % 2
    if every == 1:
        return {"tickmode": "auto"}
    return {"tickmode": "array", "tickvals": list(labels[::every])}


def matrix_heatmap(
    matrix,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    *,
    title: str = "",
    kind: str = "signed",
    row_title: str | None = None,
    col_title: str | None = None,
    decimals: int = 2,
    show_text: bool | None = None,
    height: int | None = None,
    zmax: float | None = None,
    value_title: str | None = None,
    max_ticks: int = 20,
    odd_ticks: bool = False,
) -> go.Figure:
    """Annotated heatmap of a 2-D matrix ``(rows, cols)``.

    ``kind``: ``"signed"`` (diverging scale centred on 0), ``"weights"`` (sequential, fixed to [0, 1]) or
    ``"sequential"``. ``zmax`` overrides the top of the colour scale (the bound on both sides for ``"signed"``).
    Non-finite cells (masked) are left blank. Per-cell text appears when the matrix has at most
    :data:`CELL_TEXT_LIMIT` cells unless ``show_text`` says otherwise; at most ``max_ticks`` labels per axis
    (``odd_ticks``: every odd k-th column, for sin/cos encodings). Axis titles default to "query" and "key",
    the hover's value to "value" (in the interface's language).
    """
    z = to_numpy(matrix)
    if z.ndim != 2:
        raise ValueError(_("matrix_heatmap takes a 2-D matrix, got shape {shape}").format(shape=z.shape))
    row_title = _(QUERY) if row_title is None else row_title
    col_title = _(KEY) if col_title is None else col_title
    rows = _labels(row_labels, z.shape[0], row_title)
    cols = _labels(col_labels, z.shape[1], col_title)
    trace = _heatmap_trace(
        z,
        rows,
        cols,
        kind=kind,
        row_title=row_title,
        col_title=col_title,
        decimals=decimals,
        show_text=show_text,
        zmax=zmax,
        value_title=value_title,
    )
    # automargin makes plotly measure every label and often draw twice; big matrices rely on computed margins.
    small = len(rows) + len(cols) <= 48
    layout = {
        "template": _TEMPLATE,
        "title": {"text": title, "y": 0.99, "yanchor": "top"},
        "height": height or _auto_height(z.shape[0]),
        # Margins that fit the labels up front: automargin stays as a safety net, but when it has to grow a
        # margin, plotly draws the figure a second time.
        "margin": {
            **_MARGIN,
            "t": max(100 if title else 70, (40 if title else 0) + _tick_band(cols, _tick_angle(cols)) + 34),
            "l": _text_px(rows) + 40,
        },
        "xaxis": {
            "title": {"text": col_title},
            "type": "category",
            "side": "top",
            "tickangle": _tick_angle(cols),
            "automargin": small,
            **_thinned_ticks(cols, max_ticks, odd=odd_ticks),
        },
        "yaxis": {
            # a little air between the tick labels and the rotated title (a Chinese title is as wide as it is tall)
            "title": {"text": row_title, "standoff": 8},
            "type": "category",
            "autorange": "reversed",
            "automargin": small,
            **_thinned_ticks(rows, max_ticks),
        },
    }
    return _figure([trace], layout)


def _text_px(labels: Sequence[str]) -> int:
    """About how wide the longest label is drawn, in pixels (12 px font)."""
    return 7 * max((len(label) for label in labels), default=1)


def _tick_band(labels: Sequence[str], angle: int) -> int:
    """About how tall a band of x tick labels is at ``angle`` (0 or -45), in pixels."""
    return 18 if angle == 0 else int(_text_px(labels) * 0.72) + 14


def _tick_angle(labels: list[str]) -> int:
    return 0 if max(len(label) for label in labels) * len(labels) <= 60 else -45


def _auto_height(rows: int) -> int:
    return int(min(700, max(220, 110 + 34 * rows)))


def grid_shape(n: int, max_cols: int = 4) -> tuple[int, int]:
    """``(rows, cols)`` of a grid holding ``n`` panels, at most ``max_cols`` wide."""
    if n < 1:
        raise ValueError(f"a grid needs at least one panel, got {n}")
    cols = min(n, max_cols)
    return math.ceil(n / cols), cols


def heatmap_grid(
    stack,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    *,
    panel_titles: Sequence[str] | None = None,
    title: str = "",
    kind: str = "weights",
    row_title: str | None = None,
    col_title: str | None = None,
    max_cols: int = 4,
    decimals: int = 2,
    show_text: bool | None = None,
    panel_height: int | None = None,
    zmax: float | None = None,
    value_title: str | None = None,
    max_ticks: int | None = None,
) -> go.Figure:
    """One heatmap per leading index of ``stack`` ``(N, rows, cols)`` (e.g. per head), on a shared colour scale.

    The grid's size follows ``N``; ``panel_titles`` default to ``"head 0"``, ``"head 1"``, ... The panels share
    their axes (zooming one zooms all); tick labels and axis titles sit on the bottom row and the left column.
    ``zmax`` and ``value_title`` as in :func:`matrix_heatmap`; ``max_ticks`` (labels per axis of a panel) defaults
    to what fits the panel's size.
    """
    z = to_numpy(stack)
    if z.ndim != 3:
        raise ValueError(_("heatmap_grid takes a stack (N, rows, cols), got shape {shape}").format(shape=z.shape))
    row_title = _(QUERY) if row_title is None else row_title
    col_title = _(KEY) if col_title is None else col_title
    n = z.shape[0]
    titles = list(panel_titles) if panel_titles is not None else [_(HEAD).format(h=h) for h in range(n)]
    if len(titles) != n:
        raise ValueError(_("{titles} panel titles for {n} panels").format(titles=len(titles), n=n))
    rows = _labels(row_labels, z.shape[1], row_title)
    cols = _labels(col_labels, z.shape[2], col_title)
    grid_rows, grid_cols = grid_shape(n, max_cols)
    if show_text is None:
        show_text = z[0].size <= CELL_TEXT_LIMIT // 2 and grid_cols <= 2
    # Panels about as tall as they are wide on a ~900 px wide page (square cells for a T × T stack).
    width = 900 / grid_cols
    per_panel = panel_height or int(min(420, max(160, width * z.shape[1] / z.shape[2])))
    gap_px = 50  # between panel rows: room for the next row's titles
    plot_height = per_panel * grid_rows + gap_px * (grid_rows - 1)
    h_gap = 0.04 if grid_cols > 1 else 0.0
    panel_w = (1 - h_gap * (grid_cols - 1)) / grid_cols
    layout: dict = {}
    annotations = []
    x_ticks = _thinned_ticks(cols, max_ticks or max(3, int(width // 16)))  # a -45° label needs ~16 px
    y_ticks = _thinned_ticks(rows, max_ticks or max(4, per_panel // 18))
    data = []
    for h in range(n):
        r, c = divmod(h, grid_cols)
        suffix = "" if h == 0 else str(h + 1)
        x0 = c * (panel_w + h_gap)
        top = 1 - r * (per_panel + gap_px) / plot_height
        bottom = top - per_panel / plot_height
        bottom_row = h + grid_cols >= n  # no panel below this one
        layout[f"xaxis{suffix}"] = {
            "domain": [x0, x0 + panel_w],
            "anchor": f"y{suffix}",
            "type": "category",
            "tickangle": -45,
            "showticklabels": bottom_row,
            "title": {"text": col_title if bottom_row else ""},
            **({"matches": "x"} if h else {}),
            **x_ticks,
        }
        layout[f"yaxis{suffix}"] = {
            "domain": [max(0.0, bottom), min(1.0, top)],
            "anchor": f"x{suffix}",
            "type": "category",
            "autorange": "reversed",
            "showticklabels": c == 0,
            "title": {"text": row_title if c == 0 else ""},
            **({"matches": "y"} if h else {}),
            **y_ticks,
        }
        annotations.append(
            {
                "text": titles[h],
                "x": x0 + panel_w / 2,
                "y": min(1.0, top),
                "xref": "paper",
                "yref": "paper",
                "xanchor": "center",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 14},
            }
        )
        trace = _heatmap_trace(
            z[h],
            rows,
            cols,
            kind=kind,
            row_title=row_title,
            col_title=col_title,
            decimals=decimals,
            show_text=show_text,
            coloraxis="coloraxis",
            value_title=value_title,
        )
        data.append({**trace, "xaxis": f"x{suffix}", "yaxis": f"y{suffix}", "name": titles[h]})
    # A shared colour axis names its bounds cmin / cmid / cmax where a heatmap says zmin / zmid / zmax.
    shared = {key.replace("z", "c", 1) if key.startswith("z") else key: v for key, v in _colour(kind, z, zmax).items()}
    layout.update(
        template=_TEMPLATE,
        coloraxis={**shared, "colorbar": {"thickness": 12, "title": {"text": value_title or _(VALUE)}}},
        annotations=annotations,
        title={"text": title},
        # Fixed margins that fit the labels: automargin would redraw every panel.
        height=plot_height + 90 + _tick_band(cols, -45) + 34,
        margin={**_MARGIN, "t": 90, "b": _tick_band(cols, -45) + 34, "l": _text_px(rows) + 44},
    )
    return _figure(data, layout)


def head_blocks_heatmap(
    matrix,
    num_heads: int,
    row_labels: Sequence[str] | None = None,
    *,
    title: str = "",
    kind: str = "signed",
    row_title: str | None = None,
    value_title: str | None = None,
    decimals: int = 2,
    show_text: bool | None = None,
    height: int | None = None,
) -> go.Figure:
    """A ``(rows, d_model)`` matrix whose columns belong to ``num_heads`` consecutive heads (e.g. the concatenation).

    Columns are labelled ``"h{head} d{dim}"``; a line separates the heads and each block is named below the plot.
    """
    z = to_numpy(matrix)
    if z.ndim != 2:
        raise ValueError(_("head_blocks_heatmap takes a 2-D matrix, got shape {shape}").format(shape=z.shape))
    width = z.shape[1]
    if num_heads < 1 or width % num_heads:
        raise ValueError(
            _("{width} columns cannot be split into num_heads={num_heads} equal blocks").format(
                width=width, num_heads=num_heads
            )
        )
    d_head = width // num_heads
    cols = [f"h{h} d{j}" for h in range(num_heads) for j in range(d_head)]
    fig = matrix_heatmap(
        z,
        row_labels,
        cols,
        title=title,
        kind=kind,
        row_title=_("token") if row_title is None else row_title,
        col_title=_("column"),
        decimals=decimals,
        show_text=show_text,
        height=height,
        value_title=value_title,
    )
    line = {"color": "black", "width": 2}
    shapes = [
        {"type": "line", "x0": x, "x1": x, "y0": 0, "y1": 1, "yref": "paper", "line": line}
        for x in (h * d_head - 0.5 for h in range(1, num_heads))
    ]
    names = [
        {
            "x": h * d_head + (d_head - 1) / 2,
            "y": 0,
            "yref": "paper",
            "yanchor": "top",
            "yshift": -4,
            "text": _(HEAD).format(h=h),
            "showarrow": False,
        }
        for h in range(num_heads)
    ]
    fig.layout.update(shapes=shapes, annotations=names, margin={"b": 36})
    return fig


def bar_chart(
    values,
    labels: Sequence[str],
    *,
    title: str = "",
    value_title: str | None = None,
    label_title: str | None = None,
    highlight: int | None = None,
    max_ticks: int = 60,
) -> go.Figure:
    """Vertical bars of a 1-D vector over labelled items (e.g. one query's weights over the keys).

    At most ``max_ticks`` labels (upright when thinned, with room for them); hover names every bar. The titles
    default to "weight" and "key" (in the interface's language).
    """
    value_title = _("weight") if value_title is None else value_title
    label_title = _(KEY) if label_title is None else label_title
    v = to_numpy(values).reshape(-1)
    labels = _labels(labels, v.shape[0], label_title)
    colours = ["#1f77b4"] * len(labels)
    if highlight is not None and 0 <= highlight < len(colours):
        colours[highlight] = "#d62728"
    bar = {
        "type": "bar",
        "x": labels,
        "y": v,
        "marker": {"color": colours},
        "hovertemplate": f"{label_title} %{{x}}<br>{value_title} %{{y}}<extra></extra>",
    }
    ticks = _thinned_ticks(labels, max_ticks)
    thinned = ticks["tickmode"] == "array"
    layout = {
        "title": {"text": title},
        "height": 440 if len(labels) > 40 else 320,
        "margin": {**_MARGIN, "t": 50},
        "xaxis": {
            "title": {"text": label_title},
            "type": "category",
            "tickangle": -90 if thinned else -45,
            "automargin": True,
            **ticks,
        },
        "yaxis": {"title": {"text": value_title}, "automargin": True},
    }
    return _figure([bar], layout)


def line_chart(
    x,
    series: dict[str, object],
    *,
    title: str = "",
    x_title: str | None = None,
    y_title: str | None = None,
) -> go.Figure:
    """One line per named series over a shared x axis (e.g. chosen PE dimensions over positions); the axis
    titles default to "position" and "value" (in the interface's language)."""
    x_title = _("position") if x_title is None else x_title
    y_title = _(VALUE) if y_title is None else y_title
    xs = to_numpy(x).reshape(-1)
    lines = [
        {
            "type": "scatter",
            "x": xs,
            "y": to_numpy(values).reshape(-1),
            "mode": "lines",
            "name": name,
            "hovertemplate": f"{x_title} %{{x}}<br>{name}: %{{y}}<extra></extra>",
        }
        for name, values in series.items()
    ]
    layout = {
        "title": {"text": title},
        "height": 340,
        "margin": {**_MARGIN, "t": 50},
        "xaxis": {"title": {"text": x_title}, "automargin": True},
        "yaxis": {"title": {"text": y_title}, "automargin": True},
    }
    return _figure(lines, layout)
