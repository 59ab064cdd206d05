"""A plotly chart that updates in place: one element per key, new figures applied with ``Plotly.react``.

``st.plotly_chart`` (Streamlit 1.67) hashes the figure's spec into its element id, so every changed figure is a new
element and the browser rebuilds it from scratch with ``Plotly.newPlot``. :func:`plotly_chart` draws the same spec
(``plotly.io.to_json(fig, validate=False)``, exactly what ``st.plotly_chart`` sends) in a small
``st.components.v2`` component whose identity is its key alone: the browser keeps the chart's DOM node across
reruns and hands it the new figure with ``Plotly.react``, which redraws only what changed.

plotly.js itself is the copy inside the installed ``plotly`` package, served by this app's own server (a static
file route registered through ``st.components.v1.declare_component``, never a CDN), loaded once per browser tab.
:func:`preload_plotly` starts that load before the first chart exists, so it overlaps the server's work.

Under ``AppTest`` (no browser) the figure is drawn with ``st.plotly_chart`` instead, so page tests read the spec as
before: ``json.loads(at.get("plotly_chart")[0].proto.spec)``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

import plotly
import plotly.graph_objects as go
import plotly.io
import streamlit as st
import streamlit.components.v1 as components_v1
import streamlit.components.v2 as components_v2

from attnviz import i18n
from attnviz.i18n import N_
from attnviz.i18n import gettext as _

__all__ = [
    "FORCE_COMPONENT",
    "PLOTLY_JS",
    "figure_spec",
    "locale_config",
    "plotly_chart",
    "plotly_js_url",
    "preload_plotly",
]

# The plotly.js bundle shipped inside the installed plotly package (the one plotly's own offline HTML export uses).
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
_ASSET_NAME = "plotly_js"  # served as /component/<this module>.plotly_js/plotly.min.js
# Tests set this to draw the component even under AppTest (to read what the browser would receive).
FORCE_COMPONENT = False
IMAGE_SCALE = 2  # downloads at twice the on-screen resolution

_CSS = (
    ".attnviz-chart { width: 100%; }\n[data-testid=stElementContainer]:has(.attnviz-chart-preload) { display: none; }"
)

# One module per browser tab: plotly.js is loaded once (window.Plotly) and each chart keeps its own DOM node
# (stored on the component's root); a new figure for the same key goes to Plotly.react on that node.
_JS = r"""
const loadPlotly = (url) => {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!window.__attnvizPlotly) {
    window.__attnvizPlotly = new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = url;
      script.async = true;
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => { window.__attnvizPlotly = null; reject(new Error(`plotly.js not loaded from ${url}`)); };
      document.head.appendChild(script);
    });
  }
  return window.__attnvizPlotly;
};

const pointOf = (event) => {
  const p = event && event.points && event.points[0];
  if (!p) return null;
  const index = Array.isArray(p.pointIndex) ? p.pointIndex : (p.pointIndex ?? p.pointNumber ?? null);
  return {x: p.x ?? null, y: p.y ?? null, z: p.z ?? null, curve: p.curveNumber ?? null, point: index};
};

const axesOf = (layout) => Object.keys(layout || {}).filter((k) => /^[xy]axis\d*$/.test(k)).sort().join();

const KEPT_DRAWINGS = 2;  // per chart: earlier drawings with other subplots, kept off the page for a way back

export default function (component) {
  const {parentElement} = component;
  // A chart's data arrives as bytes, {"meta": {...}, "figure": <the figure JSON>} (parsed once, here).
  const raw = component.data;
  if (!raw) return;
  const text = ArrayBuffer.isView(raw) ? new TextDecoder().decode(raw) : null;
  const data = text === null ? raw : JSON.parse(text);
  const loading = loadPlotly(data.plotly || data.meta.plotly);
  const meta = data.meta;
  if (!data.figure) {  // a preload: only start loading plotly.js (the marker hides the element's container)
    if (!parentElement.querySelector(':scope > .attnviz-chart-preload')) {
      const marker = document.createElement('div');
      marker.className = 'attnviz-chart-preload';
      parentElement.appendChild(marker);
    }
    return;
  }
  const newRoot = () => {
    const node = document.createElement('div');
    node.className = 'attnviz-chart';
    return node;
  };
  let root = parentElement.querySelector(':scope > .attnviz-chart');
  if (!root) root = parentElement.appendChild(newRoot());
  // The chart's state lives on the element's container: the drawn node may be swapped for a kept one.
  const state = parentElement.__attnviz || (parentElement.__attnviz = {seq: 0, bound: false, kept: new Map()});
  state.seq += 1;
  state.component = component;
  state.data = data;
  const seq = state.seq;
  const figure = data.figure;
  const layout = figure.layout || {};
  if (layout.height) root.style.minHeight = `${layout.height}px`;  // no jump while plotly.js loads
  loading.then((Plotly) => {
    if (seq !== state.seq) return;  // a newer figure already arrived
    if (text !== null && text === root.__attnvizText) return;  // this very figure is drawn already
    // One config object per chart while its settings stay the same: Plotly.react compares the new config with the
    // drawn one (functions by identity) and on any difference draws the chart afresh, then reacts once more.
    const configKey = JSON.stringify([meta.config, meta.filename, meta.scale, meta.svgTitle]);
    if (state.configKey !== configKey) {
      const filename = meta.filename;
      state.configKey = configKey;
      state.config = {
        ...meta.config,
        toImageButtonOptions: {format: 'png', filename, scale: meta.scale, ...(meta.config.toImageButtonOptions || {})},
        modeBarButtonsToAdd: [...(meta.config.modeBarButtonsToAdd || []), {
          name: 'downloadSvg',
          title: meta.svgTitle || 'Download plot as SVG',
          icon: Plotly.Icons.disk,
          click: (gd) => Plotly.downloadImage(gd, {format: 'svg', filename}),
        }],
      };
    }
    const config = state.config;
    // The width is passed, not measured by plotly (autosize): one layout read per chart and resize, not per redraw.
    if (!state.width) state.width = root.clientWidth || parentElement.clientWidth || 700;
    state.stretch = layout.width === undefined;
    if (state.stretch) layout.width = state.width;
    const traces = figure.data || [];
    const swap = (next) => {  // put `next` on the page in place of the drawn node, keeping that one off the page
      if (root.__attnvizText) {
        state.kept.delete(root.__attnvizText);
        state.kept.set(root.__attnvizText, root);
        for (const [key, node] of state.kept) {
          if (state.kept.size <= KEPT_DRAWINGS) break;
          state.kept.delete(key);
          Plotly.purge(node);
        }
      }
      next.style.minHeight = root.style.minHeight;
      root.replaceWith(next);
      root = next;
    };
    const kept = text === null ? undefined : state.kept.get(text);
    if (kept) {
      // Back to a figure drawn before with other subplots (e.g. 8 → 4 → 8 heads): its drawing comes back as it was.
      state.kept.delete(text);
      swap(kept);
      if (state.stretch && kept._fullLayout && kept._fullLayout.width !== state.width) {
        Plotly.relayout(kept, {width: state.width});
      }
    } else if (root.data && root.data.length === traces.length && axesOf(root.layout) === axesOf(layout)) {
      Plotly.react(root, traces, layout, config);
      root.__attnvizText = text;
    } else {
      // A new set of subplots (e.g. 4 → 8 heads): react would diff, then redraw everything anyway, which measured
      // slower than drawing afresh. The drawing it replaces is kept off the page (above) for a way back.
      if (root.data && root.__attnvizText) swap(newRoot());
      Plotly.newPlot(root, traces, layout, config);
      root.__attnvizText = text;
      root.on('plotly_click', (event) => {
        const point = pointOf(event);
        // A click's time stamps it: the same cell clicked again is a new selection (the learner may have moved away).
        if (point && state.data.meta.select) state.component.setStateValue('selection', {...point, click: Date.now()});
      });
    }
    if (!state.bound) {
      state.bound = true;
      state.resize = new ResizeObserver((entries) => {
        const width = Math.round(entries[entries.length - 1].contentRect.width);
        if (!width || width === state.width || !parentElement.isConnected) return;
        state.width = width;
        const drawn = parentElement.querySelector(':scope > .attnviz-chart');
        if (state.stretch && drawn && drawn.data) Plotly.relayout(drawn, {width});
      });
      state.resize.observe(parentElement);
    }
  });
}
"""

# Defined once, when this module is imported (Streamlit registers it again on each new runtime when it is mounted).


def _compact(js: str) -> str:
    """``js`` without its comments and indentation: Streamlit sends a component's script with every element of it
    on every rerun, so each character counts once per chart per interaction. (Comments stand on their own line or
    after two spaces; the script has no ``//`` in its strings.)"""
    lines = []
    for line in js.splitlines():
        code = line.split("  // ", 1)[0].strip()
        if code and not code.startswith("//"):
            lines.append(code)
    return "\n".join(lines)


_COMPONENT = components_v2.component("attnviz_chart", css=_CSS, js=_compact(_JS), isolate_styles=False)


# plotly.js's own words (modebar buttons, notices), given to it in the interface's language through its config.
_PLOTLY_WORDS = (
    N_("Autoscale"),
    N_("Box Select"),
    N_("Compare data on hover"),
    N_("Double-click to zoom back out"),
    N_("Download plot"),
    N_("Download plot as a PNG"),
    N_("Image download succeeded"),
    N_("Lasso Select"),
    N_("Pan"),
    N_("Preparing image - this may take a few seconds"),
    N_("Produced with Plotly.js"),
    N_("Reset axes"),
    N_("Reset view"),
    N_("Reset views"),
    N_("Show closest data on hover"),
    N_("Sorry, there was a problem downloading your image!"),
    N_("Toggle Spike Lines"),
    N_("Toggle show closest data on hover"),
    N_("Zoom"),
    N_("Zoom in"),
    N_("Zoom out"),
)
PLOTLY_LOCALES = {"zh": "zh-CN"}  # the interface's language -> plotly.js's locale name


def locale_config() -> dict[str, Any]:
    """The plotly config entries that make plotly.js speak the interface's language (none in English)."""
    name = PLOTLY_LOCALES.get(i18n.language())
    if name is None:
        return {}
    return {"locale": name, "locales": {name: {"dictionary": {word: _(word) for word in _PLOTLY_WORDS}}}}


def plotly_js_url() -> str:
    """Where the browser loads plotly.js from: the app server's static route for the installed plotly's copy.

    Registers that route with the running server (idempotent; needs a script run).
    """
    declared = components_v1.declare_component(_ASSET_NAME, path=str(PLOTLY_JS.parent))
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    prefix = f"/{base}" if base else ""
    return f"{prefix}/component/{declared.name}/{PLOTLY_JS.name}"


def _under_apptest() -> bool:
    """True when the script runs under ``streamlit.testing`` (whose runtime is a stand-in, not a server)."""
    from streamlit.runtime import Runtime

    return Runtime.exists() and type(Runtime.instance()) is not Runtime


def _filename(fig: go.Figure | dict, key: str) -> str:
    """A download file name: the figure's title (or else its key), reduced to safe ASCII characters."""
    if isinstance(fig, dict):
        title = fig.get("layout", {}).get("title")
        text = title.get("text") if isinstance(title, dict) else title
    else:
        text = fig.layout.title.text

    def slug(name: object) -> str:
        return re.sub(r"[^0-9A-Za-z]+", "_", str(name or "")).strip("_")[:80]

    # A Chinese title would lose its words: the file is named by the chart's key instead.
    title = "" if re.search("[\u2e80-\u9fff]", str(text or "")) else slug(text)
    return f"attnviz_{title or slug(key) or 'chart'}"


def figure_spec(fig: go.Figure | dict) -> str:
    """The figure's JSON: ``plotly.io.to_json(fig, validate=False)``, what ``st.plotly_chart`` sends.

    A figure marked by :func:`attnviz.ui.cache.figure` (shared, never modified) keeps its JSON, so a rerun that
    draws it again does not serialize it again.
    """
    kept = getattr(fig, "_attnviz_spec", None)
    if kept is not None:
        return kept
    spec = plotly.io.to_json(fig, validate=False)
    if getattr(fig, "_attnviz_frozen", False):
        fig._attnviz_spec = spec
    return spec


def preload_plotly() -> None:
    """Start loading plotly.js in the browser now (an invisible element), before the first chart arrives."""
    if _under_apptest() and not FORCE_COMPONENT:
        return
    _COMPONENT(key="attnviz_plotly_preload", data={"plotly": plotly_js_url()}, width="stretch", height=0)


def plotly_chart(
    fig: go.Figure | dict,
    *,
    key: str,
    width: Literal["stretch", "content"] | int = "stretch",
    config: dict[str, Any] | None = None,
    theme: Literal["streamlit"] | None = None,
    on_select: Literal["ignore", "rerun"] = "ignore",
) -> dict[str, Any] | None:
    """Draw ``fig`` like ``st.plotly_chart(fig, key=key, width=width, config=config, theme=theme)``, in place.

    The element's identity is ``key`` alone: a new figure under the same key updates the chart already on the page.
    With ``on_select="rerun"`` a click on a point reruns the script and this returns that point as
    ``{"x", "y", "z", "curve", "point", "click"}`` (the last one clicked, kept across reruns; ``click`` is the
    click's time in ms, so clicking the same point again gives a new selection); otherwise None.
    Only ``theme=None`` (the figure's own template) is drawn by the component; ``theme="streamlit"`` and runs
    under AppTest use ``st.plotly_chart`` itself.
    """
    if not key:
        raise ValueError(f"key={key!r}: an in-place chart needs a non-empty key (its identity across reruns)")
    if on_select not in ("ignore", "rerun"):
        raise ValueError(f"on_select={on_select!r} is not 'ignore' or 'rerun'")
    config = {**locale_config(), **(config or {})}
    if theme is not None or (_under_apptest() and not FORCE_COMPONENT):
        st.plotly_chart(fig, key=key, width=width, config=config, theme=theme)
        return None
    meta = {
        "config": config,
        "filename": _filename(fig, key),
        "scale": IMAGE_SCALE,
        "select": on_select == "rerun",
        "plotly": plotly_js_url(),
        "svgTitle": _("Download plot as SVG"),
    }
    # Bytes, not a dict: the spec travels as it is (no second JSON encoding, no escaping) and Streamlit hashes the
    # bytes once instead of re-serializing the figure for the element's identity.
    spec = figure_spec(fig)
    data = f'{{"meta":{json.dumps(meta)},"figure":{spec}}}'.encode()
    callbacks = {"on_selection_change": (lambda: None)} if on_select == "rerun" else {}
    result = _COMPONENT(key=key, data=data, width=width, height="content", **callbacks)
    return result.get("selection") if on_select == "rerun" else None
