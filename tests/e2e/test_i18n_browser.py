"""Every page with ``?lang=zh`` in a real browser: the heading and the sidebar read Chinese, and a plotly figure's
Chinese title is drawn with a width (a font has its glyphs), with a screenshot of each page.

One browser context serves every page in turn (a page switch is a new address in the same tab), so the whole run
stays short.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.pages.test_smoke import PAGES, TABLES_ONLY
from tests.support.browser import ConsoleErrors, load, new_page, wait_idle

pytestmark = pytest.mark.e2e

CJK = re.compile(r"[\u4e00-\u9fff]")
SKELETON = "[data-testid=stSkeleton]"

# Every drawn plotly title with Chinese in it: its text and its drawn width (text.gtitle is plotly's figure title;
# axis, colour-bar and annotation titles count as well, for figures a page draws without a title).
_CHINESE_TITLES_JS = r"""() => {
  const cjk = /[\u4e00-\u9fff]/;
  const found = [];
  for (const node of document.querySelectorAll(
      '.js-plotly-plot text.gtitle, .js-plotly-plot text.xtitle, .js-plotly-plot text.ytitle, '
      + '.js-plotly-plot text.cbtitle, .js-plotly-plot text.annotation-text')) {
    const text = node.textContent || '';
    if (!cjk.test(text)) continue;
    found.push({kind: node.getAttribute('class'), text, width: node.getBBox().width,
                font: getComputedStyle(node).fontFamily});
  }
  return found;
}"""


def url_path(script: str) -> str:
    """The address of a page script: ``pages/1_Worked_example.py`` -> ``Worked_example``; the home page is ``""``."""
    return "" if script == "app.py" else Path(script).stem.split("_", 1)[1]


@pytest.fixture(scope="module")
def zh_tab(browser):
    """One tab (one context, one Streamlit session) for every page of this module, and its console errors."""
    page = new_page(browser)
    errors = ConsoleErrors().attach(page)
    yield page, errors
    page.context.close()


@pytest.mark.parametrize("script", PAGES, ids=lambda s: url_path(s) or "home")
def test_page_in_chinese_in_the_browser(zh_tab, app_url, script, tmp_path):
    page, console = zh_tab
    console.errors.clear()
    charts = script not in TABLES_ONLY
    load(page, f"{app_url}/{url_path(script)}?lang=zh", charts=charts)
    wait_idle(page)
    page.wait_for_selector(SKELETON, state="detached", timeout=60_000)
    page.screenshot(path=str(tmp_path / f"{url_path(script) or 'home'}_zh.png"))

    assert page.locator("[data-testid=stException]").count() == 0
    heading = page.locator("h1").first.inner_text()
    assert CJK.search(heading), f"the page heading is not Chinese: {heading!r}"
    links = page.locator("[data-testid=stSidebar] [data-testid=stPageLink]").all_inner_texts()
    assert len(links) == len(PAGES), links
    english = [link for link in links if not CJK.search(link)]
    assert not english, f"sidebar links not in Chinese: {english}"
    assert "lang=zh" in page.url

    if charts:
        titles = page.evaluate(_CHINESE_TITLES_JS)
        assert titles, "no plotly title with Chinese is drawn on the page"
        flat = [t for t in titles if t["width"] <= 0]
        assert not flat, f"Chinese titles drawn without a width: {flat}"
        assert any(t["kind"] == "gtitle" for t in titles), f"no figure title in Chinese, only {titles[:3]}"
    assert console.errors == []
