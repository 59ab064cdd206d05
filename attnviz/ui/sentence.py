"""Controls and cached compute for the sentence pages: Tokens and Positional encoding.

Controls read widgets and return plain values plus a list of problems (each naming its control); the cached
functions call attnviz and return small frozen results of numpy arrays, computed once per distinct input.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from attnviz.figures import matrix_heatmap
from attnviz.modules import SelfAttention
from attnviz.positional import (
    display_indices,
    max_row_difference,
    position_similarity,
    seed_odd_variant_encoding,
    sinusoidal_encoding,
    wavelengths,
)
from attnviz.tokens import MAX_TOKENS, input_embeddings, repeated_tokens, token_labels, tokenize, truncate
from attnviz.ui.compute import causal_mask

__all__ = [
    "DEFAULT_SENTENCE",
    "DISPLAY_LIMIT",
    "MODES",
    "PE_SENTENCE",
    "PRESETS",
    "EncodingView",
    "PositionalComparison",
    "PositionalSettings",
    "SentenceAttention",
    "TokensSettings",
    "default_dims",
    "default_query",
    "encoding_columns",
    "encoding_view",
    "heatmap_figure",
    "positional_comparison",
    "positional_controls",
    "readable",
    "sentence_attention",
    "sin_cos_ticks",
    "temperature_scale",
    "tokenize_text",
    "tokens_controls",
    "top_keys",
    "variant_difference",
]

DEFAULT_SENTENCE = "The animal didn't cross the street because it was too tired"
PE_SENTENCE = "the dog chased the cat"

# Tokenization radio label -> attnviz.tokens mode.
MODES = {"Words and punctuation": "words", "Characters": "chars"}

TOKENS_D_MODEL_MAX = 512
TOKENS_D_K_MAX = 256
PE_POSITIONS_MAX = 4096
PE_D_MODEL_MAX = 1024
DISPLAY_LIMIT = 256  # at most this many rows / columns of a positional-encoding heatmap reach the browser


def _long_text(n: int) -> str:
    """The default sentence's tokens repeated to exactly ``n`` tokens, separated by spaces."""
    return " ".join(itertools.islice(itertools.cycle(tokenize(DEFAULT_SENTENCE)), n))


# Button label -> text. The long preset shows how the page behaves at 512 tokens.
PRESETS = {
    "English": DEFAULT_SENTENCE,
    "中文 (Chinese)": "动物没有过马路，因为它太累了",
    "Repeated words": "the cat saw the dog and the dog saw the cat",
    "العربية (right to left)": "القطة لم تعبر الشارع لأنها كانت متعبة",
    "512 tokens": _long_text(512),
}


def readable(fig: go.Figure, *, x_ticks: int | None = None, y_ticks: int | None = None) -> go.Figure:
    """Room for every tick label (automargin). ``x_ticks`` / ``y_ticks`` cap a category axis at that many labels
    (x labels then stand upright), so a long token sequence does not print hundreds of overlapping labels;
    hover still names every cell."""
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    if x_ticks is not None:
        fig.update_xaxes(nticks=x_ticks, tickangle=-90)
    if y_ticks is not None:
        fig.update_yaxes(nticks=y_ticks)
    return fig


def sin_cos_ticks(fig: go.Figure, columns: int, max_labels: int = 32) -> go.Figure:
    """Label every k-th column of a PE heatmap with k odd, so the labels alternate sin and cos (plotly's own
    thinning keeps every 2nd column and would show only sin labels)."""
    k = max(1, math.ceil(columns / max_labels))
    k += 1 - k % 2
    return fig.update_xaxes(tickmode="linear", tick0=0, dtick=k)


def heatmap_figure(
    matrix: np.ndarray,
    rows: list[str] | tuple[str, ...],
    cols: list[str] | tuple[str, ...],
    *,
    title: str,
    kind: str = "signed",
    row_title: str = "query",
    col_title: str = "key",
    zmax: float | None = None,
    x_ticks: int | None = None,
    y_ticks: int | None = None,
    sin_cos: bool = False,
) -> go.Figure:
    """:func:`attnviz.figures.matrix_heatmap` made :func:`readable`, built once per distinct matrix and labels.

    Building a 512 × 512 figure costs far more than drawing it again, and most reruns leave most matrices
    unchanged (a new temperature changes the weights, not the scores). ``zmax`` tops the colour scale;
    ``sin_cos`` alternates sin/cos column labels (:func:`sin_cos_ticks`). The figure is shared between reruns
    and sessions: treat it as read-only.
    """
    matrix = np.ascontiguousarray(matrix)
    # Our own digest of every byte: streamlit's hasher samples arrays of 500k+ entries.
    digest = hashlib.blake2b(matrix.tobytes(), digest_size=16)
    digest.update(f"{matrix.dtype}{matrix.shape}".encode())
    options = (title, kind, row_title, col_title, zmax, x_ticks, y_ticks, sin_cos)
    return _cached_heatmap(digest.hexdigest(), matrix, tuple(rows), tuple(cols), options)


@st.cache_resource(max_entries=16, show_spinner=False)
def _cached_heatmap(
    digest: str, _matrix: np.ndarray, rows: tuple[str, ...], cols: tuple[str, ...], options: tuple
) -> go.Figure:
    title, kind, row_title, col_title, zmax, x_ticks, y_ticks, sin_cos = options
    fig = matrix_heatmap(_matrix, rows, cols, title=title, kind=kind, row_title=row_title, col_title=col_title)
    if zmax is not None:
        fig.update_traces(zmax=zmax)
    if sin_cos:
        sin_cos_ticks(fig, len(cols))
    return readable(fig, x_ticks=x_ticks, y_ticks=y_ticks)


def _int_problem(label: str, value: float, low: int, high: int) -> str | None:
    if not (math.isfinite(value) and value == int(value) and low <= value <= high):
        return f"{label} must be a whole number from {low} to {high}, got {value:g}"
    return None


# --------------------------------------------------------------------------------------------- Tokens page


@dataclass(frozen=True)
class TokensSettings:
    mode: str  # "words" or "chars"
    d_model: int
    d_k: int
    seed: int
    positional: bool
    scale_embed: bool
    bias: bool
    causal: bool
    temperature: float


def temperature_scale(d_k: int, temperature: float) -> float:
    """The ``scale`` handed to attention: ``1 / (√d_k · temperature)``; temperature must be > 0 and finite."""
    if not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"Temperature must be greater than 0, got {temperature:g}")
    return 1.0 / (math.sqrt(d_k) * temperature)


def tokens_controls() -> tuple[TokensSettings, list[str]]:
    """The Tokens page's sidebar; returns the settings and the problems (each names its control)."""
    defaults = {
        "tokens_mode": next(iter(MODES)),
        "tokens_d_model": 16,
        "tokens_d_k": 8,
        "tokens_seed": 0,
        "tokens_pe": True,
        "tokens_scale": False,
        "tokens_bias": True,
        "tokens_causal": False,
        "tokens_temperature": 1.0,
    }
    for key, value in defaults.items():
        st.session_state.setdefault(key, value)
    st.header("Tokens")
    mode = st.radio(
        "Split the text into",
        tuple(MODES),
        key="tokens_mode",
        help="Characters mode suits scripts without spaces; Chinese splits per character in both modes.",
    )
    st.header("Embeddings")
    d_model = st.number_input(
        "d_model (embedding width)", step=1, key="tokens_d_model", help=f"1 to {TOKENS_D_MODEL_MAX}."
    )
    positional = st.toggle(
        "Add the positional encoding",
        key="tokens_pe",
        help="Without it, attention cannot tell where a token is: a repeated word gets identical rows.",
    )
    scale_embed = st.toggle(
        "Multiply embeddings by √d_model",
        key="tokens_scale",
        help="The Transformer paper scales embeddings up by √d_model so they are not drowned out by the "
        "positional encoding, whose entries lie between −1 and 1.",
    )
    st.header("Attention")
    d_k = st.number_input("d_k (query/key width)", step=1, key="tokens_d_k", help=f"1 to {TOKENS_D_K_MAX}.")
    temperature = st.number_input(
        "Temperature",
        step=0.1,
        format="%.2f",
        key="tokens_temperature",
        help="Scores are multiplied by 1/(√d_k · temperature): below 1 sharpens the weights, above 1 flattens them.",
    )
    causal = st.toggle("Causal mask (a token sees only itself and earlier tokens)", key="tokens_causal")
    with st.expander("Random projections"):
        seed = st.number_input(
            "Seed", min_value=0, max_value=2**31 - 1, step=1, key="tokens_seed", help="Embeddings and W_q, W_k, W_v."
        )
        bias = st.toggle("Bias in the projections", key="tokens_bias")

    problems = [
        p
        for p in (
            _int_problem("d_model (embedding width)", d_model, 1, TOKENS_D_MODEL_MAX),
            _int_problem("d_k (query/key width)", d_k, 1, TOKENS_D_K_MAX),
        )
        if p
    ]
    if not (math.isfinite(temperature) and temperature > 0):
        problems.append(
            f"Temperature must be greater than 0, got {temperature:g}: scale = 1/(√d_k · temperature) "
            "needs a positive temperature"
        )
    settings = TokensSettings(
        mode=MODES[mode],
        d_model=int(d_model),
        d_k=int(d_k),
        seed=int(seed),
        positional=bool(positional),
        scale_embed=bool(scale_embed),
        bias=bool(bias),
        causal=bool(causal),
        temperature=float(temperature),
    )
    return settings, problems


@st.cache_data(max_entries=32, show_spinner=False)
def tokenize_text(text: str, mode: str, max_tokens: int = MAX_TOKENS) -> tuple[tuple[str, ...], int]:
    """``(the first max_tokens tokens of text, how many more were cut)``."""
    kept, cut = truncate(tokenize(text, mode), max_tokens)
    return tuple(kept), cut


@dataclass(frozen=True)
class SentenceAttention:
    """Self-attention over a sentence's tokens; rows are queries, columns are keys."""

    tokens: tuple[str, ...]
    labels: tuple[str, ...]  # unique axis labels "i token"
    x: np.ndarray  # (T, d_model)  the input rows: embeddings (× √d_model) (+ PE)
    scores: np.ndarray  # (T, T)  q·kᵀ
    weights: np.ndarray  # (T, T)  softmax(scale · scores, masked)
    scale: float  # 1 / (√d_k · temperature)
    repeats: dict[str, list[int]]  # token -> its positions, for tokens that occur more than once


@st.cache_data(max_entries=32, show_spinner=False)
def sentence_attention(tokens: tuple[str, ...], settings: TokensSettings) -> SentenceAttention:
    """``SelfAttention(d_model, d_k, bias, seed)`` over the tokens' input rows, scaled by the temperature."""
    s = settings
    scale = temperature_scale(s.d_k, s.temperature)
    with torch.no_grad():
        x = input_embeddings(tokens, s.d_model, seed=s.seed, positional=s.positional, scale=s.scale_embed)
        module = SelfAttention(s.d_model, s.d_k, bias=s.bias, seed=s.seed)
        mask = causal_mask(len(tokens)) if s.causal else None
        trace = module(x, mask=mask, scale=scale)
    return SentenceAttention(
        tokens=tokens,
        labels=tuple(token_labels(list(tokens))),
        x=x.numpy(),
        scores=trace.scores.numpy(),
        weights=trace.weights.numpy(),
        scale=trace.scale,
        repeats=repeated_tokens(tokens),
    )


def default_query(tokens: tuple[str, ...]) -> int:
    """The query shown first: the tutorials' "it" when the sentence has one, else the last token."""
    return tokens.index("it") if "it" in tokens else len(tokens) - 1


def top_keys(row: np.ndarray, k: int = 3) -> list[int]:
    """The ``k`` keys with the largest weight in one query's row, largest first (ties: earlier key first)."""
    return [int(j) for j in np.argsort(-row, kind="stable")[:k]]


# ------------------------------------------------------------------------------------ Positional encoding


@dataclass(frozen=True)
class PositionalSettings:
    num_positions: int
    d_model: int
    base: float


def positional_controls() -> tuple[PositionalSettings, list[str]]:
    """The Positional-encoding page's sidebar; returns the settings and the problems (each names its control)."""
    for key, value in (("pe_positions", 100), ("pe_d_model", 64), ("pe_base", 10000.0)):
        st.session_state.setdefault(key, value)
    st.header("Encoding")
    num_positions = st.number_input(
        "Number of positions", step=1, key="pe_positions", help=f"Rows of the encoding, 1 to {PE_POSITIONS_MAX}."
    )
    d_model = st.number_input(
        "d_model (encoding width)", step=1, key="pe_d_model", help=f"Columns, 1 to {PE_D_MODEL_MAX}; odd works too."
    )
    base = st.number_input(
        "Base",
        step=1000.0,
        format="%.1f",
        key="pe_base",
        help="Wavelengths grow geometrically from 2π to about 2π·base (the paper uses 10000).",
    )
    problems = [
        p
        for p in (
            _int_problem("Number of positions", num_positions, 1, PE_POSITIONS_MAX),
            _int_problem("d_model (encoding width)", d_model, 1, PE_D_MODEL_MAX),
        )
        if p
    ]
    if not (math.isfinite(base) and base > 0):
        problems.append(f"Base must be a positive number, got {base:g}")
    return PositionalSettings(int(num_positions), int(d_model), float(base)), problems


def default_dims(num_positions: int, d_model: int, base: float) -> list[int]:
    """The fastest sin/cos pair, plus the sin columns whose wavelengths are nearest num_positions / 4 and
    num_positions: waves that visibly differ over the positions shown."""
    lam = np.log(wavelengths(d_model, base))
    sin_columns = np.arange(0, d_model, 2)
    picks = [0, 1]
    for target in (num_positions / 4, num_positions):
        picks.append(int(sin_columns[np.abs(lam[sin_columns] - np.log(max(target, 1.0))).argmin()]))
    return sorted({j for j in picks if j < d_model})


@dataclass(frozen=True)
class EncodingView:
    """A display-sized view of the encoding: every ``positions[a]``-th row and ``dims[b]``-th column."""

    positions: np.ndarray  # (P,)  kept positions
    dims: np.ndarray  # (D,)  kept columns (whole sin/cos pairs)
    pe: np.ndarray  # (P, D)  pe[positions][:, dims]
    similarity: np.ndarray  # (P, P)  PE·PEᵀ between the kept positions (over all d_model columns)
    examples: dict[str, float]  # a few similarities quoted in the page's text


@st.cache_data(max_entries=16, show_spinner=False)
def encoding_view(num_positions: int, d_model: int, base: float, limit: int = DISPLAY_LIMIT) -> EncodingView:
    """The encoding and PE·PEᵀ, strided to at most ``limit`` × ``limit`` cells for display."""
    pe = sinusoidal_encoding(num_positions, d_model, base)  # (T, d_model)
    rows = display_indices(num_positions, limit)
    cols = display_indices(d_model, limit, group=2)
    kept = pe[rows]  # (P, d_model)
    examples: dict[str, float] = {}
    if num_positions >= 2:
        far = min(50, num_positions - 2)
        sim = position_similarity(pe[[0, 1, far, far + 1]])  # (4, 4)
        examples = {"self": float(sim[0, 0]), "near": float(sim[0, 1]), "far_pos": far, "far": float(sim[2, 3])}
    return EncodingView(
        positions=np.array(rows),
        dims=np.array(cols),
        pe=kept[:, cols].numpy(),
        similarity=position_similarity(kept).numpy(),
        examples=examples,
    )


@st.cache_data(max_entries=32, show_spinner=False)
def encoding_columns(num_positions: int, d_model: int, base: float, dims: tuple[int, ...]) -> np.ndarray:
    """Chosen columns of the encoding over every position: ``(num_positions, len(dims))``."""
    return sinusoidal_encoding(num_positions, d_model, base)[:, list(dims)].numpy()


@st.cache_data(max_entries=16, show_spinner=False)
def variant_difference(
    num_positions: int, d_model: int, base: float, limit: int = DISPLAY_LIMIT
) -> tuple[np.ndarray, float, tuple[int, int]]:
    """The tutorial's variant minus the standard encoding, display-sized, its max |difference| and where."""
    diff = seed_odd_variant_encoding(num_positions, d_model, base) - sinusoidal_encoding(num_positions, d_model, base)
    flat = int(diff.abs().argmax())
    where = divmod(flat, d_model)
    rows = display_indices(num_positions, limit)
    cols = display_indices(d_model, limit, group=2)
    return diff[rows][:, cols].numpy(), float(diff.abs().max()), where


@dataclass(frozen=True)
class PositionalComparison:
    tokens: tuple[str, ...]
    labels: tuple[str, ...]
    without: np.ndarray  # (T, T)  weights with embeddings only
    with_pe: np.ndarray  # (T, T)  weights with embeddings + PE
    pair: tuple[int, int] | None  # the first repeated token's first two positions
    gap_without: float | None  # max |row_i − row_j| of the weights, without PE
    gap_with: float | None  # the same with PE


@st.cache_data(max_entries=16, show_spinner=False)
def positional_comparison(
    tokens: tuple[str, ...], d_model: int, base: float, d_k: int = 8, seed: int = 0
) -> PositionalComparison:
    """Self-attention weights over the tokens without and with the positional encoding (same projections)."""
    module = SelfAttention(d_model, d_k, bias=True, seed=seed)
    weights = []
    with torch.no_grad():
        for positional in (False, True):
            x = input_embeddings(tokens, d_model, seed=seed, positional=positional, base=base)
            weights.append(module(x).weights)  # (T, T)
    repeats = repeated_tokens(tokens)
    pair = tuple(next(iter(repeats.values()))[:2]) if repeats else None
    gaps = [max_row_difference(w, *pair) for w in weights] if pair else [None, None]
    return PositionalComparison(
        tokens=tokens,
        labels=tuple(token_labels(list(tokens))),
        without=weights[0].numpy(),
        with_pe=weights[1].numpy(),
        pair=pair,
        gap_without=gaps[0],
        gap_with=gaps[1],
    )
