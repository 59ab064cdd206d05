"""A real click on a heatmap cell counts every time: the same cell clicked again, after the learner moved the followed
query away by hand, is followed again (the chart stamps each click, so the kept point is not mistaken for it)."""

from __future__ import annotations

import json

import pytest

from tests.support.browser import arm_rerun, heatmap_cell_point, load, wait_idle
from tests.support.server import StreamlitServer

pytestmark = pytest.mark.e2e


def _click_cell(page, title: str, row: int, col: int) -> None:
    """Click the centre of cell (row, col) of the heatmap titled ``title`` and wait for the rerun it causes."""
    x, y = heatmap_cell_point(page, title, row, col)
    page.mouse.move(x, y)
    page.wait_for_selector(".hoverlayer .hovertext", timeout=10_000)
    arm_rerun(page)
    page.mouse.click(x, y)
    wait_idle(page)


def _followed(page) -> str:
    """What the followed-query box shows (its label, and its value, which the select box keeps in an input)."""
    box = page.locator(".st-key-worked_query")
    return box.evaluate("(e) => e.innerText + ' ' + [...e.querySelectorAll('input')].map((i) => i.value)")


def _choose_query(page, option: str) -> None:
    """Type ``option`` into the followed-query box (a searchable select box) and pick it with Enter."""
    box = page.locator(".st-key-worked_query input").first
    box.scroll_into_view_if_needed()
    box.click()
    page.keyboard.type(option)
    page.locator("[role=listbox] [role=option]", has_text=option).first.wait_for(state="visible", timeout=30_000)
    arm_rerun(page)
    page.keyboard.press("Enter")
    wait_idle(page)


def _explained(page, text: str) -> None:
    page.wait_for_function(
        "(t) => [...document.querySelectorAll('[data-testid=stMarkdownContainer]')].some((m) => m.innerText.includes(t))",
        arg=text,
        timeout=60_000,
    )


def test_the_same_cell_clicked_again_is_followed_again(page, console_errors, app_url):
    load(page, f"{app_url}/Worked_example")
    title = "scores = Q·Kᵀ"
    _click_cell(page, title, row=1, col=2)  # query x2, key x3
    _explained(page, "score of query x2 and key x3")
    assert "x2" in _followed(page)

    _choose_query(page, "x1")  # the learner moves away by hand
    _explained(page, "score of query x1 and key x3")
    assert "x1" in _followed(page)

    _click_cell(page, title, row=1, col=2)  # the very same cell again
    _explained(page, "score of query x2 and key x3")
    assert "x2" in _followed(page)
    assert page.locator("[data-testid=stException]").count() == 0
    assert console_errors.errors == []


def test_each_click_on_the_same_point_is_a_new_selection(page, console_errors):
    with StreamlitServer("tests/e2e/chart_select_app.py") as server:
        load(page, server.url)
        seen = []
        for _ in range(2):
            box = page.locator(".attnviz-chart .hm image").first.bounding_box()
            arm_rerun(page)
            page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.75)  # row q1, key k1
            wait_idle(page)
            page.wait_for_function(
                "(n) => { const c = document.querySelector('[data-testid=stCode] code');"
                " return c && c.innerText.includes('click') && !n.includes(c.innerText); }",
                arg=[json.dumps(s, sort_keys=True) for s in seen],
                timeout=60_000,
            )
            seen.append(json.loads(page.locator("[data-testid=stCode] code").first.inner_text()))
        assert [(s["x"], s["y"], s["z"]) for s in seen] == [("k1", "q1", 1.0)] * 2
        assert seen[1]["click"] > seen[0]["click"]
        assert console_errors.errors == []
