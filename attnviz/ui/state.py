"""Keeping a learner's settings while they visit other pages.

Streamlit forgets a widget's value when a run does not draw that widget (another page is shown). Writing each
value back on every run keeps it: the sentence typed on the Tokens page is still there on the Multi-head page and
when the learner comes back.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

__all__ = ["PAGE_PREFIXES", "arrived", "keep_settings", "set_defaults", "track_page"]

PAGE_PREFIXES = ("worked_", "tokens_", "mh_", "pe_", "encoder_", "lab_", "cross_", "train_", "img_", "practice_")
# Buttons cannot be given a value, and data editors keep their own base (see matrix_editor).
_NOT_KEPT = (
    "tokens_preset_",
    "mh_reset_weights",
    "encoder_preset_",
    "encoder_from_tokens",
    "encoder_csv",
    "encoder_model_view",
    "cross_preset_",
    "train_act_",
    "img_train_",
    "practice_check",
    "practice_hint",
    "practice_show",
)


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


def track_page() -> None:
    """Remember which page ran before this one (every page calls it first, through ``render.page_nav``)."""
    ctx = get_script_run_ctx()
    s = st.session_state
    s["_page_before"] = s.get("_page_now")
    s["_page_now"] = ctx.page_script_hash if ctx is not None else ""


def arrived() -> bool:
    """True on the first run of a page after another page ran (a page switch), False on its reruns."""
    return st.session_state.get("_page_before") != st.session_state.get("_page_now")
