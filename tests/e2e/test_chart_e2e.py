"""The in-place chart in a real browser: an edit updates the same DOM node, plotly.js is loaded once."""

from __future__ import annotations

import json

import pytest

from benchmarks.harness import StreamlitServer, edit_cell, figure_titled, load, settle

pytestmark = pytest.mark.e2e

# Tags the drawn chart titled ``title`` (its plotly node) with a JS property that only this node carries.
_MARK_JS = """([title, mark]) => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')]
    .find((g) => g.layout && g.layout.title && g.layout.title.text === title);
  if (!gd) return false;
  gd.__testMark = mark;
  return true;
}"""

_MARKED_JS = """([title]) => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')]
    .find((g) => g.layout && g.layout.title && g.layout.title.text === title);
  return gd ? {mark: gd.__testMark || null, connected: gd.isConnected} : null;
}"""


def test_edit_updates_the_same_chart_node(page, console_errors, app_url):
    load(page, f"{app_url}/Worked_example")
    title = "scores = Q·Kᵀ"
    before = figure_titled(page, title)["z"][0]
    assert page.evaluate(_MARK_JS, [title, "kept"]), f"no drawn chart titled {title!r}"

    edit_cell(page, "worked_x", row=0, column=1, value="7.25")
    settle(page)

    after = figure_titled(page, title)["z"][0]  # trace 0's z: rows are queries
    assert after != before, "the scores heatmap did not change after editing X"
    # Row x1 of Q·Kᵀ for the tutorial's X with x1 = [1, 7.25, 1, 0], by hand: q1 = x1·W_q = [8.25, 0, 2],
    # K = X·W_k = [[7.25, 8.25, 1], [4, 4, 0], [2, 3, 1]] → [61.8125, 33, 18.5] (unscaled, the page's default).
    assert after[0] == pytest.approx([61.8125, 33.0, 18.5])  # trace 0, row x1
    assert page.evaluate(_MARKED_JS, [title]) == {"mark": "kept", "connected": True}, (
        "the edit replaced the chart's DOM node instead of updating it"
    )
    scripts = page.evaluate(
        "() => [...document.querySelectorAll('script[src]')].filter((s) => s.src.includes('plotly')).length"
    )
    assert scripts == 1, f"plotly.js loaded {scripts} times"
    assert page.locator("[data-testid=stException]").count() == 0
    assert console_errors.errors == []


def test_hover_download_options_and_click(page, console_errors):
    """Hover shows the cell, the download is named and scaled, a click comes back to Python as x, y, z, curve."""
    with StreamlitServer("tests/e2e/chart_select_app.py") as server:
        load(page, server.url)
        gd = page.locator(".attnviz-chart.js-plotly-plot").first
        options = page.evaluate(
            "() => document.querySelector('.attnviz-chart.js-plotly-plot')._context.toImageButtonOptions"
        )
        assert options["filename"] == "attnviz_click_test"
        assert options["scale"] >= 2
        assert page.locator(".attnviz-chart .modebar-btn[data-title='Download plot as SVG']").count() == 1
        # The right column's upper cell of the drawn heatmap image.
        box = page.locator(".attnviz-chart .hm image").first.bounding_box()
        x, y = box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.25
        page.mouse.move(x, y)
        page.wait_for_selector(".attnviz-chart .hoverlayer .hovertext", timeout=10_000)
        hovered = page.locator(".attnviz-chart .hoverlayer .hovertext").first.text_content()
        gd.click(position={"x": x - gd.bounding_box()["x"], "y": y - gd.bounding_box()["y"]})
        page.wait_for_function(
            "() => [...document.querySelectorAll('[data-testid=stCode] code')].some((c) => c.innerText.includes('curve'))",
            timeout=60_000,
        )
        shown = json.loads(page.locator("[data-testid=stCode] code").first.inner_text())
        assert shown["curve"] == 0
        assert shown["x"] == "k2"
        # Plotly draws the first row at the bottom: the upper half of the image is row q2 (z = 4).
        assert (shown["y"], shown["z"]) == ("q2", 4.0)
        assert "4" in hovered
        assert console_errors.errors == []
