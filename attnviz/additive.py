"""Additive (Bahdanau / d2l) attention scoring in the project's ``x @ W`` orientation.

``score(q_i, k_j) = tanh(q_i W_q + k_j W_k) · w_v`` with ``W_q`` (d_q, h), ``W_k`` (d_k, h), ``w_v`` (h,). Queries
and keys may have different widths; there is no scaling. Masking and softmax are :func:`attnviz.attend`'s own
(:func:`attnviz.attention.trace_from_scores`: masked weight 0, a fully masked row all 0 and flagged), so the result
is an ordinary AttentionTrace.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn

from attnviz.attention import AttentionTrace, check_finite, trace_from_scores
from attnviz.modules import seeded_generator, uniform_init

__all__ = ["AdditiveAttention"]


def _as_float(name: str, value: object, dim: int) -> Tensor:
    t = value.detach().clone() if isinstance(value, Tensor) else torch.tensor(np.asarray(value))
    if not t.is_floating_point():
        t = t.float()
    if t.dim() != dim:
        want = "a vector (1-D)" if dim == 1 else "a matrix (2-D)"
        raise ValueError(f"{name} must be {want}, got shape {tuple(t.shape)}")
    check_finite(name, t)
    return t


class AdditiveAttention(nn.Module):
    """Additive attention: ``scores[i, j] = tanh(q_i W_q + k_j W_k) · w_v``, softmax over keys, times V.

    ``AdditiveAttention(d_q, d_k, hidden, seed=0)`` draws ``W_q``, ``W_k``, ``w_v`` uniformly in ±1/√fan_in
    (as ``nn.Linear`` initialises, reproducibly from ``seed``); :meth:`from_matrices` takes hand-set ones.
    """

    def __init__(self, d_q: int, d_k: int, hidden: int, *, seed: int | None = 0):
        super().__init__()
        for name, size in (("d_q", d_q), ("d_k", d_k), ("hidden", hidden)):
            if isinstance(size, bool) or int(size) != size or int(size) < 1:
                raise ValueError(f"{name}={size!r} must be a whole number >= 1")
        d_q, d_k, hidden = int(d_q), int(d_k), int(hidden)
        generator = seeded_generator(seed)
        self.w_q = nn.Parameter(uniform_init((d_q, hidden), 1.0 / math.sqrt(d_q), generator))
        self.w_k = nn.Parameter(uniform_init((d_k, hidden), 1.0 / math.sqrt(d_k), generator))
        self.w_v = nn.Parameter(uniform_init((hidden,), 1.0 / math.sqrt(hidden), generator))

    @classmethod
    def from_matrices(cls, w_q: Tensor, w_k: Tensor, w_v: Tensor) -> AdditiveAttention:
        """Hand-set weights: ``w_q`` (d_q, h), ``w_k`` (d_k, h), ``w_v`` (h,)."""
        w_q = _as_float("W_q", w_q, 2)
        w_k = _as_float("W_k", w_k, 2)
        w_v = _as_float("w_v", w_v, 1)
        h = w_q.shape[1]
        if w_k.shape[1] != h:
            raise ValueError(f"W_k must have h={h} columns like W_q {tuple(w_q.shape)}, got {tuple(w_k.shape)}")
        if w_v.shape[0] != h:
            raise ValueError(f"w_v must have shape ({h},) to match W_q {tuple(w_q.shape)}, got {tuple(w_v.shape)}")
        if 0 in (w_q.shape[0], w_k.shape[0], h):
            raise ValueError(f"W_q {tuple(w_q.shape)} and W_k {tuple(w_k.shape)} must not have an empty axis")
        dtype = torch.promote_types(torch.promote_types(w_q.dtype, w_k.dtype), w_v.dtype)
        module = cls(w_q.shape[0], w_k.shape[0], h, seed=0)
        module.w_q = nn.Parameter(w_q.to(dtype))
        module.w_k = nn.Parameter(w_k.to(dtype))
        module.w_v = nn.Parameter(w_v.to(dtype))
        return module

    @property
    def hidden(self) -> int:
        return self.w_v.shape[0]

    def score(self, query: Tensor, key: Tensor) -> Tensor:
        """``tanh(q W_q + k W_k) · w_v``: query ``(..., T_q, d_q)``, key ``(..., T_k, d_k)`` → ``(..., T_q, T_k)``."""
        for name, x, w in (("query", query, self.w_q), ("key", key, self.w_k)):
            if x.dim() < 2:
                raise ValueError(f"{name} must have shape (..., T, d), got {tuple(x.shape)}")
            if x.shape[-1] != w.shape[0]:
                raise ValueError(
                    f"{name} has width {x.shape[-1]} but W_{name[0]} has {w.shape[0]} rows "
                    f"({name} {tuple(x.shape)}, W_{name[0]} {tuple(w.shape)})"
                )
            check_finite(name, x)
        dtype = self.w_q.dtype
        q_h = query.to(dtype) @ self.w_q  # (..., T_q, h)
        k_h = key.to(dtype) @ self.w_k  # (..., T_k, h)
        features = torch.tanh(q_h.unsqueeze(-2) + k_h.unsqueeze(-3))  # (..., T_q, T_k, h)
        return features @ self.w_v  # (..., T_q, T_k)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        *,
        mask: Tensor | None = None,
        valid_lens: Tensor | None = None,
    ) -> AttentionTrace:
        """Additive attention of ``query`` over ``key``/``value`` (``(..., T_k, d_v)``); scale is 1."""
        if value.dim() < 2 or value.shape[-2] != key.shape[-2]:
            raise ValueError(
                f"value must have shape (..., T_k, d_v) with T_k={key.shape[-2]} like key, got {tuple(value.shape)}"
            )
        check_finite("value", value)
        scores = self.score(query, key)  # (..., T_q, T_k)
        return trace_from_scores(
            query, key, value.to(scores.dtype), scores, scale=1.0, mask=mask, valid_lens=valid_lens, score="additive"
        )
