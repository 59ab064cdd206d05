"""The Cross-attention page's settings and cached view."""

from __future__ import annotations

import math
from dataclasses import dataclass

import streamlit as st

from attnviz.cross import CROSS_PRESETS
from attnviz.cross_views import CrossView, cross_view
from attnviz.ui.state import set_defaults
from attnviz.ui.tokens import int_problem

__all__ = ["DEFAULTS", "PRESETS", "Settings", "controls", "load_preset", "view"]

PRESETS = CROSS_PRESETS
_FIRST = next(iter(PRESETS.values()))
D_MODEL_MAX = 256
HEADS_MAX = 16
DEFAULTS = {
    "cross_target": _FIRST[0],
    "cross_source": _FIRST[1],
    "cross_source2": _FIRST[2],
    "cross_d_model": 16,
    "cross_heads": 4,
    "cross_seed": 0,
}


@dataclass(frozen=True)
class Settings:
    target: str
    source: str
    source2: str
    d_model: int
    heads: int
    seed: int
    problems: tuple[str, ...] = ()  # each names its control; non-empty: the settings cannot be used


def load_preset(name: str) -> None:
    target, source, source2 = PRESETS[name]
    st.session_state.cross_target = target
    st.session_state.cross_source = source
    st.session_state.cross_source2 = source2


def controls() -> Settings:
    """The sidebar: the model's width, heads and seed (the texts are on the page)."""
    set_defaults(DEFAULTS)
    st.header("Model")
    d_model = st.number_input("d_model", step=1, key="cross_d_model", help=f"1 to {D_MODEL_MAX}, divisible by heads.")
    heads = st.number_input("Heads", step=1, key="cross_heads", help=f"1 to {HEADS_MAX}.")
    st.number_input("Seed", min_value=0, max_value=2**31 - 1, step=1, key="cross_seed", help="Embeddings and W.")
    problems = [int_problem("d_model", d_model, 1, D_MODEL_MAX), int_problem("Heads", heads, 1, HEADS_MAX)]
    ok = math.isfinite(d_model) and math.isfinite(heads)
    if not any(problems) and int(d_model) % int(heads):
        problems.append(f"d_model = {int(d_model)} is not divisible by heads = {int(heads)}")
    s = st.session_state
    return Settings(
        target=str(s.cross_target),
        source=str(s.cross_source),
        source2=str(s.cross_source2),
        d_model=int(d_model) if ok else 0,
        heads=int(heads) if ok else 0,
        seed=int(s.cross_seed),
        problems=tuple(p for p in problems if p),
    )


@st.cache_data(max_entries=16, show_spinner=False)
def view(settings: Settings) -> CrossView:
    """:func:`attnviz.cross_views.cross_view` of the two sources in one padded batch."""
    return cross_view(
        settings.target,
        (settings.source, settings.source2),
        d_model=settings.d_model,
        num_heads=settings.heads,
        seed=settings.seed,
    )
