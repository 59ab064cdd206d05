"""Modules that hold weights and call :func:`attnviz.attend`; they never keep the last result on ``self``.

Weights are stored in the worked example's orientation, ``Q = X @ W_q`` with ``W_q`` of shape ``(d_in, d_out)``
(the transpose of ``nn.Linear.weight``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import TypeVar

import numpy as np
import torch
from torch import Tensor, nn

from attnviz.attention import AttentionTrace, attend, attend_checked, check_finite, largest_magnitude
from attnviz.i18n import gettext as _
from attnviz.validation import check_at_least_one

ArrayOrTensor = TypeVar("ArrayOrTensor", np.ndarray, Tensor)

__all__ = [
    "MULTIHEAD_TRACE_FIELDS",
    "MultiHeadAttention",
    "MultiHeadTrace",
    "SelfAttention",
    "head_slice",
    "merge_heads",
    "split_heads",
    "weights_as_numpy",
]


def uniform_init(shape: tuple[int, ...], bound: float, generator: torch.Generator) -> Tensor:
    """float32 entries uniform in ±bound, drawn in float64 from ``generator`` (as ``nn.Linear`` initialises)."""
    return (torch.rand(shape, generator=generator, dtype=torch.float64) * 2 - 1).mul(bound).float()


def _register_uniform(
    module: nn.Module,
    generator: torch.Generator,
    shapes: dict[str, tuple[int, ...]],
    bound: float,
    *,
    absent: bool = False,
) -> None:
    """One parameter per name, drawn uniform in ±bound in the order given (the seed's draws depend on it), or
    each registered as None when ``absent`` (no bias)."""
    for name, shape in shapes.items():
        if absent:
            module.register_parameter(name, None)
        else:
            setattr(module, name, nn.Parameter(uniform_init(shape, bound, generator)))


def seeded_generator(seed: int | None) -> torch.Generator:
    """A generator seeded with ``seed`` (a fresh random seed for None): the one source of every module's draws."""
    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(int(seed))
    return generator


def _as_tensor(value) -> Tensor:
    # A fresh copy: numpy arrays may be read-only (the examples are), which torch.as_tensor warns about.
    return value.detach().clone() if isinstance(value, Tensor) else torch.tensor(np.asarray(value))


def _as_matrix(name: str, value: Tensor, shape: tuple[int, int] | None = None) -> Tensor:
    value = _as_tensor(value)
    if not value.is_floating_point():
        value = value.float()
    if value.dim() != 2:
        raise ValueError(
            _("{name} must be a matrix (2-D), got shape {value_shape}").format(
                name=name, value_shape=tuple(value.shape)
            )
        )
    if shape is not None and tuple(value.shape) != shape:
        raise ValueError(
            _("{name} must have shape {shape}, got {value_shape}").format(
                name=name, shape=shape, value_shape=tuple(value.shape)
            )
        )
    return value


class SelfAttention(nn.Module):
    """Single-head self-attention: ``Q = X W_q + b_q``, ``K = X W_k + b_k``, ``V = X W_v + b_v``.

    ``SelfAttention(d_in, d_k, bias=True, seed=0)`` is the randomly initialised ("learned") variant, initialised
    as ``nn.Linear`` is (uniform in ±1/√d_in). :meth:`from_matrices` builds the hand-set one.

    ``tutorial_bug=True`` reproduces a tutorial's ``SelfAttention`` as written: ``k = self.q_linear(x)`` and
    ``v = self.q_linear(x)``, so K = V = Q, the scores Q·Qᵀ are symmetric and every token is drawn to itself.
    ``W_k``/``W_v`` are kept (and can be printed) but not used.
    """

    def __init__(
        self,
        d_in: int,
        d_k: int,
        *,
        d_v: int | None = None,
        bias: bool = True,
        seed: int | None = 0,
        tutorial_bug: bool = False,
    ):
        super().__init__()
        d_v = d_k if d_v is None else d_v
        d_in, d_k, d_v = (check_at_least_one(name, size) for name, size in (("d_in", d_in), ("d_k", d_k), ("d_v", d_v)))
        if tutorial_bug and d_v != d_k:
            raise ValueError(
                _("tutorial_bug=True uses W_q for the values, so d_v={d_v} must equal d_k={d_k}").format(
                    d_v=d_v, d_k=d_k
                )
            )
        self.tutorial_bug = bool(tutorial_bug)
        generator = seeded_generator(seed)
        bound = 1.0 / math.sqrt(d_in)
        weights = {"w_q": (d_in, d_k), "w_k": (d_in, d_k), "w_v": (d_in, d_v)}
        biases = {"b_q": (d_k,), "b_k": (d_k,), "b_v": (d_v,)}
        _register_uniform(self, generator, weights, bound)
        _register_uniform(self, generator, biases, bound, absent=not bias)

    @classmethod
    def from_matrices(
        cls,
        w_q: Tensor,
        w_k: Tensor,
        w_v: Tensor,
        b_q: Tensor | None = None,
        b_k: Tensor | None = None,
        b_v: Tensor | None = None,
        *,
        tutorial_bug: bool = False,
    ) -> SelfAttention:
        """Hand-set weights, each ``(d_in, d_out)`` and of one dtype; biases optional (all or none)."""
        w_q = _as_matrix("W_q", w_q)
        d_in, d_k = w_q.shape
        w_k = _as_matrix("W_k", w_k, (d_in, d_k))
        w_v = _as_matrix("W_v", w_v)
        if w_v.shape[0] != d_in:
            raise ValueError(
                _("W_v must have {d_in} rows like W_q, got shape {w_v_shape}").format(
                    d_in=d_in, w_v_shape=tuple(w_v.shape)
                )
            )
        if not (w_q.dtype == w_k.dtype == w_v.dtype):
            raise ValueError(
                _(
                    "W_q, W_k, W_v must have one dtype, got {w_q_dtype}, {w_k_dtype}, {w_v_dtype}: convert them to "
                    "one dtype first"
                ).format(w_q_dtype=w_q.dtype, w_k_dtype=w_k.dtype, w_v_dtype=w_v.dtype)
            )
        biases = (b_q, b_k, b_v)
        has_bias = any(b is not None for b in biases)
        if has_bias and any(b is None for b in biases):
            raise ValueError(_("give all three biases b_q, b_k, b_v or none"))
        module = cls(d_in, d_k, d_v=w_v.shape[1], bias=has_bias, seed=0, tutorial_bug=tutorial_bug)
        with torch.no_grad():
            module.w_q = nn.Parameter(w_q)
            module.w_k = nn.Parameter(w_k)
            module.w_v = nn.Parameter(w_v)
            if has_bias:
                for name, b, size in (("b_q", b_q, d_k), ("b_k", b_k, d_k), ("b_v", b_v, w_v.shape[1])):
                    b = _as_tensor(b).to(w_q.dtype)
                    if tuple(b.shape) != (size,):
                        raise ValueError(
                            _("{name} must have shape ({size},), got {b_shape}").format(
                                name=name, size=size, b_shape=tuple(b.shape)
                            )
                        )
                    setattr(module, name, nn.Parameter(b))
        return module

    @property
    def d_in(self) -> int:
        return self.w_q.shape[0]

    def project(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``(Q, K, V)`` for ``x`` of shape ``(..., T, d_in)``."""
        if x.shape[-1] != self.d_in:
            raise ValueError(
                _(
                    "X has width {width} but W_q has {d_in} rows (X {x_shape}, W_q {w_q_shape}): X's columns must "
                    "match W's rows"
                ).format(width=x.shape[-1], d_in=self.d_in, x_shape=tuple(x.shape), w_q_shape=tuple(self.w_q.shape))
            )
        x = x.to(self.w_q.dtype)
        q = x @ self.w_q  # (..., T, d_k)
        if self.b_q is not None:
            q = q + self.b_q
        if self.tutorial_bug:  # k = self.q_linear(x); v = self.q_linear(x)
            k, v = q, q  # (..., T, d_k)
        else:
            k = x @ self.w_k  # (..., T, d_k)
            v = x @ self.w_v  # (..., T, d_v)
            if self.b_q is not None:
                k, v = k + self.b_k, v + self.b_v
        check_finite("X", x)
        for name, t in (("Q = X·W_q", q), ("K = X·W_k", k), ("V = X·W_v", v)):
            check_finite(name, t, overflow=True)
        return q, k, v

    def forward(
        self,
        x: Tensor,
        *,
        mask: Tensor | None = None,
        valid_lens: Tensor | None = None,
        scale: float | Tensor | None = None,
        score: str = "dot",
        temperature: float = 1.0,
        fill_value: float | None = None,
    ) -> AttentionTrace:
        """Attention of ``x`` (``(..., T, d_in)``) over itself; the options are :func:`attnviz.attend`'s."""
        q, k, v = self.project(x)
        return attend(
            q,
            k,
            v,
            mask=mask,
            valid_lens=valid_lens,
            scale=scale,
            score=score,
            temperature=temperature,
            fill_value=fill_value,
        )


@dataclass(frozen=True)
class MultiHeadTrace:
    """Every step of multi-head attention. ``B`` is absent when the input was unbatched ``(T, d_model)``.

    Like :class:`~attnviz.attention.AttentionTrace` it shares rather than copies: ``query``/``key``/``value`` are
    views of the projections, and ``masked`` is ``scaled`` when nothing was masked.
    """

    q_proj: Tensor  # (B, T_q, d_model)  query @ W_q + b_q, before the split into heads
    k_proj: Tensor  # (B, T_k, d_model)
    v_proj: Tensor  # (B, T_k, d_model)
    query: Tensor  # (B, H, T_q, d_head)
    key: Tensor  # (B, H, T_k, d_head)
    value: Tensor  # (B, H, T_k, d_head)
    scores: Tensor  # (B, H, T_q, T_k)  q·kᵀ per head
    scale: float | Tensor
    scaled: Tensor  # (B, H, T_q, T_k)
    mask: Tensor  # (B, H, T_q, T_k)  bool, True = may attend
    masked: Tensor  # (B, H, T_q, T_k)  the softmax's input: -inf (or fill_value) where masked
    weights: Tensor  # (B, H, T_q, T_k)  softmax per head
    fully_masked: Tensor  # (B, H, T_q)
    head_outputs: Tensor  # (B, H, T_q, d_head)  weights_h · V_h
    concat: Tensor  # (B, T_q, d_model)  heads side by side
    output: Tensor  # (B, T_q, d_model)  concat @ W_o + b_o
    score: str = "dot"  # as in AttentionTrace
    temperature: float = 1.0
    fill_value: float | None = None

    @property
    def num_heads(self) -> int:
        return self.weights.shape[-3]

    @property
    def mean_weights(self) -> Tensor:
        """``(B, T_q, T_k)``: the average over heads (what ``nn.MultiheadAttention`` returns by default)."""
        return self.weights.mean(dim=-3)

    def head(self, head: int, batch: int = 0) -> AttentionTrace:
        """Head ``head`` (of batch row ``batch`` when batched) as a single-head :class:`AttentionTrace` of views."""
        if not 0 <= head < self.num_heads:
            raise ValueError(
                _("head={head} is out of range for {num_heads} heads").format(head=head, num_heads=self.num_heads)
            )
        batched = self.weights.dim() == 4
        if batched and not 0 <= batch < self.weights.shape[0]:
            raise ValueError(_("batch={batch} is out of range for B={b}").format(batch=batch, b=self.weights.shape[0]))
        index = (batch, head) if batched else (head,)
        return AttentionTrace(
            query=self.query[index],
            key=self.key[index],
            value=self.value[index],
            scores=self.scores[index],
            scale=self.scale,
            scaled=self.scaled[index],
            mask=self.mask[index],
            masked=self.masked[index],
            weights=self.weights[index],
            output=self.head_outputs[index],
            fully_masked=self.fully_masked[index],
            score=self.score,
            temperature=self.temperature,
            fill_value=self.fill_value,
        )


# The names pages and figures may use; pinned by tests/test_modules.py.
MULTIHEAD_TRACE_FIELDS = tuple(f.name for f in fields(MultiHeadTrace))


def split_heads(x: Tensor, num_heads: int) -> Tensor:
    """Cut each row into ``num_heads`` pieces, heads to the front: ``(B, T, d_model) → (B, H, T, d_head)`` (a view).

    d2l's ``transpose_qkv`` without its final flattening of the heads into the batch axis.
    """
    b, t, d_model = x.shape
    x = x.reshape(b, t, num_heads, d_model // num_heads)  # (B, T, H, d_head)
    return x.permute(0, 2, 1, 3)  # (B, H, T, d_head)


def merge_heads(x: Tensor) -> Tensor:
    """The heads side by side again: ``(B, H, T, d_head) → (B, T, d_model)`` (d2l's ``transpose_output``)."""
    b, h, t, d_head = x.shape
    x = x.permute(0, 2, 1, 3)  # (B, T, H, d_head)
    return x.reshape(b, t, h * d_head)  # (B, T, d_model)


def head_slice(name: str, matrix: ArrayOrTensor, head: int, num_heads: int) -> ArrayOrTensor:
    """Head ``head``'s part of a :class:`MultiHeadAttention` weight named ``name`` (numpy array or tensor).

    ``w_q``/``w_k``/``w_v`` ``(d_model, d_model)`` → columns ``(d_model, d_head)``; ``b_q``/``b_k``/``b_v``
    ``(d_model,)`` → ``(d_head,)``; ``w_o`` → rows ``(d_head, d_model)``. ``b_o`` is shared by every head.
    """
    d_model = matrix.shape[0] if name == "w_o" else matrix.shape[-1]
    d_head = d_model // num_heads
    if not 0 <= head < num_heads:
        raise ValueError(_("head={head} is out of range for {num_heads} heads").format(head=head, num_heads=num_heads))
    cut = slice(head * d_head, (head + 1) * d_head)
    if name == "w_o":
        return matrix[cut, :]
    if name in ("w_q", "w_k", "w_v", "b_q", "b_k", "b_v"):
        return matrix[..., cut]
    raise ValueError(_("name must be one of w_q, w_k, w_v, w_o, b_q, b_k, b_v, got {name}").format(name=repr(name)))


def weights_as_numpy(module: nn.Module) -> dict[str, np.ndarray]:
    """Every parameter of ``module`` as a new numpy array, by name (``w_q``, ``b_q``, …)."""
    return {name: p.detach().cpu().numpy().copy() for name, p in module.named_parameters()}


# The trace fields that are attend()'s, per head.
_SHARED_WITH_HEADS = ("query", "key", "value", "scores", "scaled", "mask", "masked", "weights", "fully_masked")


def _check_mask(mask: Tensor | None, batched: bool) -> Tensor | None:
    """The mask contract of :meth:`MultiHeadAttention.forward`, as a boolean tensor (or None)."""
    if mask is None:
        return None
    mask = torch.as_tensor(mask)
    if batched and mask.dim() == 3:
        raise ValueError(
            _(
                "a 3-D mask {mask_shape} with batched input is ambiguous: give (T_q, T_k) or 4-D (B, H, T_q, T_k); "
                "write mask[:, None] for one mask per batch row, mask[None] for one per head"
            ).format(mask_shape=tuple(mask.shape))
        )
    if mask.dim() > (4 if batched else 3):
        raise ValueError(
            _("mask has {dims} dimensions {mask_shape}: too many for this input").format(
                dims=mask.dim(), mask_shape=tuple(mask.shape)
            )
        )
    return mask


def _unbatched_lengths(valid_lens: Tensor | None, t_q: int) -> Tensor | None:
    """Unbatched ``valid_lens`` (one length, or ``(T_q,)`` per query) in the batched form ``(1,)`` or ``(1, T_q)``."""
    if valid_lens is None:
        return None
    valid_lens = torch.as_tensor(valid_lens)
    if valid_lens.numel() == 1 and valid_lens.dim() <= 1:
        return valid_lens.reshape(1)  # one length for every query
    if valid_lens.dim() == 1 and valid_lens.shape[0] == t_q:
        return valid_lens.unsqueeze(0)  # (1, T_q): one length per query
    raise ValueError(
        _(
            "unbatched valid_lens must be one length or T_q={t_q} lengths (one per query), got shape {valid_lens_shape}"
        ).format(t_q=t_q, valid_lens_shape=tuple(valid_lens.shape))
    )


class MultiHeadAttention(nn.Module):
    """Multi-head attention with ``W_q, W_k, W_v, W_o`` of shape ``(d_model, d_model)`` (``Q = X @ W_q``).

    Head ``h`` uses columns ``h·d_head : (h+1)·d_head`` of ``W_q, W_k, W_v`` and rows of the same range of ``W_o``.
    """

    def __init__(self, d_model: int, num_heads: int, *, bias: bool = True, seed: int | None = 0):
        super().__init__()
        d_model, num_heads = check_at_least_one("d_model", d_model), check_at_least_one("num_heads", num_heads)
        if d_model % num_heads != 0:
            raise ValueError(
                _("d_model={d_model} is not divisible by num_heads={num_heads}").format(
                    d_model=d_model, num_heads=num_heads
                )
            )
        self.d_model = d_model
        self.num_heads = num_heads
        generator = seeded_generator(seed)
        # nn.MultiheadAttention's scheme: xavier-uniform projections, zero biases would hide the bias; use small
        # uniform biases instead so the learner sees them.
        in_bound = math.sqrt(6.0 / (d_model + d_model))
        out_bound = 1.0 / math.sqrt(d_model)
        square = (d_model, d_model)
        _register_uniform(self, generator, {"w_q": square, "w_k": square, "w_v": square}, in_bound)
        _register_uniform(self, generator, {"w_o": square}, out_bound)
        biases = {name: (d_model,) for name in ("b_q", "b_k", "b_v", "b_o")}
        _register_uniform(self, generator, biases, out_bound, absent=not bias)

    @property
    def d_head(self) -> int:
        return self.d_model // self.num_heads

    @property
    def has_bias(self) -> bool:
        return self.b_q is not None

    @staticmethod
    def _project(x: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
        """``x @ w + b`` for ``x`` ``(B, T, d_in)``, ``w`` ``(d_in, d_out)``: ``(B, T, d_out)``."""
        flat = x.reshape(-1, x.shape[-1])  # (B·T, d_in)
        y = flat @ w if b is None else torch.addmm(b, flat, w)  # (B·T, d_out)
        return y.reshape(*x.shape[:-1], w.shape[1])

    def forward(
        self,
        query: Tensor,
        key: Tensor | None = None,
        value: Tensor | None = None,
        *,
        mask: Tensor | None = None,
        valid_lens: Tensor | None = None,
        scale: float | Tensor | None = None,
        score: str = "dot",
        temperature: float = 1.0,
        fill_value: float | None = None,
    ) -> MultiHeadTrace:
        """Attention of ``query`` over ``key``/``value`` (both default to ``query``: self-attention).

        Inputs ``(B, T, d_model)`` or unbatched ``(T, d_model)``; key and value share ``T_k`` (and ``B``).
        ``mask`` is boolean (True = may attend): batched, ``(T_q, T_k)`` or 4-D broadcastable to
        ``(B, H, T_q, T_k)`` (a 3-D mask is ambiguous and rejected: write ``mask[:, None]`` for one mask per batch
        row, ``mask[None]`` for one per head); unbatched, ``(T_q, T_k)`` or ``(H, T_q, T_k)``. ``valid_lens``:
        batched, ``(B,)`` or ``(B, T_q)`` as in :func:`attnviz.attend`; unbatched, one length (a number or
        ``(1,)``) or ``(T_q,)`` lengths per query. The other options are :func:`attnviz.attend`'s.
        """
        key = query if key is None else key
        value = key if value is None else value
        self_attention = query is key is value
        batched = self._check_inputs(query, key, value)
        mask = _check_mask(mask, batched)
        if not batched:
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)  # (1, T, d_model)
            valid_lens = _unbatched_lengths(valid_lens, query.shape[1])
        dtype = self.w_q.dtype
        query, key, value = query.to(dtype), key.to(dtype), value.to(dtype)
        projections, checked = self._project_qkv(query, key, value, fused=self_attention)
        options = {"score": score, "temperature": temperature, "fill_value": fill_value}
        trace = self._attend_heads(projections, checked, mask=mask, valid_lens=valid_lens, scale=scale, **options)
        concat = merge_heads(trace.output)  # (B, T_q, d_model)
        output = self._project(concat, self.w_o, self.b_o)  # (B, T_q, d_model)
        tensors = {
            "q_proj": projections[0],
            "k_proj": projections[1],
            "v_proj": projections[2],
            **{name: getattr(trace, name) for name in _SHARED_WITH_HEADS},
            "head_outputs": trace.output,
            "concat": concat,
            "output": output,
        }
        if not batched:
            tensors = {name: t.squeeze(0) for name, t in tensors.items()}
        settings = {name: getattr(trace, name) for name in ("scale", "score", "temperature", "fill_value")}
        return MultiHeadTrace(**settings, **tensors)

    def _check_inputs(self, query: Tensor, key: Tensor, value: Tensor) -> bool:
        """Shapes of the three inputs against each other and ``d_model``; True when they are batched."""
        for name, x in (("query", query), ("key", key), ("value", value)):
            if not isinstance(x, Tensor):
                raise ValueError(
                    _("{name} must be a tensor of shape (B, T, d_model), got {x_type}").format(
                        name=name, x_type=type(x).__name__
                    )
                )
            if x.dim() != query.dim() or x.dim() not in (2, 3):
                raise ValueError(
                    _("{name} must have shape (B, T, d_model) or (T, d_model) like query, got {x_shape}").format(
                        name=name, x_shape=tuple(x.shape)
                    )
                )
            if x.shape[-1] != self.d_model:
                raise ValueError(
                    _("{name} has width {width} but d_model={d_model}").format(
                        name=name, width=x.shape[-1], d_model=self.d_model
                    )
                )
        if key.shape[:-1] != value.shape[:-1]:
            raise ValueError(
                _(
                    "key {key_shape} and value {value_shape} must have the same batch size and number of positions T_k"
                ).format(key_shape=tuple(key.shape), value_shape=tuple(value.shape))
            )
        if query.shape[:-2] != key.shape[:-2]:
            raise ValueError(
                _("query {query_shape} and key {key_shape} have different batch sizes").format(
                    query_shape=tuple(query.shape), key_shape=tuple(key.shape)
                )
            )
        return query.dim() == 3

    def _project_qkv(
        self, query: Tensor, key: Tensor, value: Tensor, *, fused: bool
    ) -> tuple[tuple[Tensor, Tensor, Tensor], tuple[Tensor, ...]]:
        """``(q_proj, k_proj, v_proj)``, each ``(B, T, d_model)``, and the contiguous tensors that hold them.

        ``fused`` (self-attention) does one product for all three, as torch does; the projections are views of it.
        """
        if fused:
            w = torch.cat([self.w_q, self.w_k, self.w_v], dim=1)  # (d_model, 3·d_model)
            b = None if self.b_q is None else torch.cat([self.b_q, self.b_k, self.b_v])
            qkv = self._project(query, w, b)  # (B, T, 3·d_model)
            return qkv.chunk(3, dim=-1), (qkv,)  # 3 × (B, T, d_model), views of qkv
        projections = (
            self._project(query, self.w_q, self.b_q),  # (B, T_q, d_model)
            self._project(key, self.w_k, self.b_k),  # (B, T_k, d_model)
            self._project(value, self.w_v, self.b_v),  # (B, T_k, d_model)
        )
        return projections, projections

    def _attend_heads(self, projections: tuple[Tensor, ...], checked: tuple[Tensor, ...], **options) -> AttentionTrace:
        """:func:`attnviz.attend` over the heads of ``projections``, with one finiteness pass per ``checked``.

        attend() would check Q, K and V itself, one pass (after a copy) per strided tensor of heads. One pass over
        each contiguous projection finds the same largest |entry|, which also bounds q·k for the overflow test;
        only when an entry is not finite does attend() run its own checks, to name the tensor and the entry.
        """
        heads = [split_heads(p, self.num_heads) for p in projections]  # 3 × (B, H, T, d_head)
        largest = [largest_magnitude(p) for p in checked]
        if all(math.isfinite(m) for m in largest):
            return attend_checked(*heads, qk_bound=max(largest) ** 2, **options)
        return attend(*heads, **options)  # raises, naming the tensor and the entry

    @classmethod
    def from_torch(cls, m: nn.MultiheadAttention) -> MultiHeadAttention:
        """Copy the weights of a ``torch.nn.MultiheadAttention`` (``batch_first`` either way, same k/v dims)."""
        if not m._qkv_same_embed_dim:
            raise ValueError(_("only nn.MultiheadAttention with kdim == vdim == embed_dim can be copied"))
        if m.bias_k is not None or m.add_zero_attn:
            raise ValueError(_("add_bias_kv and add_zero_attn are not supported"))
        d = m.embed_dim
        has_bias = m.in_proj_bias is not None
        module = cls(d, m.num_heads, bias=has_bias, seed=0)
        w = m.in_proj_weight.detach()  # (3·d_model, d_model), rows = outputs
        with torch.no_grad():
            module.w_q = nn.Parameter(w[:d].T.clone())
            module.w_k = nn.Parameter(w[d : 2 * d].T.clone())
            module.w_v = nn.Parameter(w[2 * d :].T.clone())
            module.w_o = nn.Parameter(m.out_proj.weight.detach().T.clone())
            if has_bias:
                b = m.in_proj_bias.detach()
                module.b_q = nn.Parameter(b[:d].clone())
                module.b_k = nn.Parameter(b[d : 2 * d].clone())
                module.b_v = nn.Parameter(b[2 * d :].clone())
                module.b_o = nn.Parameter(m.out_proj.bias.detach().clone())
        return module

    def to_torch(self, *, batch_first: bool = True) -> nn.MultiheadAttention:
        """A ``torch.nn.MultiheadAttention`` holding the same weights (dropout 0)."""
        m = nn.MultiheadAttention(
            self.d_model, self.num_heads, bias=self.has_bias, batch_first=batch_first, dtype=self.w_q.dtype
        )
        with torch.no_grad():
            m.in_proj_weight.copy_(torch.cat([self.w_q.T, self.w_k.T, self.w_v.T], dim=0))
            m.out_proj.weight.copy_(self.w_o.T)
            if self.has_bias:
                m.in_proj_bias.copy_(torch.cat([self.b_q, self.b_k, self.b_v]))
                m.out_proj.bias.copy_(self.b_o)
        return m.eval()
