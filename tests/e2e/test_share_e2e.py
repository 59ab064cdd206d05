"""A copied address opened in a fresh browser context shows the same numbers; the expander is drawn."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ARTIFACTS
from tests.pages.conftest import array
from tests.support.browser import arm_rerun, edit_cell, figure_titled, load, new_page, settle, wait_idle

pytestmark = pytest.mark.e2e

TITLES = ("scores", "weights", "output")


def numbers(page) -> dict[str, list]:
    """The scores, weights and outputs as drawn."""
    return {title: array(figure_titled(page, title)["z"][0]).tolist() for title in TITLES}


def test_a_copied_address_reproduces_the_page_in_a_new_browser(page, browser, app_url):
    load(page, f"{app_url}/Worked_example")
    default = numbers(page)
    edit_cell(page, "worked_x", row=1, column=2, value="-3.5")
    settle(page)
    arm_rerun(page)
    page.get_by_text("Causal mask").click()
    wait_idle(page)
    settle(page)
    edited = numbers(page)
    assert edited != default
    address = page.url
    assert "worked_x=3x4.f4." in address and "worked_causal=1" in address, address

    other = new_page(browser)  # its own context: no cookies, no session, nothing but the address
    try:
        load(other, address)
        assert numbers(other) == edited
        assert other.locator("[data-testid=stAlertContentWarning]").count() == 0
        # Opening the panel reruns the page (it is built only while open), and so does the toggle: each click
        # waits for its own rerun to end, so the next one lands on the drawn panel, not on one being redrawn.
        arm_rerun(other)
        other.get_by_text("Share, export, import").click()
        wait_idle(other)
        other.get_by_text("State (JSON)").wait_for()
        assert other.get_by_text("X.csv", exact=True).count() == 1
        arm_rerun(other)
        other.get_by_text("Copy as code").click()
        wait_idle(other)
        other.locator("[data-testid=stCode]").last.wait_for()
        other.get_by_text("Share, export, import").scroll_into_view_if_needed()
        other.screenshot(path=str(ARTIFACTS / "share_panel.png"))
    finally:
        other.context.close()

    arm_rerun(page)
    page.go_back()  # the address before the causal mask: the page follows it
    wait_idle(page)
    settle(page)
    assert "worked_causal" not in page.url
    assert numbers(page) != edited
