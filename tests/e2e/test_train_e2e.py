"""The Train page in a real browser: Train shows a live view that updates without a page rerun, the run ends with
the anti-diagonal, and the replay slider goes back to the untrained model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.pages.conftest import array
from tests.support.browser import APP_IDLE, figure_titled, load, plotly_figures, wait_charts_drawn

pytestmark = pytest.mark.e2e
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _anti_diagonal(figure: dict) -> float:
    best = 0.0
    for z in figure["z"]:
        z = array(z)  # a base64 typed array with its shape, or nested lists
        t = z.shape[0]
        best = max(best, float(np.mean([z[i, t - 1 - i] for i in range(t)])))
    return best


def _screenshot(page, name: str) -> None:
    """A full-page screenshot in test-artifacts/ (Streamlit scrolls inside its own container: grow the viewport)."""
    ARTIFACTS.mkdir(exist_ok=True)
    height = page.evaluate("() => document.querySelector('[data-testid=stMain]')?.scrollHeight || 1000")
    width = (page.viewport_size or {"width": 1400})["width"]
    page.set_viewport_size({"width": width, "height": min(max(int(height), 600), 12_000)})
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    page.set_viewport_size({"width": width, "height": 1000})


def test_train_live_then_replay(page, console_errors, app_url):
    load(page, f"{app_url}/Train", charts=False)
    page.locator(".st-key-train_act_start button").click()
    # The live panel: a progress bar whose text counts steps, refreshed by its fragment.
    progress = page.locator("[data-testid=stProgress]")
    progress.wait_for(timeout=90_000)
    page.wait_for_function(
        "() => /Step \\d+ of 400/.test(document.querySelector('[data-testid=stProgress]')?.innerText || '')",
        timeout=90_000,
    )
    first = progress.inner_text()
    page.wait_for_function(
        "(t) => (document.querySelector('[data-testid=stProgress]')?.innerText || t) !== t", arg=first, timeout=30_000
    )
    page.wait_for_function(
        "() => [...document.querySelectorAll('.gtitle')].some((e) => e.textContent.startsWith('Attention on the probe now'))",
        timeout=60_000,
    )
    wait_charts_drawn(page)
    titles = [f["title"] for f in plotly_figures(page)]
    assert "Training loss and held-out accuracy" in titles
    _screenshot(page, "train-during")
    # The end: the page reruns once and shows the trained run.
    page.get_by_text("held-out token accuracy").first.wait_for(timeout=120_000)
    page.wait_for_selector(APP_IDLE, state="attached", timeout=60_000)
    wait_charts_drawn(page)
    page.wait_for_timeout(500)  # plotly finishes drawing
    late = figure_titled(page, "Attention on the probe after step 400")
    assert _anti_diagonal(late) >= 0.5
    _screenshot(page, "train-after")
    slider = page.locator(".st-key-train_replay input[type=range]").first
    slider.focus()
    page.keyboard.press("Home")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.gtitle')].some((e) => e.textContent.includes('after step 0'))",
        timeout=60_000,
    )
    page.wait_for_timeout(500)  # plotly finishes drawing
    early = figure_titled(page, "Attention on the probe after step 0")
    assert _anti_diagonal(early) < 0.5
    _screenshot(page, "train-replay-early")
    # A foreign upload: a clear message, and the trained run stays.
    upload = page.locator(".st-key-train_act_upload input[type=file]")
    upload.set_input_files(
        [
            {"name": "run.safetensors", "mimeType": "application/octet-stream", "buffer": b"not safetensors"},
            {"name": "run.json", "mimeType": "application/json", "buffer": b'{"format": "something else"}'},
        ]
    )
    page.get_by_text("Could not load the run").first.wait_for(timeout=60_000)
    assert "is not a saved training run" in page.locator("[data-testid=stAlert]").all_inner_texts()[-1]
    assert figure_titled(page, "Attention on the probe after step")
    assert page.locator("[data-testid=stException]").count() == 0
    assert console_errors.errors == []
