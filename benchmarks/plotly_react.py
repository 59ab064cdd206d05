"""What one ``Plotly.react`` costs in Chromium, on a blank page: the floor under every chart update the app makes.

The app's chart element hands each new figure to ``Plotly.react`` (``attnviz.ui.chart``). This measures that call on
its own (no Streamlit, no server), with the plotly.js copy inside the installed ``plotly`` package, for four figures,
each alternating between two versions with different numbers (what an edit or a new seed sends):

- a 2 × 2 heatmap as the app draws one (its template, fixed margins and colour bar; no cell text): what redrawing
  any chart costs in plotly.js;
- the worked example's scores chart as the page draws it (3 × 3, numbers in the cells), X[0, 0] = 5 or 1.5;
- the multi-head page's weights grid at 512 tokens × 8 heads as it draws it (8 panels of 32 × 32 pooled cells),
  seeds 1 and 2;
- the same grid's cells as **one** heatmap trace on one pair of axes (the eight panels side by side with blank gaps,
  ticks repeated per panel, each cell's head, query block and key block in its hover text): the design that trades
  the panels' own axes for a single trace, measured instead of guessed.

Each figure's median is over ``reps`` reacts after one ``newPlot``; the synchronous call and the promise it returns.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import plotly.io

from attnviz.ui.chart import PLOTLY_JS  # the copy the app serves

GAP = 3  # blank cells between two panels in the one-trace grid

_REACT_JS = """async ([a, b, reps]) => {
  const gd = document.createElement('div');
  gd.style.width = '1000px';
  document.body.appendChild(gd);
  await Plotly.newPlot(gd, a.data, a.layout, {});
  const times = [];
  for (let i = 0; i < reps; i++) {
    const f = i % 2 ? a : b;
    const data = JSON.parse(JSON.stringify(f.data)), layout = JSON.parse(JSON.stringify(f.layout));
    const t = performance.now();
    await Plotly.react(gd, data, layout, {});
    times.push(performance.now() - t);
  }
  Plotly.purge(gd);
  gd.remove();
  return times;
}"""


def _spec(fig) -> dict[str, Any]:
    return json.loads(plotly.io.to_json(fig, validate=False))


def tiny_heatmaps() -> tuple[dict, dict]:
    """Two 2 × 2 heatmaps drawn by ``matrix_heatmap`` (the app's template and margins), no cell text."""
    from attnviz.figures import matrix_heatmap

    rng = np.random.default_rng(0)
    return tuple(_spec(matrix_heatmap(rng.random((2, 2)), ("a", "b"), ("a", "b"), show_text=False)) for _ in range(2))


def worked_scores() -> tuple[dict, dict]:
    """The worked example's scores chart (``matrix_heatmap`` as the page calls it) for X[0, 0] = 5 and 1.5."""
    import torch

    from attnviz.examples import WORKED_EXAMPLE
    from attnviz.figures import matrix_heatmap
    from attnviz.modules import SelfAttention

    ex = WORKED_EXAMPLE
    tokens = ("I", "love", "AI")
    module = SelfAttention.from_matrices(*(torch.from_numpy(np.array(w)) for w in (ex.w_q, ex.w_k, ex.w_v)))
    figures = []
    for value in (5.0, 1.5):
        x = np.array(ex.x, dtype=np.float64)
        x[0, 0] = value
        with torch.no_grad():
            scores = module(torch.from_numpy(x)).scores.numpy()
        figures.append(_spec(matrix_heatmap(scores, tokens, tokens, title="scores = Q·Kᵀ")))
    return figures[0], figures[1]


def _multihead_views():
    from attnviz.modules import MultiHeadAttention, weights_as_numpy
    from attnviz.views import multihead_input, multihead_view

    views = []
    for seed in (1, 2):
        inp = multihead_input("Random tokens", "", 512, 64, seed)
        weights = weights_as_numpy(MultiHeadAttention(64, 8, bias=True, seed=seed))
        views.append(multihead_view(inp.x, inp.labels, weights, num_heads=8, bias=True, causal=False, valid_len=None))
    return views


def _grid(view) -> dict[str, Any]:
    from attnviz.figures import heatmap_grid

    labels = view.grid_labels
    return _spec(
        heatmap_grid(
            view.weights,
            labels,
            labels,
            title="weights softmax(QKᵀ/√d) (share per block)",
            kind="weights",
            zmax=view.weights_top,
            row_title="queries",
            col_title="keys",
            value_title="share",
        )
    )


def one_trace_grid(stack: np.ndarray, labels: tuple[str, ...], grid: dict[str, Any], cols: int = 4) -> dict:
    """``stack`` ``(N, T, T)`` as one heatmap trace: panels in rows of ``cols``, ``GAP`` blank cells apart, with the
    layout (template, colour axis, title, size) of ``grid``, the same cells drawn by :func:`heatmap_grid`."""
    n, t, _ = stack.shape
    rows = -(-n // cols)
    height, width = rows * t + (rows - 1) * GAP, cols * t + (cols - 1) * GAP
    z = np.full((height, width), np.nan)
    text = np.full((height, width), "", dtype=object)
    annotations = []
    for h in range(n):
        r, c = divmod(h, cols)
        top, left = r * (t + GAP), c * (t + GAP)
        z[top : top + t, left : left + t] = stack[h]
        for i in range(t):
            for j in range(t):
                text[top + i, left + j] = f"head {h}<br>queries {labels[i]}<br>keys {labels[j]}"
        annotations.append(
            {"text": f"head {h}", "x": left + t / 2, "y": top - 1, "xref": "x", "yref": "y", "showarrow": False}
        )
    every = max(1, t // 8)
    ticks = [(c * (t + GAP) + j, labels[j]) for c in range(cols) for j in range(0, t, every)]
    row_ticks = [(r * (t + GAP) + i, labels[i]) for r in range(rows) for i in range(0, t, every)]
    trace = {
        "type": "heatmap",
        "z": [[None if np.isnan(v) else float(v) for v in row] for row in z],
        "text": text.tolist(),
        "hovertemplate": "%{text}<br>share %{z:.4f}<extra></extra>",
        "coloraxis": "coloraxis",
        "xgap": 1,
        "ygap": 1,
    }
    layout = {key: value for key, value in grid["layout"].items() if not key.startswith(("xaxis", "yaxis"))}
    layout["annotations"] = annotations
    layout["xaxis"] = {
        "tickvals": [p for p, _ in ticks],
        "ticktext": [label for _, label in ticks],
        "tickangle": -45,
        "title": {"text": "keys"},
    }
    layout["yaxis"] = {
        "tickvals": [p for p, _ in row_ticks],
        "ticktext": [label for _, label in row_ticks],
        "autorange": "reversed",
        "title": {"text": "queries"},
    }
    return {"data": [trace], "layout": layout}


def figures() -> dict[str, tuple[dict, dict]]:
    """The measured pairs, by the name of their benchmark row."""
    first, second = _multihead_views()
    grids = (_grid(first), _grid(second))
    return {
        "2 × 2 heatmap, no cell text (any chart's floor)": tiny_heatmaps(),
        "worked example's scores chart (3 × 3, cell text)": worked_scores(),
        "multi-head 512 × 8 weights grid as drawn (8 panels of 32 × 32)": grids,
        "the same grid as one trace on one pair of axes": (
            one_trace_grid(first.weights, first.grid_labels, grids[0]),
            one_trace_grid(second.weights, second.grid_labels, grids[1]),
        ),
    }


def measure(browser, reps: int) -> dict[str, list[float]]:
    """Each figure pair's ``Plotly.react`` times (ms), on one blank page in ``browser``."""
    pairs = figures()
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.set_content("<!doctype html><html><body></body></html>")
        page.add_script_tag(path=str(PLOTLY_JS))
        for a, b in pairs.values():  # warm-up: plotly.js's code for each figure compiled
            page.evaluate(_REACT_JS, [a, b, 6])
        return {name: page.evaluate(_REACT_JS, [a, b, reps]) for name, (a, b) in pairs.items()}
    finally:
        context.close()
