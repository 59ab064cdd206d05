"""Every page loads on its own with no exception and draws its figures."""

from pathlib import Path

import pytest

from tests.pages.conftest import ROOT, figures, open_page

PAGES = ["app.py", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("*.py"))]
TABLES_ONLY = {"app.py", "pages/10_Practice.py"}  # practice gives its numbers as tables, to compute by hand


@pytest.mark.parametrize("path", PAGES)
def test_page_loads(path):
    at = open_page(path)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    if path not in TABLES_ONLY:
        assert figures(at), f"{path} drew no figure"


def test_home_links_every_page():
    at = open_page("app.py")
    linked = {link.proto.page for link in at.get("page_link")}
    # Streamlit names a page by its file name without the number: pages/1_Worked_example.py → "Worked_example"
    expected = {Path(p).stem.split("_", 1)[1] for p in PAGES if p != "app.py"}
    assert linked == expected | {""}  # "" is the home page itself, in the sidebar
