"""The Image-attention page in a real browser: clicking a cell of the image makes it the query and the map follows;
a bad upload is named and the last image stays."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.support.browser import PLOTLY_CHART, arm_rerun, figure_titled, load, plotly_figures, settle, wait_idle

pytestmark = pytest.mark.e2e


def _query_box(figure: dict) -> tuple[float, ...]:
    rect = next(s for s in figure["layout"]["shapes"] if s.get("type") == "rect")
    return rect["x0"], rect["x1"], rect["y0"], rect["y1"]


def _mean_map(page) -> list[float]:
    overlay = next(f for f in plotly_figures(page) if "heatmap" in f["types"])
    return overlay["z"][overlay["types"].index("heatmap", 8)]  # the mean-of-heads panel (5th heatmap)


def test_clicking_the_image_moves_the_query_and_changes_the_map(page, console_errors, app_url):
    load(page, f"{app_url}/Image_attention", timeout=180_000)
    assert _query_box(figure_titled(page, "Click a cell")) == (54.5, 58.5, 54.5, 58.5)  # row 10, col 10
    before = _mean_map(page)

    chart = page.locator(PLOTLY_CHART).first
    area = chart.locator(".nsewdrag").first.bounding_box()
    # image pixel (row 28.5, col 84.5): the centre of position (3, 17)
    arm_rerun(page)
    page.mouse.click(area["x"] + area["width"] * 85 / 112, area["y"] + area["height"] * 29 / 112)
    wait_idle(page, 120_000)
    settle(page)

    assert _query_box(figure_titled(page, "Click a cell")) == (82.5, 86.5, 26.5, 30.5)
    assert page.locator("input[aria-label='Row']").input_value() == "3"
    assert page.locator("input[aria-label='Column']").input_value() == "17"
    assert page.get_by_role("heading", name="2. Where position (row 3, col 17) looks").count() == 1
    assert _mean_map(page) != before, "the attention map did not change after clicking another cell"
    assert page.locator("[data-testid=stException]").count() == 0
    assert console_errors.errors == []


def test_a_gif_upload_is_refused_by_name(page, app_url):
    load(page, f"{app_url}/Image_attention", timeout=180_000)
    arm_rerun(page)
    page.get_by_text("Your own image").click()
    wait_idle(page, 120_000)
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="GIF")
    arm_rerun(page)
    page.locator("[data-testid=stSidebarUserContent] [data-testid=stFileUploaderDropzoneInput]").set_input_files(
        {"name": "cat.png", "mimeType": "image/png", "buffer": buffer.getvalue()}
    )
    wait_idle(page, 120_000)
    page.get_by_text("cat.png is a GIF image; only PNG and JPEG are accepted").wait_for(timeout=60_000)
    assert figure_titled(page, "Click a cell")  # the last good image is still drawn
