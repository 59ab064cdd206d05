"""The in-place chart in a real browser: an edit updates the same DOM node, plotly.js is loaded once."""

from __future__ import annotations

import json

import pytest

from tests.support.browser import arm_rerun, edit_cell, figure_titled, load, settle, wait_idle
from tests.support.server import StreamlitServer

pytestmark = pytest.mark.e2e

# Tags the drawn chart titled ``title`` (its plotly node) with a JS property that only this node carries.
_MARK_JS = """([title, mark]) => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')]
    .find((g) => g.layout && g.layout.title && g.layout.title.text === title);
  if (!gd) return false;
  gd.__testMark = mark;
  gd.querySelector('.main-svg').__testMark = mark;  // plotly's own drawing: gone if it drew the chart afresh
  return true;
}"""

_MARKED_JS = """([title]) => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')]
    .find((g) => g.layout && g.layout.title && g.layout.title.text === title);
  if (!gd) return null;
  return {mark: gd.__testMark || null, connected: gd.isConnected, drawing: gd.querySelector('.main-svg').__testMark || null};
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
    marked = page.evaluate(_MARKED_JS, [title])
    assert marked["mark"] == "kept" and marked["connected"], (
        "the edit replaced the chart's DOM node instead of updating it"
    )
    # Plotly.react updated the drawing itself: a config that differed from the drawn one (say, a new function for the
    # SVG button on every figure) made it purge the chart and draw it afresh, then react once more.
    assert marked["drawing"] == "kept", "plotly.js drew the chart afresh instead of updating its drawing"

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


_NODE_JS = """(mark) => {
  const nodes = [...document.querySelectorAll('.st-key-swap_fig .attnviz-chart')];
  const gd = nodes[0];
  if (mark && gd) gd.__testMark = mark;
  return {
    count: nodes.length,
    mark: gd ? gd.__testMark || null : null,
    title: gd && gd.layout ? gd.layout.title.text : null,
    traces: gd && gd.data ? gd.data.length : 0,
  };
}"""


def _choose(page, name: str) -> None:
    arm_rerun(page)
    page.locator(".st-key-which label").filter(has_text=name).first.click()
    wait_idle(page)
    settle(page)
    page.wait_for_function(
        "(t) => { const g = document.querySelector('.st-key-swap_fig .attnviz-chart'); "
        "return g && g.layout && g.layout.title.text === t; }",
        arg=name,
        timeout=30_000,
    )


def test_a_drawing_with_other_subplots_comes_back_as_it_was(page, console_errors):
    """One panel → two panels → one panel again: the first drawing returns (values, hover, click), one at a time."""
    with StreamlitServer("tests/e2e/chart_swap_app.py") as server:
        load(page, server.url)
        assert page.evaluate(_NODE_JS, "one") == {"count": 1, "mark": "one", "title": "one", "traces": 1}
        _choose(page, "two")  # other subplots: drawn afresh on a new node, the first kept off the page
        assert page.evaluate(_NODE_JS, "two") == {"count": 1, "mark": "two", "title": "two", "traces": 2}
        assert figure_titled(page, "two")["z"][1] == [[9.0, 10.0], [11.0, 12.0]]
        _choose(page, "one")  # the same figure as the first: its drawing comes back
        assert page.evaluate(_NODE_JS, None) == {"count": 1, "mark": "one", "title": "one", "traces": 1}
        assert figure_titled(page, "one")["z"][0] == [[1.0, 2.0], [3.0, 4.0]]
        # It still hovers and clicks: the upper right cell is row q2, column k2 (plotly draws row 0 at the bottom).
        box = page.locator(".st-key-swap_fig .hm image").first.bounding_box()
        x, y = box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.25
        page.mouse.move(x, y)
        page.wait_for_selector(".st-key-swap_fig .hoverlayer .hovertext", timeout=10_000)
        page.mouse.click(x, y)
        page.wait_for_function(
            "() => [...document.querySelectorAll('[data-testid=stCode] code')].some((c) => c.innerText.includes('curve'))",
            timeout=60_000,
        )
        shown = json.loads(page.locator("[data-testid=stCode] code").first.inner_text())
        assert (shown["x"], shown["y"], shown["z"], shown["curve"]) == ("k2", "q2", 4.0, 0)
        # The same subplots with other values update the drawn node in place.
        _choose(page, "other")
        assert page.evaluate(_NODE_JS, None) == {"count": 1, "mark": "one", "title": "other", "traces": 1}
        assert figure_titled(page, "other")["z"][0] == [[-1.0, -2.0], [-3.0, -4.0]]
        _choose(page, "two")  # and the two-panel drawing comes back as well
        assert page.evaluate(_NODE_JS, None) == {"count": 1, "mark": "two", "title": "two", "traces": 2}
        assert page.locator("[data-testid=stException]").count() == 0
        assert console_errors.errors == []
