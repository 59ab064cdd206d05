"""What the Positional-encoding page draws to make its case: the shuffle demo, "dog bites man", and RoPE.

Pure display models (no streamlit, no plotly), each carrying its own axis labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from attnviz.i18n import gettext as _
from attnviz.modules import SelfAttention
from attnviz.positional import POSITION_SCHEMES, diagonal_spread, position_pair_scores
from attnviz.tokens import embed, token_labels, tokenize
from attnviz.word_order import shuffle_demo, word_order_demo

__all__ = ["RopeView", "ShuffleView", "WordOrderView", "rope_view", "shuffle_perm", "shuffle_view", "word_order_view"]

D_K = 8  # the projections' width in these demos


def shuffle_perm(t: int, seed: int) -> tuple[int, ...]:
    """A seeded permutation of 0…T−1 that moves something whenever T > 1 (an identity draw is rotated by one)."""
    perm = torch.randperm(t, generator=torch.Generator().manual_seed(int(seed))).tolist()
    if t > 1 and perm == list(range(t)):
        perm = perm[1:] + perm[:1]
    return tuple(perm)


@dataclass(frozen=True)
class ShuffleView:
    labels: tuple[str, ...]  # the sentence in its order
    shuffled_labels: tuple[str, ...]  # the shuffled sentence: shuffled_labels[i] is token perm[i]
    perm: tuple[int, ...]
    shuffled_output: np.ndarray  # (T, d_k)  attention outputs of the shuffled sentence, no PE
    expected: np.ndarray  # (T, d_k)  the original outputs, rows reordered by perm
    max_diff_without: float  # max |shuffled_output − expected|: ~0 (permutation-equivariant)
    max_diff_with: float  # the same with PE added after shuffling: clearly > 0


def shuffle_view(tokens: tuple[str, ...], *, d_model: int, seed: int = 0, shuffle_seed: int = 1) -> ShuffleView:
    """Self-attention (``SelfAttention(d_model, 8, seed)``, float64) of the sentence and of a shuffle of it."""
    if not tokens:
        raise ValueError(_("the sentence is empty: type a few words"))
    module = SelfAttention(d_model, D_K, seed=seed).double()
    x = embed(list(tokens), d_model, seed=seed, dtype=torch.float64)  # (T, d_model)
    perm = shuffle_perm(len(tokens), shuffle_seed)
    without = shuffle_demo(module, x, perm)
    with_pe = shuffle_demo(module, x, perm, positional=True)
    labels = tuple(token_labels(list(tokens)))
    shuffled = tuple(token_labels([tokens[j] for j in perm]))
    return ShuffleView(
        labels=labels,
        shuffled_labels=shuffled,
        perm=perm,
        shuffled_output=without.shuffled_output.numpy(),
        expected=without.expected.numpy(),
        max_diff_without=without.max_diff,
        max_diff_with=with_pe.max_diff,
    )


@dataclass(frozen=True)
class WordOrderView:
    tokens_a: tuple[str, ...]
    tokens_b: tuple[str, ...]
    words: tuple[str, ...]  # labels of sentence B's words, "0 man"
    diff_without: tuple[float, ...]  # per word of B: max |output in B − output in A|, no PE
    diff_with: tuple[float, ...]  # the same with PE
    pooled_without: float  # max |mean output of A − mean output of B|
    pooled_with: float


def word_order_view(text_a: str, text_b: str, *, d_model: int, seed: int = 0) -> WordOrderView:
    """Each word's attention output in two orderings of the same words, without and with PE."""
    tokens_a, tokens_b = tokenize(text_a), tokenize(text_b)
    if not tokens_a or not tokens_b:
        raise ValueError(_("both sentences need at least one word"))
    module = SelfAttention(d_model, D_K, seed=seed).double()
    without = word_order_demo(module, tokens_a, tokens_b, seed=seed)
    with_pe = word_order_demo(module, tokens_a, tokens_b, seed=seed, positional=True)
    return WordOrderView(
        tokens_a=tuple(tokens_a),
        tokens_b=tuple(tokens_b),
        words=tuple(token_labels(tokens_b)),
        diff_without=without.per_word_diff,
        diff_with=with_pe.per_word_diff,
        pooled_without=without.pooled_diff,
        pooled_with=with_pe.pooled_diff,
    )


@dataclass(frozen=True)
class RopeView:
    positions: tuple[str, ...]  # axis labels "0" … "T−1"
    width: int  # d of the fixed q and k
    grids: dict[str, np.ndarray]  # scheme -> (T, T) scores of q at position m (row) and k at position n (column)
    spread: dict[str, float]  # scheme -> largest max − min along a diagonal (0: depends only on m − n)


def rope_view(num_positions: int, d_model: int, *, seed: int = 0) -> RopeView:
    """One seeded q and k placed at every pair of positions under each of :data:`POSITION_SCHEMES`.

    RoPE pairs dimensions, so the width is d_model rounded down to even (at least 2), capped at 64.
    """
    width = max(2, min(64, d_model - d_model % 2))
    generator = torch.Generator().manual_seed(int(seed))
    q = torch.randn(width, generator=generator, dtype=torch.float64)
    k = torch.randn(width, generator=generator, dtype=torch.float64)
    grids = {s: position_pair_scores(q, k, num_positions, s, seed=seed) for s in POSITION_SCHEMES}
    return RopeView(
        positions=tuple(str(p) for p in range(num_positions)),
        width=width,
        grids={s: g.numpy() for s, g in grids.items()},
        spread={s: diagonal_spread(g) for s, g in grids.items()},
    )
