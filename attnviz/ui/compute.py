"""Cached calls into attnviz for the pages: arrays in, traces out (computed once per distinct input)."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from attnviz.attention import AttentionTrace
from attnviz.examples import WORKED_EXAMPLE, resize
from attnviz.figures import pool_blocks, pool_factor, range_labels, robust_max, to_numpy
from attnviz.modules import MultiHeadAttention, SelfAttention
from attnviz.shapes import ShapeStep, shape_flow
from attnviz.tokens import MAX_TOKENS, embed, token_labels, tokenize, truncate
from attnviz.verify import TorchCheck, check_against_torch

__all__ = [
    "FOCUS_CELLS",
    "GRID_CELLS",
    "MH_SOURCES",
    "RANDOM_VOCAB",
    "ROW_WINDOW",
    "MultiHeadInput",
    "MultiHeadView",
    "cached_figure",
    "causal_mask",
    "compute_handset",
    "compute_learned",
    "compute_multihead",
    "learned_weights",
    "multihead_input",
    "multihead_weights",
]


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


# ------------------------------------------------------------------------------------------- Multi-head page

MH_SOURCES = ("Sentence", "Worked example", "Random tokens")
RANDOM_VOCAB = 100  # "Random tokens" draws token ids t0 … t99, so some tokens repeat
GRID_CELLS = 64  # the per-head grids show at most this many cells a side (block-mean pooled above)
GRID_TOTAL_CELLS = 2 * GRID_CELLS * GRID_CELLS  # over all panels (more heads, coarser panels): ~50 kB of JSON
FOCUS_CELLS = 512  # the focus head at full resolution up to this many tokens
ROW_WINDOW = 64  # X, the head outputs, the concatenation and the output show at most this many tokens
FIXED_SCALE_TOKENS = 32  # up to this many keys, weights are coloured on [0, 1]; above, up to the 99th percentile


@dataclass(frozen=True)
class MultiHeadInput:
    """The page's input rows and what they are."""

    x: np.ndarray  # (T, d_model) float32
    labels: tuple[str, ...]  # unique axis labels, one per token
    note: str  # one sentence on where X came from


@st.cache_data(max_entries=32, show_spinner=False)
def multihead_input(source: str, text: str, num_tokens: int, d_model: int, seed: int) -> MultiHeadInput:
    """X for the multi-head page: a sentence's tokens, the worked example's X, or random tokens, embedded.

    Raises ``ValueError`` naming the problem when there is nothing to attend over.
    """
    if source == "Sentence":
        tokens, cut = truncate(tokenize(text))
        if not tokens:
            raise ValueError("The Tokens page's text has no tokens: type a sentence there or choose another input")
        x = embed(tokens, d_model, seed=seed).numpy()  # (T, d_model)
        more = f" (the first {MAX_TOKENS}; {cut} cut)" if cut else ""
        note = (
            f"{len(tokens)} tokens of the Tokens page's sentence{more}, each embedded as a random vector of "
            f"d_model = {d_model} numbers (seed {seed}; the same token always gets the same vector)."
        )
        return MultiHeadInput(x.astype(np.float32), tuple(token_labels(tokens)), note)
    if source == "Worked example":
        base = WORKED_EXAMPLE.x  # (3, 4)
        x = resize(base, (base.shape[0], d_model)).astype(np.float32)
        if d_model > base.shape[1]:
            how = f"zero-padded from {base.shape[1]} to d_model = {d_model} columns"
        elif d_model < base.shape[1]:
            how = f"cropped to its first {d_model} column{'s' if d_model > 1 else ''} (d_model = {d_model})"
        else:
            how = "used as it is (d_model = 4)"
        note = f"The worked example's X ({base.shape[0]}×{base.shape[1]}), {how}."
        return MultiHeadInput(x, tuple(f"x{i + 1}" for i in range(base.shape[0])), note)
    if source == "Random tokens":
        if not 1 <= num_tokens <= MAX_TOKENS:
            raise ValueError(f"Number of random tokens must be from 1 to {MAX_TOKENS}, got {num_tokens}")
        ids = np.random.default_rng(seed).integers(0, RANDOM_VOCAB, size=num_tokens)
        tokens = [f"t{i}" for i in ids]
        x = embed(tokens, d_model, seed=seed).numpy()
        note = (
            f"{num_tokens} tokens drawn at random (seed {seed}) from a vocabulary of {RANDOM_VOCAB} (t0 … "
            f"t{RANDOM_VOCAB - 1}), each embedded as a random vector of d_model = {d_model} numbers. Tokens repeat, "
            "and a repeated token has the same key in every head: look for repeated columns."
        )
        return MultiHeadInput(x.astype(np.float32), tuple(token_labels(tokens)), note)
    raise ValueError(f"unknown input source {source!r}; choose one of {MH_SOURCES}")


@st.cache_data(max_entries=32, show_spinner=False)
def multihead_weights(d_model: int, num_heads: int, seed: int) -> dict[str, np.ndarray]:
    """``MultiHeadAttention(d_model, num_heads, seed=seed)``'s ``w_q, w_k, w_v, w_o`` ``(d_model, d_model)`` and
    ``b_q, b_k, b_v, b_o`` ``(d_model,)``, float32 (the W's are drawn before the biases: the same with or without)."""
    module = MultiHeadAttention(d_model, num_heads, bias=True, seed=seed)
    return {name: p.detach().numpy().copy() for name, p in module.named_parameters()}


def _module(weights: dict[str, np.ndarray], num_heads: int, bias: bool) -> MultiHeadAttention:
    d_model = weights["w_q"].shape[0]
    module = MultiHeadAttention(d_model, num_heads, bias=bias, seed=0)
    with torch.no_grad():
        for name, param in module.named_parameters():
            param.copy_(torch.as_tensor(np.asarray(weights[name], dtype=np.float32)))
    return module.requires_grad_(False)


@dataclass(frozen=True)
class MultiHeadView:
    """What the multi-head page draws, display-sized; every number comes from one MultiHeadTrace."""

    key: str  # identifies the inputs (for caching figures built from this view)
    t: int  # tokens T
    d_model: int
    num_heads: int
    scale: float  # 1/√d_head
    valid_len: int | None  # keys at positions >= valid_len are padding (None: none)
    causal: bool
    labels: tuple[str, ...]  # all T token labels
    flow: tuple[ShapeStep, ...]  # the reshapes with this run's sizes
    grid_block: int  # tokens per grid cell (1 = full resolution)
    grid_labels: tuple[str, ...]  # row / column labels of the grids
    scores: np.ndarray  # (H, G, G) scaled scores, masked cells NaN (block means when pooled)
    weights: np.ndarray  # (H, G, G) weights, masked cells NaN (attention shares when pooled)
    mean_weights: np.ndarray  # (G, G) the mean over heads, pooled like the weights
    weights_top: float  # top of the weights' colour scale (1, or their 99th percentile for long inputs)
    focus_block: int  # tokens per cell of the focus view (1 = full resolution)
    focus_labels: tuple[str, ...]
    focus: np.ndarray  # (H, F, F) each head's weights for the focus view, masked cells NaN
    focus_top: tuple[float, ...]  # (H,) top of each head's colour scale
    window: int  # the per-token matrices show tokens 0 … window-1
    x: np.ndarray  # (window, d_model)
    head_outputs: np.ndarray  # (H, window, d_head)  A_h·V_h
    concat: np.ndarray  # (window, d_model)
    output: np.ndarray  # (window, d_model)  concat·W_O + b_O
    check: TorchCheck

    @property
    def d_head(self) -> int:
        return self.d_model // self.num_heads


def _key(*parts: object) -> str:
    digest = hashlib.blake2b(digest_size=12)
    for part in parts:
        if isinstance(part, dict):
            for name in sorted(part):
                digest.update(name.encode())
                digest.update(np.ascontiguousarray(part[name]).tobytes())
        elif isinstance(part, np.ndarray):
            digest.update(str(part.shape).encode())
            digest.update(np.ascontiguousarray(part).tobytes())
        else:
            digest.update(repr(part).encode())
    return digest.hexdigest()


def _top(weights: np.ndarray, t_k: int) -> float:
    return 1.0 if t_k <= FIXED_SCALE_TOKENS else min(1.0, robust_max(weights))


@st.cache_data(max_entries=8, show_spinner=False)
def compute_multihead(
    x: np.ndarray,
    labels: tuple[str, ...],
    weights: dict[str, np.ndarray],
    num_heads: int,
    bias: bool,
    causal: bool,
    valid_len: int | None,
) -> MultiHeadView:
    """Multi-head self-attention of ``x`` ``(T, d_model)`` through ``MultiHeadAttention`` with ``weights``.

    ``valid_len``: keys at positions ``>= valid_len`` are padding (d2l's ``valid_lens``; None or >= T: none).
    Also runs ``torch.nn.MultiheadAttention`` with the same weights, masks and padding for the verification.
    """
    t, d_model = x.shape
    if valid_len is not None and valid_len >= t:
        valid_len = None
    module = _module(weights, num_heads, bias)
    xb = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).unsqueeze(0)  # (1, T, d_model)
    mask = causal_mask(t) if causal else None  # (T, T)
    lens = None if valid_len is None else torch.tensor([valid_len])  # (B,)
    with torch.no_grad():
        trace = module(xb, mask=mask, valid_lens=lens)
        check = check_against_torch(module, xb, trace, mask=mask, valid_lens=lens)
    scores = to_numpy(trace.scaled[0])  # (H, T, T)
    weights_h = trace.weights[0].numpy()  # (H, T, T)
    mean = trace.mean_weights[0].numpy()  # (T, T)
    if mask is not None or lens is not None:  # masked cells are blank (NaN), not 0
        allowed = trace.mask[0].numpy()  # (H, T, T)
        scores = np.where(allowed, scores, np.float32(np.nan))
        weights_h = np.where(allowed, weights_h, np.float32(np.nan))
        mean = np.where(allowed[0], mean, np.float32(np.nan))

    side = max(8, min(GRID_CELLS, math.isqrt(GRID_TOTAL_CELLS // num_heads)))
    grid_block = pool_factor(t, side)
    focus_block = pool_factor(t, FOCUS_CELLS)
    grid_labels = tuple(labels) if grid_block == 1 else tuple(range_labels(t, grid_block))
    focus_labels = tuple(labels) if focus_block == 1 else tuple(range_labels(t, focus_block))
    grid_weights = pool_blocks(weights_h, grid_block, how="row_share")
    focus = pool_blocks(weights_h, focus_block, how="row_share")
    window = min(t, ROW_WINDOW)
    return MultiHeadView(
        key=_key(x, labels, weights, num_heads, bias, causal, valid_len),
        t=t,
        d_model=d_model,
        num_heads=num_heads,
        scale=trace.scale,
        valid_len=valid_len,
        causal=causal,
        labels=tuple(labels),
        flow=tuple(shape_flow(trace)),
        grid_block=grid_block,
        grid_labels=grid_labels,
        scores=pool_blocks(scores, grid_block, how="mean"),
        weights=grid_weights,
        mean_weights=pool_blocks(mean, grid_block, how="row_share"),
        weights_top=_top(grid_weights, t),  # pooled shares are flat: above 32 tokens, scale to the 99th percentile
        focus_block=focus_block,
        focus_labels=focus_labels,
        focus=focus,
        focus_top=tuple(_top(f, t) for f in focus),
        window=window,
        x=x[:window].astype(np.float32),
        head_outputs=trace.head_outputs[0, :, :window].numpy(),
        concat=trace.concat[0, :window].numpy(),
        output=trace.output[0, :window].numpy(),
        check=check,
    )


@st.cache_resource(max_entries=64, show_spinner=False)
def cached_figure(key: str, name: str, _build: Callable[[], go.Figure]) -> go.Figure:
    """The figure ``name`` of the view ``key``, built once by ``_build`` and shared by later reruns.

    Building a plotly figure costs tens of milliseconds; a rerun that does not change a view reuses its figures.
    The returned figure must not be modified (``st.plotly_chart`` only reads it).
    """
    return _build()
