"""Cached calls into attnviz for the pages: arrays in, traces out (computed once per distinct input)."""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from attnviz.attention import AttentionTrace
from attnviz.modules import SelfAttention

__all__ = ["SCALINGS", "causal_mask", "compute_handset", "compute_learned", "learned_weights"]

# Radio label → the ``scale`` argument of attend (1.0 = unscaled, None = 1/√d_k).
SCALINGS = {"None (as in the tutorial)": 1.0, "1/√d_k (as in Transformers)": None}


def causal_mask(t: int) -> torch.Tensor:
    """``(T, T)`` boolean, True on and below the diagonal: query i may attend to keys j ≤ i."""
    return torch.ones(t, t, dtype=torch.bool).tril()


@st.cache_data(max_entries=256, show_spinner=False)
def compute_handset(
    x: np.ndarray, w_q: np.ndarray, w_k: np.ndarray, w_v: np.ndarray, scale: float | None, causal: bool
) -> AttentionTrace:
    """Self-attention of ``x`` with hand-set weights, in float64 so the numbers match hand arithmetic."""
    with torch.no_grad():
        module = SelfAttention.from_matrices(torch.from_numpy(w_q), torch.from_numpy(w_k), torch.from_numpy(w_v))
        mask = causal_mask(x.shape[0]) if causal else None
        return module(torch.from_numpy(x), mask=mask, scale=scale)


@st.cache_resource(max_entries=64, show_spinner=False)
def _learned_module(d_in: int, d_k: int, seed: int) -> SelfAttention:
    # Read-only after creation: forward never changes a module's weights.
    return SelfAttention(d_in, d_k, bias=True, seed=seed).double().requires_grad_(False)


def learned_weights(d_in: int, d_k: int, seed: int) -> dict[str, np.ndarray]:
    """The learned variant's ``W_q, W_k, W_v`` ``(d_in, d_k)`` and biases ``b_q, b_k, b_v`` ``(d_k,)``."""
    module = _learned_module(d_in, d_k, seed)
    return {name: p.detach().numpy().copy() for name, p in module.named_parameters()}


@st.cache_data(max_entries=256, show_spinner=False)
def compute_learned(x: np.ndarray, seed: int, d_k: int, scale: float | None, causal: bool) -> AttentionTrace:
    """Self-attention of ``x`` through ``SelfAttention(d_in, d_k, bias=True, seed=seed)``."""
    with torch.no_grad():
        module = _learned_module(x.shape[1], d_k, seed)
        mask = causal_mask(x.shape[0]) if causal else None
        return module(torch.from_numpy(x), mask=mask, scale=scale)
