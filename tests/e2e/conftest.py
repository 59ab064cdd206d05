"""Real-browser fixtures: one Streamlit server for the session, Debian's Chromium, a page per test.

The server, browser and wait helpers live in ``tests/support``, shared with the benchmarks.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import ConsoleErrors, chromium_executable, launch_chromium, new_page
from tests.support.server import REPO_ROOT, StreamlitServer

ARTIFACTS = REPO_ROOT / "test-artifacts"
SERVER_START_TIMEOUT = 90.0  # a cold torch import on a 2-core machine


def _no_browser(reason: str) -> None:
    """Missing browser: a failure in CI (the tests must run there), a skip on a developer's machine."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def app_url() -> Iterator[str]:
    """Base URL of ``streamlit run app.py`` started from the repository root (stopped at the end)."""
    server = StreamlitServer("app.py").start()
    try:
        server.wait_healthy(timeout=SERVER_START_TIMEOUT)
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser():
    if chromium_executable() is None:
        _no_browser("the browser tests need Debian's chromium on PATH (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser("the browser tests need the Python package playwright (requirements-dev.txt)")
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Keep each phase's report on the item (``rep_setup``, ``rep_call``) so fixtures can see a failure."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _save_screenshot(page, name: str) -> Path | None:
    """A full-page screenshot: Streamlit scrolls inside its own container, so grow the viewport to fit first."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    try:
        height = page.evaluate(
            """() => Math.max(document.body.scrollHeight,
                ...[...document.querySelectorAll('[data-testid=stMain], [data-testid=stMainBlockContainer]')]
                    .map((e) => e.scrollHeight))"""
        )
        viewport = page.viewport_size or {"width": 1400, "height": 1000}
        page.set_viewport_size({"width": viewport["width"], "height": min(max(int(height), 600), 12_000)})
        page.screenshot(path=str(path), full_page=True)
    except Exception:  # the page may be gone; the test's own failure is what matters
        return None
    return path


@pytest.fixture
def page(browser, request: pytest.FixtureRequest):
    """A fresh page (own context, own Streamlit session); a full-page screenshot is saved if the test fails."""
    page = new_page(browser)
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        path = _save_screenshot(page, request.node.nodeid)
        if path is not None:
            print(f"screenshot: {path.relative_to(REPO_ROOT)}")
    page.context.close()


@pytest.fixture
def console_errors(page) -> ConsoleErrors:
    """Console errors and uncaught exceptions of ``page`` (attached before the test navigates)."""
    return ConsoleErrors().attach(page)
