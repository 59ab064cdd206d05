"""Two browsers on one server: each edits its own cell of X and sees only its own edit."""

from __future__ import annotations

import numpy as np
import pytest

from attnviz.examples import WORKED_EXAMPLE
from tests.pages.conftest import array
from tests.support.browser import ConsoleErrors, edit_cell, load, new_page, settle

pytestmark = pytest.mark.e2e

SCORES_TITLE = "scores = Q·Kᵀ"

# The z of the scores heatmap as the page holds it (a list, or plotly's base64 typed array).
_SCORES_Z_JS = """(title) => {
  const plots = [...document.querySelectorAll('.js-plotly-plot')].filter((gd) => {
    const t = gd.layout && gd.layout.title;
    return (typeof t === 'string' ? t : t && t.text) === title;
  });
  if (plots.length !== 1) throw new Error(`${plots.length} plots titled ${title}`);
  const z = plots[0].data[0].z;
  return ArrayBuffer.isView(z) || Array.isArray(z) ? Array.from(z, (row) => Array.from(row)) : z;
}"""


def scores(page) -> np.ndarray:
    return array(page.evaluate(_SCORES_Z_JS, SCORES_TITLE)).astype(float)


def expected_scores(x: np.ndarray) -> np.ndarray:
    """``(X·W_q)(X·W_k)ᵀ`` with the worked example's weights."""
    return (x @ WORKED_EXAMPLE.w_q) @ (x @ WORKED_EXAMPLE.w_k).T


def with_cells(*cells: tuple[int, int, float]) -> np.ndarray:
    x = np.array(WORKED_EXAMPLE.x)
    for row, col, value in cells:
        x[row, col] = value
    return x


def edit(page, row: int, col: int, value: float) -> None:
    edit_cell(page, "worked_x", row, col, f"{value:g}")
    settle(page)


@pytest.fixture
def two_pages(browser):
    pages = [new_page(browser), new_page(browser)]  # two contexts: two cookies jars, two Streamlit sessions
    errors = [ConsoleErrors().attach(p) for p in pages]
    yield pages, errors
    for page in pages:
        page.context.close()


def test_two_sessions_each_see_only_their_own_edit(two_pages, app_url):
    (a, b), errors = two_pages
    for page in (a, b):
        load(page, f"{app_url}/Worked_example")
        np.testing.assert_allclose(scores(page), expected_scores(with_cells()))

    edit(a, 0, 1, 5.0)  # a: x1 = [1, 5, 1, 0]
    edit(b, 1, 0, 3.0)  # b: x2 = [3, 2, 0, 2]
    a_cells, b_cells = [(0, 1, 5.0)], [(1, 0, 3.0)]
    np.testing.assert_allclose(scores(a), expected_scores(with_cells(*a_cells)))
    np.testing.assert_allclose(scores(b), expected_scores(with_cells(*b_cells)))

    # a reruns after b's edit: its second edit builds on its own first one, never on b's.
    edit(a, 2, 3, -2.0)
    a_cells.append((2, 3, -2.0))
    np.testing.assert_allclose(scores(a), expected_scores(with_cells(*a_cells)))
    np.testing.assert_allclose(scores(b), expected_scores(with_cells(*b_cells)))
    assert not np.allclose(scores(a), scores(b))

    for page, console in zip((a, b), errors, strict=True):
        exceptions = page.locator("[data-testid=stException]")
        assert exceptions.count() == 0, exceptions.first.inner_text()
        assert console.errors == []
