"""Scaled dot-product attention as a pure function that returns every intermediate.

Axis letters (used in every shape comment of the project): B batch, H heads, T_q / T_k query / key positions,
d_k query/key width, d_v value width, d_model model width, d_head = d_model / H.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch
from torch import Tensor

__all__ = ["TRACE_FIELDS", "AttentionTrace", "attend", "check_finite", "lengths_to_mask"]


@dataclass(frozen=True)
class AttentionTrace:
    """Every step of ``softmax(scale · q·kᵀ, masked) · v``, named once.

    Rows are queries, columns are keys, everywhere.
    """

    query: Tensor  # (..., T_q, d_k)
    key: Tensor  # (..., T_k, d_k)
    value: Tensor  # (..., T_k, d_v)
    scores: Tensor  # (..., T_q, T_k)  q·kᵀ before scaling
    scale: float  # the factor the scores were multiplied by (1/√d_k unless chosen)
    scaled: Tensor  # (..., T_q, T_k)  scale · scores
    mask: Tensor  # (..., T_q, T_k)  bool, True = may attend (all True when nothing was masked)
    masked: Tensor  # (..., T_q, T_k)  scaled, with -inf where mask is False
    weights: Tensor  # (..., T_q, T_k)  softmax over keys; a fully masked row is all 0
    output: Tensor  # (..., T_q, d_v)  weights · value
    fully_masked: Tensor  # (..., T_q)  bool, True where a query may attend to no key

    @property
    def any_fully_masked(self) -> bool:
        return bool(self.fully_masked.any())


# The names pages and figures may use; pinned by tests/test_attention.py.
TRACE_FIELDS = tuple(f.name for f in fields(AttentionTrace))


def check_finite(name: str, tensor: Tensor, *, overflow: bool = False) -> None:
    """Raise ``ValueError`` naming the first non-finite entry of ``tensor``.

    ``overflow=True`` says the tensor was computed from finite inputs, so the values were too large.
    """
    _largest_finite(name, tensor, overflow=overflow)


def lengths_to_mask(valid_lens: Tensor, batch_shape: tuple[int, ...], t_q: int, t_k: int) -> Tensor:
    """d2l's ``valid_lens`` as a boolean mask broadcastable to ``(*batch_shape, T_q, T_k)``.

    1-D ``valid_lens`` has one length per row of the first batch axis (every query of that row sees the first
    ``len`` keys); 2-D has one length per (row, query): shape ``(B, T_q)``.
    """
    valid_lens = torch.as_tensor(valid_lens)
    if valid_lens.is_floating_point() and not bool((valid_lens == valid_lens.round()).all()):
        raise ValueError(f"valid_lens must be whole numbers, got {valid_lens.tolist()}")
    valid_lens = valid_lens.long()
    if not batch_shape:
        raise ValueError("valid_lens needs a batch axis: give inputs of shape (B, T, d)")
    b = batch_shape[0]
    inner = (1,) * (len(batch_shape) - 1)  # axes between B and T_q (e.g. H)
    if valid_lens.dim() == 1:
        if valid_lens.shape[0] != b:
            raise ValueError(f"valid_lens has {valid_lens.shape[0]} entries but the batch has B={b} rows")
        lens = valid_lens.reshape(b, *inner, 1, 1)  # (B, 1.., 1, 1)
    elif valid_lens.dim() == 2:
        if tuple(valid_lens.shape) != (b, t_q):
            raise ValueError(f"2-D valid_lens must have shape (B, T_q) = ({b}, {t_q}), got {tuple(valid_lens.shape)}")
        lens = valid_lens.reshape(b, *inner, t_q, 1)  # (B, 1.., T_q, 1)
    else:
        raise ValueError(f"valid_lens must be 1-D or 2-D, got {valid_lens.dim()}-D")
    if bool((lens < 0).any()):
        raise ValueError(f"valid_lens must be >= 0, got {valid_lens.tolist()}")
    return torch.arange(t_k, device=lens.device) < lens  # (B, 1.., T_q or 1, T_k)


def attend(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    *,
    scale: float | None = None,
    mask: Tensor | None = None,
    valid_lens: Tensor | None = None,
) -> AttentionTrace:
    """Scaled dot-product attention, explicit step by step, returning an :class:`AttentionTrace`.

    Shapes: query ``(..., T_q, d_k)``, key ``(..., T_k, d_k)``, value ``(..., T_k, d_v)``.
    ``scale=None`` is 1/√d_k (as ``scaled_dot_product_attention``); ``scale=1.0`` is the unscaled form.
    ``mask`` is boolean, broadcastable to ``(..., T_q, T_k)``, True = may attend. ``valid_lens`` is d2l's
    lengths (see :func:`lengths_to_mask`); both may be given and are combined. A query that may attend to no
    key gets weights 0 and output 0 and is flagged in ``fully_masked``. Inputs are never modified.
    """
    _check_shapes(query, key, value)
    largest_q = _largest_finite("query", query)
    largest_k = _largest_finite("key", key)
    _largest_finite("value", value)
    return _attend(query, key, value, scale=scale, mask=mask, valid_lens=valid_lens, qk_bound=largest_q * largest_k)


def _attend(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    *,
    scale: float | None,
    mask: Tensor | None,
    valid_lens: Tensor | None,
    qk_bound: float,
) -> AttentionTrace:
    """:func:`attend` for inputs already checked finite, with ``max|query| · max|key| ≤ qk_bound``."""
    d_k = query.shape[-1]
    if scale is None:
        scale = 1.0 / math.sqrt(d_k)
    scale = float(scale)
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive finite number, got {scale}")

    scores = query @ key.transpose(-2, -1)  # (..., T_q, T_k)
    scaled = scores * scale  # (..., T_q, T_k)
    if not _cannot_overflow(qk_bound, d_k, scale, scores.dtype) and not math.isfinite(_largest_magnitude(scaled)):
        check_finite("the scores q·kᵀ", scores, overflow=True)
        check_finite("the scaled scores", scaled, overflow=True)

    t_q, t_k = scores.shape[-2], scores.shape[-1]
    allowed = None  # (..., T_q, T_k) bool, built only when something is masked
    if mask is not None:
        mask = torch.as_tensor(mask, device=scores.device)
        if mask.dtype != torch.bool:
            raise ValueError(f"mask must be boolean (True = may attend), got dtype {mask.dtype}")
        if not _broadcasts_to(mask.shape, scores.shape):
            raise ValueError(f"mask of shape {tuple(mask.shape)} does not broadcast to scores {tuple(scores.shape)}")
        allowed = mask.expand(scores.shape)
    if valid_lens is not None:
        by_length = lengths_to_mask(valid_lens, tuple(scores.shape[:-2]), t_q, t_k).to(scores.device)
        allowed = by_length.expand(scores.shape) if allowed is None else allowed & by_length

    if allowed is None:
        # Nothing masked: views instead of full-size copies (the trace is read-only).
        allowed = torch.ones((), dtype=torch.bool, device=scores.device).expand(scores.shape)
        fully_masked = torch.zeros((), dtype=torch.bool, device=scores.device).expand(scores.shape[:-1])
        masked = scaled
        weights = torch.softmax(scaled, dim=-1)  # (..., T_q, T_k)
    else:
        masked = scaled.masked_fill(~allowed, float("-inf"))  # (..., T_q, T_k), a new tensor
        fully_masked = ~allowed.any(dim=-1)  # (..., T_q)
        weights = torch.softmax(masked, dim=-1)  # NaN on fully masked rows, replaced next
        if bool(fully_masked.any()):
            weights = weights.masked_fill(fully_masked.unsqueeze(-1), 0.0)
    output = weights @ value  # (..., T_q, d_v)
    return AttentionTrace(
        query=query,
        key=key,
        value=value,
        scores=scores,
        scale=scale,
        scaled=scaled,
        mask=allowed,
        masked=masked,
        weights=weights,
        output=output,
        fully_masked=fully_masked,
    )


def _largest_magnitude(tensor: Tensor) -> float:
    """``max |entry|`` in one pass: ``nan`` or ``inf`` when an entry is not finite, 0 for an empty tensor."""
    if tensor.numel() == 0:
        return 0.0
    low, high = (t.item() for t in torch.aminmax(tensor.detach()))  # both NaN when an entry is NaN
    return math.nan if math.isnan(low) or math.isnan(high) else max(-low, high)


def _cannot_overflow(qk_bound: float, d_k: int, scale: float, dtype: torch.dtype) -> bool:
    """True when ``|scale · q·k| ≤ scale · d_k · max|q| · max|k|`` is far below the dtype's largest value: then
    the (T_q × T_k) scores need no pass of their own to look for overflow."""
    return qk_bound * d_k * max(scale, 1.0) < torch.finfo(dtype).max / 4


def _largest_finite(name: str, tensor: Tensor, *, overflow: bool = False) -> float:
    """:func:`_largest_magnitude`, raising like :func:`check_finite` when an entry is not finite."""
    largest = _largest_magnitude(tensor)
    if not math.isfinite(largest):
        index = tuple(int(i) for i in (~torch.isfinite(tensor)).nonzero()[0])
        value = tensor[index].item()
        if overflow:
            raise ValueError(
                f"{name} overflowed: entry {index} is {value} — the inputs are too large for {tensor.dtype}"
            )
        raise ValueError(f"{name} has a non-finite value {value} at index {index}")
    return largest


def _broadcasts_to(shape: torch.Size, target: torch.Size) -> bool:
    try:
        return torch.broadcast_shapes(shape, target) == target
    except RuntimeError:
        return False


def _check_shapes(query: Tensor, key: Tensor, value: Tensor) -> None:
    for name, tensor in (("query", query), ("key", key), ("value", value)):
        if tensor.dim() < 2:
            raise ValueError(f"{name} must have shape (..., T, d), got {tuple(tensor.shape)}")
        if not tensor.is_floating_point():
            raise ValueError(f"{name} must be a float tensor, got dtype {tensor.dtype}")
    if query.shape[-1] == 0:
        raise ValueError(f"query has width d_k=0 (shape {tuple(query.shape)}): there is nothing to compare")
    if query.shape[-1] != key.shape[-1]:
        raise ValueError(
            f"query width d_k={query.shape[-1]} differs from key width {key.shape[-1]} "
            f"(query {tuple(query.shape)}, key {tuple(key.shape)})"
        )
    if key.shape[-2] != value.shape[-2]:
        raise ValueError(
            f"key has T_k={key.shape[-2]} positions but value has {value.shape[-2]} "
            f"(key {tuple(key.shape)}, value {tuple(value.shape)})"
        )
    if not (query.dtype == key.dtype == value.dtype):
        raise ValueError(f"query, key, value dtypes differ: {query.dtype}, {key.dtype}, {value.dtype}")
