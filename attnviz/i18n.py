"""The interface's languages: English (the source strings) and Simplified Chinese, through gettext catalogs.

Every user-facing string is written in English and wrapped: ``_("Scores")``, ``_("Row {token}").format(token=t)``
(named placeholders only, so a translation may reorder them), ``ngettext("{n} head", "{n} heads", n)``. A string
kept in a module-level constant is marked with :func:`N_` and translated where it is shown: ``_(TITLE)``.

The catalogs are gettext ``.po`` files, ``attnviz/locale/<lang>/LC_MESSAGES/attnviz.po``, extracted and updated
with Babel (see ``docs/translating.md``). They are read with Babel and compiled in memory when first needed, so a
checkout runs without a build step.

Which language is current: inside ``with use("zh"):`` (tests, notebooks) that one; otherwise, when the UI's
:mod:`attnviz.ui.lang` is loaded (the app), the session's choice; otherwise English. The library never imports
streamlit, and keeps no state of its own: the catalogs are read once per language and never change.
"""

from __future__ import annotations

import gettext as _gettext
import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

__all__ = [
    "DEFAULT",
    "LANGUAGES",
    "N_",
    "catalog_paths",
    "gettext",
    "language",
    "ngettext",
    "pgettext",
    "translated",
    "use",
]

DEFAULT = "en"
# code -> the language's own name, as the switch shows it
LANGUAGES: dict[str, str] = {"en": "English", "zh": "中文"}
LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "attnviz"
_SESSION = "attnviz.ui.lang"  # the UI module whose ``current()`` tells the session's language

_explicit: ContextVar[str | None] = ContextVar("attnviz_language", default=None)


def language() -> str:
    """The current language code (one of :data:`LANGUAGES`)."""
    lang = _explicit.get()
    if lang is None:
        session = sys.modules.get(_SESSION)
        lang = session.current() if session is not None else None
    return lang if lang in LANGUAGES else DEFAULT


@contextmanager
def use(lang: str) -> Iterator[None]:
    """Translate into ``lang`` inside the block."""
    if lang not in LANGUAGES:
        raise ValueError(f"lang={lang!r} is not one of {sorted(LANGUAGES)}")
    token = _explicit.set(lang)
    try:
        yield
    finally:
        _explicit.reset(token)


def catalog_paths(lang: str) -> list[Path]:
    """The ``.po`` files of ``lang``'s catalog."""
    return sorted((LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po"))


@lru_cache(maxsize=4)  # one compiled catalog per language
def _translations(lang: str) -> _gettext.NullTranslations:
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    merged = Catalog(locale=lang, domain=DOMAIN)
    for path in catalog_paths(lang):
        with path.open("rb") as fp:
            part = read_po(fp, locale=lang, domain=DOMAIN)
        for message in part:
            if message.id and message.string and not message.fuzzy:
                merged[message.id] = message
    buffer = io.BytesIO()
    write_mo(buffer, merged)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def translated(message: str, lang: str) -> bool:
    """Whether ``lang``'s catalog has ``message`` (English has every message)."""
    if lang == DEFAULT:
        return True
    catalog = _translations(lang)._catalog  # type: ignore[attr-defined]
    return message in catalog or (message, 0) in catalog


def gettext(message: str) -> str:
    """``message`` in the current language (English stays as written; a missing translation falls back to it,
    which the page tests catch as English left on a Chinese page)."""
    lang = language()
    if lang == DEFAULT or not message:
        return message
    return _translations(lang).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n`` in the current language."""
    lang = language()
    if lang == DEFAULT:
        return singular if n == 1 else plural
    return _translations(lang).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """``message`` in the current language, as meant in ``context`` (one English word, two Chinese ones)."""
    lang = language()
    if lang == DEFAULT:
        return message
    return _translations(lang).pgettext(context, message)


def N_(message: str) -> str:
    """Mark ``message`` for the catalog without translating it now (module-level constants)."""
    return message


_ = gettext
