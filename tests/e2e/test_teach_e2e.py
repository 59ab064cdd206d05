"""Teaching in a real browser: a click on the worked example's heatmaps writes the cell out (the hover and the
explanation print the same digits), and the Practice page grades what is typed into its grid."""

from __future__ import annotations

import re

import pytest

from attnviz.practice import make_problem
from tests.e2e.conftest import ARTIFACTS, _save_screenshot
from tests.support.browser import heatmap_cell_point, load, wait_idle

pytestmark = pytest.mark.e2e


def _quiet(page) -> None:
    """No script running, and a moment for the browser to draw what arrived."""
    wait_idle(page)
    page.wait_for_timeout(500)


def _hover_then_click(page, title: str, row: int, col: int) -> str:
    x, y = heatmap_cell_point(page, title, row, col)
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
    _quiet(page)
    return page.locator("[data-testid=stMarkdownContainer]", has_text=text).first.inner_text()


def test_clicking_the_worked_examples_cells_writes_them_out(page, console_errors, app_url):
    load(page, f"{app_url}/Worked_example")
    hovered = _hover_then_click(page, "scores = Q·Kᵀ", row=1, col=2)  # query x2, key x3: 2·2 + 2·3 + 2·1 = 12
    assert hovered.endswith("value 12")
    text = _explained(page, "score of query x2 and key x3")
    assert "The heatmap's hover shows 12." in text
    followed = page.locator(".st-key-worked_query")
    assert "x2" in followed.evaluate("(e) => e.innerText + ' ' + [...e.querySelectorAll('input')].map((i) => i.value)")

    hovered = _hover_then_click(page, "weights = softmax(scores)", row=0, col=1)
    number = re.search(r"value (\S+)$", hovered).group(1)
    assert number == "0.4683"  # d3's ".4~f" of softmax([2, 4, 4])[1], as the explanation formats it
    text = _explained(page, "weight of query x1 on key x2")
    assert f"The heatmap's hover shows {number}." in text
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(
        "[data-testid=stMarkdownContainer]", has_text="weight of query x1 on key x2"
    ).first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "teach_explained_cell.png"))
    page.set_viewport_size({"width": 1024, "height": 768})
    _quiet(page)
    page.locator(
        "[data-testid=stMarkdownContainer]", has_text="weight of query x1 on key x2"
    ).first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "teach_explained_cell_1024.png"))
    assert page.locator("[data-testid=stException]").count() == 0
    assert console_errors.errors == []


def test_practice_page_grades_a_typed_answer(page, console_errors, app_url):
    from tests.support.browser import edit_cell

    load(page, f"{app_url}/Practice?seed=3&level=easy&stage=scores&source=worked", charts=False)
    p = make_problem(3, "easy", "scores", "worked")
    key = f"practice_answer_{p.id}"
    for row in range(p.answer.shape[0]):
        for col in range(p.answer.shape[1]):
            value = p.answer[row, col] + (1 if (row, col) == (0, 0) else 0)
            edit_cell(page, key, row=row, column=col, value=f"{value:g}")
    page.get_by_role("button", name="Check").click()
    page.wait_for_selector("text=8 of 9 cells right", timeout=60_000)
    page.get_by_role("button", name="Hint").click()
    page.wait_for_selector("text=Cell (x1, x1), term 1 of 3", timeout=60_000)
    page.get_by_role("button", name="Show the solution").click()
    page.wait_for_selector("text=3. Solution", timeout=60_000)
    _quiet(page)
    page.mouse.move(0, 0)
    _save_screenshot(page, "teach_practice")
    page.set_viewport_size({"width": 1024, "height": 768})
    page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollTo(0, 0)")
    _quiet(page)
    page.screenshot(path=str(ARTIFACTS / "teach_practice_1024.png"))
    assert page.locator("[data-testid=stException]").count() == 0
    assert console_errors.errors == []


_PANEL_JS = """([title, panel]) => {
  const gd = [...document.querySelectorAll('.attnviz-chart.js-plotly-plot')]
    .find((g) => g.layout && g.layout.title && g.layout.title.text.startsWith(title));
  gd.scrollIntoView({block: 'center'});
  const r = gd.querySelectorAll('.hm image')[panel].getBoundingClientRect();
  return {x: r.x, y: r.y, width: r.width, height: r.height, n: gd.data[panel].y.length};
}"""


def test_a_multihead_cell_prints_the_hovers_text_minus_sign_included(page, console_errors, app_url):
    load(page, f"{app_url}/Multi-head")
    box = page.evaluate(_PANEL_JS, ["scaled scores", 1])  # head 1's panel
    x, y = box["x"] + box["width"] * 2.5 / box["n"], box["y"] + box["height"] * 3.5 / box["n"]  # query 3, key 2
    page.mouse.move(x, y)
    page.wait_for_selector(".hoverlayer .hovertext", timeout=10_000)
    hovered = page.locator(".hoverlayer .hovertext").first.text_content()
    number = re.search(r"score (\S+)$", hovered).group(1)
    page.mouse.click(x, y)
    text = _explained(page, "scaled score of query 3")
    assert f"The heatmap's hover shows {number}." in text
    assert page.locator("[data-testid=stCaptionContainer]", has_text="Head 1 of 2").count() == 1
    assert console_errors.errors == []
