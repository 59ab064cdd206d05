"""BertViz's head view as a small in-page element: tokens in two columns joined by lines whose opacity is the
attention weight, one colour per head; hovering a token shows only its lines, clicking a head's swatch hides it.

The drawing is SVG built by a few lines of JavaScript (a ``st.components.v2`` element, no build step, no network);
the data it receives comes from :func:`head_view_data`, which is pure and tested.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import streamlit.components.v2 as components_v2

from attnviz.encoder_figures import HEAD_COLOURS
from attnviz.i18n import gettext as _

__all__ = ["head_view", "head_view_data"]

WEIGHT_STEPS = 1000  # weights travel as integers 0 … 1000 (3 decimals): a third of the JSON of floats

_CSS = """
.attnviz-hv { font: 13px sans-serif; color: #2a3f5f; }
.attnviz-hv .swatches { display: flex; flex-wrap: wrap; gap: 6px; margin-bottom: 6px; }
.attnviz-hv .swatch { width: 18px; height: 18px; border-radius: 3px; cursor: pointer; border: 2px solid #fff; }
.attnviz-hv .swatch.off { opacity: 0.2; }
.attnviz-hv svg text { cursor: default; dominant-baseline: middle; }
.attnviz-hv svg text.hot { font-weight: bold; fill: #d62728; }
.attnviz-hv .hint { color: #777; font-size: 12px; margin-top: 4px; }
"""

_JS = r"""
const SVG = 'http://www.w3.org/2000/svg';
const el = (name, attrs) => {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
};

export default function (component) {
  const {data, parentElement} = component;
  if (!data) return;
  let root = parentElement.querySelector(':scope > .attnviz-hv');
  if (!root) {
    root = document.createElement('div');
    root.className = 'attnviz-hv';
    parentElement.appendChild(root);
  }
  root.innerHTML = '';
  const {tokens, weights, colours, heads, steps, texts} = data;  // weights[h][i][j] in 0 … steps
  const t = tokens.length;
  const on = new Set(heads);
  const swatches = document.createElement('div');
  swatches.className = 'swatches';
  root.appendChild(swatches);
  const rowH = 22, textW = 140, gapW = 220, top = 10;
  const width = textW * 2 + gapW, height = top * 2 + rowH * t;
  const svg = el('svg', {width, height, viewBox: `0 0 ${width} ${height}`, 'data-testid': 'attnviz-head-view'});
  root.appendChild(svg);
  const lines = el('g', {});
  svg.appendChild(lines);
  const y = (i) => top + rowH * i + rowH / 2;
  const x0 = textW, x1 = textW + gapW;
  const draw = (focus) => {  // focus: null, or {side: 'q'|'k', index}
    lines.replaceChildren();
    const floor = focus ? 0 : 0.02 * steps;
    for (const h of heads) {
      if (!on.has(h)) continue;
      const w = weights[heads.indexOf(h)];
      for (let i = 0; i < t; i++) {
        if (focus && focus.side === 'q' && focus.index !== i) continue;
        for (let j = 0; j < t; j++) {
          if (focus && focus.side === 'k' && focus.index !== j) continue;
          const v = w[i][j];
          if (v <= 0 || v < floor) continue;
          lines.appendChild(el('line', {
            x1: x0, y1: y(i), x2: x1, y2: y(j), stroke: colours[h], 'stroke-width': 2,
            'stroke-opacity': (v / steps).toFixed(3), 'data-q': i, 'data-k': j, 'data-h': h,
          }));
        }
      }
    }
    root.dataset.lines = String(lines.childElementCount);
  };
  const labels = [];
  for (const [side, x, anchor] of [['q', x0 - 8, 'end'], ['k', x1 + 8, 'start']]) {
    tokens.forEach((token, i) => {
      const text = el('text', {x, y: y(i), 'text-anchor': anchor, 'data-side': side, 'data-index': i});
      text.textContent = token;
      text.addEventListener('mouseenter', () => { text.classList.add('hot'); draw({side, index: i}); });
      text.addEventListener('mouseleave', () => { text.classList.remove('hot'); draw(null); });
      svg.appendChild(text);
      labels.push(text);
    });
  }
  for (const h of heads) {
    const box = document.createElement('div');
    box.className = 'swatch';
    box.style.background = colours[h];
    box.title = texts.swatch.replace('{head}', String(h));
    box.dataset.head = String(h);
    box.addEventListener('click', () => {
      if (on.has(h)) { on.delete(h); box.classList.add('off'); } else { on.add(h); box.classList.remove('off'); }
      draw(null);
    });
    swatches.appendChild(box);
  }
  const hint = document.createElement('div');
  hint.className = 'hint';
  hint.textContent = texts.hint;
  root.appendChild(hint);
  draw(null);
}
"""


@functools.cache
def _mount() -> Callable[..., Any]:
    """The element's mount callable, registered once per process."""
    return components_v2.component("attnviz_head_view", css=_CSS, js=_JS, isolate_styles=False)


def head_view_data(weights, labels: Sequence[str], heads: Sequence[int] | None = None) -> dict:
    """What the head view draws: ``weights`` ``(H, T, T)`` (NaN = masked, no line) as integers 0 … 1000 per head
    in ``heads`` (default all), the token labels, one colour per head index, and its texts in the reader's language
    (``swatch`` holds ``{head}``)."""
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 3 or w.shape[1] != w.shape[2]:
        raise ValueError(_("head view weights must have shape (H, T, T), got {shape}").format(shape=w.shape))
    n_heads, t = w.shape[:2]
    if len(labels) != t:
        raise ValueError(_("{labels} labels for {tokens} tokens").format(labels=len(labels), tokens=t))
    heads = list(range(n_heads)) if heads is None else [int(h) for h in heads]
    if any(not 0 <= h < n_heads for h in heads):
        raise ValueError(_("heads {heads} must be from 0 to {last}").format(heads=heads, last=n_heads - 1))
    steps = np.rint(np.nan_to_num(w[heads], nan=0.0).clip(0, 1) * WEIGHT_STEPS).astype(int)
    return {
        "tokens": [str(label) for label in labels],
        "weights": steps.tolist(),
        "heads": heads,
        "colours": [HEAD_COLOURS[h % len(HEAD_COLOURS)] for h in range(n_heads)],
        "steps": WEIGHT_STEPS,
        "texts": {
            "swatch": _("head {head}: click to hide or show"),
            "hint": _(
                "Left: queries, right: keys. Hover a token to see only its lines; click a colour to hide a head."
            ),
        },
    }


def head_view(weights, labels: Sequence[str], *, key: str, heads: Sequence[int] | None = None) -> None:
    """Draw the head view of one layer's ``weights`` ``(H, T, T)``."""
    _mount()(key=key, data=head_view_data(weights, labels, heads), width="stretch", height="content")
