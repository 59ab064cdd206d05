"""The worked-example page's settings and cached views.

Defaults live in :data:`DEFAULTS` (one table, applied with ``setdefault``); :func:`controls` draws the sidebar and
returns a frozen :class:`Settings`; the cached functions turn the tables into a :class:`attnviz.views.WorkedView`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from attnviz.examples import PRESETS, WORKED_EXAMPLE, preset
from attnviz.ui.matrix_editor import resize_matrix, set_matrix
from attnviz.ui.state import set_defaults

if TYPE_CHECKING:  # torch is imported on first compute, so a first visit shows the tables while it loads
    from attnviz.modules import SelfAttention
    from attnviz.views import WorkedView

__all__ = [
    "DEFAULTS",
    "MATRICES",
    "SCALINGS",
    "VARIANTS",
    "Settings",
    "controls",
    "handset_view",
    "learned_view",
    "learned_weights",
]

MATRICES = ("worked_x", "worked_wq", "worked_wk", "worked_wv")
VARIANTS = {"Hand-set (edit the tables)": False, "Learned (random nn.Linear with bias)": True}  # label -> learned
SCALINGS = {"None (as in the tutorial)": False, "1/√d_k (as in Transformers)": True}  # label -> scaled by 1/√d_k
T0, D_IN0, D_K0 = WORKED_EXAMPLE.shape
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
}


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


def controls() -> Settings:
    """The sidebar: variant, scaling, mask, presets, sizes and the query to follow."""
    set_defaults(DEFAULTS)
    st.header("Example")
    variant = st.radio(
        "Weights",
        tuple(VARIANTS),
        key="worked_variant",
        help="The tutorial's part 2 replaces the hand-set matrices by randomly initialised linear layers.",
    )
    scaling = st.radio("Scaling of the scores", tuple(SCALINGS), key="worked_scaling")
    causal = st.checkbox("Causal mask (a token sees only itself and earlier tokens)", key="worked_causal")
    st.divider()
    st.selectbox("Preset", PRESETS, key="worked_preset")
    seed = st.number_input("Seed (random preset, learned weights)", 0, 2**31 - 1, step=1, key="worked_seed")
    left, right = st.columns(2)
    left.button("Load preset", on_click=_load_preset, width="stretch")
    right.button("Reset", on_click=_reset, width="stretch", help="Back to the tutorial's matrices and sizes.")
    st.divider()
    t = st.number_input("Tokens (rows of X)", 1, 12, step=1, key="worked_t", on_change=_resize_all)
    d_in = st.number_input("d_in (columns of X)", 1, 8, step=1, key="worked_d_in", on_change=_resize_all)
    d_k = st.number_input("d_k (columns of W)", 1, 8, step=1, key="worked_d_k", on_change=_resize_all)
    if st.session_state.worked_query >= t:
        st.session_state.worked_query = 0
    st.divider()
    query = st.selectbox(
        "Follow one query token",
        range(t),
        format_func=lambda i: f"x{i + 1}",
        key="worked_query",
        help="Its dot products, softmax and weighted sum are written out next to the heatmaps.",
    )
    return Settings(int(t), int(d_in), int(d_k), VARIANTS[variant], SCALINGS[scaling], bool(causal), int(seed), query)


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
