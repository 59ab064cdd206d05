"""Why attention divides by √d_k: an experiment on random queries and keys, scaled and unscaled.

With q, k of d_k independent unit-variance entries, q·k has mean 0 and variance d_k, so raw scores spread like
√d_k; the softmax of wide scores is nearly one-hot, and its Jacobian ``diag(p) − p pᵀ`` tends to 0 (the
gradient vanishes). Dividing by √d_k keeps the scores' variance at 1 for every d_k.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import Tensor

from attnviz.stats import row_entropy

__all__ = [
    "MAX_D_K",
    "ScalingPoint",
    "dot_product_samples",
    "scaling_experiment",
    "softmax_jacobian_norm",
]

MAX_D_K = 1024
"""Largest d_k the experiment accepts (the lab page's slider range is 1…1024)."""


@dataclass(frozen=True)
class ScalingPoint:
    """The statistics at one d_k; ``*_unscaled`` use scores q·k, ``*_scaled`` use q·k / √d_k."""

    d_k: int
    variance_unscaled: float  # sample variance of q·k (closed form: d_k)
    variance_scaled: float  # sample variance of q·k / √d_k (closed form: 1)
    max_weight_unscaled: float  # mean over query rows of the largest softmax weight
    max_weight_scaled: float
    entropy_unscaled: float  # mean row entropy of the weights, bits (uniform over T_k keys: log2 T_k)
    entropy_scaled: float
    jacobian_unscaled: float  # mean Frobenius norm of ∂softmax/∂logits at the row's logits
    jacobian_scaled: float


def _check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name}={value!r} must be a whole number")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValueError(f"{name}={value!r} must be {bound}")
    return int(value)


def _draw(d_k: int, num_queries: int, num_keys: int, seed: int) -> tuple[Tensor, Tensor]:
    """q ``(N, 1, d_k)``, k ``(N, T_k, d_k)``: standard normal entries, float64, reproducible from ``seed``.

    Each query gets keys of its own, so all N·T_k dot products are identically distributed with variance d_k
    (shared keys would make the sample variance at small d_k depend on those few keys).
    """
    generator = torch.Generator().manual_seed(seed)
    q = torch.randn(num_queries, 1, d_k, generator=generator, dtype=torch.float64)  # (N, 1, d_k)
    k = torch.randn(num_queries, num_keys, d_k, generator=generator, dtype=torch.float64)  # (N, T_k, d_k)
    return q, k


def dot_product_samples(d_k: int, *, num_queries: int = 64, num_keys: int = 16, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Raw scores ``(N, T_k)`` (row n: query n against its own T_k keys) and the scaled ones, ÷ √d_k, float64:
    the histogram's data for one d_k."""
    d_k = _check_int("d_k", d_k, 1, MAX_D_K)
    num_queries = _check_int("num_queries", num_queries, 1)
    num_keys = _check_int("num_keys", num_keys, 1)
    q, k = _draw(d_k, num_queries, num_keys, int(seed))
    raw = (q @ k.transpose(-2, -1)).squeeze(-2)  # (N, 1, T_k) -> (N, T_k)
    return raw, raw / math.sqrt(d_k)


def softmax_jacobian_norm(logits: Tensor) -> Tensor:
    """Frobenius norm of the Jacobian of ``softmax`` at each row of ``logits`` ``(N, T_k)``, by autograd: ``(N,)``.

    The Jacobian of row n is ``∂p/∂z`` (T_k × T_k) at ``z = logits[n]``; torch.func's jacrev computes it.
    """
    if logits.dim() != 2:
        raise ValueError(f"logits must have shape (N, T_k), got {tuple(logits.shape)}")
    jac = torch.func.vmap(torch.func.jacrev(lambda z: torch.softmax(z, dim=-1)))(logits)  # (N, T_k, T_k)
    return jac.flatten(1).norm(dim=-1)


def scaling_experiment(
    d_ks: Iterable[int], *, num_queries: int = 256, num_keys: int = 16, seed: int = 0
) -> list[ScalingPoint]:
    """For each d_k: draw ``num_queries`` queries, each with ``num_keys`` keys of its own, entries unit-variance
    (one seed for every d_k), and measure the scores, the softmax weights and their Jacobian, scaled by 1/√d_k
    and unscaled. Computed in float64.
    """
    num_queries = _check_int("num_queries", num_queries, 2)
    num_keys = _check_int("num_keys", num_keys, 2)
    d_ks = [_check_int("d_k", d, 1, MAX_D_K) for d in d_ks]
    if not d_ks:
        raise ValueError("d_ks is empty: give at least one d_k")
    points = []
    for d_k in d_ks:
        raw, scaled = dot_product_samples(d_k, num_queries=num_queries, num_keys=num_keys, seed=int(seed))
        stats = {}
        for name, logits in (("unscaled", raw), ("scaled", scaled)):
            weights = torch.softmax(logits, dim=-1)  # (N, T_k)
            stats[f"variance_{name}"] = float(logits.var())
            stats[f"max_weight_{name}"] = float(weights.max(dim=-1).values.mean())
            stats[f"entropy_{name}"] = float(row_entropy(weights).mean())
            stats[f"jacobian_{name}"] = float(softmax_jacobian_norm(logits).mean())
        points.append(ScalingPoint(d_k=d_k, **stats))
    return points
