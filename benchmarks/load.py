"""Load test: N concurrent browser sessions edit the worked example and switch pages, for a fixed time.

    python benchmarks/load.py [--sessions 30] [--seconds 60] [--out benchmarks/results/load.json]

Starts its own Streamlit server on a free loopback port (stopped by its own handle at the end, even on error),
opens one Chromium with one context per session (each context is its own Streamlit session) and, until the
deadline, has every session loop: edit a random cell of X on the worked example, wait for the repaint (script
idle, the scores heatmap's z changed, two animation frames), switch to another page (its sidebar link, or its URL
when the page has no link) and back. Sessions arrive a few at a time and the clock includes that ramp-up, so the
run lasts about ``--seconds`` plus the server's start; every wait is bounded and the run stops itself.

The browser is part of the machine under test: on a small machine Chromium (a first paint of the worked example
costs seconds of CPU) saturates it long before the server does, so the JSON also reports the CPU time the server and
the browser each used during the run.

Counted as errors: exception blocks on the page, console errors and uncaught page errors (not the ones the closed
network or Streamlit's base-path probe cause), timeouts, and anything else that interrupts a session's loop.
Prints a markdown table and writes the details as JSON.
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
from dataclasses import dataclass, field
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
  const charts = [...document.querySelectorAll('[data-testid=stPlotlyChart]')];
  return charts.every((c) => c.querySelector('.js-plotly-plot .main-svg'));
}""".replace("RERUN_DONE", _RERUN_DONE_JS)


# A freshly loaded page: its first script run has finished (the probe saw script_finished) and every chart is drawn.
_FIRST_RUN_SHOWN_JS = """() => {
  const probe = window.__attnvizWs, app = document.querySelector('[data-testid=stApp]');
  if (!probe || probe.finished < 1 || !app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  return [...document.querySelectorAll('[data-testid=stPlotlyChart]')]
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


def descendants_cpu_seconds(root: int) -> float:
    """CPU time of every live descendant of process ``root`` (here: the Playwright driver and Chromium)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii") as stat:
                    ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    total, stack = 0.0, list(children.get(root, []))
    while stack:
        pid = stack.pop()
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
        link = page.locator(f'[data-testid=stSidebar] a[href="{self.base_url}/{target.path}"]')
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


async def run_load(sessions: int, seconds: float) -> dict[str, Any]:
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
                cpu0, client0 = cpu_seconds(pid), descendants_cpu_seconds(os.getpid())
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
                timing["browser_cpu_s"] = descendants_cpu_seconds(os.getpid()) - client0
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


def fmt(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def markdown(result: dict[str, Any]) -> str:
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
    if result["errors_by_kind"]:
        lines.append("")
        lines.append("errors: " + ", ".join(f"{k} {v}" for k, v in sorted(result["errors_by_kind"].items())))
    live = result["all_sessions_live_after_s"]
    cpu = result["server_cpu_s_during_load"]
    switch, finished = result["page_switch_ms"], result["edit_to_script_finished_ms"]
    lines += [
        "",
        f"- sessions live: {result['sessions_started']} of {result['sessions']}"
        + (
            f", all after {live:.0f} s"
            if live is not None
            else f", {result['sessions_not_opened_by_deadline']} still opening at the deadline"
        ),
        f"- edit→repaint max {fmt(latency['max'])} ms; Enter→server's script_finished p50 {fmt(finished['p50'])} ms, "
        f"p95 {fmt(finished['p95'])} ms",
        f"- page switches {result['page_switches']}: p50 {fmt(switch['p50'])} ms, p95 {fmt(switch['p95'])} ms",
        f"- server RSS peak {fmt(rss.get('peak'))} MB, {fmt(rss.get('after_close'))} MB 3 s after the sessions closed; "
        f"CPU in {result['duration_s']:.0f} s on {result['machine']['cpus']} CPUs: server {fmt(cpu, 1)} s, "
        f"browser {fmt(result['browser_cpu_s_during_load'], 1)} s",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "load.json")
    args = parser.parse_args(argv)
    if args.sessions < 1 or args.seconds <= 0:
        parser.error("--sessions and --seconds must be positive")

    result = asyncio.run(run_load(args.sessions, args.seconds))
    print(markdown(result))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}")
    return 0 if result["errors"] == 0 and result["sessions_started"] == result["sessions"] else 1


if __name__ == "__main__":
    sys.exit(main())
