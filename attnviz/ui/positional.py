"""The Positional-encoding page's settings and cached views."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import streamlit as st

from attnviz.cells import cell_at
from attnviz.figures import hover_format
from attnviz.i18n import N_
from attnviz.i18n import gettext as _
from attnviz.positional import column_functions, wavelengths
from attnviz.positional_views import (
    RopeView,
    ShuffleView,
    WordOrderView,
    explain_encoding_cell,
    explain_similarity_cell,
    rope_view,
    shuffle_view,
    word_order_view,
)
from attnviz.sharing import Bool, Decoded, Float, Int, IntList, StateSpec, Text
from attnviz.snippets import positional_snippet
from attnviz.ui.cells import show_cell
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
    "SCHEME_LABELS",
    "SENTENCE_MAX_TOKENS",
    "SHARE",
    "SPREAD_TEXTS",
    "Settings",
    "apply_shared",
    "columns",
    "comparison",
    "controls",
    "default_dims",
    "difference",
    "encoding",
    "explain_encoding",
    "explain_similarity",
    "rope",
    "shared_state",
    "shuffle",
    "word_order",
]

POSITIONS_MAX = 4096
D_MODEL_MAX = 1024
SENTENCE_MAX_TOKENS = 64
DEFAULTS = {"pe_positions": 100, "pe_d_model": 64, "pe_base": 10000.0, "pe_sentence": "the dog chased the cat"}
DEFAULTS.update({"pe_shuffle_seed": 1, "pe_order_a": "dog bites man", "pe_order_b": "man bites dog"})
ROPE_POSITIONS = 32  # the position-pair grids: 32 × 32
# attnviz.positional.POSITION_SCHEMES (codes: widget keys use them), their names in the grids' titles and how much
# each grid varies along a diagonal
SCHEME_LABELS = {"sinusoidal": N_("sinusoidal"), "learned": N_("learned"), "rotary": N_("rotary")}
SPREAD_TEXTS = {
    "sinusoidal": N_("sinusoidal varies by up to {spread:.3g} along a diagonal"),
    "learned": N_("learned varies by up to {spread:.3g} along a diagonal"),
    "rotary": N_("rotary varies by up to {spread:.3g} along a diagonal"),
}


# What the address, the JSON export and an upload may set (see attnviz.sharing).
SHARE = StateSpec(
    "pe",
    (
        Int("pe_positions", 100, low=1, high=POSITIONS_MAX),
        Int("pe_d_model", 64, low=1, high=D_MODEL_MAX),
        Float("pe_base", 10000.0, positive=True, high=1e12),
        Text("pe_sentence", DEFAULTS["pe_sentence"], max_chars=2000),
        IntList("pe_dims", [], low=0, high=D_MODEL_MAX - 1, max_items=8),  # default: default_dims (the page's)
        Bool("pe_variant", False),
        Int("pe_shuffle_seed", DEFAULTS["pe_shuffle_seed"], low=0, high=2**31 - 1),
        Text("pe_order_a", DEFAULTS["pe_order_a"], max_chars=2000),
        Text("pe_order_b", DEFAULTS["pe_order_b"], max_chars=2000),
    ),
)


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
            return _(
                "d_model = {d} is odd: {sin} sin columns and {cos} cos columns, so the last column ({last}) is a sin "
                "without a cos partner."
            ).format(d=d, sin=f.count("sin"), cos=f.count("cos"), last=d - 1)
        return _(
            "d_model = {d}: {sin} sin and {cos} cos columns in {pairs} pairs (an odd d_model such as 9 has 5 sin and "
            "4 cos columns)."
        ).format(d=d, sin=f.count("sin"), cos=f.count("cos"), pairs=f.count("cos"))


def controls() -> Settings:
    """The sidebar: how many positions, how wide, which base."""
    set_defaults(DEFAULTS)
    st.header(_("Encoding"))
    positions_label, d_model_label = _("Number of positions"), _("d_model (encoding width)")
    num_positions = st.number_input(
        positions_label,
        step=1,
        key="pe_positions",
        help=_("Rows of the encoding, 1 to {max}.").format(max=POSITIONS_MAX),
    )
    d_model = st.number_input(
        d_model_label,
        step=1,
        key="pe_d_model",
        help=_("Columns, 1 to {max}; odd works too.").format(max=D_MODEL_MAX),
    )
    base = st.number_input(
        _("Base"),
        step=1000.0,
        format="%.1f",
        key="pe_base",
        help=_("Wavelengths grow geometrically from 2π to about 2π·base (the paper uses 10000)."),
    )
    problems = [
        int_problem(positions_label, num_positions, 1, POSITIONS_MAX),
        int_problem(d_model_label, d_model, 1, D_MODEL_MAX),
    ]
    if not (math.isfinite(base) and base > 0):
        problems.append(_("Base must be a positive number, got {base:g}").format(base=base))
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


@st.cache_data(max_entries=16, show_spinner=False)
def shuffle(tokens: tuple[str, ...], settings: Settings, shuffle_seed: int) -> ShuffleView:
    """:func:`attnviz.positional_views.shuffle_view`: the sentence and a seeded shuffle, without and with PE."""
    return shuffle_view(tokens, d_model=settings.d_model, shuffle_seed=shuffle_seed)


@st.cache_data(max_entries=16, show_spinner=False)
def word_order(text_a: str, text_b: str, settings: Settings) -> WordOrderView:
    """:func:`attnviz.positional_views.word_order_view` of two orderings of the same words."""
    return word_order_view(text_a, text_b, d_model=settings.d_model)


@st.cache_data(max_entries=16, show_spinner=False)
def rope(settings: Settings) -> RopeView:
    """:func:`attnviz.positional_views.rope_view` over :data:`ROPE_POSITIONS` positions."""
    return rope_view(ROPE_POSITIONS, settings.d_model)


def apply_shared(decoded: Decoded, reset: bool) -> None:
    """Shared dimensions to plot are kept when the encoding is first drawn (those beyond d_model are dropped)."""
    s = st.session_state
    if "pe_dims" in decoded.settings:
        d_model = s.get("pe_d_model", DEFAULTS["pe_d_model"])
        s.pe_dims = [j for j in decoded.settings["pe_dims"] if j < d_model]
        s.pe_dims_for = d_model
    elif reset:
        s.pop("pe_dims_for", None)


def shared_state(settings: Settings, view: EncodingView, cmp: PositionalComparison | None) -> dict[str, object]:
    """The keyword arguments of :func:`attnviz.ui.share.panel` for this page (``cmp``: the sentence's weights)."""
    n, d, base = settings.num_positions, settings.d_model, settings.base
    computed = {
        "pe": (view.pe, view.position_labels, view.dim_labels),
        "similarity": (view.similarity, view.position_labels, view.position_labels),
    }
    if cmp is not None:
        computed |= {"weights_without_pe": (cmp.without, cmp.labels, cmp.labels)}
        computed |= {"weights_with_pe": (cmp.with_pe, cmp.labels, cmp.labels)}
    return {
        "matrices": {},
        "computed": computed,
        "code": lambda: positional_snippet(n, d, base),
        "defaults": {"pe_dims": default_dims(n, d, base)},
        "apply": apply_shared,
    }


def explain_encoding(view: EncodingView, settings: Settings, point: dict | None) -> None:
    """The clicked cell of the encoding heatmap written out under it: its pair, sin or cos, ω_i, the angle and the
    value (nothing before a click, nor for a click kept from an encoding of another shape)."""
    cell = cell_at(point, view.position_labels, view.dim_labels)
    if cell is None:
        return
    row, col, _curve = cell
    pos, column = int(view.positions[row]), int(view.dims[col])
    drawn, spec = float(view.pe[row, col]), hover_format(view.pe)
    show_cell(explain_encoding_cell(pos, column, d_model=settings.d_model, base=settings.base, drawn=drawn, spec=spec))


def explain_similarity(view: EncodingView, settings: Settings, point: dict | None) -> None:
    """The clicked cell of PE·PEᵀ written out under it: the sum of cos((p−q)·ω_i) over the sin/cos pairs (and the
    unpaired sin column of an odd d_model); nothing before a click."""
    cell = cell_at(point, view.position_labels, view.position_labels)
    if cell is None:
        return
    row, col, _curve = cell
    p, q = int(view.positions[row]), int(view.positions[col])
    drawn, spec = float(view.similarity[row, col]), hover_format(view.similarity)
    show_cell(explain_similarity_cell(p, q, d_model=settings.d_model, base=settings.base, drawn=drawn, spec=spec))
