"""The interface in Chinese: every page with ``?lang=zh`` shows no English word but code, symbols and the learner's
own data, and no string it looks up lacks a translation; the choice persists across pages and a bad one is named."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.pages.conftest import ROOT, TIMEOUT, open_page, share_open
from tests.pages.test_smoke import PAGES
from tests.support.i18n import english_left, missing_translations, visible_texts


def open_in(path: str, lang: str, *, share: bool = False) -> AppTest:
    at = AppTest.from_file(str(ROOT / path), default_timeout=TIMEOUT)
    at.query_params["lang"] = lang
    for key, value in (share_open() if share else {}).items():
        at.session_state[key] = value
    return at.run()


def report(left: list[tuple[str, str, str]]) -> str:
    return "\n".join(f"{where}: {word!r} in {text[:160]!r}" for where, word, text in left)


@pytest.mark.parametrize("path", PAGES)
def test_page_in_chinese_has_no_english_left(path):
    with missing_translations() as missing:
        at = open_in(path, "zh", share=True)  # its share panel open too: built only while open
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    left = english_left(at)
    assert not left, report(left)
    assert not missing, sorted(missing)


def test_english_is_the_default_and_shows_no_chinese():
    at = open_page("app.py")
    texts = " ".join(text for _, text in visible_texts(at))
    assert "attention" in texts
    chinese = [ch for ch in texts if "\u4e00" <= ch <= "\u9fff" and ch not in "中文语言"]
    assert not chinese, "".join(chinese)  # the switch's own label names both languages


def test_chinese_home_uses_the_seed_terms():
    at = open_in("app.py", "zh")
    texts = " ".join(text for _, text in visible_texts(at))
    for term in ("注意力", "查询", "键", "值"):
        assert term in texts


def test_the_choice_persists_across_pages_and_in_the_address():
    at = open_in("app.py", "zh")
    assert at.session_state["lang"] == "zh"
    at.query_params.clear()  # a page link drops the address's parameters
    at.switch_page("pages/1_Worked_example.py").run()
    assert not at.exception
    assert at.query_params["lang"] == ["zh"] or at.query_params["lang"] == "zh"
    assert at.title[0].value != "The worked example"


def test_the_switch_changes_the_language_and_the_address():
    at = open_page("app.py")
    at.radio(key="lang_switch").set_value("zh").run()
    assert at.session_state["lang"] == "zh"
    zh_title = at.title[0].value
    at.radio(key="lang_switch").set_value("en").run()
    assert at.title[0].value != zh_title
    assert "lang" not in at.query_params


@pytest.mark.parametrize("value", ["fr", "ZH", "x" * 500, ""])
def test_a_bad_language_in_the_address_is_named_and_english_stays(value):
    at = open_in("app.py", value)
    assert not at.exception
    if value:
        assert any("lang=" in w.value for w in at.warning), [w.value for w in at.warning]
    assert at.session_state["lang"] == "en"
