"""The gettext machinery and the Chinese catalog: complete for every message in the source, placeholders intact."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from attnviz import i18n
from attnviz.i18n import N_, gettext, ngettext, pgettext
from tests.support.i18n import missing_translations

ROOT = Path(__file__).resolve().parents[1]
_FIELD = re.compile(r"(?<!\{)\{([^{}:!]*)[^{}]*\}(?!\})")


def source_messages() -> dict[tuple[str | None, str], str]:
    """Every (context, message) Babel extracts from the app's files (the same map as ``babel.cfg``), with where."""
    found: dict[tuple[str | None, str], str] = {}
    for where in ("app.py", "pages", "attnviz"):
        path = ROOT / where
        if path.is_file():
            entries = extract_from_dir(ROOT, method_map=[("app.py", "python")])
        else:
            entries = extract_from_dir(path, method_map=[("**.py", "python")])
        for filename, lineno, message, _comments, context in entries:
            for text in message if isinstance(message, tuple) else (message,):
                if text:
                    found.setdefault((context, text), f"{where}/{filename}:{lineno}")
    return found


def catalog(lang: str) -> dict[tuple[str | None, str], str]:
    entries: dict[tuple[str | None, str], str] = {}
    for path in i18n.catalog_paths(lang):
        with path.open("rb") as fp:
            for message in read_po(fp):
                if not message.id:
                    continue
                ids = message.id if isinstance(message.id, tuple) else (message.id,)
                strings = message.string if isinstance(message.string, tuple) else (message.string,)
                if message.fuzzy:
                    continue
                for msgid in ids:
                    entries[(message.context, msgid)] = strings[0] or ""
    return entries


def test_every_message_in_the_source_has_a_chinese_translation():
    messages = source_messages()
    zh = catalog("zh")
    assert len(messages) > 20
    untranslated = sorted(f"{where}: {m[1]!r}" for m, where in messages.items() if not zh.get(m))
    assert not untranslated, "\n".join(untranslated)


def test_translations_keep_their_placeholders():
    wrong = []
    for (_context, msgid), msgstr in catalog("zh").items():
        if msgstr and sorted(_FIELD.findall(msgid)) != sorted(_FIELD.findall(msgstr)):
            wrong.append(f"{msgid!r} → {msgstr!r}")
    assert not wrong, "\n".join(wrong)


def test_no_message_is_translated_twice_differently():
    seen: dict[tuple[str | None, str], tuple[str, str]] = {}
    clashes = []
    for path in i18n.catalog_paths("zh"):
        with path.open("rb") as fp:
            for message in read_po(fp):
                if message.id and isinstance(message.id, str) and message.string:
                    key = (message.context, message.id)
                    if key in seen and seen[key][0] != message.string:
                        clashes.append(f"{message.id!r}: {seen[key][1]} vs {path.name}")
                    seen[key] = (message.string, path.name)
    assert not clashes, "\n".join(clashes)


def test_english_is_the_default_and_comes_back_as_written():
    assert i18n.language() == "en"
    assert gettext("Home") == "Home"
    assert gettext("no such message") == "no such message"


def test_use_switches_to_chinese_inside_the_block_only():
    with i18n.use("zh"):
        assert i18n.language() == "zh"
        assert gettext("Home") == "首页"
        assert gettext("Multi-head") == "多头注意力"
    assert gettext("Home") == "Home"


def test_a_missing_translation_falls_back_to_english_and_is_recorded():
    with missing_translations() as found, i18n.use("zh"):
        assert gettext("a message nobody translated") == "a message nobody translated"
        assert gettext("Home") == "首页"
    assert found == {"a message nobody translated"}
    with i18n.use("zh"):
        assert gettext("another untranslated message") == "another untranslated message"  # no recorder left
    assert found == {"a message nobody translated"}
    assert i18n.translated("Home", "zh") and not i18n.translated("a message nobody translated", "zh")


def test_ngettext_picks_the_english_form_by_count_and_falls_back_in_chinese():
    assert ngettext("{n} head", "{n} heads", 1) == "{n} head"
    assert ngettext("{n} head", "{n} heads", 3) == "{n} heads"
    with missing_translations() as found, i18n.use("zh"):
        assert ngettext("an untranslated {n} thing", "untranslated {n} things", 2) == "untranslated {n} things"
    assert found == {"an untranslated {n} thing"}


def test_pgettext_tells_one_english_word_apart_by_context():
    assert pgettext("distance", "positions") == "positions"
    with i18n.use("zh"):
        assert pgettext("distance", "positions") == "位置数"
        assert gettext("positions") == "位置"


def test_marked_constants_are_unchanged_until_shown():
    assert N_("Home") == "Home"


def test_an_unknown_language_is_refused_by_name():
    with pytest.raises(ValueError, match="lang='fr'"), i18n.use("fr"):
        pass


def test_the_sessions_choice_decides_outside_a_use_block(monkeypatch):
    from attnviz.ui import lang

    monkeypatch.setattr(lang, "current", lambda: "zh")
    assert gettext("Home") == "首页"
    monkeypatch.setattr(lang, "current", lambda: "xx")  # an unknown answer means the default
    assert gettext("Home") == "Home"
    with i18n.use("zh"):  # an explicit block wins
        monkeypatch.setattr(lang, "current", lambda: "en")
        assert gettext("Home") == "首页"
