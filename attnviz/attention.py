"""Scaled dot-product attention as a pure function that returns every intermediate.

Axis letters (used in every shape comment of the project): B batch, H heads, T_q / T_k query / key positions,
d_k query/key width, d_v value width, d_model model width, d_head = d_model / H.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import Tensor

from attnviz.i18n import gettext as _

__all__ = [
    "SCORES",
    "TRACE_FIELDS",
    "AttentionTrace",
    "attend",
    "attend_checked",
    "check_finite",
    "check_temperature",
    "largest_magnitude",
    "lengths_to_mask",
    "trace_from_scores",
]


@dataclass(frozen=True)
class AttentionTrace:
    """Every step of ``softmax(scale · score(q, k) / temperature, masked) · v``, named once.

    Rows are queries, columns are keys, everywhere. What the trace shares instead of copying (it is read-only by
    convention, not by a lock): ``query``, ``key`` and ``value`` are the tensors the caller passed (the same objects
    when they were tensors); when nothing is masked and the temperature is 1, ``masked`` is ``scaled`` (the same
    tensor), and ``mask`` / ``fully_masked`` are broadcast views of a single boolean. Every other field is a new
    tensor. Change an input in place after the call and the trace's ``query``/``key``/``value`` change with it.
    """

    query: Tensor  # (..., T_q, d_k)
    key: Tensor  # (..., T_k, d_k)
    value: Tensor  # (..., T_k, d_v)
    scores: Tensor  # (..., T_q, T_k)  score(q, k) before scaling: q·kᵀ ("dot") or the cosine ("cosine")
    scale: float | Tensor  # the factor the scores were multiplied by (1/√d_k for "dot", 1 for "cosine", unless chosen)
    scaled: Tensor  # (..., T_q, T_k)  scale · scores
    mask: Tensor  # (..., T_q, T_k)  bool, True = may attend (all True when nothing was masked)
    masked: Tensor  # (..., T_q, T_k)  the softmax's input: scaled / temperature, -inf (or fill_value) where masked
    weights: Tensor  # (..., T_q, T_k)  softmax over keys; a fully masked row is all 0 (when fill_value is None)
    output: Tensor  # (..., T_q, d_v)  weights · value
    fully_masked: Tensor  # (..., T_q)  bool, True where a query may attend to no key (every key masked, or T_k = 0)
    score: str = "dot"  # the score function: "dot" (q·k) or "cosine" (q·k / (‖q‖ ‖k‖))
    temperature: float = 1.0  # τ: the weights are softmax(scaled / τ)
    fill_value: float | None = None  # None: exact masking; a number: masked_fill(value) before the softmax

    @property
    def any_fully_masked(self) -> bool:
        return bool(self.fully_masked.any())


# The names pages and figures may use; pinned by tests/test_attention.py.
TRACE_FIELDS = tuple(f.name for f in fields(AttentionTrace))

SCORES = ("dot", "cosine")
"""The score functions :func:`attend` offers."""


def check_finite(name: str, tensor: Tensor, *, overflow: bool = False) -> None:
    """Raise ``ValueError`` naming the first non-finite entry of ``tensor``.

    ``overflow=True`` says the tensor was computed from finite inputs, so the values were too large.
    """
    _largest_finite(name, tensor, overflow=overflow)


def check_temperature(temperature: float) -> float:
    """``temperature`` as a float, or ``ValueError`` quoting it unless it is finite and greater than 0."""
    try:
        value = float(temperature)
    except (TypeError, ValueError):
        raise ValueError(
            _("temperature must be a number greater than 0, got {temperature}").format(temperature=repr(temperature))
        ) from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(
            _("temperature must be finite and greater than 0, got {temperature}").format(temperature=repr(temperature))
        )
    return value


def lengths_to_mask(valid_lens: Tensor, batch_shape: tuple[int, ...], t_q: int, t_k: int) -> Tensor:
    """d2l's ``valid_lens`` as a boolean mask broadcastable to ``(*batch_shape, T_q, T_k)``.

    1-D ``valid_lens`` has one length per row of the first batch axis (every query of that row sees the first
    ``len`` keys); 2-D has one length per (row, query): shape ``(B, T_q)``.
    """
    valid_lens = torch.as_tensor(valid_lens)
    if valid_lens.is_floating_point() and not bool((valid_lens == valid_lens.round()).all()):
        raise ValueError(_("valid_lens must be whole numbers, got {valid_lens}").format(valid_lens=valid_lens.tolist()))
    valid_lens = valid_lens.long()
    if not batch_shape:
        raise ValueError(_("valid_lens needs a batch axis: give inputs of shape (B, T, d)"))
    b = batch_shape[0]
    inner = (1,) * (len(batch_shape) - 1)  # axes between B and T_q (e.g. H)
    if valid_lens.dim() == 1:
        if valid_lens.shape[0] != b:
            raise ValueError(
                _("valid_lens has {entries} entries but the batch has B={b} rows").format(
                    entries=valid_lens.shape[0], b=b
                )
            )
        lens = valid_lens.reshape(b, *inner, 1, 1)  # (B, 1.., 1, 1)
    elif valid_lens.dim() == 2:
        if tuple(valid_lens.shape) != (b, t_q):
            raise ValueError(
                _("2-D valid_lens must have shape (B, T_q) = ({b}, {t_q}), got {valid_lens_shape}").format(
                    b=b, t_q=t_q, valid_lens_shape=tuple(valid_lens.shape)
                )
            )
        lens = valid_lens.reshape(b, *inner, t_q, 1)  # (B, 1.., T_q, 1)
    else:
        raise ValueError(_("valid_lens must be 1-D or 2-D, got {dims}-D").format(dims=valid_lens.dim()))
    if bool((lens < 0).any()):
        raise ValueError(_("valid_lens must be >= 0, got {valid_lens}").format(valid_lens=valid_lens.tolist()))
    return torch.arange(t_k, device=lens.device) < lens  # (B, 1.., T_q or 1, T_k)


def attend(
    query: ArrayLike,
    key: ArrayLike,
    value: ArrayLike,
    *,
    mask: ArrayLike | None = None,
    valid_lens: ArrayLike | None = None,
    scale: float | Tensor | None = None,
    score: str = "dot",
    temperature: float = 1.0,
    fill_value: float | None = None,
) -> AttentionTrace:
    """Scaled dot-product attention, explicit step by step, returning an :class:`AttentionTrace`.

    Shapes: query ``(..., T_q, d_k)``, key ``(..., T_k, d_k)``, value ``(..., T_k, d_v)``; their batch axes must
    broadcast. Tensors are used as they are; numpy arrays and nested lists of floats are converted with
    ``torch.as_tensor``. ``scale=None`` is 1/√d_k for ``score="dot"`` (as ``scaled_dot_product_attention``) and 1
    for ``"cosine"``; ``scale=1.0`` is the unscaled form, ``scale=0`` gives uniform weights (as SDPA does); a
    tensor ``scale`` keeps its gradient. ``temperature`` τ > 0 divides the scaled scores before the softmax.
    ``mask`` is boolean, broadcastable to ``(..., T_q, T_k)``, True = may attend. ``valid_lens`` is d2l's lengths
    (see :func:`lengths_to_mask`); both may be given and are combined.

    ``fill_value=None`` masks exactly: a masked key gets weight exactly 0, and a query that may attend to no key
    (every key masked, or ``T_k = 0``) gets weights 0 and output 0 and is flagged in ``fully_masked``. A number
    reproduces the tutorials' ``masked_fill(scores, fill_value)`` before the softmax: with d2l's ``-1e6`` a fully
    masked row becomes uniform, with ``0`` a masked key still gets weight (flagged rows are then not zeroed).
    Inputs are never modified; see :class:`AttentionTrace` for what the trace shares with them.
    """
    query, key, value = (_as_input(name, t) for name, t in (("query", query), ("key", key), ("value", value)))
    _check_shapes(query, key, value)
    largest_q = _largest_finite("query", query)
    largest_k = _largest_finite("key", key)
    _largest_finite("value", value)
    return attend_checked(
        query,
        key,
        value,
        qk_bound=largest_q * largest_k,
        mask=mask,
        valid_lens=valid_lens,
        scale=scale,
        score=score,
        temperature=temperature,
        fill_value=fill_value,
    )


def attend_checked(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    *,
    qk_bound: float,
    mask: ArrayLike | None = None,
    valid_lens: ArrayLike | None = None,
    scale: float | Tensor | None = None,
    score: str = "dot",
    temperature: float = 1.0,
    fill_value: float | None = None,
) -> AttentionTrace:
    """:func:`attend` for tensors the caller already checked: shapes valid, every entry finite, and
    ``max|query| · max|key| ≤ qk_bound`` (:func:`largest_magnitude` gives each factor in one pass).

    For modules that know these bounds from their own projections, so the inputs need no second pass.
    """
    if score not in SCORES:
        raise ValueError(_("score must be one of {scores}, got {score}").format(scores=SCORES, score=repr(score)))
    temperature = check_temperature(temperature)
    fill_value = _check_fill_value(fill_value)
    d_k = query.shape[-1]
    scale, scale_value = _check_scale(scale, 1.0 if score == "cosine" else 1.0 / math.sqrt(d_k))

    if score == "cosine":
        scores = _unit_rows(query) @ _unit_rows(key).transpose(-2, -1)  # (..., T_q, T_k), each in [-1, 1]
        score_bound = 1.0
    else:
        scores = query @ key.transpose(-2, -1)  # (..., T_q, T_k)
        score_bound = qk_bound * d_k
    scaled = scores * scale  # (..., T_q, T_k)
    logits = scaled if temperature == 1.0 else scaled / temperature  # (..., T_q, T_k)
    limit = score_bound * max(scale_value, 1.0) * max(1.0 / temperature, 1.0)
    if not limit < torch.finfo(scores.dtype).max / 4 and not math.isfinite(largest_magnitude(logits)):
        check_finite("the scores q·kᵀ", scores, overflow=True)
        check_finite("the scaled scores", scaled, overflow=True)
        check_finite("the scores divided by the temperature", logits, overflow=True)

    return _normalise(
        query, key, value, scores, scale, scaled, logits, mask, valid_lens, score, temperature, fill_value
    )


def trace_from_scores(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    scores: Tensor,
    *,
    scale: float | Tensor = 1.0,
    mask: ArrayLike | None = None,
    valid_lens: ArrayLike | None = None,
    score: str = "dot",
    temperature: float = 1.0,
    fill_value: float | None = None,
) -> AttentionTrace:
    """An :class:`AttentionTrace` for scores from any scoring function (additive attention's, say), scaled,
    masked and normalised exactly as :func:`attend` does it. ``scores`` is ``(..., T_q, T_k)``; ``score`` names
    the scoring function in the trace."""
    if not isinstance(scores, Tensor) or scores.dim() < 2:
        raise ValueError(
            _("scores must be a tensor of shape (..., T_q, T_k), got {scores_shape}").format(
                scores_shape=getattr(scores, "shape", scores)
            )
        )
    if value.shape[-2] != scores.shape[-1]:
        raise ValueError(
            _("scores have T_k={t_k} keys but value has {rows} rows").format(t_k=scores.shape[-1], rows=value.shape[-2])
        )
    temperature = check_temperature(temperature)
    fill_value = _check_fill_value(fill_value)
    scale, _value = _check_scale(scale, 1.0)
    scaled = scores * scale  # (..., T_q, T_k)
    logits = scaled if temperature == 1.0 else scaled / temperature  # (..., T_q, T_k)
    check_finite("the scores", logits, overflow=True)
    return _normalise(
        query, key, value, scores, scale, scaled, logits, mask, valid_lens, score, temperature, fill_value
    )


def _normalise(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    scores: Tensor,
    scale: float | Tensor,
    scaled: Tensor,
    logits: Tensor,
    mask: ArrayLike | None,
    valid_lens: ArrayLike | None,
    score: str,
    temperature: float,
    fill_value: float | None,
) -> AttentionTrace:
    """The one masking and softmax path: ``logits`` masked (exactly, or with ``fill_value``), softmax over keys,
    fully masked rows 0 and flagged when exact, the weighted sum, and the trace."""
    allowed = _allowed(mask, valid_lens, scores.shape, scores.device)  # (..., T_q, T_k) bool, or None
    t_k = scores.shape[-1]
    if allowed is None:
        # Nothing masked: views instead of full-size copies (the trace is read-only).
        allowed = torch.ones((), dtype=torch.bool, device=scores.device).expand(scores.shape)
        fully_masked = torch.full((), t_k == 0, dtype=torch.bool, device=scores.device).expand(scores.shape[:-1])
        masked = logits
        weights = torch.softmax(logits, dim=-1)  # (..., T_q, T_k)
    else:
        fill = float("-inf") if fill_value is None else float(fill_value)
        masked = logits.masked_fill(~allowed, fill)  # (..., T_q, T_k), a new tensor
        fully_masked = ~allowed.any(dim=-1)  # (..., T_q)
        weights = torch.softmax(masked, dim=-1)  # NaN on fully masked rows when exact, replaced next
        if fill_value is None and bool(fully_masked.any()):
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
        score=score,
        temperature=temperature,
        fill_value=fill_value,
    )


def largest_magnitude(tensor: Tensor) -> float:
    """``max |entry|`` in one pass: ``nan`` or ``inf`` when an entry is not finite, 0 for an empty tensor."""
    if tensor.numel() == 0:
        return 0.0
    low, high = (t.item() for t in torch.aminmax(tensor.detach()))  # both NaN when an entry is NaN
    return math.nan if math.isnan(low) or math.isnan(high) else max(-low, high)


def _as_input(name: str, tensor: ArrayLike) -> Tensor:
    if isinstance(tensor, Tensor):
        return tensor
    try:
        return torch.as_tensor(np.asarray(tensor))
    except (TypeError, ValueError, RuntimeError) as error:
        raise ValueError(
            _("{name} must be a tensor or an array of floats, got {tensor_type}").format(
                name=name, tensor_type=type(tensor).__name__
            )
        ) from error


def _check_scale(scale: float | Tensor | None, default: float) -> tuple[float | Tensor, float]:
    """``(scale to multiply by, its value as a float)``; a tensor scale stays a tensor (it keeps its gradient)."""
    if scale is None:
        return default, default
    if isinstance(scale, Tensor):
        if scale.numel() != 1:
            raise ValueError(
                _("scale must be a single number, got a tensor of shape {scale_shape}").format(
                    scale_shape=tuple(scale.shape)
                )
            )
        value = float(scale.detach())
    else:
        try:
            value = float(scale)
        except (TypeError, ValueError):
            raise ValueError(_("scale must be a number >= 0, got {scale}").format(scale=repr(scale))) from None
        scale = value
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(_("scale must be a finite number >= 0, got {value}").format(value=value))
    return scale, value


def _check_fill_value(fill_value: float | None) -> float | None:
    if fill_value is None:
        return None
    value = float(fill_value) if isinstance(fill_value, numbers.Real) else math.nan
    if not math.isfinite(value):
        raise ValueError(
            _("fill_value must be None or a finite number, got {fill_value}").format(fill_value=repr(fill_value))
        )
    return value


def _unit_rows(x: Tensor) -> Tensor:
    """Each row divided by its length; a row of length 0 stays 0 (so its cosine with anything is 0)."""
    norms = torch.linalg.vector_norm(x, dim=-1, keepdim=True)  # (..., T, 1)
    return x / norms.clamp_min(torch.finfo(x.dtype).tiny)


def _allowed(
    mask: ArrayLike | None, valid_lens: ArrayLike | None, shape: torch.Size, device: torch.device
) -> Tensor | None:
    """The boolean ``(..., T_q, T_k)`` of keys each query may attend to, or None when nothing is masked."""
    allowed = None
    if mask is not None:
        mask = torch.as_tensor(mask, device=device)
        if mask.dtype != torch.bool:
            raise ValueError(
                _("mask must be boolean (True = may attend), got dtype {mask_dtype}").format(mask_dtype=mask.dtype)
            )
        if not _broadcasts_to(mask.shape, shape):
            raise ValueError(
                _("mask of shape {mask_shape} does not broadcast to scores {shape}").format(
                    mask_shape=tuple(mask.shape), shape=tuple(shape)
                )
            )
        allowed = mask.expand(shape)
    if valid_lens is not None:
        by_length = lengths_to_mask(valid_lens, tuple(shape[:-2]), shape[-2], shape[-1]).to(device)
        allowed = by_length.expand(shape) if allowed is None else allowed & by_length
    return allowed


def _largest_finite(name: str, tensor: Tensor, *, overflow: bool = False) -> float:
    """:func:`largest_magnitude`, raising like :func:`check_finite` when an entry is not finite."""
    largest = largest_magnitude(tensor)
    if not math.isfinite(largest):
        index = tuple(int(i) for i in (~torch.isfinite(tensor)).nonzero()[0])
        value = tensor[index].item()
        if overflow:
            raise ValueError(
                _("{name} overflowed: entry {index} is {value} — the inputs are too large for {tensor_dtype}").format(
                    name=name, index=index, value=value, tensor_dtype=tensor.dtype
                )
            )
        raise ValueError(
            _("{name} has a non-finite value {value} at index {index}").format(name=name, value=value, index=index)
        )
    return largest


def _broadcasts_to(shape: torch.Size, target: torch.Size) -> bool:
    try:
        return torch.broadcast_shapes(shape, target) == target
    except RuntimeError:
        return False


def _check_shapes(query: Tensor, key: Tensor, value: Tensor) -> None:
    for name, tensor in (("query", query), ("key", key), ("value", value)):
        if tensor.dim() < 2:
            raise ValueError(
                _("{name} must have shape (..., T, d), got {tensor_shape}").format(
                    name=name, tensor_shape=tuple(tensor.shape)
                )
            )
        if not tensor.is_floating_point():
            raise ValueError(
                _("{name} must be a float tensor, got dtype {tensor_dtype}").format(
                    name=name, tensor_dtype=tensor.dtype
                )
            )
    if query.shape[-1] == 0:
        raise ValueError(
            _("query has width d_k=0 (shape {query_shape}): there is nothing to compare").format(
                query_shape=tuple(query.shape)
            )
        )
    if query.shape[-1] != key.shape[-1]:
        raise ValueError(
            _("query width d_k={d_q} differs from key width {d_k} (query {query_shape}, key {key_shape})").format(
                d_q=query.shape[-1], d_k=key.shape[-1], query_shape=tuple(query.shape), key_shape=tuple(key.shape)
            )
        )
    if key.shape[-2] != value.shape[-2]:
        raise ValueError(
            _("key has T_k={t_k} positions but value has {t_v} (key {key_shape}, value {value_shape})").format(
                t_k=key.shape[-2], t_v=value.shape[-2], key_shape=tuple(key.shape), value_shape=tuple(value.shape)
            )
        )
    try:
        torch.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    except RuntimeError:
        raise ValueError(
            _(
                "the batch axes of query {query_shape}, key {key_shape} and value {value_shape} do not broadcast: "
                "every axis before (T, d) must match or be 1"
            ).format(query_shape=tuple(query.shape), key_shape=tuple(key.shape), value_shape=tuple(value.shape))
        ) from None
    if not (query.dtype == key.dtype == value.dtype):
        raise ValueError(
            _("query, key, value dtypes differ: {query_dtype}, {key_dtype}, {value_dtype}").format(
                query_dtype=query.dtype, key_dtype=key.dtype, value_dtype=value.dtype
            )
        )
