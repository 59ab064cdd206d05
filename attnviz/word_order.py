"""Why attention needs positions: without them self-attention cannot see word order.

Self-attention without a positional encoding is permutation-equivariant: shuffle the input rows and the output
rows come out shuffled the same way, nothing else changes. So "dog bites man" and "man bites dog" give each word
the same output vector. Adding a positional encoding (which stays at positions 0…T−1 while the words move)
breaks this. These helpers compute both sides of that comparison for the positional-encoding page.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from attnviz.i18n import gettext as _
from attnviz.modules import SelfAttention
from attnviz.positional import sinusoidal_encoding
from attnviz.tokens import embed

__all__ = ["ShuffleDemo", "WordOrderDemo", "match_positions", "shuffle_demo", "word_order_demo"]


def _with_positions(x: Tensor, positional: bool) -> Tensor:
    if not positional:
        return x
    return x + sinusoidal_encoding(x.shape[-2], x.shape[-1], dtype=torch.float64).to(x.dtype)  # (T, d_model)


@dataclass(frozen=True)
class ShuffleDemo:
    """Attention outputs of a sequence and of its shuffle. ``perm[i]`` is the original row now at position i."""

    perm: tuple[int, ...]
    positional: bool
    output: Tensor  # (T, d_v)  outputs for the original order
    shuffled_output: Tensor  # (T, d_v)  outputs for x[perm] (plus PE at positions 0…T−1 when positional)
    expected: Tensor  # (T, d_v)  output[perm]: what equivariance predicts for the shuffled input
    max_diff: float  # max |shuffled_output − expected|: ~0 without PE, clearly > 0 with PE

    @property
    def equivariant(self) -> bool:
        """True when the shuffled outputs are the original rows shuffled (up to rounding)."""
        return self.max_diff <= 1e-9 * max(1.0, float(self.output.abs().max()))


def _check_perm(perm: Sequence[int], t: int) -> tuple[int, ...]:
    perm = tuple(int(i) for i in perm)
    if sorted(perm) != list(range(t)):
        raise ValueError(f"perm={list(perm)} must be a permutation of 0…{t - 1} (T={t} rows)")
    return perm


def shuffle_demo(module: SelfAttention, x: Tensor, perm: Sequence[int], *, positional: bool = False) -> ShuffleDemo:
    """Run ``module`` on ``x`` ``(T, d_model)`` and on ``x[perm]``; with ``positional`` the sinusoidal encoding
    is added after shuffling (positions stay put while the tokens move). Computed in the dtype of ``x``."""
    if x.dim() != 2:
        raise ValueError(f"x must have shape (T, d_model), got {tuple(x.shape)}")
    perm = _check_perm(perm, x.shape[0])
    index = torch.tensor(perm, dtype=torch.long)
    with torch.no_grad():
        output = module(_with_positions(x, positional)).output  # (T, d_v)
        shuffled = module(_with_positions(x[index], positional)).output  # (T, d_v)
    expected = output[index]  # (T, d_v)
    return ShuffleDemo(
        perm=perm,
        positional=positional,
        output=output,
        shuffled_output=shuffled,
        expected=expected,
        max_diff=float((shuffled - expected).abs().max()) if shuffled.numel() else 0.0,
    )


def match_positions(tokens_a: Sequence[str], tokens_b: Sequence[str]) -> tuple[int, ...]:
    """``perm`` with ``tokens_b[i] == tokens_a[perm[i]]`` (repeated tokens matched in order of appearance).

    Raises ``ValueError`` naming the difference (in the current language) when the two token lists are not the
    same bag of words.
    """
    count_a, count_b = Counter(tokens_a), Counter(tokens_b)
    if count_a != count_b:
        only_a = sorted((count_a - count_b).elements())
        only_b = sorted((count_b - count_a).elements())
        raise ValueError(
            _(
                "the two sentences must use the same words in a different order; only in the first: {only_a}, "
                "only in the second: {only_b}"
            ).format(only_a=only_a, only_b=only_b)
        )
    unused: dict[str, list[int]] = {}
    for i, tok in enumerate(tokens_a):
        unused.setdefault(tok, []).append(i)
    return tuple(unused[tok].pop(0) for tok in tokens_b)


@dataclass(frozen=True)
class WordOrderDemo:
    """Each word's output in sentence A and in sentence B (same words, another order)."""

    tokens_a: tuple[str, ...]
    tokens_b: tuple[str, ...]
    perm: tuple[int, ...]  # tokens_b[i] == tokens_a[perm[i]]
    positional: bool
    output_a: Tensor  # (T, d_v)
    output_b: Tensor  # (T, d_v)
    per_word_diff: tuple[float, ...]  # per word of B: max |output_b[i] − output_a[perm[i]]|
    max_diff: float  # the largest of those: ~0 without PE
    pooled_diff: float  # max |mean of output_a rows − mean of output_b rows|: the "bag" a classifier might read


def word_order_demo(
    module: SelfAttention,
    tokens_a: Sequence[str],
    tokens_b: Sequence[str],
    *,
    seed: int = 0,
    positional: bool = False,
) -> WordOrderDemo:
    """Embed both token lists (deterministic toy embeddings, width ``module``'s input width, in float64),
    optionally add the sinusoidal encoding, run ``module`` and compare each word's output across the two."""
    if not tokens_a or not tokens_b:
        raise ValueError(_("both sentences need at least one word"))
    perm = match_positions(tokens_a, tokens_b)
    d_model = module.d_in
    dtype = module.w_q.dtype
    x_a = _with_positions(embed(list(tokens_a), d_model, seed=seed, dtype=torch.float64), positional).to(dtype)
    x_b = _with_positions(embed(list(tokens_b), d_model, seed=seed, dtype=torch.float64), positional).to(dtype)
    with torch.no_grad():
        out_a = module(x_a).output  # (T, d_v)
        out_b = module(x_b).output  # (T, d_v)
    index = torch.tensor(perm, dtype=torch.long)
    per_word = (out_b - out_a[index]).abs().amax(dim=-1)  # (T,)
    return WordOrderDemo(
        tokens_a=tuple(tokens_a),
        tokens_b=tuple(tokens_b),
        perm=perm,
        positional=positional,
        output_a=out_a,
        output_b=out_b,
        per_word_diff=tuple(float(v) for v in per_word),
        max_diff=float(per_word.max()),
        pooled_diff=float((out_a.mean(dim=0) - out_b.mean(dim=0)).abs().max()),
    )
