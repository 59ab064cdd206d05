"""The explicit multi-head path checked against ``torch.nn.MultiheadAttention`` holding the same weights."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from attnviz.i18n import gettext as _
from attnviz.modules import MultiHeadAttention, MultiHeadTrace

__all__ = ["TOLERANCE", "TorchCheck", "check_against_torch"]

TOLERANCE = 1e-5
"""float32: differences below this (times the size of the values, when they exceed 1) are rounding."""


@dataclass(frozen=True)
class TorchCheck:
    """Largest differences between attnviz's trace and ``nn.MultiheadAttention`` on the same input and weights."""

    max_output_diff: float  # max |output − torch output| over (B, T_q, d_model)
    max_weight_diff: float  # max |weights − torch weights| over (B, H, T_q, T_k)
    output_scale: float  # max(1, max |torch output|): the output tolerance is TOLERANCE × this
    tolerance: float = TOLERANCE

    @property
    def output_ok(self) -> bool:
        return self.max_output_diff <= self.tolerance * self.output_scale

    @property
    def weights_ok(self) -> bool:
        return self.max_weight_diff <= self.tolerance

    @property
    def passed(self) -> bool:
        return self.output_ok and self.weights_ok


def check_against_torch(
    module: MultiHeadAttention,
    x: Tensor,
    trace: MultiHeadTrace,
    *,
    mask: Tensor | None = None,
    valid_lens: Tensor | None = None,
) -> TorchCheck:
    """Run ``x`` ``(B, T, d_model)`` through ``module.to_torch()`` and compare with ``trace`` (from ``module(x)``).

    ``mask`` ``(T_q, T_k)`` is boolean with True = may attend (torch's ``attn_mask`` is its negation);
    ``valid_lens`` ``(B,)`` marks keys at positions ``>= valid_lens[b]`` as padding (torch's ``key_padding_mask``).
    Give the same ``mask`` and ``valid_lens`` the trace was computed with: torch gets them directly, never from the
    trace. Every row is compared. Where torch finds no key to attend to it returns NaN; there the expected weights
    are 0 and the expected output is torch's output projection of a zero row (attnviz's documented answer).
    """
    if x.dim() != 3:
        raise ValueError(_("x must have shape (B, T, d_model), got {x_shape}").format(x_shape=tuple(x.shape)))
    b, t = x.shape[:2]
    reference = module.to_torch(batch_first=True)
    attn_mask = None if mask is None else ~torch.as_tensor(mask, dtype=torch.bool)  # True = may NOT attend
    padding = None
    if valid_lens is not None:
        lens = torch.as_tensor(valid_lens).reshape(b, 1)
        padding = torch.arange(t).reshape(1, t) >= lens  # (B, T_k), True = padding
    x = x.to(module.w_q.dtype)
    with torch.no_grad():
        out, weights = reference(
            x,
            x,
            x,
            need_weights=True,
            average_attn_weights=False,
            attn_mask=attn_mask,
            key_padding_mask=padding,
        )  # (B, T_q, d_model), (B, H, T_q, T_k)
        weights = weights.nan_to_num(nan=0.0)  # torch's NaN rows: no key to attend to
        no_key = out.isnan().any(dim=-1, keepdim=True)  # (B, T_q, 1)
        zero_row = reference.out_proj(torch.zeros(1, module.d_model, dtype=out.dtype))  # (1, d_model)
        out = torch.where(no_key, zero_row, out)
    ours_out = trace.output.reshape(out.shape)
    ours_w = trace.weights.reshape(weights.shape)
    out_diff = (ours_out - out).abs()
    w_diff = (ours_w - weights).abs()
    return TorchCheck(
        max_output_diff=_max(out_diff),
        max_weight_diff=_max(w_diff),
        output_scale=max(1.0, _max(out.abs())),
    )


def _max(t: Tensor) -> float:
    """The largest entry (NaN if any is NaN), 0 for an empty tensor."""
    if t.numel() == 0:
        return 0.0
    return float(t.max())  # torch's max is NaN when any entry is: one pass, not a NaN check and then a max
