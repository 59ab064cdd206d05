"""Keeping a learner's settings while they visit other pages.

Streamlit forgets a widget's value when a run does not draw that widget (another page is shown). Writing each
value back on every run keeps it: the sentence typed on the Tokens page is still there on the Multi-head page and
when the learner comes back.
"""

from __future__ import annotations

import streamlit as st

__all__ = ["PAGE_PREFIXES", "keep_settings", "set_defaults"]

PAGE_PREFIXES = ("worked_", "tokens_", "mh_", "pe_", "img_")
# Buttons cannot be given a value, and data editors keep their own base (see matrix_editor).
_NOT_KEPT = ("tokens_preset_", "mh_reset_weights", "img_train_")


def keep_settings() -> None:
    """Write every page setting (scalar widget values under a page prefix) back into the session state."""
    for key in list(st.session_state.keys()):
        if not isinstance(key, str) or not key.startswith(PAGE_PREFIXES) or key.startswith(_NOT_KEPT):
            continue
        value = st.session_state[key]
        if isinstance(value, (str, int, float, bool)):
            st.session_state[key] = value


def set_defaults(defaults: dict[str, object]) -> None:
    """Give every widget key of a page's defaults table its default, unless the learner already set it."""
    for key, value in defaults.items():
        st.session_state.setdefault(key, value)
