"""The Attention lab and Cross-attention pages in a real browser: a real click on a heatmap cell writes it out
with the hover's digits, and a copied address reopens the lab in a fresh context with the same numbers."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import _save_screenshot
from tests.support.browser import figure_titled, load, new_page, nudge_slider, settle, wait_idle

pytestmark = pytest.mark.e2e

_PANEL_JS = """([title, panel]) => {
  const gd = [...document.querySelectorAll('.attnviz-chart.js-plotly-plot')]
    .find((g) => g.layout && g.layout.title && g.layout.title.text.startsWith(title));
  if (!gd) return null;
  gd.scrollIntoView({block: 'center'});
  const r = gd.querySelectorAll('.hm image')[panel].getBoundingClientRect();
  return {x: r.x, y: r.y, width: r.width, height: r.height, rows: gd.data[panel].y.length,
          cols: gd.data[panel].x.length};
}"""


def _click(page, title: str, panel: int, row: int, col: int) -> str:
    """Hover cell (row, col) of panel ``panel`` of the chart titled ``title``…, click it; return the hover text."""
    box = page.evaluate(_PANEL_JS, [title, panel])
    assert box, f"no drawn chart titled {title!r}"
    x = box["x"] + box["width"] * (col + 0.5) / box["cols"]
    y = box["y"] + box["height"] * (row + 0.5) / box["rows"]
    page.mouse.move(x, y)
    page.wait_for_selector(".hoverlayer .hovertext", timeout=10_000)
    hovered = page.locator(".hoverlayer .hovertext").first.text_content()
    page.mouse.click(x, y)
    return hovered


def _explained(page, text: str) -> str:
    page.wait_for_function(
        "(t) => [...document.querySelectorAll('[data-testid=stMarkdownContainer]')].some((m) => m.innerText.includes(t))",
        arg=text,
        timeout=60_000,
    )
    wait_idle(page)
    return page.locator("[data-testid=stMarkdownContainer]", has_text=text).first.inner_text()


def test_lab_click_and_copied_address(page, browser, console_errors, app_url):
    load(page, f"{app_url}/Attention_lab")
    hovered = _click(page, "weights = softmax(score)", 2, row=3, col=1)  # the cosine panel
    number = re.search(r"weight (\S+)$", hovered).group(1)
    text = _explained(page, "weight of query 3 cross on key 1 animal")
    assert f"The heatmap's hover shows {number}." in text
    assert page.locator("[data-testid=stCaptionContainer]", has_text="Cosine scores: the softmax").count() == 1
    _save_screenshot(page, "lab_cell_click")

    nudge_slider(page, "lab_tau")  # τ 1 → 1.5
    settle(page)
    address = page.url
    assert "lab_tau=1.5" in address, address
    tau = figure_titled(page, "weights at τ = 1.5")["z"][0]
    other = new_page(browser)  # its own context: nothing but the address
    try:
        load(other, address)
        assert figure_titled(other, "weights at τ = 1.5")["z"][0] == tau
        assert other.locator("[data-testid=stAlertContentWarning]").count() == 0
    finally:
        other.context.close()
    assert console_errors.errors == []


def test_cross_click_names_target_source_and_head(page, console_errors, app_url):
    load(page, f"{app_url}/Cross-attention")
    hovered = _click(page, "weights per head", 1, row=1, col=2)  # head 1: "1 animal" reads "2 没"
    assert "weight" in hovered
    text = _explained(page, "weight of query 1 animal on key 2")
    number = re.search(r"(\S+)$", hovered.strip()).group(1)
    assert f"The heatmap's hover shows {number}." in text
    assert page.locator("[data-testid=stCaptionContainer]", has_text="Head 1 of 4").count() == 1
    _save_screenshot(page, "cross_cell_click")
    assert console_errors.errors == []
