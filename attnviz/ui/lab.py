"""The Attention-lab page's settings and cached views.

:data:`DEFAULTS` is the one defaults table; :func:`controls` draws the sidebar (the one set of Q, K, V) and each
section has a small ``*_controls`` function returning plain values; the cached functions wrap
:mod:`attnviz.lab_views`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from attnviz.arrays import to_numpy
from attnviz.cells import cell_at
from attnviz.i18n import N_
from attnviz.i18n import gettext as _
from attnviz.lab import LAB_MAX_D_K, LAB_MAX_TOKENS, LabInputs, lab_inputs
from attnviz.lab_views import (
    FILL_LABELS,
    FILL_VALUES,
    SCALING_D_KS,
    TAU_RANGE,
    BugView,
    DropoutView,
    MaskSpec,
    MaskView,
    ScalingView,
    ScoreView,
    TemperatureView,
    additive_parameters,
    bug_view,
    dropout_view,
    mask_view,
    scaling_points,
    scaling_view,
    score_cell,
    score_view,
    temperature_view,
)
from attnviz.masks import causal_mask
from attnviz.scaling import ScalingPoint
from attnviz.sharing import Bool, Choice, Float, Int, NumberChoice, StateSpec, Text, label_aliases
from attnviz.snippets import lab_snippet
from attnviz.ui.cells import show_cell
from attnviz.ui.state import set_defaults
from attnviz.ui.tokens import int_problem

__all__ = [
    "DEFAULTS",
    "MASK_LABELS",
    "PAINT_MAX_TOKENS",
    "SHARE",
    "SOURCES",
    "SOURCE_NAMES",
    "TAUS",
    "Settings",
    "bug",
    "controls",
    "dropout",
    "dropout_controls",
    "explain_score",
    "inputs",
    "mask_controls",
    "masks",
    "scaling",
    "scaling_controls",
    "scores",
    "shared_state",
    "temperature",
    "temperature_controls",
]

# attnviz.lab source -> the radio's label (a catalog message); the session state and the address hold the source.
SOURCES = {
    "sentence": N_("A sentence (toy embeddings)"),
    "worked example": N_("The worked example (3 tokens, hand-set W)"),
    "random": N_("Random rows (seeded)"),
}
SOURCE_NAMES = {"sentence": N_("sentence"), "worked example": N_("worked example"), "random": N_("random rows")}
"""How the caption names a source (catalog messages)."""
DEFAULT_SENTENCE = "The animal didn't cross the street because it was too tired"
TAUS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 7.0, 10.0, 15.0, 20.0)  # log-spaced
P_MAX = 0.9
PAINT_MAX_TOKENS = 16  # a painted grid of check boxes beyond this is more scrolling than learning
# Mask kind of attnviz.lab_views -> the radio's label (a catalog message).
MASK_LABELS = {
    "none": N_("None"),
    "causal": N_("Causal"),
    "padding, one length": N_("Padding: one valid length"),
    "padding, per query": N_("Padding: a valid length per query"),
    "sliding window": N_("Sliding window"),
    "painted": N_("Paint your own"),
}
DEFAULTS = {
    "lab_source": next(iter(SOURCES)),
    "lab_sentence": DEFAULT_SENTENCE,
    "lab_t": 8,
    "lab_d_k": 16,
    "lab_seed": 0,
    "lab_scaling_d_k": 64,
    "lab_tau": 1.0,
    "lab_p": 0.1,
    "lab_dropout_seed": 0,
    "lab_train": True,
    "lab_mask": "causal",
    "lab_valid_len": 3,
    "lab_valid_lens": "",
    "lab_width": 3,
    "lab_window_causal": False,
    "lab_fill": next(iter(FILL_VALUES)),
    "lab_bug": True,
}

SENTENCE_MAX_CHARS = 1000  # the address's cap on the sentence (64 tokens fit)

# What the address and the JSON export hold: every control of the page except a painted mask (a grid of check
# boxes; the address keeps the mask kind and the page starts the painting from the causal grid).
SHARE = StateSpec(
    "lab",
    (
        Choice("lab_source", DEFAULTS["lab_source"], options=tuple(SOURCES), aliases=label_aliases(SOURCES)),
        Text("lab_sentence", DEFAULT_SENTENCE, max_chars=SENTENCE_MAX_CHARS),
        Int("lab_t", 8, low=1, high=LAB_MAX_TOKENS),
        Int("lab_d_k", 16, low=1, high=LAB_MAX_D_K),
        Int("lab_seed", 0, low=0, high=2**31 - 1),
        NumberChoice("lab_scaling_d_k", 64, options=SCALING_D_KS),
        NumberChoice("lab_tau", 1.0, options=TAUS),
        Float("lab_p", 0.1, low=0.0, high=P_MAX),
        Int("lab_dropout_seed", 0, low=0, high=2**31 - 1),
        Bool("lab_train", True),
        Choice("lab_mask", DEFAULTS["lab_mask"], options=tuple(MASK_LABELS), aliases=label_aliases(MASK_LABELS)),
        Int("lab_valid_len", 3, low=0, high=LAB_MAX_TOKENS),
        Text("lab_valid_lens", "", max_chars=400),
        Int("lab_width", 3, low=1, high=LAB_MAX_TOKENS),
        Bool("lab_window_causal", False),
        Choice("lab_fill", DEFAULTS["lab_fill"], options=tuple(FILL_VALUES), aliases=label_aliases(FILL_LABELS)),
        Bool("lab_bug", True),
    ),
)
SCORE_SLICES = ("dot", "scaled_dot", "cosine", "additive")  # the score functions' names in files (ScoreView order)


@dataclass(frozen=True)
class Settings:
    source: str  # one of attnviz.lab.LAB_SOURCES
    sentence: str
    t: int
    d_k: int
    seed: int
    problems: tuple[str, ...] = ()  # each names its control; non-empty: the settings cannot be used


def controls() -> Settings:
    """The sidebar: where Q, K and V come from."""
    set_defaults(DEFAULTS)
    st.header(_("Inputs"))
    source = st.radio(_("Q, K, V from"), tuple(SOURCES), key="lab_source", format_func=lambda c: _(SOURCES[c]))
    problems = []
    t = d_k = 0
    if source != "worked example":
        if source == "random":
            label = _("Tokens T")
            t = st.number_input(label, step=1, key="lab_t", help=_("1 to {most}.").format(most=LAB_MAX_TOKENS))
            problems.append(int_problem(label, t, 1, LAB_MAX_TOKENS))
        label = _("d_k (query/key width)")
        d_k = st.number_input(label, step=1, key="lab_d_k", help=_("1 to {most}.").format(most=LAB_MAX_D_K))
        problems.append(int_problem(label, d_k, 1, LAB_MAX_D_K))
        st.number_input(_("Seed"), min_value=0, max_value=2**31 - 1, step=1, key="lab_seed", help=_("X and W."))
    ok = [p for p in problems if p]
    return Settings(
        source=source,
        sentence=str(st.session_state.lab_sentence),
        t=int(t) if math.isfinite(t) else 0,
        d_k=int(d_k) if math.isfinite(d_k) else 0,
        seed=int(st.session_state.lab_seed),
        problems=tuple(ok),
    )


def scaling_controls() -> int:
    """The √d_k section's d_k: powers of 2 from 1 to 1024 (the slider cannot leave that range)."""
    return int(st.select_slider(_("d_k (log scale)"), options=SCALING_D_KS, key="lab_scaling_d_k"))


def temperature_controls() -> float:
    """τ from 0.05 to 20 on log-spaced stops (the slider cannot leave that range)."""
    tau = st.select_slider(
        _("Temperature τ ({low:g} … {high:g}, log scale)").format(low=TAU_RANGE[0], high=TAU_RANGE[1]),
        options=TAUS,
        key="lab_tau",
        format_func=lambda v: f"{v:g}",
    )
    return float(tau)


def dropout_controls() -> tuple[float, int, bool]:
    """Dropout p (0 … 0.9), its seed, and train (True) or eval mode."""
    left, middle, right = st.columns(3)
    with left:
        p = st.slider(_("Dropout p"), 0.0, P_MAX, step=0.05, key="lab_p")
    with middle:
        seed = st.number_input(_("Dropout seed"), min_value=0, max_value=2**31 - 1, step=1, key="lab_dropout_seed")
    with right:
        train = st.toggle(_("Train mode (off: eval)"), key="lab_train")
    return float(p), int(seed), bool(train)


def _lengths(text: str, t: int) -> tuple[tuple[int, ...], str | None]:
    parts = text.replace(",", " ").split()
    if not parts:
        return tuple(range(1, t + 1)), None  # default: query i sees keys 0 … i
    try:
        values = tuple(int(v) for v in parts)
    except ValueError:
        return (), _("Valid lengths must be whole numbers separated by spaces, got {text}").format(text=repr(text))
    if len(values) != t:
        return (), _("Valid lengths: give one per query ({t}), got {count}").format(t=t, count=len(values))
    bad = [v for v in values if not 0 <= v <= t]
    if bad:
        return (), _("Valid lengths must be between 0 and {t}, got {value}").format(t=t, value=bad[0])
    return values, None


def mask_controls(labels: tuple[str, ...]) -> tuple[MaskSpec, float | None, list[str]]:
    """The mask section's choices: the mask, the fill value, and problems naming a bad control."""
    t = len(labels)
    problems = []
    left, right = st.columns(2)
    with left:
        kind = st.radio(
            _("Mask"), tuple(MASK_LABELS), key="lab_mask", horizontal=True, format_func=lambda c: _(MASK_LABELS[c])
        )
    with right:
        fill = FILL_VALUES[
            st.radio(
                _("Fill value for masked scores"),
                tuple(FILL_VALUES),
                key="lab_fill",
                horizontal=True,
                format_func=lambda c: _(FILL_LABELS[c]),
            )
        ]
    spec = MaskSpec(kind=kind)
    if kind == "padding, one length":
        valid_len = st.number_input(_("Valid length (keys every query may see)"), step=1, key="lab_valid_len")
        problem = int_problem(_("Valid length"), valid_len, 0, t)
        problems.append(problem)
        spec = MaskSpec(kind=kind, valid_len=int(valid_len) if not problem else 0)
    elif kind == "padding, per query":
        text = st.text_input(
            _("Valid length per query ({t} whole numbers; empty: 1 2 … {last})").format(t=t, last=t),
            key="lab_valid_lens",
            placeholder=" ".join(str(i) for i in range(1, t + 1)),
        )
        lens, problem = _lengths(text, t)
        problems.append(problem)
        spec = MaskSpec(kind=kind, valid_lens=lens if not problem else tuple(range(1, t + 1)))
    elif kind == "sliding window":
        a, b = st.columns(2)
        with a:
            width = st.number_input(_("Window width w (keys per query)"), step=1, key="lab_width")
        with b:
            causal = st.toggle(_("Only earlier keys (causal window)"), key="lab_window_causal")
        problem = int_problem(_("Window width w"), width, 1, max(1, t))
        problems.append(problem)
        spec = MaskSpec(kind=kind, width=int(width) if not problem else 1, causal_window=bool(causal))
    elif kind == "painted":
        if t > PAINT_MAX_TOKENS:
            problems.append(
                _("Painting is for up to {most} tokens; these inputs have {t}").format(most=PAINT_MAX_TOKENS, t=t)
            )
        else:
            st.caption(_("Tick the keys (columns) each query (row) may see. Untick a whole row to mask it fully."))
            start = pd.DataFrame(causal_mask(t).numpy(), index=list(labels), columns=list(labels))
            edited = st.data_editor(
                start,
                key=f"lab_paint_{t}",
                column_config={c: st.column_config.CheckboxColumn(c, width="small") for c in labels},
            )
            spec = MaskSpec(kind=kind, grid=tuple(tuple(bool(v) for v in row) for row in np.asarray(edited)))
    return spec, fill, [p for p in problems if p]


# --- cached views -------------------------------------------------------------------------------------


@st.cache_data(max_entries=16, show_spinner=False)
def inputs(settings: Settings) -> LabInputs:
    """:func:`attnviz.lab.lab_inputs` for the settings."""
    return lab_inputs(settings.source, sentence=settings.sentence, t=settings.t, d_k=settings.d_k, seed=settings.seed)


@st.cache_data(max_entries=16, show_spinner=False)
def scores(settings: Settings) -> ScoreView:
    return score_view(inputs(settings), seed=settings.seed)


@st.cache_resource(max_entries=1, show_spinner=False)
def _points() -> tuple[ScalingPoint, ...]:
    """The curves over d_k: the same for every session (frozen points of floats), computed once (~2 s)."""
    return scaling_points()


@st.cache_data(max_entries=16, show_spinner=False)
def _scaling(d_k: int) -> ScalingView:
    return scaling_view(d_k, points=_points())


def scaling(d_k: int) -> ScalingView:
    """:func:`attnviz.lab_views.scaling_view` at ``d_k``; the curves are computed once for every session (a
    spinner says so the first time, in the reader's language)."""
    with st.spinner(_("Running the √d_k experiment ({count} values of d_k) …").format(count=len(SCALING_D_KS))):
        return _scaling(d_k)


@st.cache_data(max_entries=32, show_spinner=False)
def temperature(settings: Settings, tau: float) -> TemperatureView:
    return temperature_view(inputs(settings), tau)


@st.cache_data(max_entries=32, show_spinner=False)
def dropout(settings: Settings, p: float, seed: int, train: bool) -> DropoutView:
    return dropout_view(inputs(settings), p, seed=seed, train=train)


@st.cache_data(max_entries=32, show_spinner=False)
def masks(settings: Settings, spec: MaskSpec, fill: float | None) -> MaskView:
    return mask_view(inputs(settings), spec, fill)


@st.cache_data(max_entries=16, show_spinner=False)
def bug(settings: Settings) -> BugView:
    return bug_view(inputs(settings))


# --- share, export, explain -----------------------------------------------------------------------------


def shared_state(lab: LabInputs, sc: ScoreView, settings: Settings) -> dict[str, object]:
    """The keyword arguments of :func:`attnviz.ui.share.panel`: the inputs (X, the weights, the additive score's
    weights), Q, K, V, and the four score functions' ``scaled`` (what each softmax receives) and ``weights``."""
    labels = lab.labels
    x, w_q, w_k, w_v = (to_numpy(t) for t in (lab.x, lab.w_q, lab.w_k, lab.w_v))
    inputs = tuple(f"d{j}" for j in range(x.shape[1]))
    dims = tuple(f"d{j}" for j in range(lab.d_k))
    additive = additive_parameters(lab.d_k, seed=settings.seed)
    computed = {
        "x": (x, labels, inputs),
        **{name: (w, inputs, dims) for name, w in (("w_q", w_q), ("w_k", w_k), ("w_v", w_v))},
        "additive_w_q": (additive["additive_w_q"], dims, dims),
        "additive_w_k": (additive["additive_w_k"], dims, dims),
        "additive_w_v": (additive["additive_w_v"][None, :], ("w_v",), dims),
        "query": (to_numpy(lab.query), labels, dims),
        "key": (to_numpy(lab.key), labels, dims),
        "value": (to_numpy(lab.value), labels, dims),
        "scaled": (sc.scores, labels, labels),
        "weights": (sc.weights, labels, labels),
    }
    return {
        "matrices": {},
        "computed": computed,
        "code": lambda: lab_snippet(x, w_q, w_k, w_v, additive),
        "slices": {"scaled": SCORE_SLICES, "weights": SCORE_SLICES},
    }


def explain_score(lab: LabInputs, sc: ScoreView, stage: str, point: dict | None, function: int | None = None) -> None:
    """The clicked cell of a score-function heatmap written out under it: ``stage`` ``"scaled"`` (one function's
    scores, ``function``) or ``"weights"`` (the grid: the clicked panel is the function). Nothing before a click."""
    cell = cell_at(point, sc.labels, sc.labels)
    if cell is not None:
        show_cell(score_cell(lab, sc, cell[2] if function is None else function, stage, cell[0], cell[1]))
