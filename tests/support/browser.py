"""Chromium driven by Playwright, and the waits that make a real browser deterministic: "the rerun this action
caused has finished and the page has painted". Shared by the browser tests (``tests/e2e``) and the benchmarks.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from tests.support.server import REPO_ROOT

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Locator, Page, Playwright, WebSocket

# Debian's chromium: Playwright's own browser builds cannot be downloaded here. The network is closed, so switch
# off everything that phones home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

APP_IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"
PLOTLY_SVG = ".js-plotly-plot .main-svg"
PLOTLY_CHART = "[data-testid=stPlotlyChart], .attnviz-chart"  # Streamlit's own chart or the in-place one


# --------------------------------------------------------------------------------------------------- browser


def chromium_executable() -> str | None:
    """Debian's chromium on PATH, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def launch_chromium(playwright: Playwright) -> Browser:
    executable = chromium_executable()
    if executable is None:
        raise RuntimeError("chromium is not installed (Debian package 'chromium')")
    return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)


def new_page(browser: Browser, width: int = 1400, height: int = 1000) -> Page:
    """A page in a fresh context (own cookies, own Streamlit session), with the rerun probe installed."""
    context = browser.new_context(viewport={"width": width, "height": height})
    context.add_init_script(_probe_script())
    return context.new_page()


# Console errors that come from the closed network, not from the app: requests to hosts other than ours.
_BENIGN_MARKERS = ("net::ERR_NAME_NOT_RESOLVED", "net::ERR_INTERNET_DISCONNECTED", "net::ERR_CONNECTION_REFUSED")
# Opened at a page's URL (/Tokens), Streamlit's frontend first looks for its server under that path
# (/Tokens/_stcore/health, /Tokens/_stcore/host-config), gets 404 and falls back to the root: not an app error.
_BASE_PATH_PROBE = re.compile(r"^/[^?#]+/_stcore/(health|host-config)$")


def _is_local(url: str) -> bool:
    host = urlparse(url).hostname or ""
    return host in ("127.0.0.1", "localhost", "::1") or not url.startswith(("http:", "https:", "ws:", "wss:"))


def _is_benign(text: str, url: str) -> bool:
    if url and not _is_local(url):
        return True
    if any(marker in text for marker in _BENIGN_MARKERS):
        return True
    return "status of 404" in text and bool(_BASE_PATH_PROBE.match(urlparse(url).path))


@dataclass
class ConsoleErrors:
    """Collects ``console.error`` messages and uncaught page errors; ``errors`` are the ones to assert on."""

    errors: list[str] = field(default_factory=list)
    benign: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> ConsoleErrors:
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        return self

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "") or ""
        text = f"console.error: {message.text} ({url})" if url else f"console.error: {message.text}"
        if _is_benign(message.text, url):
            self.benign.append(text)
        else:
            self.errors.append(text)


# --------------------------------------------------------------------------------------------------- waits
#
# "The rerun this action caused is over" cannot be read from the DOM alone: stApp's data-test-script-state goes
# running → notRunning, but a rerun of a few milliseconds is batched by React and never shows "running". So every
# page gets a probe (an init script) that wraps the browser's WebSocket and reads the top-level field numbers of each
# ForwardMsg the server sends: a script_finished message (other than "finished early for a rerun") ends a rerun.


def _forward_msg_fields() -> dict[str, int]:
    try:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        fields = ForwardMsg.DESCRIPTOR.fields_by_name
        early = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_EARLY_FOR_RERUN")
        return {"finished": fields["script_finished"].number, "early": early}
    except (ImportError, KeyError, ValueError):  # the numbers of streamlit 1.4x–1.6x
        return {"finished": 6, "early": 2}


def _probe_script() -> str:
    fields = _forward_msg_fields()
    return _PROBE_JS.replace("FINISHED_FIELD", str(fields["finished"])).replace("EARLY_STATUS", str(fields["early"]))


_PROBE_JS = """(() => {
  const FINISHED = FINISHED_FIELD, EARLY = EARLY_STATUS;
  const probe = {finished: 0, finishedAt: null, firstAt: null, bytes: 0, messages: 0};
  window.__attnvizWs = probe;
  const topFields = (buffer) => {
    const b = new Uint8Array(buffer); let i = 0; const out = [];
    const varint = () => {
      let r = 0, m = 1, x;
      do { x = b[i++]; r += (x & 0x7f) * m; m *= 128; } while (x & 0x80 && i < b.length);
      return r;
    };
    while (i < b.length) {
      const tag = varint(), field = Math.floor(tag / 8), wire = tag & 7; let value = null;
      if (wire === 0) value = varint();
      else if (wire === 2) { const length = varint(); i += length; }  // not `i += varint()`: reads i first
      else if (wire === 1) i += 8;
      else if (wire === 5) i += 4;
      else break;
      out.push([field, value]);
    }
    return out;
  };
  const record = (buffer) => {
    if (probe.firstAt === null) probe.firstAt = performance.now();
    probe.bytes += buffer.byteLength; probe.messages += 1;
    for (const [field, value] of topFields(buffer)) {
      if (field === FINISHED && value !== EARLY) { probe.finished += 1; probe.finishedAt = performance.now(); }
    }
  };
  // Long tasks (> 50 ms) of the page's main thread: the browser's own share of an interaction.
  probe.longTasks = [];
  const keep = (list) => { for (const e of list.getEntries()) probe.longTasks.push([e.startTime, e.duration]); };
  try {
    probe.longTaskObserver = new PerformanceObserver(keep);
    probe.longTaskObserver.observe({type: 'longtask', buffered: true});
  } catch (err) { probe.longTaskObserver = null; }
  const Native = window.WebSocket;
  class ProbedWebSocket extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (event) => {
        if (event.data instanceof ArrayBuffer) record(event.data);
        else if (event.data && event.data.arrayBuffer) event.data.arrayBuffer().then(record);
      });
    }
  }
  window.WebSocket = ProbedWebSocket;
})();"""


# Installed right before an action. Remembers how many reruns had finished, watches stApp's script state, counts
# changes inside plotly charts (to wait until they stop repainting), and takes the action's start time: the first key
# or pointer press after arming (performance.now(), the page's clock).
_ARM_JS = """() => {
  const app = document.querySelector('[data-testid=stApp]');
  const old = window.__attnvizRerun;
  if (old) { old.observer.disconnect(); old.plotObserver.disconnect(); }
  const probe = window.__attnvizWs || {finished: 0};
  const state = {base: probe.finished, seen: false, done: false, t0: null, plotMutations: 0, lastPlotMutationAt: null};
  state.observer = new MutationObserver(() => {
    if (app.getAttribute('data-test-script-state') !== 'notRunning') state.seen = true;
  });
  state.observer.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
  state.plotObserver = new MutationObserver((records) => {
    for (const r of records) {
      const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
      if (el && el.closest && el.closest('[data-testid=stPlotlyChart], .attnviz-chart')) {
        state.plotMutations += 1;
        state.lastPlotMutationAt = performance.now();
        return;
      }
    }
  });
  state.plotObserver.observe(app, {attributes: true, childList: true, subtree: true, characterData: true});
  const start = () => { if (state.t0 === null) state.t0 = performance.now(); };
  for (const type of ['keydown', 'pointerdown', 'mousedown']) {
    window.addEventListener(type, start, {capture: true, once: true});
  }
  state.bytesBase = probe.bytes || 0;
  probe.firstAt = null;
  // plotly.js's own drawing (its synchronous part) per call, once plotly.js is on the page: [start, ms] pairs.
  if (window.Plotly && !window.Plotly.__attnvizTimed) {
    for (const name of ['react', 'newPlot', 'relayout']) {
      const draw = window.Plotly[name];
      window.Plotly[name] = function (...args) {
        const begin = performance.now();
        try { return draw.apply(this, args); } finally {
          (window.__attnvizDraws || (window.__attnvizDraws = [])).push([begin, performance.now() - begin]);
        }
      };
    }
    window.Plotly.__attnvizTimed = true;
  }
  window.__attnvizDraws = [];
  window.__attnvizRerun = state;
}"""

# Done: a rerun finished since arming (or stApp was seen running), and stApp reads notRunning.
_RERUN_DONE_JS = """() => {
  const s = window.__attnvizRerun, probe = window.__attnvizWs || {finished: 0};
  const app = document.querySelector('[data-testid=stApp]');
  const idle = !!app && app.getAttribute('data-test-script-state') === 'notRunning';
  return !!s && idle && (probe.finished > s.base || s.seen);
}"""

# Two animation frames after the rerun, repeated while a plotly chart is still changing; returns the time since the
# action's start (ms, the page's clock), the frame pairs waited, and the websocket bytes received since arming.
_SETTLE_JS = """async (maxMs) => {
  const s = window.__attnvizRerun, probe = window.__attnvizWs || {};
  const frame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));
  const begin = performance.now();
  let pairs = 0;
  while (true) {
    const before = s.plotMutations;
    await frame(); await frame();
    pairs += 1;
    if (s.plotMutations === before || performance.now() - begin > maxMs) break;
  }
  const end = performance.now();
  if (probe.longTaskObserver) {
    for (const e of probe.longTaskObserver.takeRecords()) probe.longTasks.push([e.startTime, e.duration]);
  }
  const longTasks = s.t0 === null ? [] : (probe.longTasks || []).filter(([start]) => start >= s.t0 && start <= end);
  s.observer.disconnect();
  s.plotObserver.disconnect();
  const draws = s.t0 === null ? [] : (window.__attnvizDraws || []).filter(([start]) => start >= s.t0 && start <= end);
  return {
    elapsed: s.t0 === null ? null : end - s.t0,
    // Where the time went: until the server's first message, until its script_finished, then the browser.
    firstMessage: s.t0 === null || probe.firstAt === null ? null : probe.firstAt - s.t0,
    finished: s.t0 === null || probe.finishedAt === null ? null : probe.finishedAt - s.t0,
    longTaskMs: longTasks.reduce((sum, [, duration]) => sum + duration, 0),
    pairs,
    plotMutations: s.plotMutations,
    bytes: (probe.bytes || 0) - s.bytesBase,
    // plotly.js's share: its draw calls (count, summed ms) and when the first began and the last ended.
    plotlyDraws: draws.length,
    plotlyMs: draws.reduce((sum, [, ms]) => sum + ms, 0),
    firstDraw: draws.length ? draws[0][0] - s.t0 : null,
    lastDrawEnd: draws.length ? Math.max(...draws.map(([start, ms]) => start + ms)) - s.t0 : null,
  };
}"""


def arm_rerun(page: Page) -> None:
    """Start watching for the rerun the next action causes (call right before the action)."""
    page.evaluate(_ARM_JS)


def wait_idle(page: Page, timeout: float = 60_000, *, changed: str | None = None) -> None:
    """Wait until the app is idle: no script running.

    After :func:`arm_rerun` and an action: waits for that action's rerun to start *and* finish (right after the
    action the state still reads ``notRunning``: the rerun has not started yet). ``changed`` is an optional JS
    expression for the DOM change the action should cause, waited for as well. Without :func:`arm_rerun` (e.g.
    after navigating) it waits for ``notRunning``. ``timeout`` in ms.
    """
    armed = page.evaluate("() => !!window.__attnvizRerun && !window.__attnvizRerun.done")
    if not armed:
        page.wait_for_selector(APP_IDLE, state="attached", timeout=timeout)
        return
    condition = _RERUN_DONE_JS if changed is None else f"() => ({_RERUN_DONE_JS})() && !!({changed})"
    page.wait_for_function(condition, timeout=timeout, polling="raf")
    page.evaluate("() => { window.__attnvizRerun.done = true; }")


def diagnose(page: Page, screenshot: str | None = "benchmark-failure") -> str:
    """What the page looks like when a wait failed (and a screenshot in test-artifacts/)."""
    try:
        state = page.evaluate(
            """() => {
              const s = window.__attnvizRerun || {}, p = window.__attnvizWs || {};
              const app = document.querySelector('[data-testid=stApp]');
              const editor = document.querySelector('#portal input, #portal textarea');
              return {
                script: app && app.getAttribute('data-test-script-state'),
                connection: app && app.getAttribute('data-test-connection-state'),
                armed_at_finished: s.base, finished: p.finished, seen: s.seen, t0: s.t0,
                open_cell_editor: editor ? editor.value : null,
                exceptions: document.querySelectorAll('[data-testid=stException]').length,
              };
            }"""
        )
    except Exception as err:  # the page itself may be gone
        return f"page state unavailable: {err}"
    if screenshot:
        folder = REPO_ROOT / "test-artifacts"
        folder.mkdir(exist_ok=True)
        with contextlib.suppress(Exception):
            page.screenshot(path=str(folder / f"{screenshot}.png"))
    return ", ".join(f"{k}={v}" for k, v in state.items())


def settle(page: Page, max_ms: float = 10_000) -> dict[str, Any]:
    """After :func:`wait_idle`: two animation frames, more while plotly is still drawing; timing since the action."""
    return page.evaluate(_SETTLE_JS, max_ms)


def load(page: Page, url: str, timeout: float = 90_000, *, charts: bool = True) -> None:
    """Open ``url`` and wait for the first run to finish (and, with ``charts``, for a plotly chart to be drawn)."""
    page.goto(url, wait_until="domcontentloaded", timeout=timeout)
    page.wait_for_selector(APP_IDLE, state="attached", timeout=timeout)
    if charts:
        page.wait_for_selector(PLOTLY_SVG, state="attached", timeout=timeout)
        wait_charts_drawn(page, timeout=timeout)


def wait_charts_drawn(page: Page, timeout: float = 60_000) -> None:
    """Every plotly chart element on the page holds a drawn plot (``.main-svg``)."""
    page.wait_for_function(
        """() => {
          const charts = [...document.querySelectorAll('[data-testid=stPlotlyChart], .attnviz-chart')];
          return charts.length > 0 && charts.every((c) => c.querySelector('.js-plotly-plot .main-svg'));
        }""",
        timeout=timeout,
    )


# --------------------------------------------------------------------------------------------------- plotly


def plotly_figures(page: Page) -> list[dict[str, Any]]:
    """Every drawn plotly chart on the page, in document order, as plain JSON.

    ``title``; ``traces`` (count); per trace ``types``, ``x``, ``y``, ``z`` (typed arrays as lists); ``layout``.
    """
    return page.evaluate(
        """() => {
          // plotly's base64 typed array ({dtype, bdata, shape}), as the figure JSON carries it, decoded.
          const TYPES = {f8: Float64Array, f4: Float32Array, i4: Int32Array, u4: Uint32Array, i2: Int16Array,
                         u2: Uint16Array, i1: Int8Array, u1: Uint8Array};
          const decode = (v) => {
            const bytes = Uint8Array.from(atob(v.bdata), (c) => c.charCodeAt(0));
            const flat = Array.from(new TYPES[v.dtype](bytes.buffer));
            const shape = String(v.shape || flat.length).split(',').map(Number);
            if (shape.length < 2) return flat;
            return Array.from({length: shape[0]}, (_, i) => flat.slice(i * shape[1], (i + 1) * shape[1]));
          };
          const plain = (v) => {
            if (v === undefined || v === null) return null;
            if (typeof v === 'object' && typeof v.bdata === 'string' && v.dtype in TYPES) return decode(v);
            if (ArrayBuffer.isView(v)) return Array.from(v);
            if (Array.isArray(v)) return v.map(plain);
            if (typeof v === 'object') {
              const out = {};
              for (const [k, w] of Object.entries(v)) if (!k.startsWith('_')) out[k] = plain(w);
              return out;
            }
            return v;
          };
          return [...document.querySelectorAll('.js-plotly-plot')].map((gd) => {
            const layout = gd.layout || {};
            const title = layout.title && (typeof layout.title === 'string' ? layout.title : layout.title.text);
            const data = gd.data || [];
            return {
              title: title || null,
              traces: data.length,
              types: data.map((t) => t.type || null),
              x: data.map((t) => plain(t.x)),
              y: data.map((t) => plain(t.y)),
              z: data.map((t) => plain(t.z)),
              layout: plain(layout),
            };
          });
        }"""
    )


def figure_titled(page: Page, title_start: str) -> dict[str, Any]:
    """The one drawn plotly figure whose title starts with ``title_start``."""
    figures = plotly_figures(page)
    found = [f for f in figures if (f["title"] or "").startswith(title_start)]
    if len(found) != 1:
        raise AssertionError(f"{len(found)} figures titled {title_start!r}…; titles: {[f['title'] for f in figures]}")
    return found[0]


# The drawn in-place heatmap titled ``title``, scrolled to the middle of the view: its cells' box and grid size.
_HEATMAP_BOX_JS = """([title]) => {
  const gd = [...document.querySelectorAll('.attnviz-chart.js-plotly-plot')]
    .find((g) => g.layout && g.layout.title && g.layout.title.text === title);
  if (!gd) return null;
  gd.scrollIntoView({block: 'center'});
  const r = gd.querySelector('.hm image').getBoundingClientRect();
  return {x: r.x, y: r.y, width: r.width, height: r.height, rows: gd.data[0].y.length, cols: gd.data[0].x.length};
}"""


def heatmap_cell_point(page: Page, title: str, row: int, col: int) -> tuple[float, float]:
    """The centre of cell (row, col) of the drawn heatmap titled ``title`` (rows run top to bottom), in page
    coordinates for ``page.mouse``; the chart is scrolled into view first."""
    box = page.evaluate(_HEATMAP_BOX_JS, [title])
    assert box, f"no drawn chart titled {title!r}"
    return (
        box["x"] + box["width"] * (col + 0.5) / box["cols"],
        box["y"] + box["height"] * (row + 0.5) / box["rows"],
    )


def axis_labels(figure: dict[str, Any], axis: str = "x", trace: int = 0) -> list[Any]:
    """The labels along ``axis`` of a figure: the layout's ticktext when set, else the trace's coordinates."""
    layout_axis = figure["layout"].get(f"{axis}axis") or {}
    if layout_axis.get("ticktext"):
        return list(layout_axis["ticktext"])
    return list(figure[axis][trace] or [])


# --------------------------------------------------------------------------------------------------- widgets

# Streamlit's data editor is a canvas grid (glide-data-grid): no DOM per cell. Its column widths and row height are
# read from the grid component's props through React's fiber, so a cell's centre is computed, not guessed.
_CELL_CENTRE_JS = """([key, row, column]) => {
  const root = document.querySelector(`.st-key-${key} [data-testid=stDataFrameResizable]`);
  if (!root) throw new Error(`no data editor with key ${key}`);
  const fiberKey = Object.keys(root).find((k) => k.startsWith('__reactFiber'));
  const queue = [root[fiberKey]];
  let grid = null;
  while (queue.length) {
    const f = queue.shift();
    const p = f.memoizedProps;
    const sized = p && Array.isArray(p.columns) && p.columns.length && typeof p.columns[0].width === 'number';
    if (sized) { grid = p; break; }
    for (let c = f.child; c; c = c.sibling) queue.push(c);
  }
  if (!grid) throw new Error('data editor grid not found');
  const box = root.querySelector('canvas').getBoundingClientRect();
  let x = box.x;  // small editors: no horizontal scroll
  let position = 0;
  for (const c of grid.columns) {
    const isIndex = String(c.id || '').startsWith('_index');
    const hit = !isIndex && (typeof column === 'number' ? position === column : String(c.title) === column);
    if (hit) return {x: x + c.width / 2, y: box.y + grid.headerHeight + grid.rowHeight * (row + 0.5)};
    if (!isIndex) position += 1;
    x += c.width;
  }
  throw new Error(`no column ${column} in ${grid.columns.map((c) => c.title)}`);
}"""


def open_cell_editor(page: Page, key: str, row: int, column: int | str, value: str, timeout: float = 10_000) -> None:
    """Open the editor of a cell of data editor ``key`` and type ``value`` (not committed yet).

    ``row`` counts data rows from 0; ``column`` is a data column's position from 0 (index columns not counted)
    or its displayed title. Commit with ``page.keyboard.press("Enter")`` (after :func:`arm_rerun` to time it).
    """
    page.wait_for_selector(f".st-key-{key} canvas", timeout=timeout)
    page.locator(f".st-key-{key}").scroll_into_view_if_needed()
    centre = page.evaluate(_CELL_CENTRE_JS, [key, row, column])
    page.mouse.move(centre["x"], centre["y"])
    page.mouse.dblclick(centre["x"], centre["y"])
    editor = page.locator("#portal input, #portal textarea").first
    editor.wait_for(state="visible", timeout=timeout)
    editor.fill(value)
    # Glide's number editor parses the typed text through React state: let it land before Enter commits.
    page.wait_for_function(
        "(v) => { const e = document.querySelector('#portal input, #portal textarea'); return e && e.value === v; }",
        arg=value,
        timeout=timeout,
    )
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")


def edit_cell(page: Page, key: str, row: int, column: int | str, value: str, timeout: float = 60_000) -> None:
    """Edit one cell of data editor ``key`` and wait for the rerun it causes."""
    open_cell_editor(page, key, row, column, value)
    arm_rerun(page)
    page.keyboard.press("Enter")
    wait_idle(page, timeout)


def _option_index(texts: list[str], option: str) -> int | None:
    """``option`` is an option's whole text, or its first word (``"8"`` for ``"8  (d_head = 1)"``)."""
    for i, text in enumerate(texts):
        if text == option:
            return i
    for i, text in enumerate(texts):
        if text.split() and text.split()[0] == option:
            return i
    return None


def open_selectbox(page: Page, key: str, option: str, timeout: float = 60_000) -> Locator:
    """Open selectbox ``key`` and return the locator of ``option`` (its text, or its first word); not clicked."""
    page.locator(f".st-key-{key} [role=combobox], .st-key-{key} [data-baseweb=select]").first.click()
    options = page.locator("[role=listbox] [role=option]")
    options.first.wait_for(state="visible", timeout=timeout)
    texts = [text.strip() for text in options.all_inner_texts()]
    index = _option_index(texts, option)
    if index is None:
        page.keyboard.press("Escape")
        raise ValueError(f"selectbox {key!r} has no option {option!r}; it has {texts}")
    return options.nth(index)


def choose_option(page: Page, key: str, option: str, timeout: float = 60_000) -> None:
    """Pick ``option`` (its text, or its first word) in selectbox ``key``; waits for the rerun it causes."""
    target = open_selectbox(page, key, option, timeout)
    arm_rerun(page)
    target.click()
    wait_idle(page, timeout)


def nudge_slider(page: Page, key: str, press: str = "ArrowRight", timeout: float = 60_000) -> None:
    """Move slider ``key`` by one step with the keyboard; waits for the rerun it causes."""
    page.locator(f".st-key-{key} input[type=range], .st-key-{key} [role=slider]").first.focus()
    arm_rerun(page)
    page.keyboard.press(press)
    wait_idle(page, timeout)


def slider_value(page: Page, key: str) -> float:
    thumb = page.locator(f".st-key-{key} input[type=range], .st-key-{key} [role=slider]").first
    return float(thumb.get_attribute("aria-valuenow") or thumb.input_value())


def set_slider(page: Page, key: str, value: float, timeout: float = 60_000) -> None:
    """Move slider ``key`` to ``value`` with arrow keys (one step per press, integer sliders)."""
    for _ in range(2048):
        current = slider_value(page, key)
        if current == value:
            return
        nudge_slider(page, key, "ArrowRight" if current < value else "ArrowLeft", timeout)
    raise AssertionError(f"slider {key!r} did not reach {value}")


def choose_radio(page: Page, key: str, option: str, timeout: float = 60_000) -> None:
    """Pick ``option`` in radio group ``key``."""
    arm_rerun(page)
    page.locator(f".st-key-{key} label").filter(has_text=option).first.click()
    wait_idle(page, timeout)


def open_tab(page: Page, label: str, timeout: float = 60_000) -> None:
    """Click the tab labelled ``label`` and wait for the rerun it causes (tabs with ``on_change="rerun"``)."""
    arm_rerun(page)
    page.get_by_role("tab", name=label, exact=True).click()
    wait_idle(page, timeout)


def set_text(page: Page, key: str, value: str, timeout: float = 60_000) -> None:
    """Replace the text of text input/area or number input ``key``, commit it (Enter, Ctrl+Enter in a text area)
    and wait for the rerun; nothing happens when it already holds ``value``."""
    field_ = page.locator(f".st-key-{key} input, .st-key-{key} textarea").first
    if field_.input_value() == value:
        return  # unchanged: Streamlit would not rerun
    field_.fill(value)
    is_area = field_.evaluate("(e) => e.tagName === 'TEXTAREA'")
    arm_rerun(page)
    page.keyboard.press("ControlOrMeta+Enter" if is_area else "Enter")
    wait_idle(page, timeout)


# --------------------------------------------------------------------------------------------------- websocket


class PayloadMeter:
    """Bytes the server sends to the browser over Streamlit's websocket (attach before ``goto``)."""

    def __init__(self, page: Page):
        self.received = 0
        self.frames = 0
        page.on("websocket", self._on_socket)

    def _on_socket(self, socket_: WebSocket) -> None:
        if "/_stcore/stream" in socket_.url:
            socket_.on("framereceived", self._on_frame)

    def _on_frame(self, payload: bytes | str) -> None:
        self.received += len(payload.encode() if isinstance(payload, str) else payload)
        self.frames += 1

    def reset(self) -> None:
        self.received = 0
        self.frames = 0
