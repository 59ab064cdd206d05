"""The interface language of a session: the sidebar's switch, ``?lang=zh`` / ``?lang=en`` in the address.

The choice lives in the session state under :data:`KEY` (no page prefix: every page shares it) and in the address
while it is not English, so it survives a page switch, a reload and a shared link. :mod:`attnviz.i18n` asks
:func:`current` for it whenever a string is translated (once this module is loaded).
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from attnviz import i18n
from attnviz.i18n import LANGUAGES
from attnviz.i18n import gettext as _

__all__ = ["KEY", "current", "setup", "switch", "url_params"]

KEY = "lang"
_SWITCH = "lang_switch"


def current() -> str | None:
    """The session's language: its choice, else the address's ``lang``, else None (outside a script run too)."""
    if get_script_run_ctx(suppress_warning=True) is None:
        return None
    lang = st.session_state.get(KEY)
    if lang is None:
        lang = st.query_params.get(KEY)
    return lang if lang in LANGUAGES else None


def url_params() -> dict[str, str]:
    """The address parameters the language adds to a page's own (none for English)."""
    lang = i18n.language()
    return {} if lang == i18n.DEFAULT else {KEY: lang}


def setup() -> None:
    """Take the address's ``lang`` (a bad one is named and ignored), then write the choice back to the address."""
    asked = st.query_params.get_all(KEY)
    if asked:
        value = asked[-1]
        if value in LANGUAGES:
            st.session_state[KEY] = value
        else:
            shown = value if len(value) <= 20 else value[:20] + "…"
            st.warning(
                _("URL parameter lang={value} ignored: the languages are {languages}.").format(
                    value=shown, languages=", ".join(LANGUAGES)
                ),
                icon=":material/translate:",
            )
    st.session_state.setdefault(KEY, i18n.DEFAULT)
    _write_address()


def _write_address() -> None:
    lang = st.session_state.get(KEY, i18n.DEFAULT)
    if lang == i18n.DEFAULT:
        if KEY in st.query_params:
            del st.query_params[KEY]
    elif st.query_params.get_all(KEY) != [lang]:
        st.query_params[KEY] = lang


def _on_switch() -> None:
    st.session_state[KEY] = st.session_state[_SWITCH]
    _write_address()


def switch() -> None:
    """The sidebar's language switch (labelled in both languages, so either reader finds it)."""
    st.session_state[_SWITCH] = st.session_state.get(KEY, i18n.DEFAULT)
    st.radio(
        "Language · 语言",
        options=list(LANGUAGES),
        format_func=LANGUAGES.__getitem__,
        key=_SWITCH,
        horizontal=True,
        on_change=_on_switch,
    )
