"""The worked-example page's settings and cached views.

Defaults live in :data:`DEFAULTS` (one table, applied with ``setdefault``); :func:`controls` draws the sidebar and
returns a frozen :class:`Settings`; the cached functions turn the tables into a :class:`attnviz.views.WorkedView`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from attnviz.cells import cell_at, explain_view
from attnviz.examples import PRESETS, QKV_INTRO, QKV_INTRO_NOTE, WORKED_EXAMPLE, preset
from attnviz.i18n import N_
from attnviz.i18n import gettext as _
from attnviz.sharing import Bool, Choice, Int, MatrixField, StateSpec
from attnviz.snippets import worked_snippet
from attnviz.ui.cells import new_click, show_cell
from attnviz.ui.matrix_editor import current_matrix, resize_matrix, set_matrix
from attnviz.ui.state import set_defaults

if TYPE_CHECKING:  # torch is imported on first compute, so a first visit shows the tables while it loads
    from streamlit.delta_generator import DeltaGenerator

    from attnviz.modules import SelfAttention
    from attnviz.views import WorkedView

__all__ = [
    "CHARTS",
    "DEFAULTS",
    "MATRICES",
    "SCALINGS",
    "SHARE",
    "VARIANTS",
    "Settings",
    "Slots",
    "clicked",
    "code",
    "controls",
    "explain",
    "handset_view",
    "learned_view",
    "learned_weights",
    "shared_state",
]

MATRICES = ("worked_x", "worked_wq", "worked_wk", "worked_wv")
# English label (the code the session state and the address hold; shown translated) -> learned
VARIANTS = {N_("Hand-set (edit the tables)"): False, N_("Learned (random nn.Linear with bias)"): True}
# English label (code, shown translated) -> scaled by 1/√d_k
SCALINGS = {N_("None (as in the tutorial)"): False, N_("1/√d_k (as in Transformers)"): True}
T0, D_IN0, D_K0 = WORKED_EXAMPLE.shape
PRESET_CHOICES = (*PRESETS, QKV_INTRO)  # seed 000's qkv intro keeps its own 2 × 5 and 5 × 5 shapes
DEFAULTS = {
    "worked_variant": next(iter(VARIANTS)),
    "worked_scaling": next(iter(SCALINGS)),
    "worked_causal": False,
    "worked_preset": PRESETS[0],
    "worked_seed": 0,
    "worked_t": T0,
    "worked_d_in": D_IN0,
    "worked_d_k": D_K0,
    "worked_query": 0,
    "worked_key": 0,
    "worked_dim": 0,
}
# The heatmaps whose cells explain themselves when clicked: chart key -> the stage it draws.
CHARTS = {
    "worked_fig_scores": "scores",
    "worked_fig_scaled": "scaled",
    "worked_fig_masked": "scaled",
    "worked_fig_weights": "weights",
    "worked_fig_output": "output",
}


T_MAX, D_MAX = 12, 8  # the size controls' limits
# What the address, the JSON export and an upload may set (see attnviz.sharing).
SHARE = StateSpec(
    "worked",
    (
        Choice("worked_variant", DEFAULTS["worked_variant"], options=tuple(VARIANTS)),
        Choice("worked_scaling", DEFAULTS["worked_scaling"], options=tuple(SCALINGS)),
        Bool("worked_causal", False),
        Choice("worked_preset", PRESETS[0], options=PRESETS),
        Int("worked_seed", 0, low=0, high=2**31 - 1),
        Int("worked_t", T0, low=1, high=T_MAX),
        Int("worked_d_in", D_IN0, low=1, high=D_MAX),
        Int("worked_d_k", D_K0, low=1, high=D_MAX),
        Int("worked_query", 0, low=0, high=T_MAX - 1),
    ),
    matrices=(
        MatrixField("worked_x", "worked_t", "worked_d_in", max_side=T_MAX, name="X"),
        *(
            MatrixField(key, "worked_d_in", "worked_d_k", max_side=D_MAX, name=name)
            for key, name in zip(MATRICES[1:], ("W_q", "W_k", "W_v"), strict=True)
        ),
    ),
)


@dataclass(frozen=True)
class Settings:
    t: int  # tokens (rows of X)
    d_in: int
    d_k: int
    learned: bool
    scaled: bool  # the learner chose 1/√d_k
    causal: bool
    seed: int
    query: int  # the query row written out
    key: int  # the key column followed (a click on a scores, scaled or weights cell sets it, with the query)
    dim: int  # the output column followed (a click on an output cell sets it, with the query)

    @property
    def tokens(self) -> tuple[str, ...]:
        return tuple(f"x{i + 1}" for i in range(self.t))

    @property
    def dims_in(self) -> tuple[str, ...]:
        return tuple(f"d{j + 1}" for j in range(self.d_in))

    @property
    def dims_k(self) -> tuple[str, ...]:
        return tuple(f"d{j + 1}" for j in range(self.d_k))


def _load_preset() -> None:
    s = st.session_state
    if s.worked_preset == QKV_INTRO:  # its own sizes, and the seed's scaling by √d_model = √d_k
        s.worked_t, s.worked_d_in, s.worked_d_k = 2, 5, 5
        s.worked_scaling = next(label for label, scaled in SCALINGS.items() if scaled)
    ex = preset(s.worked_preset, s.worked_t, s.worked_d_in, s.worked_d_k, seed=s.worked_seed)
    for key, matrix in zip(MATRICES, (ex.x, ex.w_q, ex.w_k, ex.w_v), strict=True):
        set_matrix(key, matrix)


def _reset() -> None:
    for key in ("worked_t", "worked_d_in", "worked_d_k", "worked_preset"):
        st.session_state[key] = DEFAULTS[key]
    _load_preset()


def _resize_all() -> None:
    s = st.session_state
    resize_matrix("worked_x", (s.worked_t, s.worked_d_in))
    for key in MATRICES[1:]:
        resize_matrix(key, (s.worked_d_in, s.worked_d_k))


@dataclass
class Slots:
    """Where the worked example's fragment (the X table) draws what follows the tables: the step texts around these
    containers are drawn once, by the page, so an edit of X (a rerun of the fragment alone) sends only the numbers,
    not the prose or the W tables again."""

    problems: DeltaGenerator
    qkv: DeltaGenerator
    scores: DeltaGenerator
    scores_cell: DeltaGenerator
    dot_products: DeltaGenerator
    scaled: DeltaGenerator
    masked: DeltaGenerator
    weights: DeltaGenerator
    softmax: DeltaGenerator
    output: DeltaGenerator
    weighted_sum: DeltaGenerator
    share: DeltaGenerator


def clicked() -> bool:
    """True when a heatmap cell was clicked since the sidebar last followed one (the page must rerun whole)."""
    return new_click(CHARTS, "worked_seen", remember=False) is not None


def _follow_click() -> None:
    """A new click on a heatmap cell sets the followed query and key (or output column) before their boxes."""
    click = new_click(CHARTS, "worked_seen")
    if click is None:
        return
    s = st.session_state
    tokens = [f"x{i + 1}" for i in range(s.worked_t)]
    output = CHARTS[click[0]] == "output"
    cols = [f"d{j + 1}" for j in range(s.worked_d_k)] if output else tokens
    cell = cell_at(click[1], tokens, cols)
    if cell is not None:
        s.worked_query = cell[0]
        s["worked_dim" if output else "worked_key"] = cell[1]


def controls() -> Settings:
    """The sidebar: variant, scaling, mask, presets, sizes and the query (and key) to follow."""
    set_defaults(DEFAULTS)
    _follow_click()
    st.header(_("Example"))
    variant = st.radio(
        _("Weights"),
        tuple(VARIANTS),
        format_func=_,
        key="worked_variant",
        help=_("The tutorial's part 2 replaces the hand-set matrices by randomly initialised linear layers."),
    )
    scaling = st.radio(_("Scaling of the scores"), tuple(SCALINGS), format_func=_, key="worked_scaling")
    causal = st.checkbox(_("Causal mask (a token sees only itself and earlier tokens)"), key="worked_causal")
    st.divider()
    st.selectbox(_("Preset"), PRESET_CHOICES, format_func=_, key="worked_preset")
    if st.session_state.worked_preset == QKV_INTRO:
        st.caption(_(QKV_INTRO_NOTE))
    seed = st.number_input(_("Seed (random preset, learned weights)"), 0, 2**31 - 1, step=1, key="worked_seed")
    left, right = st.columns(2)
    left.button(_("Load preset"), on_click=_load_preset, width="stretch")
    right.button(_("Reset"), on_click=_reset, width="stretch", help=_("Back to the tutorial's matrices and sizes."))
    st.divider()
    t = st.number_input(_("Tokens (rows of X)"), 1, T_MAX, step=1, key="worked_t", on_change=_resize_all)
    d_in = st.number_input(_("d_in (columns of X)"), 1, D_MAX, step=1, key="worked_d_in", on_change=_resize_all)
    d_k = st.number_input(_("d_k (columns of W)"), 1, D_MAX, step=1, key="worked_d_k", on_change=_resize_all)
    for name, size in (("worked_query", t), ("worked_key", t), ("worked_dim", d_k)):
        if st.session_state[name] >= size:
            st.session_state[name] = 0
    st.divider()
    query = st.selectbox(
        _("Follow one query token"),
        range(t),
        format_func=lambda i: f"x{i + 1}",
        key="worked_query",
        help=_(
            "Its dot products, softmax and weighted sum are written out next to the heatmaps. "
            "Clicking a cell of a heatmap follows that cell's query."
        ),
    )
    key = st.selectbox(
        _("… and one key"), range(t), format_func=lambda i: f"x{i + 1}", key="worked_key", help=_("Or click a cell.")
    )
    dim = st.selectbox(
        _("… and one output column"),
        range(d_k),
        format_func=lambda j: f"d{j + 1}",
        key="worked_dim",
        help=_("Or click a cell."),
    )
    return Settings(
        int(t), int(d_in), int(d_k), VARIANTS[variant], SCALINGS[scaling], bool(causal), int(seed), query, key, dim
    )


def explain(view: WorkedView, stage: str, settings: Settings) -> None:
    """The followed cell of the ``stage`` heatmap, written out under it."""
    row = view.row(settings.query)
    col = settings.dim if stage == "output" else settings.key
    col = col if 0 <= col < (len(view.dims_out) if stage == "output" else view.t) else 0
    show_cell(explain_view(view, stage, row, col, labels=view.tokens, dims=view.dims_out))


def default_matrices(settings: Settings) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The tutorial's X, W_q, W_k, W_v cropped or padded to the settings' sizes (the tables' first contents)."""
    ex = preset(PRESETS[0], settings.t, settings.d_in, settings.d_k)
    return ex.x, ex.w_q, ex.w_k, ex.w_v


@st.cache_data(max_entries=256, show_spinner=False)
def handset_view(
    x: np.ndarray, w_q: np.ndarray, w_k: np.ndarray, w_v: np.ndarray, scaled: bool, causal: bool
) -> WorkedView:
    """Self-attention of ``x`` with hand-set weights, in float64 so the numbers match hand arithmetic."""
    import torch

    from attnviz.modules import SelfAttention
    from attnviz.views import causal_mask, worked_view

    with torch.no_grad():
        module = SelfAttention.from_matrices(torch.from_numpy(w_q), torch.from_numpy(w_k), torch.from_numpy(w_v))
        mask = causal_mask(x.shape[0]) if causal else None
        trace = module(torch.from_numpy(x), mask=mask, scale=None if scaled else 1.0)
    return worked_view(trace, scaled=scaled, causal=causal, learned=False)


@st.cache_resource(max_entries=64, show_spinner=False)
def _learned_module(d_in: int, d_k: int, seed: int) -> SelfAttention:
    # Read-only after creation: forward never changes a module's weights.
    from attnviz.modules import SelfAttention

    return SelfAttention(d_in, d_k, bias=True, seed=seed).double().requires_grad_(False)


def learned_weights(d_in: int, d_k: int, seed: int) -> dict[str, np.ndarray]:
    """The learned variant's ``W_q, W_k, W_v`` ``(d_in, d_k)`` and biases ``b_q, b_k, b_v`` ``(d_k,)`` (copies),
    and ``biases`` ``(3, d_k)``: the three stacked for one figure."""
    module = _learned_module(d_in, d_k, seed)
    weights = {name: p.detach().numpy().copy() for name, p in module.named_parameters()}
    return {**weights, "biases": np.stack([weights["b_q"], weights["b_k"], weights["b_v"]])}  # (3, d_k)


@st.cache_data(max_entries=256, show_spinner=False)
def learned_view(x: np.ndarray, seed: int, d_k: int, scaled: bool, causal: bool) -> WorkedView:
    """Self-attention of ``x`` through ``SelfAttention(d_in, d_k, bias=True, seed=seed)``."""
    import torch

    from attnviz.views import causal_mask, worked_view

    with torch.no_grad():
        module = _learned_module(x.shape[1], d_k, seed)
        mask = causal_mask(x.shape[0]) if causal else None
        trace = module(torch.from_numpy(x), mask=mask, scale=None if scaled else 1.0)
    return worked_view(trace, scaled=scaled, causal=causal, learned=True)


def shared_state(s: Settings, x: np.ndarray, view: WorkedView) -> dict[str, object]:
    """The keyword arguments of :func:`attnviz.ui.share.panel` for this page: its tables (X and, once drawn, the
    W's), their defaults, and the view's intermediates named like the trace fields."""
    matrices = {"worked_x": (x, s.tokens, s.dims_in)}
    for key in MATRICES[1:]:  # the W tables keep their values while hidden (learned variant)
        w = current_matrix(key)
        if w is not None and w.shape == (s.d_in, s.d_k):
            matrices[key] = (w, s.dims_in, s.dims_k)
    tokens, dims_k, dims_out = view.tokens, view.dims_k, view.dims_out
    computed = {
        "query": (view.query, tokens, dims_k),
        "key": (view.key, tokens, dims_k),
        "value": (view.value, tokens, dims_out),
        "scores": (view.scores, tokens, tokens),
        "scaled": (view.scaled, tokens, tokens),
        "masked": (view.masked, tokens, tokens),
        "weights": (view.weights, tokens, tokens),
        "output": (view.output, tokens, dims_out),
    }
    if s.learned:
        learned = learned_weights(s.d_in, s.d_k, s.seed)
        computed |= {f"learned_{n}": (learned[n], s.dims_in, s.dims_k) for n in ("w_q", "w_k", "w_v")}
        computed |= {f"learned_{n}": (learned[n][None, :], (n,), s.dims_k) for n in ("b_q", "b_k", "b_v")}
    defaults = dict(zip(MATRICES, default_matrices(s), strict=True))
    return {"matrices": matrices, "computed": computed, "default_matrices": defaults, "code": lambda: code(s, x)}


def code(s: Settings, x: np.ndarray) -> str:
    """The page's computation as a torch-only script (:func:`attnviz.snippets.worked_snippet`)."""
    if s.learned:
        learned = learned_weights(s.d_in, s.d_k, s.seed)
        ws = [learned[name] for name in ("w_q", "w_k", "w_v")]
        biases = {name: learned[name] for name in ("b_q", "b_k", "b_v")}
    else:
        ws = [current_matrix(key) for key in MATRICES[1:]]
        biases = None
    return worked_snippet(x, *ws, scaled=s.scaled, causal=s.causal, biases=biases)
