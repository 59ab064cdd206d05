"""The worked example in a real browser at projector size: numbers typed as text, reset, nothing cut off."""

from __future__ import annotations

import numpy as np
import pytest

from attnviz.examples import WORKED_EXAMPLE
from benchmarks.harness import arm_rerun, edit_cell, figure_titled, load, settle, wait_idle
from tests.pages.conftest import array

pytestmark = pytest.mark.e2e

PRINTED_SCORES_ROW_1 = [2.0, 4.0, 4.0]

# Every formula and table, measured: how far it reaches past the page's content column (<= 0: it is all visible).
_OVERFLOW_JS = """() => {
  const main = document.querySelector('[data-testid=stMainBlockContainer]').getBoundingClientRect();
  const past = (r) => Math.max(r.right - main.right, main.left - r.left);
  const out = [];
  for (const e of document.querySelectorAll('[data-testid=stMain] .katex-display .katex-html')) {
    out.push({what: 'formula ' + e.textContent.slice(0, 20), over: past(e.getBoundingClientRect())});
  }
  for (const e of document.querySelectorAll('[data-testid=stMain] [data-testid=stDataFrameResizable]')) {
    out.push({what: 'table', over: past(e.getBoundingClientRect())});
    const scroller = e.querySelector('.dvn-scroller');  // the grid scrolls sideways when a column is hidden
    if (scroller) out.push({what: 'table columns', over: scroller.scrollWidth - scroller.clientWidth});
  }
  return out;
}"""


def first_row(page) -> list[float]:
    """Row x1 of the scores heatmap as drawn."""
    return array(figure_titled(page, "scores")["z"][0])[0].tolist()


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
    assert first_row(page) != PRINTED_SCORES_ROW_1

    arm_rerun(page)
    page.get_by_role("button", name="Reset", exact=True).click()
    wait_idle(page)
    settle(page)
    assert first_row(page) == PRINTED_SCORES_ROW_1
    # The reset drew X as a new table (its edits are gone from the browser too): the widget key's next version.
    edit_cell(page, "worked_x__v1", row=2, column=3, value="2")  # another cell: the 2 in x1 must not come back
    settle(page)
    x = np.array(WORKED_EXAMPLE.x, dtype=float)
    x[2, 3] = 2.0
    q, k = x @ np.array(WORKED_EXAMPLE.w_q), x @ np.array(WORKED_EXAMPLE.w_k)
    assert first_row(page) == (q @ k.T)[0].tolist()

    overflow = [m for m in page.evaluate(_OVERFLOW_JS) if m["over"] > 1]
    assert overflow == [], overflow
