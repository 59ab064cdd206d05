"""The in-place chart in a real browser: an edit updates the same DOM node, plotly.js is loaded once."""

from __future__ import annotations

import pytest

from benchmarks.harness import edit_cell, figure_titled, load, settle

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
