"""Load test: N concurrent sessions edit the worked example and switch pages, for a fixed time.

    python benchmarks/load.py [--client protocol|browser] [--sessions 30] [--seconds 60] [--think-ms 0]
                              [--out benchmarks/results/load.json]

Starts its own Streamlit server on a free loopback port (stopped by its own handle at the end, even on error) and,
until the deadline, has every session loop: edit a random cell of X on the worked example, wait until the result is
there, switch to another page and back. Sessions arrive a few at a time and the clock includes that ramp-up, so the
run lasts about ``--seconds`` plus the server's start; every wait is bounded and the run stops itself.

Two clients drive the sessions:

``--client protocol`` (the default) speaks Streamlit's own websocket protocol (``benchmarks/ws_client.py``): per
session the HTTP requests and the websocket handshake a browser makes (XSRF cookie and token, Origin), then exactly
the ``BackMsg`` frames the frontend sends: a rerun carrying every widget's state and the data editor's cumulative
edits, a page change carrying the target page's hash. It reads every ``ForwardMsg`` back: an edit is done when the
server's ``script_finished`` arrives, every element and figure of the page sent by then ("edit → rerun finished", the
server's share of a repaint; nothing is drawn). It exists because on a small machine the browsers, not the server, are
the bottleneck: 30 Chromium renderers on 2 cores could not even bring 30 sessions live in a minute, while the server
behind them was mostly idle. With the protocol client the server sees what 30 browsers make it do, and the load
client's own CPU time is reported so it can be told apart. Counted as errors: exception elements, error messages
(``st.error``), a run that does not finish successfully or runs another page than asked, an edit that leaves the
scores heatmap unchanged, edits gone after a page visit, timeouts and lost connections (the session then reconnects).

``--client browser`` drives one Chromium with one context per session (each context is its own Streamlit session):
it double-clicks the cell, types, presses Enter and waits for the repaint (script idle, the scores heatmap's z
changed, two animation frames), then switches page (its sidebar link, same session; by loading the page's URL, a new server
session, only when the link is missing). Chromium is then part of the machine under test, so the JSON reports
the CPU time the server and the browser each used. Counted as errors: exception blocks on the page, console errors and
uncaught page errors (not the ones the closed network or Streamlit's base-path probe cause), timeouts, and anything
else that interrupts a session's loop.

Prints a markdown table and writes the details as JSON (``"client"`` names the client used).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import statistics
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from benchmarks.harness import (
    _ARM_JS,
    _CELL_CENTRE_JS,
    _RERUN_DONE_JS,
    _SETTLE_JS,
    APP_IDLE,
    CHROMIUM_ARGS,
    REPO_ROOT,
    StreamlitServer,
    _is_benign,
    _probe_script,
    chromium_executable,
)
from benchmarks.ws_client import ProtocolClient, ProtocolError, RunResult, editor_column_names

WORKED = "pages/1_Worked_example.py"
X_KEY = "worked_x"
X_ROWS = 3
X_COLUMNS = ("d1", "d2", "d3", "d4")
SCORES_TITLE = "scores = Q·Kᵀ"

STEP_TIMEOUT_MS = 45_000  # one action under load: a rerun queued behind 29 others on a 2-core machine
LOAD_TIMEOUT_MS = 90_000  # the first visit of a page (cold imports)
SETTLE_MAX_MS = 2_000
OPEN_CONCURRENCY = 5  # sessions arriving at once; the rest queue (a stampede of 30 page loads starves 2 cores)
GRACE_S = 15  # after the deadline, how long an action in flight may still finish before it is cancelled
HEALTH_TIMEOUT_S = 30  # protocol client: one probe of /_stcore/health during the load

# The z of the scores heatmap, as a string (plotly.js decodes the base64 typed array into _fullData).
_SCORES_Z_JS = """(title) => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')].find(
    (g) => g.layout && g.layout.title && g.layout.title.text === title && g._fullData && g._fullData.length);
  return gd ? JSON.stringify(Array.from(gd._fullData[0].z, (row) => Array.from(row))) : null;
}"""

_REPAINTED_JS = """([title, before]) => {
  const app = document.querySelector('[data-testid=stApp]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  const z = (SCORES_Z)(title);
  return z !== null && z !== before;
}""".replace("SCORES_Z", _SCORES_Z_JS)

_PAGE_SHOWN_JS = """(path) => {
  const app = document.querySelector('[data-testid=stApp]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (!(RERUN_DONE)()) return false;
  if (window.location.pathname.replace(/\\/+$/, '') !== path) return false;
  const charts = [...document.querySelectorAll('[data-testid=stPlotlyChart], .attnviz-chart')];
  return charts.every((c) => c.querySelector('.js-plotly-plot .main-svg'));
}""".replace("RERUN_DONE", _RERUN_DONE_JS)


# A freshly loaded page: its first script run has finished (the probe saw script_finished) and every chart is drawn.
_FIRST_RUN_SHOWN_JS = """() => {
  const probe = window.__attnvizWs, app = document.querySelector('[data-testid=stApp]');
  if (!probe || probe.finished < 1 || !app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  return [...document.querySelectorAll('[data-testid=stPlotlyChart], .attnviz-chart')]
    .every((c) => c.querySelector('.js-plotly-plot .main-svg'));
}"""


@dataclass(frozen=True)
class Target:
    script: str  # relative to the repo root
    path: str  # URL path, "" for the home page


def page_targets() -> list[Target]:
    """Every page that exists now: the home page and pages/*.py."""
    targets = [Target("app.py", "")]
    for script in sorted((REPO_ROOT / "pages").glob("*.py")):
        name = re.sub(r"^[0-9]+[_ -]*", "", script.stem)  # Streamlit's URL path: the name without its number
        targets.append(Target(f"pages/{script.name}", name))
    return targets


def first_line(err: BaseException) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[0]}" if text else type(err).__name__


@dataclass
class Stats:
    edits: int = 0
    switches: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    open_ms: list[float] = field(default_factory=list)
    switch_ms: list[float] = field(default_factory=list)
    finished_ms: list[float] = field(default_factory=list)  # Enter → the server's script_finished message
    errors: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    benign_console: int = 0
    cut_at_deadline: int = 0
    sessions_started: int = 0
    live_at_s: list[float] = field(default_factory=list)  # when each session had opened, from the start

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if len(self.error_samples) < 30:
            self.error_samples.append(f"{kind}: {detail[:300]}")

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


# ------------------------------------------------------------------------------------------- memory


def rss_mb(pid: int) -> float | None:
    """Resident set size of process ``pid`` in MB, from /proc (None when it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process ``pid`` so far, from /proc (None when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants_cpu_seconds(root: int, exclude: int | None = None) -> float:
    """CPU time of every live descendant of process ``root`` except ``exclude`` and its own descendants (here: the
    Playwright driver and Chromium, not the server, which is a child of this process too)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii") as stat:
                    ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    total, stack = 0.0, [pid for pid in children.get(root, []) if pid != exclude]
    while stack:
        pid = stack.pop()
        if pid == exclude:
            continue
        total += cpu_seconds(pid) or 0.0
        stack.extend(children.get(pid, []))
    return total


async def sample_rss(pid: int, samples: list[float], stop: asyncio.Event, interval: float = 0.5) -> None:
    while not stop.is_set():
        value = rss_mb(pid)
        if value is not None:
            samples.append(value)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


# ------------------------------------------------------------------------------------------- one session


class Session:
    def __init__(self, index: int, browser: Browser, base_url: str, targets: list[Target], stats: Stats):
        self.index = index
        self.browser = browser
        self.base_url = base_url
        self.worked = next(t for t in targets if t.script == WORKED)
        self.others = [t for t in targets if t.script != WORKED]
        self.stats = stats
        self.rng = random.Random(index)
        self.page: Page | None = None

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "") or ""
        if _is_benign(message.text, url):  # the closed network, Streamlit's base-path probe
            self.stats.benign_console += 1
        else:
            self.stats.error("console", f"session {self.index}: {message.text} ({url})")

    async def open(self) -> None:
        context = await self.browser.new_context(viewport={"width": 1400, "height": 1000})
        await context.add_init_script(_probe_script())  # counts the server's script_finished messages
        self.page = await context.new_page()
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self.stats.error("pageerror", f"session {self.index}: {error}"))
        await self.goto(self.worked, LOAD_TIMEOUT_MS)
        self.stats.sessions_started += 1

    async def close(self) -> None:
        if self.page is not None:
            with contextlib.suppress(PlaywrightError):
                await self.page.context.close()

    async def goto(self, target: Target, timeout: float = STEP_TIMEOUT_MS) -> None:
        page = self.page
        await page.goto(f"{self.base_url}/{target.path}", wait_until="domcontentloaded", timeout=timeout)
        await page.wait_for_selector(APP_IDLE, state="attached", timeout=timeout)
        await page.wait_for_function(_FIRST_RUN_SHOWN_JS, timeout=timeout)
        if target.script == WORKED:
            await page.wait_for_function(
                f"() => ({_SCORES_Z_JS})({json.dumps(SCORES_TITLE)}) !== null", timeout=timeout
            )
        await self.check_exceptions(target)

    async def check_exceptions(self, target: Target) -> None:
        blocks = self.page.locator("[data-testid=stException]")
        if await blocks.count():
            text = (await blocks.first.inner_text(timeout=5_000)).strip().splitlines()
            self.stats.error("exception", f"session {self.index} on {target.script}: {' | '.join(text[:3])}")

    async def edit(self) -> float | None:
        """Edit a random cell of X; the time from Enter to the repainted scores heatmap (ms)."""
        page = self.page
        row, column = self.rng.randrange(X_ROWS), self.rng.choice(X_COLUMNS)
        value = f"{self.rng.uniform(-9, 9):.3f}"
        before = await page.evaluate(_SCORES_Z_JS, SCORES_TITLE)
        await page.locator(f".st-key-{X_KEY}").scroll_into_view_if_needed(timeout=STEP_TIMEOUT_MS)
        centre = await page.evaluate(_CELL_CENTRE_JS, [X_KEY, row, column])
        await page.mouse.move(centre["x"], centre["y"])
        await page.mouse.dblclick(centre["x"], centre["y"])
        editor = page.locator("#portal input, #portal textarea").first
        await editor.wait_for(state="visible", timeout=STEP_TIMEOUT_MS)
        await editor.fill(value)
        await page.wait_for_function(
            "(v) => { const e = document.querySelector('#portal input, #portal textarea'); return e && e.value === v; }",
            arg=value,
            timeout=STEP_TIMEOUT_MS,
        )
        await page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
        await page.evaluate(_ARM_JS)
        await page.keyboard.press("Enter")
        await page.wait_for_function(_REPAINTED_JS, arg=[SCORES_TITLE, before], timeout=STEP_TIMEOUT_MS, polling=50)
        timing = await page.evaluate(_SETTLE_JS, SETTLE_MAX_MS)
        await self.check_exceptions(self.worked)
        if timing.get("finished") is not None:
            self.stats.finished_ms.append(timing["finished"])
        return timing.get("elapsed")

    async def switch(self, target: Target) -> None:
        """Go to ``target`` by its sidebar link when the current page has one (same session), else by its URL."""
        page = self.page
        start = time.monotonic()
        # Streamlit writes the links relative ("Tokens") or, in some versions, absolute: match both.
        link = page.locator(
            f'[data-testid=stSidebar] a[href="{self.base_url}/{target.path}"], '
            f'[data-testid=stSidebar] a[href="{target.path}"]'
        )
        if await link.count() and await link.first.is_visible():
            await page.evaluate(_ARM_JS)
            await link.first.click(timeout=STEP_TIMEOUT_MS)
            await page.wait_for_function(_PAGE_SHOWN_JS, arg=f"/{target.path}".rstrip("/"), timeout=STEP_TIMEOUT_MS)
            if target.script == WORKED:
                await page.wait_for_function(
                    f"() => ({_SCORES_Z_JS})({json.dumps(SCORES_TITLE)}) !== null", timeout=STEP_TIMEOUT_MS
                )
            await self.check_exceptions(target)
        else:
            await self.goto(target)
        self.stats.switches += 1
        self.stats.switch_ms.append((time.monotonic() - start) * 1000)

    async def run(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            try:
                elapsed = await self.edit()
                if time.monotonic() > deadline + GRACE_S:
                    break
                self.stats.edits += 1
                if elapsed is not None:
                    self.stats.latencies_ms.append(elapsed)
                if time.monotonic() >= deadline:
                    break
                await self.switch(self.rng.choice(self.others))
                await self.switch(self.worked)
            except PlaywrightTimeout as err:
                self.stats.error("timeout", f"session {self.index}: {first_line(err)}")
                await self.recover(deadline)
            except PlaywrightError as err:
                self.stats.error("playwright", f"session {self.index}: {first_line(err)}")
                await self.recover(deadline)

    async def recover(self, deadline: float) -> None:
        """Back to a fresh worked example after an error, so the loop can go on."""
        if time.monotonic() >= deadline:
            return
        try:
            await self.goto(self.worked)
        except PlaywrightError as err:
            self.stats.error("recover", f"session {self.index}: {first_line(err)}")


# ------------------------------------------------------------------------------------------- one protocol session


@dataclass
class SessionCounts:
    edits: int = 0
    scores_changed: int = 0
    switches: int = 0
    errors: int = 0
    reconnects: int = 0
    live_at_s: float | None = None


@dataclass
class ProtocolStats:
    edits: int = 0
    fragment_edits: int = 0  # edits the frontend sends as a rerun of the editor's fragment only
    scores_changed: int = 0
    switches: int = 0
    edit_ms: list[float] = field(default_factory=list)  # rerun sent → script_finished received
    edit_first_ms: list[float] = field(default_factory=list)  # rerun sent → the run's first element
    switch_ms: list[float] = field(default_factory=list)
    open_ms: list[float] = field(default_factory=list)
    edit_bytes: list[int] = field(default_factory=list)
    switch_bytes: list[int] = field(default_factory=list)
    open_bytes: list[int] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    cut_at_deadline: int = 0
    sessions_started: int = 0
    live_at_s: list[float] = field(default_factory=list)
    per_session: dict[int, SessionCounts] = field(default_factory=dict)

    def session(self, index: int) -> SessionCounts:
        return self.per_session.setdefault(index, SessionCounts())

    def error(self, kind: str, detail: str, index: int | None = None) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if index is not None:
            self.session(index).errors += 1
        if len(self.error_samples) < 30:
            self.error_samples.append(f"{kind}: {detail[:300]}")

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


class ProtocolSession:
    """One simulated browser tab: Streamlit's websocket protocol, the messages the frontend sends (ws_client.py)."""

    def __init__(self, index: int, base_url: str, worked: Target, stats: ProtocolStats, think_s: float = 0.0):
        self.index = index
        self.base_url = base_url
        self.worked = worked
        self.stats = stats
        self.think_s = think_s
        self.rng = random.Random(index)
        self.client: ProtocolClient | None = None
        self.worked_hash = ""
        self.others: list[str] = []
        self.editor_id = ""
        self.columns: dict[str, str] = {}  # X's column labels (d1…) → the editor's column names
        self.scores: Any = None  # the scores heatmap's traces as last seen
        self.typed: dict[tuple[int, str], float] = {}  # the values this session typed into X, by cell

    def fail(self, kind: str, detail: str) -> None:
        self.stats.error(kind, f"session {self.index}: {detail}", self.index)

    def check(self, result: RunResult, action: str, page: str | None) -> bool:
        """Record what is wrong with a finished run; True when nothing is."""
        problems = []
        if not result.ok:
            problems.append(("script_status", f"{action}: script_finished status {result.status}"))
        problems += [("exception", f"{action}: {text}") for text in result.exceptions]
        problems += [("error_alert", f"{action}: {text}") for text in result.error_alerts]
        if result.page_not_found is not None:
            problems.append(("page_not_found", f"{action}: {result.page_not_found}"))
        if page is not None and result.page_script_hash != page:
            problems.append(("wrong_page", f"{action}: ran page {result.page_script_hash!r}, not {page!r}"))
        for kind, detail in problems:
            self.fail(kind, detail)
        return not problems

    def read_worked(self, result: RunResult, action: str) -> bool:
        """Find X's editor and the scores heatmap on a worked-example run."""
        editor = result.widget_element(X_KEY)
        scores = result.plotly_figure(SCORES_TITLE)
        if editor is None or editor.WhichOneof("type") != "dataframe":
            self.fail("no_editor", f"{action}: no data editor with key {X_KEY}")
            return False
        if scores is None:
            self.fail("no_scores", f"{action}: no single figure titled {SCORES_TITLE}…")
            return False
        self.editor_id = editor.dataframe.id
        self.columns = editor_column_names(editor)
        missing = [c for c in X_COLUMNS if c not in self.columns]
        if missing:
            self.fail("no_editor", f"{action}: X has no columns {missing}")
            return False
        return True

    async def open(self) -> None:
        self.client = ProtocolClient(self.base_url, timeout=LOAD_TIMEOUT_MS / 1000)
        result = await self.client.open(self.worked.path)
        self.client.timeout = STEP_TIMEOUT_MS / 1000
        self.stats.open_bytes.append(result.bytes + self.client.http_bytes)
        if not self.check(result, "open", None) or not self.read_worked(result, "open"):
            raise ProtocolError("open", "the worked example did not open cleanly")
        self.worked_hash = result.page_script_hash
        self.others = [p.page_script_hash for p in self.client.pages if p.page_script_hash != self.worked_hash]
        if not self.others:
            raise ProtocolError("open", "the app lists no other page")
        self.scores = result.plotly_figure(SCORES_TITLE)["data"]

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()

    async def edit(self) -> RunResult:
        """A random finite value into a random cell of X (not the value it holds), committed: one rerun."""
        row, column = self.rng.randrange(X_ROWS), self.rng.choice(X_COLUMNS)
        value = round(self.rng.uniform(-9, 9), 3)
        while value == self.typed.get((row, column)) or value.is_integer():  # the example's own values are integers
            value = round(self.rng.uniform(-9, 9), 3)
        self.typed[(row, column)] = value
        self.client.edit_cell(self.editor_id, row, self.columns[column], value)
        return await self.client.rerun()

    async def switch(self, page: str) -> RunResult:
        result = await self.client.switch_page(page)
        self.stats.switch_ms.append(result.elapsed_ms)
        self.stats.switch_bytes.append(result.bytes)
        self.check(result, "switch", page)
        return result

    async def think(self, deadline: float) -> None:
        if self.think_s > 0:
            await asyncio.sleep(max(0.0, min(self.think_s, deadline - time.monotonic())))

    async def run(self, deadline: float) -> None:
        counts = self.stats.session(self.index)
        while time.monotonic() < deadline:
            if self.client is None:  # the last reconnect failed
                await self.recover(deadline)
                continue
            try:
                result = await self.edit()
                if time.monotonic() > deadline + GRACE_S:
                    break
                self.stats.edits += 1
                self.stats.fragment_edits += bool(result.fragment_id)
                counts.edits += 1
                self.stats.edit_ms.append(result.elapsed_ms)
                self.stats.edit_first_ms.append(result.first_element_ms)
                self.stats.edit_bytes.append(result.bytes)
                if self.check(result, "edit", self.worked_hash) and self.read_worked(result, "edit"):
                    scores = result.plotly_figure(SCORES_TITLE)["data"]
                    if scores == self.scores:
                        self.fail("scores_unchanged", "edit: the scores heatmap did not change")
                    else:
                        self.stats.scores_changed += 1
                        counts.scores_changed += 1
                    self.scores = scores
                await self.think(deadline)
                if time.monotonic() >= deadline:
                    break
                await self.switch(self.rng.choice(self.others))
                self.stats.switches += 1
                counts.switches += 1
                await self.think(deadline)
                back = await self.switch(self.worked_hash)
                self.stats.switches += 1
                counts.switches += 1
                if back.ok and self.read_worked(back, "back"):
                    scores = back.plotly_figure(SCORES_TITLE)["data"]
                    if scores != self.scores:  # the app keeps X's edits across page visits
                        self.fail("edits_lost", "back on the worked example, the scores are not the edited ones")
                        self.scores = scores
                await self.think(deadline)
            except ProtocolError as err:
                self.fail(err.kind, err.detail)
                await self.recover(deadline)

    async def recover(self, deadline: float) -> None:
        """After a timeout or a lost connection: a fresh connection (a new server session), like reloading the tab."""
        await self.close()
        if time.monotonic() >= deadline:
            return
        self.stats.session(self.index).reconnects += 1
        self.typed.clear()
        try:
            await self.open()
        except ProtocolError as err:
            self.fail("recover", f"{err.kind}: {err.detail}")
            self.client = None
            await asyncio.sleep(min(5.0, max(0.0, deadline - time.monotonic())))


# ------------------------------------------------------------------------------------------- the run


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]


def log(message: str) -> None:
    print(f"[load {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def session_task(client: Session, ramp: asyncio.Semaphore, t0: float, deadline: float) -> None:
    """Open the worked example (at most OPEN_CONCURRENCY sessions opening at once: users arriving, not a stampede
    of page loads), then loop until the deadline."""
    stats = client.stats
    async with ramp:
        if time.monotonic() >= deadline:
            return
        start = time.monotonic()
        try:
            await asyncio.wait_for(client.open(), LOAD_TIMEOUT_MS / 1000 + 10)
        except (PlaywrightError, TimeoutError) as err:
            stats.error("open", f"session {client.index}: {first_line(err)}")
            return
        stats.open_ms.append((time.monotonic() - start) * 1000)
    stats.live_at_s.append(time.monotonic() - t0)
    await client.run(deadline)


async def run_load_browser(sessions: int, seconds: float) -> dict[str, Any]:
    targets = page_targets()
    if not any(t.script == WORKED for t in targets):
        raise SystemExit(f"{WORKED} does not exist")
    executable = chromium_executable()
    if executable is None:
        raise SystemExit("chromium is not installed")
    stats = Stats()
    server = StreamlitServer("app.py")
    rss: dict[str, float | None] = {}
    samples: list[float] = []
    timing: dict[str, float] = {}
    try:
        server.start()
        server.wait_healthy()
        pid = server.proc.pid
        rss["healthy"] = rss_mb(pid)
        log(f"server up on {server.url} (pid {pid})")
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            try:
                # Warm-up: the worked example once (the cold torch import), so "start" is the idle, warm server.
                warm = Session(-1, browser, server.url, targets, stats)
                try:
                    await warm.open()
                except PlaywrightError as err:
                    raise SystemExit(f"the worked example does not load: {err}\n{server.log_tail()}") from err
                finally:
                    await warm.close()
                stats.sessions_started = 0
                await asyncio.sleep(1)
                rss["start"] = rss_mb(pid)
                log(f"warm; {sessions} sessions for {seconds:.0f} s")

                stop_sampling = asyncio.Event()
                sampler = asyncio.create_task(sample_rss(pid, samples, stop_sampling))
                # The clock runs from the first session's arrival: the ramp-up is part of the measured time.
                t0 = time.monotonic()
                cpu0, client0 = cpu_seconds(pid), descendants_cpu_seconds(os.getpid(), exclude=pid)
                deadline = t0 + seconds
                ramp = asyncio.Semaphore(OPEN_CONCURRENCY)
                clients = [Session(i, browser, server.url, targets, stats) for i in range(sessions)]
                tasks = [asyncio.create_task(session_task(c, ramp, t0, deadline)) for c in clients]
                done, pending = await asyncio.wait(tasks, timeout=seconds + GRACE_S)
                stats.cut_at_deadline = len(pending)  # an action still in flight well after the deadline
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                for task in done:
                    if task.exception() is not None:
                        stats.error("session", first_line(task.exception()))
                timing["load_s"] = time.monotonic() - t0
                cpu1 = cpu_seconds(pid)
                if cpu0 is not None and cpu1 is not None:
                    timing["server_cpu_s"] = cpu1 - cpu0
                timing["browser_cpu_s"] = descendants_cpu_seconds(os.getpid(), exclude=pid) - client0
                rss["end"] = rss_mb(pid)
                stop_sampling.set()
                await sampler
                log(f"done: {stats.edits} edits, {stats.error_count} errors; closing the sessions")

                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.gather(*(c.close() for c in clients)), 30)
                await asyncio.sleep(3)
                rss["after_close"] = rss_mb(pid)
            finally:
                with contextlib.suppress(TimeoutError, PlaywrightError):
                    await asyncio.wait_for(browser.close(), 30)
    finally:
        server.stop()

    latencies = stats.latencies_ms
    return {
        "client": "browser",
        "sessions": sessions,
        "seconds": seconds,
        "sessions_started": stats.sessions_started,
        "pages": [t.script for t in targets],
        "duration_s": round(timing.get("load_s", 0.0), 1),
        "sessions_not_opened_by_deadline": sessions - stats.sessions_started - stats.errors.get("open", 0),
        "all_sessions_live_after_s": (
            round(max(stats.live_at_s), 1) if stats.sessions_started == sessions and stats.live_at_s else None
        ),
        "open_worked_example_ms": {"p50": percentile(stats.open_ms, 50), "p95": percentile(stats.open_ms, 95)},
        "edits": stats.edits,
        "page_switches": stats.switches,
        "errors": stats.error_count,
        "errors_by_kind": stats.errors,
        "error_samples": stats.error_samples,
        "benign_console_messages": stats.benign_console,
        "sessions_cut_at_deadline": stats.cut_at_deadline,
        "edit_to_repaint_ms": {
            "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95),
            "max": max(latencies, default=None),
            "mean": statistics.fmean(latencies) if latencies else None,
            "n": len(latencies),
        },
        "server_rss_mb": {
            **rss,
            "peak": max(samples, default=None),
        },
        "edit_to_script_finished_ms": {
            "p50": percentile(stats.finished_ms, 50),
            "p95": percentile(stats.finished_ms, 95),
        },
        "page_switch_ms": {"p50": percentile(stats.switch_ms, 50), "p95": percentile(stats.switch_ms, 95)},
        "server_cpu_s_during_load": round(timing["server_cpu_s"], 1) if "server_cpu_s" in timing else None,
        "browser_cpu_s_during_load": round(timing["browser_cpu_s"], 1) if "browser_cpu_s" in timing else None,
        "machine": {"cpus": os.cpu_count(), "load_avg_at_end": os.getloadavg()},
    }


async def protocol_session_task(session: ProtocolSession, ramp: asyncio.Semaphore, t0: float, deadline: float) -> None:
    """Open the worked example (at most OPEN_CONCURRENCY sessions opening at once), then loop until the deadline."""
    stats = session.stats
    async with ramp:
        if time.monotonic() >= deadline:
            return
        start = time.monotonic()
        try:
            await asyncio.wait_for(session.open(), LOAD_TIMEOUT_MS / 1000 + 10)
        except (ProtocolError, TimeoutError) as err:
            kind, detail = (err.kind, err.detail) if isinstance(err, ProtocolError) else ("timeout", first_line(err))
            stats.error("open", f"session {session.index}: {kind}: {detail}", session.index)
            await session.close()
            return
        stats.open_ms.append((time.monotonic() - start) * 1000)
    stats.sessions_started += 1
    live = time.monotonic() - t0
    stats.live_at_s.append(live)
    stats.session(session.index).live_at_s = live
    await session.run(deadline)


async def probe_health(url: str, samples: list[float], failures: list[str], stop: asyncio.Event) -> None:
    """``GET /_stcore/health`` once a second: how long the server's event loop (which also writes every websocket
    message) takes to answer a new visitor's first request while the sessions keep it busy."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never a proxy

    def get() -> None:
        with opener.open(f"{url}/_stcore/health", timeout=HEALTH_TIMEOUT_S) as response:
            response.read()

    while not stop.is_set():
        start = time.monotonic()
        try:
            await asyncio.to_thread(get)
            samples.append((time.monotonic() - start) * 1000)
        except OSError as err:
            failures.append(first_line(err))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, 1.0 - (time.monotonic() - start)))


def summary(values: list[float]) -> dict[str, float | int | None]:
    return {
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "max": max(values, default=None),
        "mean": statistics.fmean(values) if values else None,
        "n": len(values),
    }


async def run_load_protocol(sessions: int, seconds: float, think_ms: float = 0.0) -> dict[str, Any]:
    targets = page_targets()
    worked = next((t for t in targets if t.script == WORKED), None)
    if worked is None:
        raise SystemExit(f"{WORKED} does not exist")
    stats = ProtocolStats()
    server = StreamlitServer("app.py")
    rss: dict[str, float | None] = {}
    samples: list[float] = []
    health_ms: list[float] = []
    health_failures: list[str] = []
    timing: dict[str, float] = {}
    clients: list[ProtocolSession] = []
    try:
        server.start()
        server.wait_healthy()
        pid = server.proc.pid
        rss["healthy"] = rss_mb(pid)
        log(f"server up on {server.url} (pid {pid}); protocol client")
        # Warm-up: the worked example once (the cold torch import), so "start" is the idle, warm server.
        warm = ProtocolSession(-1, server.url, worked, ProtocolStats())
        try:
            await asyncio.wait_for(warm.open(), LOAD_TIMEOUT_MS / 1000 + 10)
        except (ProtocolError, TimeoutError) as err:
            raise SystemExit(f"the worked example does not load: {err}\n{server.log_tail()}") from err
        finally:
            await warm.close()
        await asyncio.sleep(1)
        rss["start"] = rss_mb(pid)
        log(f"warm; {sessions} sessions for {seconds:.0f} s")

        stop_sampling = asyncio.Event()
        sampler = asyncio.create_task(sample_rss(pid, samples, stop_sampling))
        prober = asyncio.create_task(probe_health(server.url, health_ms, health_failures, stop_sampling))
        # The clock runs from the first session's arrival: the ramp-up is part of the measured time.
        t0 = time.monotonic()
        cpu0, client0 = cpu_seconds(pid), cpu_seconds(os.getpid())
        deadline = t0 + seconds
        ramp = asyncio.Semaphore(OPEN_CONCURRENCY)
        clients = [ProtocolSession(i, server.url, worked, stats, think_ms / 1000) for i in range(sessions)]
        for i in range(sessions):
            stats.session(i)
        tasks = [asyncio.create_task(protocol_session_task(c, ramp, t0, deadline)) for c in clients]
        done, pending = await asyncio.wait(tasks, timeout=seconds + GRACE_S)
        stats.cut_at_deadline = len(pending)  # a rerun still in flight well after the deadline
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            if task.exception() is not None:
                stats.error("session", first_line(task.exception()))
        timing["load_s"] = time.monotonic() - t0
        cpu1, client1 = cpu_seconds(pid), cpu_seconds(os.getpid())
        if cpu0 is not None and cpu1 is not None:
            timing["server_cpu_s"] = cpu1 - cpu0
        if client0 is not None and client1 is not None:
            timing["client_cpu_s"] = client1 - client0
        rss["end"] = rss_mb(pid)
        stop_sampling.set()
        await sampler
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(prober, HEALTH_TIMEOUT_S + 5)
        log(f"done: {stats.edits} edits, {stats.error_count} errors; closing the sessions")
    finally:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(c.close() for c in clients), return_exceptions=True), 30)
        if "load_s" in timing and server.proc is not None and server.proc.poll() is None:
            await asyncio.sleep(3)
            rss["after_close"] = rss_mb(server.proc.pid)
        server.stop()

    return {
        "client": "protocol",
        "sessions": sessions,
        "seconds": seconds,
        "think_ms": think_ms,
        "sessions_started": stats.sessions_started,
        "pages": [t.script for t in targets],
        "duration_s": round(timing.get("load_s", 0.0), 1),
        "sessions_not_opened_by_deadline": sessions - stats.sessions_started - stats.errors.get("open", 0),
        "all_sessions_live_after_s": (
            round(max(stats.live_at_s), 1) if stats.sessions_started == sessions and stats.live_at_s else None
        ),
        "open_worked_example_ms": {"p50": percentile(stats.open_ms, 50), "p95": percentile(stats.open_ms, 95)},
        "edits": stats.edits,
        "edits_scores_changed": stats.scores_changed,
        "edits_as_fragment_reruns": stats.fragment_edits,
        "page_switches": stats.switches,
        "errors": stats.error_count,
        "errors_by_kind": stats.errors,
        "error_samples": stats.error_samples,
        "sessions_cut_at_deadline": stats.cut_at_deadline,
        "reconnects": sum(c.reconnects for c in stats.per_session.values()),
        # The server's side of an edit: the rerun message sent → its script_finished received, every element and
        # figure of the page sent by then. A browser would still have to draw them (see the browser client).
        "edit_to_rerun_finished_ms": summary(stats.edit_ms),
        "edit_to_first_element_ms": summary(stats.edit_first_ms),
        "page_switch_ms": summary(stats.switch_ms),
        "bytes_per_rerun": {
            "edit": summary(stats.edit_bytes),
            "page_switch": summary(stats.switch_bytes),
            "open": summary(stats.open_bytes),
        },
        "server_rss_mb": {**rss, "peak": max(samples, default=None)},
        "health_during_load_ms": {**summary(health_ms), "failures": len(health_failures)},
        "server_cpu_s_during_load": round(timing["server_cpu_s"], 1) if "server_cpu_s" in timing else None,
        "client_cpu_s_during_load": round(timing["client_cpu_s"], 1) if "client_cpu_s" in timing else None,
        "per_session": [{"session": i, **asdict(c)} for i, c in sorted(stats.per_session.items())],
        "machine": {"cpus": os.cpu_count(), "load_avg_at_end": os.getloadavg()},
    }


async def run_load(sessions: int, seconds: float, client: str = "protocol", think_ms: float = 0.0) -> dict[str, Any]:
    if client == "browser":
        return await run_load_browser(sessions, seconds)
    return await run_load_protocol(sessions, seconds, think_ms)


def fmt(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _error_lines(result: dict[str, Any]) -> list[str]:
    kinds = sorted(result["errors_by_kind"].items())
    return ["", "errors: " + ", ".join(f"{k} {v}" for k, v in kinds)] if kinds else []


def _live_line(result: dict[str, Any]) -> str:
    live, line = (
        result["all_sessions_live_after_s"],
        f"- sessions live: {result['sessions_started']} of {result['sessions']}",
    )
    if live is None:
        return f"{line}, {result['sessions_not_opened_by_deadline']} still opening at the deadline"
    return f"{line}, all after {live:.1f} s"


def markdown_browser(result: dict[str, Any]) -> str:
    latency, rss = result["edit_to_repaint_ms"], result["server_rss_mb"]
    header = (
        "| sessions | duration (s) | edits | errors | p50 edit→repaint (ms) | p95 (ms) "
        "| server RSS start (MB) | server RSS end (MB) |"
    )
    row = (
        f"| {result['sessions_started']}/{result['sessions']} | {result['duration_s']:.0f} | {result['edits']} "
        f"| {result['errors']} | {fmt(latency['p50'])} | {fmt(latency['p95'])} "
        f"| {fmt(rss.get('start'))} | {fmt(rss.get('end'))} |"
    )
    lines = [header, "|" + "---|" * 8, row]
    lines += _error_lines(result)
    cpu = result["server_cpu_s_during_load"]
    switch, finished = result["page_switch_ms"], result["edit_to_script_finished_ms"]
    lines += [
        "",
        _live_line(result),
        f"- edit→repaint max {fmt(latency['max'])} ms; Enter→server's script_finished p50 {fmt(finished['p50'])} ms, "
        f"p95 {fmt(finished['p95'])} ms",
        f"- page switches {result['page_switches']}: p50 {fmt(switch['p50'])} ms, p95 {fmt(switch['p95'])} ms",
        f"- server RSS peak {fmt(rss.get('peak'))} MB, {fmt(rss.get('after_close'))} MB 3 s after the sessions closed; "
        f"CPU in {result['duration_s']:.0f} s on {result['machine']['cpus']} CPUs: server {fmt(cpu, 1)} s, "
        f"browser {fmt(result['browser_cpu_s_during_load'], 1)} s",
    ]
    return "\n".join(lines)


def markdown_protocol(result: dict[str, Any]) -> str:
    latency, rss = result["edit_to_rerun_finished_ms"], result["server_rss_mb"]
    header = (
        "| client | sessions | duration (s) | edits | page switches | errors "
        "| p50 edit → rerun finished (ms) | p95 (ms) | server RSS start (MB) | server RSS end (MB) |"
    )
    row = (
        f"| protocol | {result['sessions_started']}/{result['sessions']} | {result['duration_s']:.0f} "
        f"| {result['edits']} | {result['page_switches']} | {result['errors']} "
        f"| {fmt(latency['p50'])} | {fmt(latency['p95'])} | {fmt(rss.get('start'))} | {fmt(rss.get('end'))} |"
    )
    lines = [header, "|" + "---|" * 10, row]
    lines += _error_lines(result)
    switch, first = result["page_switch_ms"], result["edit_to_first_element_ms"]
    edit_bytes, health = result["bytes_per_rerun"]["edit"], result["health_during_load_ms"]
    cpu, client_cpu = result["server_cpu_s_during_load"], result["client_cpu_s_during_load"]
    lines += [
        "",
        _live_line(result) + f"; think time {result['think_ms']:.0f} ms between actions",
        f"- edit → rerun finished (every figure sent; not drawn: no browser): max {fmt(latency['max'])} ms, "
        f"mean {fmt(latency['mean'])} ms; edit → first element p50 {fmt(first['p50'])} ms, p95 {fmt(first['p95'])} ms",
        f"- scores heatmap changed after {result['edits_scores_changed']} of {result['edits']} edits "
        f"({result['edits_as_fragment_reruns']} sent as reruns of the editor's fragment)",
        f"- page switches {result['page_switches']}: p50 {fmt(switch['p50'])} ms, p95 {fmt(switch['p95'])} ms",
        f"- received per edit rerun: p50 {fmt((edit_bytes['p50'] or 0) / 1024, 1)} KB; /_stcore/health during the "
        f"load: p50 {fmt(health['p50'])} ms, p95 {fmt(health['p95'])} ms, max {fmt(health['max'])} ms"
        + (f", {health['failures']} failed" if health["failures"] else ""),
        f"- server RSS peak {fmt(rss.get('peak'))} MB, {fmt(rss.get('after_close'))} MB 3 s after the sessions closed; "
        f"CPU in {result['duration_s']:.0f} s on {result['machine']['cpus']} CPUs: server {fmt(cpu, 1)} s, "
        f"load client {fmt(client_cpu, 1)} s",
    ]
    return "\n".join(lines)


def markdown(result: dict[str, Any]) -> str:
    return markdown_protocol(result) if result.get("client") == "protocol" else markdown_browser(result)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--client",
        choices=("protocol", "browser"),
        default="protocol",
        help="protocol: Streamlit's websocket protocol, no browser (default); browser: one Chromium context each",
    )
    parser.add_argument(
        "--think-ms", type=float, default=0.0, help="protocol client: pause after each action (default 0)"
    )
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "load.json")
    args = parser.parse_args(argv)
    if args.sessions < 1 or args.seconds <= 0:
        parser.error("--sessions and --seconds must be positive")
    if args.think_ms < 0:
        parser.error("--think-ms must not be negative")
    if args.client == "browser" and args.think_ms:
        parser.error("--think-ms is for the protocol client")

    result = asyncio.run(run_load(args.sessions, args.seconds, args.client, args.think_ms))
    print(markdown(result))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}")
    return 0 if result["errors"] == 0 and result["sessions_started"] == result["sessions"] else 1


if __name__ == "__main__":
    sys.exit(main())
