"""Performance benchmark: real servers, real Chromium, medians; prints a markdown table and writes JSON.

    python -m benchmarks.run [--reps 20] [--cold-starts 3] [--out benchmarks/results/latest.json]

Figures (each a median over ``--reps`` repetitions after two warm-ups):

(a) floor: a cell edit on a bare data editor page, a change on a bare slider/selectbox page
    (benchmarks/floor_editor.py, benchmarks/floor_controls.py): whatever Streamlit itself costs;
(b) worked example: the same cell edit on X → every heatmap repainted, as a ratio to (a)'s edit;
(c) multi-head at 512 random tokens × 8 heads (set through the page's controls): a new seed (the + of the seed
    input: new weights, nothing cached) → every panel repainted, and the head count 4 → 8 again (a state seen
    before: caches hit), each as a ratio to (a)'s selectbox change;
(d) cold start: ``streamlit run app.py`` → first heatmap painted on the worked example page, as a ratio to the
    same for a bare page drawing one plotly heatmap (benchmarks/floor_heatmap.py), starts interleaved;
(e) payload: bytes the server sends over the websocket for one rerun of (b) and of (c);
(f) compute: ``attnviz.MultiHeadAttention(512, 8)`` with its full trace vs ``torch.nn.MultiheadAttention``
    holding the same weights (``to_torch()``), T = 512, B = 1, no grad;
(g) encoder page: seed 000's 10 layers × 3 heads on 64 time steps, and 4 layers × 8 heads on 512 random tokens
    (d_model 64), each a new seed (nothing cached) as a ratio to (a)'s selectbox change, the 10 × 3 page opening
    another head (cached), and the 512-token rerun's payload;
(h) the newer pages (``--only pages``): a new seed on the Attention lab and Cross-attention pages and another
    query patch on Image attention (each against (a)'s selectbox change), and one step of the Train page's replay
    slider after its default run (against (a)'s slider step);
(i) plotly.js alone (``--only plotly``, no server): one ``Plotly.react`` of a 2 × 2 heatmap, of the worked
    example's scores chart, of the 512 × 8 weights grid, and of that grid's cells as one trace on one pair of axes,
    on a blank page (benchmarks/plotly_react.py): what any chart update costs before Streamlit draws anything.

Interaction times run from the key or pointer press (in the page's clock) to the end of the rerun plus two
animation frames (more while a plotly chart is still changing). Floor and app repetitions are interleaved so the
machine's load drifts through both alike. Each interaction's JSON also says where the time went: until the
server's first message and its script_finished (as the page received them), the page's long tasks (main thread
busy > 50 ms: the browser's own share), and plotly.js's draw calls (their summed synchronous time, and when the
first began and the last ended: what is plotly's and what is Streamlit's rendering of the other elements).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

if __name__ == "__main__" and not __package__:
    # Started as a file (`python -m benchmarks.run`): run as the module instead, exactly as
    # `python -m benchmarks.run` from the repository root would, so `benchmarks` and `tests.support` import alike.
    import runpy

    sys.path[0] = str(Path(__file__).resolve().parents[1])
    runpy.run_module("benchmarks.run", run_name="__main__", alter_sys=True)
    sys.exit()

from tests.support import browser as harness
from tests.support.server import REPO_ROOT, StreamlitServer

MB = 1_000_000
SECTIONS = ("compute", "cold", "edit", "large", "encoder", "pages", "plotly")
WARMUPS = 2


@dataclass
class Row:
    """One line of the table."""

    figure: str
    median: float | None  # in ``unit``
    unit: str
    reference: float | None = None  # floor or reference median, same unit
    reference_name: str = ""
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    samples: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def check(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


# --------------------------------------------------------------------------------------------------- (f) compute


def bench_compute(reps: int) -> list[Row]:
    import torch

    import attnviz
    from attnviz.allocator import keep_freed_memory

    # As the app's server runs (attnviz.ui.warm): glibc keeps freed blocks for the next call. Both sides alike.
    allocator = keep_freed_memory()

    torch.manual_seed(0)
    module = attnviz.MultiHeadAttention(512, 8).eval()
    reference = module.to_torch()
    x = torch.randn(1, 512, 512)  # (B, T, d_model)

    def ours() -> None:
        module(x)

    def theirs_weights() -> None:  # the same information: per-head weights
        reference(x, x, x, need_weights=True, average_attn_weights=False)

    def theirs_fused() -> None:  # fused kernel, no weights returned
        reference(x, x, x, need_weights=False)

    timings: dict[str, list[float]] = {"ours": [], "weights": [], "fused": []}
    with torch.no_grad():
        for fn in (ours, theirs_weights, theirs_fused):
            for _ in range(3):
                fn()
        for _ in range(reps):
            for name, fn in (("ours", ours), ("weights", theirs_weights), ("fused", theirs_fused)):
                start = time.perf_counter()
                fn()
                timings[name].append((time.perf_counter() - start) * 1000)
    ours_ms, weights_ms, fused_ms = (median(timings[k]) for k in ("ours", "weights", "fused"))
    ratio = ours_ms / weights_ms
    return [
        Row(
            "compute: MultiHeadAttention(512, 8) full trace, T=512",
            ours_ms,
            "ms",
            weights_ms,
            "nn.MultiheadAttention, per-head weights",
            ratio,
            "≤ 1.3×",
            check(ratio, 1.3),
            timings["ours"],
            {"reference_samples": timings["weights"], "threads": torch.get_num_threads(), "allocator_set": allocator},
        ),
        Row(
            "compute: same vs nn.MultiheadAttention fused (need_weights=False)",
            ours_ms,
            "ms",
            fused_ms,
            "nn.MultiheadAttention, no weights",
            ours_ms / fused_ms,
            "",
            None,
            [],
            {"reference_samples": timings["fused"]},
        ),
    ]


# --------------------------------------------------------------------------------------------------- (d) cold start


FIRST_HEATMAP = ".js-plotly-plot .hm image"  # a heatmap's cells, painted (plotly draws them as one image)


def cold_start(browser, script: str, path: str) -> tuple[float, float]:
    """``streamlit run script`` → the first heatmap painted at ``path``: (seconds, seconds until healthy)."""
    server = StreamlitServer(script).start()
    try:
        healthy = server.wait_healthy(timeout=120)
        page = harness.new_page(browser)
        page.goto(f"{server.url}{path}", wait_until="commit", timeout=120_000)
        page.wait_for_selector(FIRST_HEATMAP, state="attached", timeout=120_000)
        done = time.perf_counter()
        page.context.close()
    finally:
        server.stop()
    return done - server.started_at, healthy - server.started_at


def bench_cold(browser, starts: int) -> list[Row]:
    """The app's cold start and the bare one-heatmap page's, interleaved start by start."""
    samples, health, floor, floor_health = [], [], [], []
    for _ in range(starts):
        for script, path, into, into_health in (
            ("benchmarks/floor_heatmap.py", "/", floor, floor_health),
            ("app.py", "/Worked_example", samples, health),
        ):
            seconds, healthy = cold_start(browser, script, path)
            into.append(seconds)
            into_health.append(healthy)
    value, floor_value = median(samples), median(floor)
    ratio = value / floor_value
    return [
        Row(
            "floor: cold start, `streamlit run` → its heatmap (bare one-heatmap page)",
            floor_value,
            "s",
            samples=floor,
            extra={"server_healthy_s": floor_health},
        ),
        Row(
            "cold start: `streamlit run app.py` → first heatmap (worked example)",
            value,
            "s",
            floor_value,
            "bare one-heatmap page",
            ratio,
            "≤ 1.3× floor",
            check(ratio, 1.3),
            samples=samples,
            extra={"server_healthy_s": health},
        ),
    ]


# --------------------------------------------------------------------------------------------------- interactions


@dataclass
class Series:
    """Times (ms) and websocket bytes of one repeated interaction."""

    times: list[float] = field(default_factory=list)
    payload: list[int] = field(default_factory=list)  # Playwright's framereceived, summed
    payload_in_page: list[int] = field(default_factory=list)  # the page's own count, as a cross-check
    first_message: list[float] = field(default_factory=list)  # action → the server's first message
    finished: list[float] = field(default_factory=list)  # action → the server's script_finished
    long_tasks: list[float] = field(default_factory=list)  # the page's main thread busy in tasks > 50 ms
    plotly_ms: list[float] = field(default_factory=list)  # plotly.js's draw calls (synchronous part), summed
    plotly_draws: list[int] = field(default_factory=list)
    first_draw: list[float] = field(default_factory=list)  # action → the first plotly draw began
    last_draw_end: list[float] = field(default_factory=list)  # action → the last plotly draw ended
    frame_pairs: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def record(self, result: dict[str, Any], meter: harness.PayloadMeter) -> None:
        self.times.append(result["elapsed"])
        self.payload.append(meter.received)
        self.payload_in_page.append(result["bytes"])
        self.first_message.append(result["firstMessage"])
        self.finished.append(result["finished"])
        self.long_tasks.append(result["longTaskMs"])
        self.frame_pairs.append(result["pairs"])
        self.plotly_ms.append(result.get("plotlyMs", 0.0))
        self.plotly_draws.append(result.get("plotlyDraws", 0))
        self.first_draw.append(result.get("firstDraw"))
        self.last_draw_end.append(result.get("lastDrawEnd"))

    def summary(self) -> dict[str, Any]:
        finished = median([f for f in self.finished if f is not None])
        total = median(self.times)
        return {
            "payload_median_bytes": median(self.payload),
            "payload_in_page_median_bytes": median(self.payload_in_page),
            "first_message_median_ms": median([f for f in self.first_message if f is not None]),
            "script_finished_median_ms": finished,
            "browser_after_finished_median_ms": None if finished is None or total is None else total - finished,
            "browser_long_tasks_median_ms": median(self.long_tasks),
            "plotly_draw_median_ms": median(self.plotly_ms),
            "plotly_draw_calls_max": max(self.plotly_draws) if self.plotly_draws else None,
            "first_plotly_draw_median_ms": median([f for f in self.first_draw if f is not None]),
            "last_plotly_draw_end_median_ms": median([f for f in self.last_draw_end if f is not None]),
            "frame_pairs_max": max(self.frame_pairs) if self.frame_pairs else None,
            "failed_repetitions": self.failures,
        }


MAX_FAILURES = 3  # per series: a rep that fails is logged and skipped; more failures than this stop the figure


def timed(
    page, meter: harness.PayloadMeter, prepare: Callable[[], Callable[[], None]], series: Series, keep: bool
) -> None:
    """One repetition: ``prepare()`` (not timed) returns the action; arm, act, wait for the rerun and the repaint.

    Records into ``series`` when ``keep``. A failed repetition is logged in ``series.failures`` and skipped (the
    page is left idle again); the figure fails after :data:`MAX_FAILURES` of them.
    """
    try:
        act = prepare()
        harness.arm_rerun(page)
        meter.reset()
        act()
        harness.wait_idle(page, timeout=180_000)
        result = harness.settle(page, max_ms=60_000)
    except Exception as err:
        series.failures.append(f"{type(err).__name__}: {str(err).splitlines()[0][:200]} [{harness.diagnose(page)}]")
        if len(series.failures) > MAX_FAILURES:
            raise RuntimeError(f"{len(series.failures)} failed repetitions; last: {series.failures[-1]}") from err
        with contextlib.suppress(Exception):
            page.keyboard.press("Escape")
            page.wait_for_selector(harness.APP_IDLE, state="attached", timeout=60_000)
        return
    if keep:
        series.record(result, meter)


def cell_edit(page, key: str, value: str) -> Callable[[], None]:
    """Open the cell editor (not timed), then the timed part: Enter commits."""
    harness.open_cell_editor(page, key, row=0, column=1, value=value)
    return lambda: page.keyboard.press("Enter")


def open_options(page, key: str, option: str) -> Callable[[], None]:
    """Open the selectbox (not timed), then the timed part: the click on ``option``."""
    target = harness.open_selectbox(page, key, option, timeout=30_000)
    return lambda: target.click()


def slider_step(page, key: str, press: str) -> Callable[[], None]:
    page.locator(f".st-key-{key} input[type=range], .st-key-{key} [role=slider]").first.focus()
    return lambda: page.keyboard.press(press)


def open_page(browser, url: str, charts: bool) -> tuple[Any, harness.PayloadMeter]:
    page = harness.new_page(browser)
    page.set_default_timeout(180_000)  # a 512-token rerun keeps the page busy for seconds
    meter = harness.PayloadMeter(page)
    harness.load(page, url, timeout=180_000, charts=charts)
    return page, meter


def bench_edit(browser, app_url: str, floor_url: str, reps: int) -> list[Row]:
    floor_page, floor_meter = open_page(browser, floor_url, charts=False)
    app_page, app_meter = open_page(browser, f"{app_url}/Worked_example", charts=True)
    floor, app = Series(), Series()
    values = ("5", "1.5")
    for i in range(WARMUPS + reps):
        keep = i >= WARMUPS
        value = values[i % 2]
        timed(floor_page, floor_meter, partial(cell_edit, floor_page, "floor_x", value), floor, keep)
        timed(app_page, app_meter, partial(cell_edit, app_page, "worked_x", value), app, keep)
    charts = app_page.locator(harness.PLOTLY_CHART).count()
    for page in (floor_page, app_page):
        page.context.close()
    floor_ms, app_ms = median(floor.times), median(app.times)
    ratio = app_ms / floor_ms
    rows = [
        Row(
            "floor: cell edit, bare data editor page",
            floor_ms,
            "ms",
            samples=floor.times,
            extra=floor.summary(),
        ),
        Row(
            f"worked example: cell edit of X → {charts} heatmaps repainted",
            app_ms,
            "ms",
            floor_ms,
            "floor cell edit",
            ratio,
            "≤ 1.5× floor",
            check(ratio, 1.5),
            app.times,
            app.summary(),
        ),
        Row(
            "payload: worked example cell edit, bytes per rerun",
            median(app.payload),
            "bytes",
            median(floor.payload),
            "floor cell edit",
            median(app.payload) / max(1, median(floor.payload)),
            samples=[float(b) for b in app.payload],
        ),
    ]
    return rows


def setup_large(page, tokens: int, heads: int, d_model: int | None) -> None:
    """Through the page's own controls: random tokens, ``tokens`` of them, ``heads`` heads (and ``d_model``)."""
    page.wait_for_selector(".st-key-mh_source input", state="attached", timeout=180_000)
    if page.locator(".st-key-mh_source input[type=radio]").count():
        harness.choose_radio(page, "mh_source", "Random tokens")
    else:
        harness.choose_option(page, "mh_source", "Random tokens")
    harness.settle(page)
    if page.locator(".st-key-mh_num_tokens input[type=range]").count():
        harness.set_slider(page, "mh_num_tokens", tokens, timeout=180_000)
    else:
        harness.set_text(page, "mh_num_tokens", str(tokens), timeout=180_000)
    if d_model is not None:
        harness.set_text(page, "mh_d_model", str(d_model), timeout=180_000)
    # The heads selectbox sits at the sidebar's fold (below the language switch): a click that scrolls it closes
    # its list again, so it is scrolled into view first.
    target = open_options_in_view(page, "mh_heads", str(heads))
    harness.arm_rerun(page)
    target()
    harness.wait_idle(page, timeout=180_000)
    harness.settle(page, max_ms=60_000)


def step_up(page, key: str) -> Callable[[], None]:
    """The timed part: a click on number input ``key``'s + button."""
    button = page.locator(f".st-key-{key} [data-testid=stNumberInputStepUp]").first
    button.wait_for(state="visible")
    return lambda: button.click()


def step_down(page, key: str) -> Callable[[], None]:
    """The timed part: a click on number input ``key``'s − button."""
    button = page.locator(f".st-key-{key} [data-testid=stNumberInputStepDown]").first
    button.wait_for(state="visible")
    return lambda: button.click()


def bench_large(browser, app_url: str, controls_url: str, reps: int, d_model: int | None) -> list[Row]:
    floor_page, floor_meter = open_page(browser, controls_url, charts=False)
    app_page, app_meter = open_page(browser, f"{app_url}/Multi-head", charts=True)
    setup_large(app_page, 512, 8, d_model)
    d_model_used = int(app_page.locator(".st-key-mh_d_model input").first.input_value())
    floor, fresh, revisit, away = Series(), Series(), Series(), Series()
    for i in range(WARMUPS + reps):
        keep = i >= WARMUPS
        # The floor: the same kind of change on a bare page, a selectbox value changed back and forth.
        option = ("4", "8")[i % 2]
        timed(floor_page, floor_meter, partial(open_options, floor_page, "floor_select", option), floor, keep)
        # 512 tokens × 8 heads, a new seed every time: new weights, nothing cached, every panel recomputed.
        timed(app_page, app_meter, partial(step_up, app_page, "mh_seed"), fresh, keep)
    for i in range(WARMUPS + reps):
        keep = i >= WARMUPS
        # Heads 8 → 4 → 8 with one seed: a state seen before (st.cache_data and the browser's message cache hit).
        timed(app_page, app_meter, partial(open_options_in_view, app_page, "mh_heads", "4"), away, keep)
        timed(app_page, app_meter, partial(open_options_in_view, app_page, "mh_heads", "8"), revisit, keep)
    panels = app_page.locator(harness.PLOTLY_CHART).count()
    for page in (floor_page, app_page):
        page.context.close()
    floor_ms, fresh_ms, revisit_ms = median(floor.times), median(fresh.times), median(revisit.times)
    payload = median(fresh.payload)
    name = f"multi-head 512 tokens × 8 heads (d_model {d_model_used}, {panels} charts)"
    return [
        Row(
            "floor: selectbox change, bare controls page",
            floor_ms,
            "ms",
            samples=floor.times,
            extra=floor.summary(),
        ),
        Row(
            f"{name}: new seed → all panels repainted",
            fresh_ms,
            "ms",
            floor_ms,
            "floor selectbox change",
            fresh_ms / floor_ms,
            "≤ 3× floor",
            check(fresh_ms / floor_ms, 3.0),
            fresh.times,
            fresh.summary(),
        ),
        Row(
            f"{name}: heads 4 → 8 again (cached state)",
            revisit_ms,
            "ms",
            floor_ms,
            "floor selectbox change",
            revisit_ms / floor_ms,
            "≤ 3× floor",
            check(revisit_ms / floor_ms, 3.0),
            revisit.times,
            {**revisit.summary(), "heads_8_to_4_median_ms": median(away.times)},
        ),
        Row(
            "payload: multi-head 512×8 new seed, bytes per rerun",
            payload,
            "bytes",
            target="≤ 2 MB",
            met=check(payload, 2 * MB),
            samples=[float(b) for b in fresh.payload],
            extra={
                "payload_in_page_median_bytes": median(fresh.payload_in_page),
                "revisit_payload_median_bytes": median(revisit.payload),
            },
        ),
    ]


def setup_encoder_512(page) -> None:
    """Through the Encoder page's own controls: 512 random tokens, d_model 64, 4 layers × 8 heads."""
    harness.choose_radio(page, "encoder_source", "Random tokens", timeout=180_000)
    harness.nudge_slider(page, "encoder_num_tokens", "End", timeout=180_000)  # the slider's maximum: 512
    harness.set_text(page, "encoder_d_model", "64", timeout=180_000)
    harness.set_slider(page, "encoder_layers", 4, timeout=180_000)
    harness.choose_option(page, "encoder_heads", "8", timeout=180_000)
    harness.settle(page, max_ms=60_000)


def open_options_in_view(page, key: str, option: str) -> Callable[[], None]:
    """:func:`open_options` for a selectbox below the fold: scrolled into view first (a select scrolled by the click
    itself closes its list again)."""
    page.locator(
        f".st-key-{key} [role=combobox], .st-key-{key} [data-baseweb=select]"
    ).first.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    return open_options(page, key, option)


def bench_encoder(browser, app_url: str, controls_url: str, reps: int) -> list[Row]:
    floor_page, floor_meter = open_page(browser, controls_url, charts=False)
    series_page, series_meter = open_page(browser, f"{app_url}/Encoder", charts=True)
    harness.arm_rerun(series_page)
    series_page.get_by_role("button", name="Seed 000").click()  # 10 layers × 3 heads, 64 time steps
    harness.wait_idle(series_page, 180_000)
    harness.settle(series_page, max_ms=60_000)
    big_page, big_meter = open_page(browser, f"{app_url}/Encoder", charts=True)
    setup_encoder_512(big_page)
    floor, series_fresh, series_open, big_fresh = Series(), Series(), Series(), Series()
    for i in range(WARMUPS + reps):
        keep = i >= WARMUPS
        option = ("4", "8")[i % 2]
        timed(floor_page, floor_meter, partial(open_options, floor_page, "floor_select", option), floor, keep)
        timed(series_page, series_meter, partial(step_up, series_page, "encoder_seed"), series_fresh, keep)
        head = ("1", "2")[i % 2]
        timed(
            series_page,
            series_meter,
            partial(open_options_in_view, series_page, "encoder_open_head", head),
            series_open,
            keep,
        )
        timed(big_page, big_meter, partial(step_up, big_page, "encoder_seed"), big_fresh, keep)
    charts = {
        "series": series_page.locator(harness.PLOTLY_CHART).count(),
        "big": big_page.locator(harness.PLOTLY_CHART).count(),
    }
    for page in (floor_page, series_page, big_page):
        page.context.close()
    floor_ms = median(floor.times)

    def ratio_row(name: str, series: Series) -> Row:
        ms = median(series.times)
        ratio = None if ms is None or not floor_ms else ms / floor_ms
        return Row(name, ms, "ms", floor_ms, "floor selectbox change", ratio, "≤ 3× floor", check(ratio, 3.0),
                   series.times, series.summary())  # fmt: skip

    payload = median(big_fresh.payload)
    return [
        Row(
            "floor: selectbox change, bare controls page (encoder run)",
            floor_ms,
            "ms",
            samples=floor.times,
            extra=floor.summary(),
        ),
        ratio_row(f"encoder 10 layers × 3 heads, 64 time steps ({charts['series']} charts): new seed", series_fresh),
        ratio_row("encoder 10 × 3, 64 time steps: open another head (cached run)", series_open),
        ratio_row(f"encoder 4 layers × 8 heads, 512 tokens, d_model 64 ({charts['big']} charts): new seed", big_fresh),
        Row(
            "payload: encoder 4 × 8 at 512 tokens, new seed, bytes per rerun",
            payload,
            "bytes",
            target="≤ 2 MB",
            met=check(payload, 2 * MB),
            samples=[float(b) for b in big_fresh.payload],
            extra={"series_new_seed_payload_median_bytes": median(series_fresh.payload)},
        ),
    ]


def train_once(page) -> None:
    """The Train page's default run (reverse, 400 steps), trained through its own button, until it has finished."""
    harness.arm_rerun(page)
    page.locator(".st-key-train_act_start button").first.click()
    page.wait_for_selector(".st-key-train_replay", state="attached", timeout=300_000)
    harness.wait_idle(page, timeout=300_000)
    harness.settle(page, max_ms=60_000)


def bench_pages(browser, app_url: str, controls_url: str, reps: int) -> list[Row]:
    """The newer pages' main interactions, each against the bare page's same kind of change: a new seed on the
    Attention lab and Cross-attention pages and another query patch on Image attention (the + of a number input,
    against a selectbox change), and a step of the Train page's replay slider after a run (against a slider step)."""
    controls, controls_meter = open_page(browser, controls_url, charts=False)
    pages = {name: open_page(browser, f"{app_url}/{path}", charts=True) for name, path in (
        ("lab", "Attention_lab"), ("cross", "Cross-attention"), ("image", "Image_attention"), ("train", "Train")
    )}  # fmt: skip
    train_once(pages["train"][0])
    series = {name: Series() for name in ("select", "slider", "lab", "cross", "image", "train")}
    for i in range(WARMUPS + reps):
        keep = i >= WARMUPS
        option, press = ("4", "8")[i % 2], ("ArrowLeft", "ArrowRight")[i % 2]
        timed(controls, controls_meter, partial(open_options, controls, "floor_select", option), series["select"], keep)
        timed(controls, controls_meter, partial(slider_step, controls, "floor_slider", press), series["slider"], keep)
        for name, key in (("lab", "lab_seed"), ("cross", "cross_seed"), ("image", "img_row")):
            page, meter = pages[name]
            if name == "image" and i % 2:  # row 0 → 1 → 0 …: the − button half the time
                act = partial(step_down, page, key)
            else:
                act = partial(step_up, page, key)
            timed(page, meter, act, series[name], keep)
        page, meter = pages["train"]
        timed(page, meter, partial(slider_step, page, "train_replay", press), series["train"], keep)
    charts = {name: page.locator(harness.PLOTLY_CHART).count() for name, (page, _meter) in pages.items()}
    for page, _meter in (*pages.values(), (controls, controls_meter)):
        page.context.close()
    select_ms, slider_ms = median(series["select"].times), median(series["slider"].times)

    def ratio_row(name: str, data: Series, floor_ms: float | None, floor_name: str) -> Row:
        ms = median(data.times)
        ratio = None if ms is None or not floor_ms else ms / floor_ms
        return Row(name, ms, "ms", floor_ms, floor_name, ratio, "≤ 3× floor", check(ratio, 3.0), data.times,
                   data.summary())  # fmt: skip

    select, slider = "floor selectbox change", "floor slider step"
    return [
        Row("floor: selectbox change, bare controls page (pages run)", select_ms, "ms", samples=series["select"].times),
        Row("floor: slider step, bare controls page (pages run)", slider_ms, "ms", samples=series["slider"].times),
        ratio_row(f"attention lab ({charts['lab']} charts): new seed", series["lab"], select_ms, select),
        ratio_row(f"cross-attention ({charts['cross']} charts): new seed", series["cross"], select_ms, select),
        ratio_row(
            f"image attention ({charts['image']} charts): another query patch", series["image"], select_ms, select
        ),
        ratio_row(
            f"train, after a run ({charts['train']} charts): replay one step", series["train"], slider_ms, slider
        ),
    ]


def bench_controls_slider(browser, controls_url: str, reps: int) -> list[Row]:
    page, meter = open_page(browser, controls_url, charts=False)
    series = Series()
    for i in range(WARMUPS + reps):
        press = ("ArrowRight", "ArrowLeft")[i % 2]
        timed(page, meter, partial(slider_step, page, "floor_slider", press), series, i >= WARMUPS)
    page.context.close()
    return [Row("floor: slider step, bare controls page", median(series.times), "ms", samples=series.times)]


def bench_plotly(browser, reps: int) -> list[Row]:
    """``Plotly.react`` alone on a blank page (:mod:`benchmarks.plotly_react`): each figure against a 2 × 2 heatmap."""
    from benchmarks import plotly_react

    times = plotly_react.measure(browser, max(20, 4 * reps))
    names = list(times)
    floor_name, floor_ms = names[0], median(times[names[0]])
    rows = [Row(f"Plotly.react alone: {floor_name}", floor_ms, "ms", samples=times[floor_name])]
    for name in names[1:]:
        ms = median(times[name])
        rows.append(Row(f"Plotly.react alone: {name}", ms, "ms", floor_ms, "2 × 2 heatmap", ms / floor_ms,
                        samples=times[name]))  # fmt: skip
    return rows


# --------------------------------------------------------------------------------------------------- report


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "bytes":
        return f"{value / MB:.3f} MB" if value >= 100_000 else f"{value / 1000:.1f} kB"
    if unit == "s":
        return f"{value:.2f} s"
    return f"{value:.1f} {unit}"


def table(rows: list[Row]) -> str:
    lines = [
        "| figure | median | floor / reference | ratio | target | met? |",
        "| --- | ---: | --- | ---: | --- | :---: |",
    ]
    for row in rows:
        if row.error:
            lines.append(f"| {row.figure} | error: {row.error} | | | {row.target} | ✗ |")
            continue
        reference = f"{fmt(row.reference, row.unit)} ({row.reference_name})" if row.reference is not None else ""
        ratio = f"{row.ratio:.2f}×" if row.ratio is not None else ""
        met = {True: "yes", False: "**no**", None: ""}[row.met]
        lines.append(f"| {row.figure} | {fmt(row.median, row.unit)} | {reference} | {ratio} | {row.target} | {met} |")
    return "\n".join(lines)


def meta(reps: int, cold_starts: int, load_start: tuple[float, ...]) -> dict[str, Any]:
    import plotly
    import streamlit
    import torch

    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "reps": reps,
        "warmups": WARMUPS,
        "cold_starts": cold_starts,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        # Runs on two machines of one kind differ (torch's kernels, the browser's speed): say which CPU it was.
        "cpu": _cpu_model(),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "streamlit": streamlit.__version__,
        "plotly": plotly.__version__,
        "chromium": harness.chromium_executable() and _chromium_version(),
        # Other work on the machine shows here: ratios to the floor are interleaved, absolute times are not.
        "load_average_1_5_15_min_at_start": [round(x, 2) for x in load_start],
        "load_average_1_5_15_min_at_end": [round(x, 2) for x in os.getloadavg()],
    }


def _cpu_model() -> str:
    """The CPU's model name as Linux reports it (``platform.processor()`` where there is no /proc/cpuinfo)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def _chromium_version() -> str:
    import subprocess

    out = subprocess.run([harness.chromium_executable(), "--version"], capture_output=True, text=True, timeout=30)
    return out.stdout.strip()


def run_section(rows: list[Row], name: str, fn: Callable[[], list[Row]]) -> None:
    print(f"… {name}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    try:
        rows.extend(fn())
    except Exception as err:  # one broken figure must not hide the others
        rows.append(Row(name, None, "", error=f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"))
    print(f"  {name}: {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=20, help="repetitions per figure (default 20)")
    parser.add_argument("--cold-starts", type=int, default=3, help="server starts for the cold start (default 3)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "latest.json")
    parser.add_argument(
        "--mh-d-model", type=int, default=None, help="d_model for the 512×8 figure (default: the page's own)"
    )
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="run only these")
    args = parser.parse_args(argv)
    if args.reps < 1 or args.cold_starts < 1:
        parser.error("--reps and --cold-starts must be at least 1")

    load_start = os.getloadavg()
    rows: list[Row] = []
    if "compute" in args.only:
        run_section(rows, "compute", lambda: bench_compute(args.reps))

    if {"cold", "edit", "large", "encoder", "pages", "plotly"} & set(args.only):
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = harness.launch_chromium(playwright)
            if "cold" in args.only:  # before the other servers start: nothing else competes for the CPU
                run_section(rows, "cold start", lambda: bench_cold(browser, args.cold_starts))
            if "plotly" in args.only:  # no server at all
                run_section(rows, "plotly.js alone", lambda: bench_plotly(browser, args.reps))
            servers = {"app": StreamlitServer("app.py")}
            if "edit" in args.only:
                servers["editor"] = StreamlitServer("benchmarks/floor_editor.py")
            if {"large", "encoder", "pages"} & set(args.only):
                servers["controls"] = StreamlitServer("benchmarks/floor_controls.py")
            try:
                for server in servers.values():
                    server.start()
                for server in servers.values():
                    server.wait_healthy(timeout=180)
                if "edit" in args.only:
                    run_section(
                        rows,
                        "cell edit",
                        lambda: bench_edit(browser, servers["app"].url, servers["editor"].url, args.reps),
                    )
                if "large" in args.only:
                    run_section(
                        rows,
                        "multi-head 512×8",
                        lambda: bench_large(
                            browser, servers["app"].url, servers["controls"].url, args.reps, args.mh_d_model
                        ),
                    )
                    run_section(
                        rows, "slider floor", lambda: bench_controls_slider(browser, servers["controls"].url, args.reps)
                    )
                if "encoder" in args.only:
                    run_section(
                        rows,
                        "encoder",
                        lambda: bench_encoder(browser, servers["app"].url, servers["controls"].url, args.reps),
                    )
                if "pages" in args.only:
                    run_section(
                        rows,
                        "pages",
                        lambda: bench_pages(browser, servers["app"].url, servers["controls"].url, args.reps),
                    )
            finally:
                for server in servers.values():
                    server.stop()
                browser.close()

    print(table(rows))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    document = {"meta": meta(args.reps, args.cold_starts, load_start), "results": [asdict(row) for row in rows]}
    args.out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten: {args.out.relative_to(REPO_ROOT) if args.out.is_relative_to(REPO_ROOT) else args.out}")
    return 1 if any(row.error for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
