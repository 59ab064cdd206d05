"""Dropout on the attention weights, as seed 003's ``attention(q, k, v, dropout)`` applies it.

``p_attn = dropout(softmax(scores))`` in train mode zeroes each weight with probability p and multiplies the
survivors by 1/(1−p), so a row no longer sums to 1 (only its expectation does); eval mode returns the weights
unchanged. Pure: a seed, not torch's global generator, decides which weights drop.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import torch
from torch import Tensor

from attnviz.attention import AttentionTrace

__all__ = ["DroppedAttention", "dropout_attention", "dropout_weights"]


def _check_p(p: object) -> float:
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not math.isfinite(p) or not 0 <= p < 1:
        raise ValueError(f"dropout p={p!r} must be a number in [0, 1)")
    return float(p)


def dropout_weights(weights: Tensor, p: float, *, seed: int = 0, train: bool = True) -> Tensor:
    """A new tensor: ``weights · keep / (1 − p)`` with ``keep ~ Bernoulli(1 − p)`` drawn from ``seed`` (train),
    or ``weights`` unchanged (eval, or p = 0). Draws the same mask as ``torch.nn.functional.dropout`` does after
    ``torch.manual_seed(seed)`` on the CPU."""
    p = _check_p(p)
    if not isinstance(weights, Tensor) or not weights.is_floating_point():
        raise ValueError(f"weights must be a float tensor, got {getattr(weights, 'dtype', type(weights).__name__)}")
    if not train or p == 0.0:
        return weights.clone()
    return weights * _keep(weights, p, seed).div_(1.0 - p)


def _keep(weights: Tensor, p: float, seed: int) -> Tensor:
    """1.0 where a weight survives, 0.0 where it drops: Bernoulli(1 − p) from ``seed``, like ``weights``."""
    generator = torch.Generator().manual_seed(int(seed))
    return torch.empty_like(weights).bernoulli_(1.0 - p, generator=generator)


@dataclass(frozen=True)
class DroppedAttention:
    """The weights before and after dropout and the output they give."""

    weights: Tensor  # (..., T_q, T_k)  softmax weights (rows sum to 1, or 0 when fully masked)
    dropped: Tensor  # (..., T_q, T_k)  after dropout
    kept: Tensor  # (..., T_q, T_k)  bool, True where a weight survived (all True in eval mode)
    row_sums: Tensor  # (..., T_q)  dropped.sum(-1): no longer 1 in train mode
    output: Tensor  # (..., T_q, d_v)  dropped @ value
    p: float
    train: bool


def dropout_attention(trace: AttentionTrace, p: float, *, seed: int = 0, train: bool = True) -> DroppedAttention:
    """Seed 003's ``torch.matmul(dropout(p_attn), v)`` on a trace's weights and values."""
    dropped = dropout_weights(trace.weights, p, seed=seed, train=train)
    if train and p > 0:
        kept = _keep(trace.weights, float(p), seed).bool()  # the same draw dropout_weights made
    else:
        kept = torch.ones_like(trace.weights, dtype=torch.bool)
    return DroppedAttention(
        weights=trace.weights,
        dropped=dropped,
        kept=kept,
        row_sums=dropped.sum(dim=-1),
        output=dropped @ trace.value.to(dropped.dtype),
        p=float(p),
        train=bool(train),
    )
