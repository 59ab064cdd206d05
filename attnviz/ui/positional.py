"""The Positional-encoding page's settings and cached views."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import streamlit as st

from attnviz.positional import column_functions, wavelengths
from attnviz.ui.state import set_defaults
from attnviz.ui.tokens import int_problem
from attnviz.views import (
    EncodingView,
    PositionalComparison,
    default_dims,
    encoding_columns,
    encoding_view,
    positional_comparison,
    variant_difference,
)

__all__ = [
    "DEFAULTS",
    "SENTENCE_MAX_TOKENS",
    "Settings",
    "columns",
    "comparison",
    "controls",
    "default_dims",
    "difference",
    "encoding",
]

POSITIONS_MAX = 4096
D_MODEL_MAX = 1024
SENTENCE_MAX_TOKENS = 64
DEFAULTS = {"pe_positions": 100, "pe_d_model": 64, "pe_base": 10000.0, "pe_sentence": "the dog chased the cat"}


@dataclass(frozen=True)
class Settings:
    num_positions: int
    d_model: int
    base: float
    problems: tuple[str, ...] = ()  # each names its control; non-empty: the settings cannot be used

    @property
    def functions(self) -> list[str]:
        """``"sin"`` or ``"cos"`` for each column."""
        return column_functions(self.d_model)

    @property
    def wavelengths(self) -> list[float]:
        return wavelengths(self.d_model, self.base)

    @property
    def odd_note(self) -> str:
        """One sentence on how the columns pair up (an odd d_model leaves a sin without a partner)."""
        f, d = self.functions, self.d_model
        if d % 2:
            return (
                f"d_model = {d} is odd: {f.count('sin')} sin columns and {f.count('cos')} cos columns, so the last "
                f"column ({d - 1}) is a sin without a cos partner."
            )
        return (
            f"d_model = {d}: {f.count('sin')} sin and {f.count('cos')} cos columns in {f.count('cos')} pairs (an odd "
            "d_model such as 9 has 5 sin and 4 cos columns)."
        )


def controls() -> Settings:
    """The sidebar: how many positions, how wide, which base."""
    set_defaults(DEFAULTS)
    st.header("Encoding")
    num_positions = st.number_input(
        "Number of positions", step=1, key="pe_positions", help=f"Rows of the encoding, 1 to {POSITIONS_MAX}."
    )
    d_model = st.number_input(
        "d_model (encoding width)", step=1, key="pe_d_model", help=f"Columns, 1 to {D_MODEL_MAX}; odd works too."
    )
    base = st.number_input(
        "Base",
        step=1000.0,
        format="%.1f",
        key="pe_base",
        help="Wavelengths grow geometrically from 2π to about 2π·base (the paper uses 10000).",
    )
    problems = [
        int_problem("Number of positions", num_positions, 1, POSITIONS_MAX),
        int_problem("d_model (encoding width)", d_model, 1, D_MODEL_MAX),
    ]
    if not (math.isfinite(base) and base > 0):
        problems.append(f"Base must be a positive number, got {base:g}")
    return Settings(int(num_positions), int(d_model), float(base), tuple(p for p in problems if p))


@st.cache_data(max_entries=16, show_spinner=False)
def encoding(settings: Settings) -> EncodingView:
    """:func:`attnviz.views.encoding_view` for the settings, display-sized."""
    return encoding_view(settings.num_positions, settings.d_model, settings.base)


@st.cache_data(max_entries=32, show_spinner=False)
def columns(settings: Settings, dims: tuple[int, ...]) -> np.ndarray:
    """Chosen columns of the encoding over every position: ``(num_positions, len(dims))``."""
    return encoding_columns(settings.num_positions, settings.d_model, settings.base, dims)


@st.cache_data(max_entries=16, show_spinner=False)
def difference(settings: Settings) -> tuple[np.ndarray, float, tuple[int, int]]:
    """:func:`attnviz.views.variant_difference` for the settings."""
    return variant_difference(settings.num_positions, settings.d_model, settings.base)


@st.cache_data(max_entries=16, show_spinner=False)
def comparison(tokens: tuple[str, ...], settings: Settings) -> PositionalComparison:
    """Attention weights over the tokens without and with the encoding (:func:`attnviz.views.positional_comparison`)."""
    return positional_comparison(tokens, settings.d_model, settings.base)
