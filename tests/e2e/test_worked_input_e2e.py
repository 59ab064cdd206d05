"""The worked example in a real browser at projector size: numbers typed as text, reset, nothing cut off."""

from __future__ import annotations

import pytest

from benchmarks.harness import edit_cell, figure_titled, load, settle

pytestmark = pytest.mark.e2e

PRINTED_SCORES_ROW_1 = [2.0, 4.0, 4.0]

# Every formula and table, measured: how far its content reaches past the box it is shown in (0 = it fits).
_OVERFLOW_JS = """() => {
  const out = [];
  for (const e of document.querySelectorAll('[data-testid=stMain] .katex-display')) {
    const box = e.closest('[data-testid=stMarkdownContainer]') || e.parentElement;
    out.push({what: 'formula ' + e.textContent.slice(0, 20), over: e.scrollWidth - box.getBoundingClientRect().width});
  }
  for (const e of document.querySelectorAll('[data-testid=stMain] [data-testid=stDataFrameResizable]')) {
    const canvas = e.querySelector('canvas');
    out.push({what: 'table', over: canvas ? canvas.getBoundingClientRect().right - e.closest('[data-testid=stColumn], [data-testid=stVerticalBlock]').getBoundingClientRect().right : 0});
  }
  return out;
}"""


def errors(page) -> str:
    return "\n".join(page.locator("[data-testid=stAlertContentError]").all_inner_texts())


def test_typed_numbers_reset_and_a_projector_screen(page, app_url):
    page.set_viewport_size({"width": 1024, "height": 768})
    load(page, f"{app_url}/Worked_example")

    edit_cell(page, "worked_x", row=0, column=0, value="1e308")  # was taken as 1308: the "e" was swallowed
    settle(page)
    assert "overflowed" in errors(page), errors(page)

    edit_cell(page, "worked_x", row=0, column=0, value="2e0")  # 2, in scientific notation: x1 = [2, 0, 1, 0]
    settle(page)
    assert errors(page) == ""
    assert figure_titled(page, "scores")["z"][0] != PRINTED_SCORES_ROW_1

    page.get_by_role("button", name="Reset").click()
    settle(page)
    assert figure_titled(page, "scores")["z"][0] == PRINTED_SCORES_ROW_1
    edit_cell(page, "worked_x", row=2, column=3, value="1")  # another cell: the 2 must not come back
    settle(page)
    assert figure_titled(page, "scores")["z"][0] == PRINTED_SCORES_ROW_1

    overflow = [m for m in page.evaluate(_OVERFLOW_JS) if m["over"] > 1]
    assert overflow == [], overflow
