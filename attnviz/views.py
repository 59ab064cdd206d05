"""What each page draws: pure display models built from attnviz's traces (no streamlit, no plotting).

One ``*View`` per page, computed by one function from plain inputs; the fields use the traces' names
(``scores`` = q·kᵀ before scaling, ``scaled`` = scale · scores, ``masked``, ``weights``, ``output``). A view
carries its own axis labels, so a kept (last good) view is always drawn with labels of its own shape.
The pages' ``attnviz.ui`` modules wrap these functions in caches; the tests call them directly.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from attnviz.arrays import pool_blocks, pool_factor, range_labels, resize, robust_max, to_numpy
from attnviz.attention import AttentionTrace
from attnviz.cells import CellExplanation, explain_head
from attnviz.examples import WORKED_EXAMPLE
from attnviz.i18n import gettext as _
from attnviz.modules import MultiHeadAttention, SelfAttention
from attnviz.positional import (
    display_indices,
    max_row_difference,
    position_similarity,
    seed_odd_variant_encoding,
    sinusoidal_encoding,
    wavelengths,
)
from attnviz.shapes import ShapeStep, shape_flow
from attnviz.tokens import MAX_TOKENS, embed, input_embeddings, repeated_tokens, token_labels, tokenize, truncate
from attnviz.verify import TorchCheck, check_against_torch

__all__ = [
    "DEFAULT_SENTENCE",
    "DISPLAY_LIMIT",
    "FOCUS_CELLS",
    "GRID_CELLS",
    "MH_SOURCES",
    "RANDOM_VOCAB",
    "ROW_WINDOW",
    "EncodingView",
    "MultiHeadInput",
    "MultiHeadView",
    "PositionalComparison",
    "SentenceAttention",
    "WorkedView",
    "causal_mask",
    "default_dims",
    "default_query",
    "dim_labels",
    "encoding_columns",
    "encoding_view",
    "head_slice",
    "join_head_slices",
    "long_text",
    "multihead_cell",
    "multihead_input",
    "multihead_view",
    "positional_comparison",
    "sentence_attention",
    "temperature_scale",
    "top_keys",
    "variant_difference",
    "worked_view",
]

DEFAULT_SENTENCE = "The animal didn't cross the street because it was too tired"


def causal_mask(t: int) -> torch.Tensor:
    """``(T, T)`` boolean, True on and below the diagonal: query i may attend to keys j ≤ i."""
    return torch.ones(t, t, dtype=torch.bool).tril()


def dim_labels(n: int, start: int = 1, prefix: str = "d") -> tuple[str, ...]:
    """``("d1", "d2", …)``: column labels of a width-``n`` matrix (``start=0`` counts from d0)."""
    return tuple(f"{prefix}{j + start}" for j in range(n))


# --------------------------------------------------------------------------------------------- Worked example


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    """A numpy copy of ``tensor`` with its dtype (float64 stays float64, -inf stays -inf)."""
    return tensor.detach().numpy().copy()


@dataclass(frozen=True)
class WorkedView:
    """The worked example's trace as float64 numpy, with its own labels (rows are queries, columns keys)."""

    tokens: tuple[str, ...]  # x1 … xT
    dims_k: tuple[str, ...]  # d1 … d_k
    dims_out: tuple[str, ...]  # d1 … d_v
    query: np.ndarray  # (T, d_k)
    key: np.ndarray  # (T, d_k)
    value: np.ndarray  # (T, d_v)
    scores: np.ndarray  # (T, T)  q·kᵀ
    scale: float
    scaled: np.ndarray  # (T, T)  scale · scores
    masked: np.ndarray  # (T, T)  scaled, -inf where masked
    weights: np.ndarray  # (T, T)
    output: np.ndarray  # (T, d_v)
    scaled_by_choice: bool  # the learner chose 1/√d_k (even when d_k = 1 makes it 1.0)
    causal: bool
    learned: bool  # projections with biases (the learned variant)

    @property
    def t(self) -> int:
        return len(self.tokens)

    def row(self, query: int) -> int:
        """``query`` if this view has that row, else its first: a kept view may have fewer tokens."""
        return query if 0 <= query < self.t else 0

    @property
    def weights_title(self) -> str:
        """What the weights are the softmax of, as the chart and the text call it."""
        if self.causal:
            return _("weights = softmax(masked scores)")
        return _("weights = softmax(scaled scores)") if self.scaled_by_choice else _("weights = softmax(scores)")


def worked_view(trace: AttentionTrace, *, scaled: bool, causal: bool, learned: bool) -> WorkedView:
    """The display model of one self-attention trace ``(T, ·)`` of the worked example."""
    t, d_k = trace.query.shape
    return WorkedView(
        tokens=tuple(f"x{i + 1}" for i in range(t)),
        dims_k=dim_labels(d_k),
        dims_out=dim_labels(trace.output.shape[-1]),
        query=_numpy(trace.query),
        key=_numpy(trace.key),
        value=_numpy(trace.value),
        scores=_numpy(trace.scores),
        scale=float(trace.scale),
        scaled=_numpy(trace.scaled),
        masked=_numpy(trace.masked),
        weights=_numpy(trace.weights),
        output=_numpy(trace.output),
        scaled_by_choice=scaled,
        causal=causal,
        learned=learned,
    )


# ---------------------------------------------------------------------------------------------- Tokens page


def long_text(n: int, sentence: str = DEFAULT_SENTENCE) -> str:
    """``sentence``'s tokens repeated to exactly ``n`` tokens, separated by spaces."""
    return " ".join(itertools.islice(itertools.cycle(tokenize(sentence)), n))


def temperature_scale(d_k: int, temperature: float) -> float:
    """The ``scale`` handed to attention: ``1 / (√d_k · temperature)``; temperature must be > 0 and finite."""
    from attnviz.attention import check_temperature

    return 1.0 / (math.sqrt(d_k) * check_temperature(temperature))


@dataclass(frozen=True)
class SentenceAttention:
    """Self-attention over a sentence's tokens; rows are queries, columns are keys."""

    tokens: tuple[str, ...]
    labels: tuple[str, ...]  # unique axis labels "i token"
    x: np.ndarray  # (T, d_model)  the input rows: embeddings (× √d_model) (+ PE)
    scores: np.ndarray  # (T, T)  q·kᵀ
    scale: float  # 1 / (√d_k · temperature)
    scaled: np.ndarray  # (T, T)  scale · scores
    weights: np.ndarray  # (T, T)  softmax of the scaled (and masked) scores
    repeats: dict[str, list[int]]  # token -> its positions, for tokens that occur more than once
    query: np.ndarray  # (T, d_k)  X·W_q (+ b_q): what a clicked cell is written out with
    key: np.ndarray  # (T, d_k)
    value: np.ndarray  # (T, d_k)
    masked: np.ndarray  # (T, T)  the softmax's input: scaled, -inf where masked

    @property
    def top_weight(self) -> float:
        """The largest weight: the top of the weights' colour scale."""
        return float(self.weights.max())


def sentence_attention(
    tokens: tuple[str, ...],
    *,
    d_model: int,
    d_k: int,
    seed: int,
    positional: bool,
    scale_embed: bool,
    bias: bool,
    causal: bool,
    temperature: float,
) -> SentenceAttention:
    """``SelfAttention(d_model, d_k, bias, seed)`` over the tokens' input rows, scaled by the temperature."""
    scale = temperature_scale(d_k, temperature)
    with torch.no_grad():
        x = input_embeddings(tokens, d_model, seed=seed, positional=positional, scale=scale_embed)
        module = SelfAttention(d_model, d_k, bias=bias, seed=seed)
        trace = module(x, mask=causal_mask(len(tokens)) if causal else None, scale=scale)
    return SentenceAttention(
        tokens=tuple(tokens),
        labels=tuple(token_labels(list(tokens))),
        x=x.numpy(),
        scores=trace.scores.numpy(),
        scale=trace.scale,
        scaled=trace.scaled.numpy(),
        weights=trace.weights.numpy(),
        repeats=repeated_tokens(tokens),
        query=trace.query.numpy(),
        key=trace.key.numpy(),
        value=trace.value.numpy(),
        masked=trace.masked.numpy(),
    )


def default_query(tokens: tuple[str, ...]) -> int:
    """The query shown first: the tutorials' "it" when the sentence has one, else the last token."""
    return tokens.index("it") if "it" in tokens else len(tokens) - 1


def top_keys(row: np.ndarray, k: int = 3) -> list[int]:
    """The ``k`` keys with the largest weight in one query's row, largest first (ties: earlier key first)."""
    return [int(j) for j in np.argsort(-row, kind="stable")[:k]]


# ------------------------------------------------------------------------------------------ Multi-head page

MH_SOURCES = ("Sentence", "Worked example", "Random tokens")
RANDOM_VOCAB = 100  # "Random tokens" draws token ids t0 … t99, so some tokens repeat
GRID_CELLS = 64  # the per-head grids show at most this many cells a side (block-mean pooled above)
GRID_TOTAL_CELLS = 2 * GRID_CELLS * GRID_CELLS  # over all panels (more heads, coarser panels): ~50 kB of JSON
FOCUS_CELLS = 512  # the focus head at full resolution up to this many tokens
ROW_WINDOW = 64  # X, the head outputs, the concatenation and the output show at most this many tokens
FIXED_SCALE_TOKENS = 32  # up to this many keys, weights are coloured on [0, 1]; above, up to the 99th percentile
WEIGHT_NAMES = ("w_q", "w_k", "w_v", "w_o")


@dataclass(frozen=True)
class MultiHeadInput:
    """The page's input rows and what they are."""

    x: np.ndarray  # (T, d_model) float32
    labels: tuple[str, ...]  # unique axis labels, one per token
    source: str  # one of MH_SOURCES
    seed: int
    cut: int = 0  # "Sentence": tokens cut beyond MAX_TOKENS
    base_width: int = 0  # "Worked example": the width of its X before padding or cropping

    @property
    def note(self) -> str:
        """One sentence on where X came from, in the current language."""
        t, d_model, seed = self.x.shape[0], self.x.shape[1], self.seed
        if self.source == "Sentence":
            if self.cut:
                return _(
                    "{t} tokens of the Tokens page's sentence (the first {max_tokens}; {cut} cut), each embedded as a "
                    "random vector of d_model = {d_model} numbers (seed {seed}; the same token always gets the same "
                    "vector)."
                ).format(t=t, max_tokens=MAX_TOKENS, cut=self.cut, d_model=d_model, seed=seed)
            return _(
                "{t} tokens of the Tokens page's sentence, each embedded as a random vector of d_model = {d_model} "
                "numbers (seed {seed}; the same token always gets the same vector)."
            ).format(t=t, d_model=d_model, seed=seed)
        if self.source == "Worked example":
            width = self.base_width
            if d_model > width:
                return _(
                    "The worked example's X ({t}×{width}), zero-padded from {width} to d_model = {d_model} columns."
                ).format(t=t, width=width, d_model=d_model)
            if d_model < width:
                if d_model == 1:
                    return _("The worked example's X ({t}×{width}), cropped to its first column (d_model = 1).").format(
                        t=t, width=width
                    )
                return _(
                    "The worked example's X ({t}×{width}), cropped to its first {d_model} columns (d_model = {d_model})."
                ).format(t=t, width=width, d_model=d_model)
            return _("The worked example's X ({t}×{width}), used as it is (d_model = {d_model}).").format(
                t=t, width=width, d_model=d_model
            )
        return _(
            "{t} tokens drawn at random (seed {seed}) from a vocabulary of {vocab} (t0 … t{last}), each embedded as a "
            "random vector of d_model = {d_model} numbers. Tokens repeat, and a repeated token has the same key in "
            "every head: look for repeated columns."
        ).format(t=t, seed=seed, vocab=RANDOM_VOCAB, last=RANDOM_VOCAB - 1, d_model=d_model)


def multihead_input(source: str, text: str, num_tokens: int, d_model: int, seed: int) -> MultiHeadInput:
    """X for the multi-head page: a sentence's tokens, the worked example's X, or random tokens, embedded.

    Raises ``ValueError`` naming the problem (in the current language) when there is nothing to attend over.
    """
    if source == "Sentence":
        tokens, cut = truncate(tokenize(text))
        if not tokens:
            raise ValueError(_("The Tokens page's text has no tokens: type a sentence there or choose another input"))
        x = embed(tokens, d_model, seed=seed).numpy()  # (T, d_model)
        return MultiHeadInput(x.astype(np.float32), tuple(token_labels(tokens)), source, seed, cut=cut)
    if source == "Worked example":
        base = WORKED_EXAMPLE.x  # (3, 4)
        x = resize(base, (base.shape[0], d_model)).astype(np.float32)
        labels = tuple(f"x{i + 1}" for i in range(base.shape[0]))
        return MultiHeadInput(x, labels, source, seed, base_width=base.shape[1])
    if source == "Random tokens":
        if not 1 <= num_tokens <= MAX_TOKENS:
            raise ValueError(
                _("Number of random tokens must be from 1 to {max_tokens}, got {num_tokens}").format(
                    max_tokens=MAX_TOKENS, num_tokens=num_tokens
                )
            )
        ids = np.random.default_rng(seed).integers(0, RANDOM_VOCAB, size=num_tokens)
        tokens = [f"t{i}" for i in ids]
        x = embed(tokens, d_model, seed=seed).numpy()
        return MultiHeadInput(x.astype(np.float32), tuple(token_labels(tokens)), source, seed)
    raise ValueError(
        _("unknown input source {source}; choose one of {sources}").format(source=repr(source), sources=MH_SOURCES)
    )


def head_slice(weights: dict[str, np.ndarray], name: str, head: int, num_heads: int) -> np.ndarray:
    """Head ``head``'s part of ``weights[name]`` (a view): :func:`attnviz.modules.head_slice` on the named matrix."""
    from attnviz.modules import head_slice as module_head_slice

    return module_head_slice(name, weights[name], head, num_heads)


def join_head_slices(slices: dict[tuple[str, int], np.ndarray], base: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``base`` (float32) with each ``(name, head)`` slice written back where :func:`head_slice` took it."""
    full = {name: np.array(w, dtype=np.float32) for name, w in base.items()}
    heads = 1 + max(h for _name, h in slices)
    for (name, h), part in slices.items():
        head_slice(full, name, h, heads)[...] = part
    return full


@dataclass(frozen=True)
class MultiHeadView:
    """What the multi-head page draws, display-sized; every number comes from one MultiHeadTrace."""

    t: int  # tokens T
    d_model: int
    num_heads: int
    scale: float  # 1/√d_head
    valid_len: int | None  # keys at positions >= valid_len are padding (None: none)
    causal: bool
    bias: bool
    labels: tuple[str, ...]  # all T token labels
    flow: tuple[ShapeStep, ...]  # the reshapes with this run's sizes
    grid_block: int  # tokens per grid cell (1 = full resolution)
    grid_labels: tuple[str, ...]  # row / column labels of the grids
    scaled: np.ndarray  # (H, G, G) scaled scores, masked cells NaN (block means when pooled)
    weights: np.ndarray  # (H, G, G) weights, masked cells NaN (attention shares when pooled)
    mean_weights: np.ndarray  # (G, G) the mean over heads, pooled like the weights
    weights_top: float  # top of the weights' colour scale (1, or their 99th percentile for long inputs)
    focus_block: int  # tokens per cell of the focus view (1 = full resolution)
    focus_labels: tuple[str, ...]
    focus: np.ndarray  # (H, F, F) each head's weights for the focus view, masked cells NaN
    focus_top: Sequence[float]  # (H,) top of each head's colour scale (each computed when first read)
    window: int  # the per-token matrices show tokens 0 … window-1
    x: np.ndarray  # (window, d_model)
    head_outputs: np.ndarray  # (H, window, d_head)  A_h·V_h
    concat: np.ndarray  # (window, d_model)
    output: np.ndarray  # (window, d_model)  concat·W_O + b_O
    check: TorchCheck

    @property
    def d_head(self) -> int:
        return self.d_model // self.num_heads

    @property
    def pooled(self) -> bool:
        return self.grid_block > 1

    @property
    def window_labels(self) -> tuple[str, ...]:
        return self.labels[: self.window]

    @property
    def dims(self) -> tuple[str, ...]:
        return dim_labels(self.d_model, start=0)


def _top(weights: np.ndarray, t_k: int) -> float:
    return 1.0 if t_k <= FIXED_SCALE_TOKENS else min(1.0, robust_max(weights))


class HeadTops(Sequence):
    """Each head's colour-scale top (:func:`_top` of its focus weights), computed when first read.

    Only the one-head detail reads them, one head at a time: a percentile of T × T weights per head is a large
    part of a new 512-token view's cost, so a view that is never opened in detail does not pay for it.
    """

    def __init__(self, focus: np.ndarray, t_k: int):
        self._focus, self._t_k = focus, t_k
        self._tops: list[float | None] = [None] * len(focus)

    def __len__(self) -> int:
        return len(self._tops)

    def __getitem__(self, h):
        if isinstance(h, slice):
            return tuple(self[i] for i in range(len(self))[h])
        top = self._tops[h]
        if top is None:
            top = self._tops[h] = _top(self._focus[h], self._t_k)
        return top

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and tuple(self) == tuple(other)

    def __repr__(self) -> str:
        return f"HeadTops({tuple(self)!r})"


def _module(weights: dict[str, np.ndarray], num_heads: int, bias: bool) -> MultiHeadAttention:
    d_model = weights["w_q"].shape[0]
    module = MultiHeadAttention(d_model, num_heads, bias=bias, seed=0)
    with torch.no_grad():
        for name, param in module.named_parameters():
            param.copy_(torch.as_tensor(np.asarray(weights[name], dtype=np.float32)))
    return module.requires_grad_(False)


def _multihead_run(x: np.ndarray, weights: dict[str, np.ndarray], num_heads: int, bias: bool, causal: bool, valid_len):
    """The module, its batched input ``(1, T, d_model)``, mask, lengths and trace of one multi-head run."""
    t = x.shape[0]
    module = _module(weights, num_heads, bias)
    xb = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).unsqueeze(0)  # (1, T, d_model)
    mask = causal_mask(t) if causal else None  # (T, T)
    lens = None if valid_len is None or valid_len >= t else torch.tensor([valid_len])  # (B,)
    with torch.no_grad():
        trace = module(xb, mask=mask, valid_lens=lens)
    return module, xb, mask, lens, trace


def multihead_cell(
    x: np.ndarray,
    labels: tuple[str, ...],
    weights: dict[str, np.ndarray],
    *,
    num_heads: int,
    bias: bool,
    causal: bool,
    valid_len: int | None,
    stage: str,
    head: int,
    row: int,
    col: int,
) -> CellExplanation:
    """One cell of head ``head`` of the run :func:`multihead_view` draws, written out (its slices named)."""
    *_run, trace = _multihead_run(x, weights, num_heads, bias, causal, valid_len)
    return explain_head(trace, stage, head, row, col, labels=labels)


def multihead_view(
    x: np.ndarray,
    labels: tuple[str, ...],
    weights: dict[str, np.ndarray],
    *,
    num_heads: int,
    bias: bool,
    causal: bool,
    valid_len: int | None,
) -> MultiHeadView:
    """Multi-head self-attention of ``x`` ``(T, d_model)`` through ``MultiHeadAttention`` with ``weights``.

    ``valid_len``: keys at positions ``>= valid_len`` are padding (d2l's ``valid_lens``; None or >= T: none).
    Long inputs are pooled to at most :data:`GRID_CELLS` cells a side (fewer with many heads) and the per-token
    matrices windowed to :data:`ROW_WINDOW` rows. Also runs ``torch.nn.MultiheadAttention`` with the same weights,
    masks and padding for the verification.
    """
    t, d_model = x.shape
    if valid_len is not None and valid_len >= t:
        valid_len = None
    module, xb, mask, lens, trace = _multihead_run(x, weights, num_heads, bias, causal, valid_len)
    with torch.no_grad():
        check = check_against_torch(module, xb, trace, mask=mask, valid_lens=lens)
    scaled = to_numpy(trace.scaled[0])  # (H, T, T)
    weights_h = trace.weights[0].numpy()  # (H, T, T)
    mean = trace.mean_weights[0].numpy()  # (T, T)
    if mask is not None or lens is not None:  # masked cells are blank (NaN), not 0
        allowed = trace.mask[0].numpy()  # (H, T, T)
        scaled = np.where(allowed, scaled, np.float32(np.nan))
        weights_h = np.where(allowed, weights_h, np.float32(np.nan))
        mean = np.where(allowed[0], mean, np.float32(np.nan))

    side = max(8, min(GRID_CELLS, math.isqrt(GRID_TOTAL_CELLS // num_heads)))
    grid_block = pool_factor(t, side)
    focus_block = pool_factor(t, FOCUS_CELLS)
    grid_weights = pool_blocks(weights_h, grid_block, how="row_share")
    focus = pool_blocks(weights_h, focus_block, how="row_share")
    window = min(t, ROW_WINDOW)
    return MultiHeadView(
        t=t,
        d_model=d_model,
        num_heads=num_heads,
        scale=trace.scale,
        valid_len=valid_len,
        causal=causal,
        bias=bias,
        labels=tuple(labels),
        flow=tuple(shape_flow(trace)),
        grid_block=grid_block,
        grid_labels=tuple(labels) if grid_block == 1 else tuple(range_labels(t, grid_block)),
        scaled=pool_blocks(scaled, grid_block, how="mean"),
        weights=grid_weights,
        mean_weights=pool_blocks(mean, grid_block, how="row_share"),
        weights_top=_top(grid_weights, t),  # pooled shares are flat: above 32 tokens, scale to the 99th percentile
        focus_block=focus_block,
        focus_labels=tuple(labels) if focus_block == 1 else tuple(range_labels(t, focus_block)),
        focus=focus,
        focus_top=HeadTops(focus, t),
        window=window,
        x=x[:window].astype(np.float32),
        head_outputs=trace.head_outputs[0, :, :window].numpy(),
        concat=trace.concat[0, :window].numpy(),
        output=trace.output[0, :window].numpy(),
        check=check,
    )


# -------------------------------------------------------------------------------------- Positional encoding

DISPLAY_LIMIT = 256  # at most this many rows / columns of a positional-encoding heatmap reach the browser


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

    @property
    def similarity_kind(self) -> str:
        """The colour scale PE·PEᵀ needs: sequential when every entry is ≥ 0, else diverging around 0."""
        return "sequential" if float(self.similarity.min()) >= 0 else "signed"

    @property
    def position_labels(self) -> tuple[str, ...]:
        return tuple(str(p) for p in self.positions)

    @property
    def dim_labels(self) -> tuple[str, ...]:
        """``"0 sin"``, ``"1 cos"``, …: even columns are sines, odd columns cosines."""
        return tuple(f"{j} {'sin' if j % 2 == 0 else 'cos'}" for j in self.dims)

    @property
    def position_step(self) -> int:
        return int(self.positions[1] - self.positions[0]) if len(self.positions) > 1 else 1


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


def encoding_columns(num_positions: int, d_model: int, base: float, dims: tuple[int, ...]) -> np.ndarray:
    """Chosen columns of the encoding over every position: ``(num_positions, len(dims))``."""
    return sinusoidal_encoding(num_positions, d_model, base)[:, list(dims)].numpy()


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

    @property
    def top(self) -> float:
        """The largest weight of either matrix: their shared colour-scale top."""
        return float(max(self.without.max(), self.with_pe.max()))


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
        tokens=tuple(tokens),
        labels=tuple(token_labels(list(tokens))),
        without=weights[0].numpy(),
        with_pe=weights[1].numpy(),
        pair=pair,
        gap_without=gaps[0],
        gap_with=gaps[1],
    )
