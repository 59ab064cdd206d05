"""The interface's languages: English (the source strings) and Simplified Chinese, through gettext catalogs.

Every user-facing string is written in English and wrapped: ``_("Scores")``, ``_("Row {token}").format(token=t)``
(named placeholders only, so a translation may reorder them), ``ngettext("{n} head", "{n} heads", n)``. A string
kept in a module-level constant is marked with :func:`N_` and translated where it is shown: ``_(TITLE)``.

The catalogs are gettext ``.po`` files, ``attnviz/locale/<lang>/LC_MESSAGES/attnviz.po``, extracted and updated
with Babel (see ``docs/translating.md``). They are read with Babel and compiled in memory when first needed, so a
checkout runs without a build step.

Which language is current: inside ``with use("zh"):`` (tests, notebooks) that one; otherwise what the resolver
installed by the UI says (the session's choice); otherwise English. The library never imports streamlit.
"""

from __future__ import annotations

import gettext as _gettext
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

__all__ = [
    "DEFAULT",
    "LANGUAGES",
    "N_",
    "catalog_paths",
    "gettext",
    "language",
    "missing",
    "ngettext",
    "set_resolver",
    "use",
]

DEFAULT = "en"
# code -> the language's own name, as the switch shows it
LANGUAGES: dict[str, str] = {"en": "English", "zh": "中文"}
LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "attnviz"

_explicit: ContextVar[str | None] = ContextVar("attnviz_language", default=None)
_resolver: Callable[[], str | None] | None = None
_missing: set[str] = set()


def set_resolver(resolver: Callable[[], str | None] | None) -> None:
    """Install where the current language comes from when no :func:`use` block is active (the UI's session)."""
    global _resolver
    _resolver = resolver


def language() -> str:
    """The current language code (one of :data:`LANGUAGES`)."""
    lang = _explicit.get()
    if lang is None and _resolver is not None:
        lang = _resolver()
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


@cache
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


def _lookup(lang: str, message: str) -> str | None:
    translations = _translations(lang)
    found = translations._catalog.get(message)  # type: ignore[attr-defined]
    return found if isinstance(found, str) else None


def gettext(message: str) -> str:
    """``message`` in the current language (English stays as written; a missing translation falls back to it)."""
    lang = language()
    if lang == DEFAULT or not message:
        return message
    found = _lookup(lang, message)
    if found is None:
        _missing.add(message)
        return message
    return found


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n`` in the current language."""
    lang = language()
    if lang == DEFAULT:
        return singular if n == 1 else plural
    translations = _translations(lang)
    if (singular, 0) not in translations._catalog:  # type: ignore[attr-defined]
        _missing.add(singular)
        return singular if n == 1 else plural
    return translations.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for the catalog without translating it now (module-level constants)."""
    return message


def missing(*, clear: bool = False) -> set[str]:
    """The messages looked up without a translation since the last clear (a test's completeness check)."""
    found = set(_missing)
    if clear:
        _missing.clear()
    return found


_ = gettext
