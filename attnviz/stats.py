"""Summaries of attention weights that pages and the library share: entropy, effective keys, distance attended.

All functions take weights of shape (..., T_q, T_k) whose rows sum to 1 (or to 0 for a fully masked row) and reduce
the last axis; none changes its input.
"""

from __future__ import annotations

import torch
from torch import Tensor

from attnviz.i18n import gettext as _

__all__ = ["effective_keys", "mean_distance", "row_entropy", "token_similarity"]


def _check_weights(weights: Tensor) -> None:
    if not isinstance(weights, Tensor):
        raise ValueError(
            _("weights must be a torch.Tensor, got {weights_type}").format(weights_type=type(weights).__name__)
        )
    if weights.dim() < 2:
        raise ValueError(
            _("weights must have shape (..., T_q, T_k), got {weights_shape}").format(weights_shape=tuple(weights.shape))
        )


def row_entropy(weights: Tensor, *, base: float = 2.0) -> Tensor:
    """Entropy of each query row, in bits by default: ``-Σ_j w_ij log w_ij`` (0·log 0 = 0). Shape (..., T_q).

    A one-hot row has entropy 0, a uniform row over n keys has log_base(n); a fully masked row (all 0) has 0.
    """
    _check_weights(weights)
    if not base > 0 or base == 1:
        raise ValueError(_("base must be positive and not 1, got {base}").format(base=repr(base)))
    w = weights.to(torch.promote_types(weights.dtype, torch.float32))
    terms = torch.special.entr(w.clamp_min(0))  # -w·ln w, 0 where w = 0 (negative entries count as 0)
    return terms.sum(dim=-1) / torch.log(torch.tensor(base, dtype=w.dtype))


def effective_keys(weights: Tensor) -> Tensor:
    """How many keys a row effectively attends to: 2 ** (entropy in bits). 1 for one-hot, n for uniform over n.

    Shape (..., T_q); a fully masked row gives 1 (entropy 0), read it together with the trace's ``fully_masked``.
    """
    return torch.pow(2.0, row_entropy(weights, base=2.0))


def mean_distance(weights: Tensor) -> Tensor:
    """Expected |i − j| under each query row's weights: how far query i looks. Shape (..., T_q)."""
    _check_weights(weights)
    t_q, t_k = weights.shape[-2], weights.shape[-1]
    w = weights.to(torch.promote_types(weights.dtype, torch.float32))
    i = torch.arange(t_q, dtype=w.dtype).unsqueeze(-1)  # (T_q, 1)
    j = torch.arange(t_k, dtype=w.dtype).unsqueeze(0)  # (1, T_k)
    return (w * (i - j).abs()).sum(dim=-1)


def token_similarity(x: Tensor) -> Tensor:
    """Cosine similarity between every pair of token vectors: x (..., T, d) -> (..., T, T); 0 where a norm is 0."""
    if not isinstance(x, Tensor) or x.dim() < 2:
        raise ValueError(
            _("x must be a tensor of shape (..., T, d), got {x_shape}").format(
                x_shape=getattr(x, "shape", type(x).__name__)
            )
        )
    xf = x.to(torch.promote_types(x.dtype, torch.float32))
    norms = xf.norm(dim=-1, keepdim=True)  # (..., T, 1)
    unit = torch.where(norms > 0, xf / torch.where(norms > 0, norms, torch.ones_like(norms)), torch.zeros_like(xf))
    return unit @ unit.transpose(-2, -1)
