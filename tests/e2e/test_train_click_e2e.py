"""The Train page in a real browser: after training, a real click on a cell of the "Attention on your input" grid
writes out that layer and head's weight under the figure, with the digits the cell's hover shows."""

from __future__ import annotations

import pytest

from tests.support.browser import APP_IDLE, arm_rerun, load, wait_charts_drawn, wait_idle

pytestmark = pytest.mark.e2e

TITLE = "Attention on your input"
_PANEL_JS = """([title, curve]) => {
  const gd = [...document.querySelectorAll('.attnviz-chart.js-plotly-plot')]
    .find((g) => g.layout && g.layout.title && g.layout.title.text === title);
  if (!gd) return null;
  gd.scrollIntoView({block: 'center'});
  const r = gd.querySelectorAll('.hm image')[curve].getBoundingClientRect();
  return {x: r.x, y: r.y, width: r.width, height: r.height, rows: gd.data[curve].y.length,
          cols: gd.data[curve].x.length, name: gd.data[curve].name};
}"""


def test_a_real_click_on_the_probe_grid_explains_that_weight(page, console_errors, app_url):
    load(page, f"{app_url}/Train", charts=False)
    page.locator(".st-key-train_act_start button").click()
    page.wait_for_function(
        "(t) => [...document.querySelectorAll('.gtitle')].some((e) => e.textContent === t)", arg=TITLE, timeout=180_000
    )
    page.wait_for_selector(APP_IDLE, state="attached", timeout=60_000)
    wait_charts_drawn(page)
    page.wait_for_timeout(500)  # plotly finishes drawing
    assert "The heatmap's hover shows" not in page.inner_text("body")
    curve, row, col = 3, 6, 1  # the panel "layer 2 · head 2", query 6, key 1
    box = page.evaluate(_PANEL_JS, [TITLE, curve])
    assert box and box["name"] == "layer 2 · head 2"
    x = box["x"] + box["width"] * (col + 0.5) / box["cols"]
    y = box["y"] + box["height"] * (row + 0.5) / box["rows"]
    page.mouse.move(x, y)
    page.wait_for_selector(".hoverlayer .hovertext", timeout=10_000)
    hover = page.locator(".hoverlayer .hovertext").first.text_content() or ""
    value = hover.rsplit("value", 1)[-1].strip()
    assert value, hover
    arm_rerun(page)
    page.mouse.click(x, y)
    wait_idle(page)
    page.get_by_text("Layer 2, head 2 of 2 of the trained model").first.wait_for(timeout=60_000)
    body = page.inner_text("body")
    assert f"The heatmap's hover shows {value}." in body
    assert page.locator("[data-testid=stException]").count() == 0
    assert console_errors.errors == []
