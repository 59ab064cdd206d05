"""Modules that hold weights and call :func:`attnviz.attend`; they never keep the last result on ``self``.

Weights are stored in the worked example's orientation, ``Q = X @ W_q`` with ``W_q`` of shape ``(d_in, d_out)``
(the transpose of ``nn.Linear.weight``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import torch
from torch import Tensor, nn

from attnviz.attention import AttentionTrace, _attend, _largest_magnitude, attend, check_finite

__all__ = ["MULTIHEAD_TRACE_FIELDS", "MultiHeadAttention", "MultiHeadTrace", "SelfAttention"]


def _uniform(shape: tuple[int, ...], bound: float, generator: torch.Generator) -> Tensor:
    return (torch.rand(shape, generator=generator, dtype=torch.float64) * 2 - 1).mul(bound).float()


def _generator(seed: int | None) -> torch.Generator:
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
        raise ValueError(f"{name} must be a matrix (2-D), got shape {tuple(value.shape)}")
    if shape is not None and tuple(value.shape) != shape:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(value.shape)}")
    return value


class SelfAttention(nn.Module):
    """Single-head self-attention: ``Q = X W_q + b_q``, ``K = X W_k + b_k``, ``V = X W_v + b_v``.

    ``SelfAttention(d_in, d_k, bias=True, seed=0)`` is the randomly initialised ("learned") variant, initialised
    as ``nn.Linear`` is (uniform in ±1/√d_in). :meth:`from_matrices` builds the hand-set one.
    """

    def __init__(self, d_in: int, d_k: int, *, d_v: int | None = None, bias: bool = True, seed: int | None = 0):
        super().__init__()
        d_v = d_k if d_v is None else d_v
        for name, size in (("d_in", d_in), ("d_k", d_k), ("d_v", d_v)):
            if int(size) < 1:
                raise ValueError(f"{name}={size} must be at least 1")
        generator = _generator(seed)
        bound = 1.0 / math.sqrt(d_in)
        self.w_q = nn.Parameter(_uniform((d_in, d_k), bound, generator))
        self.w_k = nn.Parameter(_uniform((d_in, d_k), bound, generator))
        self.w_v = nn.Parameter(_uniform((d_in, d_v), bound, generator))
        if bias:
            self.b_q = nn.Parameter(_uniform((d_k,), bound, generator))
            self.b_k = nn.Parameter(_uniform((d_k,), bound, generator))
            self.b_v = nn.Parameter(_uniform((d_v,), bound, generator))
        else:
            self.register_parameter("b_q", None)
            self.register_parameter("b_k", None)
            self.register_parameter("b_v", None)

    @classmethod
    def from_matrices(
        cls,
        w_q: Tensor,
        w_k: Tensor,
        w_v: Tensor,
        b_q: Tensor | None = None,
        b_k: Tensor | None = None,
        b_v: Tensor | None = None,
    ) -> SelfAttention:
        """Hand-set weights, each ``(d_in, d_out)``; biases optional (all or none)."""
        w_q = _as_matrix("W_q", w_q)
        d_in, d_k = w_q.shape
        w_k = _as_matrix("W_k", w_k, (d_in, d_k))
        w_v = _as_matrix("W_v", w_v)
        if w_v.shape[0] != d_in:
            raise ValueError(f"W_v must have {d_in} rows like W_q, got shape {tuple(w_v.shape)}")
        biases = (b_q, b_k, b_v)
        has_bias = any(b is not None for b in biases)
        if has_bias and any(b is None for b in biases):
            raise ValueError("give all three biases b_q, b_k, b_v or none")
        module = cls(d_in, d_k, d_v=w_v.shape[1], bias=has_bias, seed=0)
        with torch.no_grad():
            module.w_q = nn.Parameter(w_q)
            module.w_k = nn.Parameter(w_k)
            module.w_v = nn.Parameter(w_v)
            if has_bias:
                for name, b, size in (("b_q", b_q, d_k), ("b_k", b_k, d_k), ("b_v", b_v, w_v.shape[1])):
                    b = _as_tensor(b).to(w_q.dtype)
                    if tuple(b.shape) != (size,):
                        raise ValueError(f"{name} must have shape ({size},), got {tuple(b.shape)}")
                    setattr(module, name, nn.Parameter(b))
        return module

    @property
    def d_in(self) -> int:
        return self.w_q.shape[0]

    def project(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``(Q, K, V)`` for ``x`` of shape ``(..., T, d_in)``."""
        if x.shape[-1] != self.d_in:
            raise ValueError(
                f"X has width {x.shape[-1]} but W_q has {self.d_in} rows (X {tuple(x.shape)}, "
                f"W_q {tuple(self.w_q.shape)}): X's columns must match W's rows"
            )
        x = x.to(self.w_q.dtype)
        q = x @ self.w_q  # (..., T, d_k)
        k = x @ self.w_k  # (..., T, d_k)
        v = x @ self.w_v  # (..., T, d_v)
        if self.b_q is not None:
            q, k, v = q + self.b_q, k + self.b_k, v + self.b_v
        check_finite("X", x)
        for name, t in (("Q = X·W_q", q), ("K = X·W_k", k), ("V = X·W_v", v)):
            check_finite(name, t, overflow=True)
        return q, k, v

    def forward(
        self,
        x: Tensor,
        mask: Tensor | None = None,
        scale: float | None = None,
        valid_lens: Tensor | None = None,
    ) -> AttentionTrace:
        """Attention of ``x`` (``(..., T, d_in)``) over itself; ``scale=None`` is 1/√d_k, 1.0 is unscaled."""
        q, k, v = self.project(x)
        return attend(q, k, v, scale=scale, mask=mask, valid_lens=valid_lens)


@dataclass(frozen=True)
class MultiHeadTrace:
    """Every step of multi-head attention. ``B`` is absent when the input was unbatched ``(T, d_model)``."""

    q_proj: Tensor  # (B, T_q, d_model)  query @ W_q + b_q, before the split into heads
    k_proj: Tensor  # (B, T_k, d_model)
    v_proj: Tensor  # (B, T_k, d_model)
    query: Tensor  # (B, H, T_q, d_head)
    key: Tensor  # (B, H, T_k, d_head)
    value: Tensor  # (B, H, T_k, d_head)
    scores: Tensor  # (B, H, T_q, T_k)  q·kᵀ per head
    scale: float
    scaled: Tensor  # (B, H, T_q, T_k)
    mask: Tensor  # (B, H, T_q, T_k)  bool, True = may attend
    masked: Tensor  # (B, H, T_q, T_k)  -inf where masked
    weights: Tensor  # (B, H, T_q, T_k)  softmax per head
    fully_masked: Tensor  # (B, H, T_q)
    head_outputs: Tensor  # (B, H, T_q, d_head)  weights_h · V_h
    concat: Tensor  # (B, T_q, d_model)  heads side by side
    output: Tensor  # (B, T_q, d_model)  concat @ W_o + b_o

    @property
    def num_heads(self) -> int:
        return self.weights.shape[-3]

    @property
    def mean_weights(self) -> Tensor:
        """``(B, T_q, T_k)``: the average over heads (what ``nn.MultiheadAttention`` returns by default)."""
        return self.weights.mean(dim=-3)


# The names pages and figures may use; pinned by tests/test_modules.py.
MULTIHEAD_TRACE_FIELDS = tuple(f.name for f in fields(MultiHeadTrace))


def split_heads(x: Tensor, num_heads: int) -> Tensor:
    """d2l's ``transpose_qkv`` without the final flattening: ``(B, T, d_model) → (B, H, T, d_head)``."""
    b, t, d_model = x.shape
    x = x.reshape(b, t, num_heads, d_model // num_heads)  # (B, T, H, d_head)
    return x.permute(0, 2, 1, 3)  # (B, H, T, d_head)


def merge_heads(x: Tensor) -> Tensor:
    """d2l's ``transpose_output``: ``(B, H, T, d_head) → (B, T, d_model)``."""
    b, h, t, d_head = x.shape
    x = x.permute(0, 2, 1, 3)  # (B, T, H, d_head)
    return x.reshape(b, t, h * d_head)  # (B, T, d_model)


class MultiHeadAttention(nn.Module):
    """Multi-head attention with ``W_q, W_k, W_v, W_o`` of shape ``(d_model, d_model)`` (``Q = X @ W_q``).

    Head ``h`` uses columns ``h·d_head : (h+1)·d_head`` of ``W_q, W_k, W_v`` and rows of the same range of ``W_o``.
    """

    def __init__(self, d_model: int, num_heads: int, *, bias: bool = True, seed: int | None = 0):
        super().__init__()
        d_model, num_heads = int(d_model), int(num_heads)
        if d_model < 1:
            raise ValueError(f"d_model={d_model} must be at least 1")
        if num_heads < 1:
            raise ValueError(f"num_heads={num_heads} must be at least 1")
        if d_model % num_heads != 0:
            raise ValueError(f"d_model={d_model} is not divisible by num_heads={num_heads}")
        self.d_model = d_model
        self.num_heads = num_heads
        generator = _generator(seed)
        # nn.MultiheadAttention's scheme: xavier-uniform projections, zero biases would hide the bias; use small
        # uniform biases instead so the learner sees them.
        in_bound = math.sqrt(6.0 / (d_model + d_model))
        out_bound = 1.0 / math.sqrt(d_model)
        self.w_q = nn.Parameter(_uniform((d_model, d_model), in_bound, generator))
        self.w_k = nn.Parameter(_uniform((d_model, d_model), in_bound, generator))
        self.w_v = nn.Parameter(_uniform((d_model, d_model), in_bound, generator))
        self.w_o = nn.Parameter(_uniform((d_model, d_model), out_bound, generator))
        if bias:
            self.b_q = nn.Parameter(_uniform((d_model,), out_bound, generator))
            self.b_k = nn.Parameter(_uniform((d_model,), out_bound, generator))
            self.b_v = nn.Parameter(_uniform((d_model,), out_bound, generator))
            self.b_o = nn.Parameter(_uniform((d_model,), out_bound, generator))
        else:
            for name in ("b_q", "b_k", "b_v", "b_o"):
                self.register_parameter(name, None)

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
        mask: Tensor | None = None,
        valid_lens: Tensor | None = None,
        scale: float | None = None,
    ) -> MultiHeadTrace:
        """Attention of ``query`` over ``key``/``value`` (both default to ``query``: self-attention).

        Inputs ``(B, T, d_model)`` or unbatched ``(T, d_model)``. ``mask`` is boolean (True = may attend),
        broadcastable to ``(B, H, T_q, T_k)``; ``valid_lens`` as in :func:`attnviz.attend` (needs B).
        """
        key = query if key is None else key
        value = key if value is None else value
        self_attention = query is key is value
        batched = query.dim() == 3
        for name, x in (("query", query), ("key", key), ("value", value)):
            if x.dim() != query.dim() or x.dim() not in (2, 3):
                raise ValueError(
                    f"{name} must have shape (B, T, d_model) or (T, d_model) like query, got {tuple(x.shape)}"
                )
            if x.shape[-1] != self.d_model:
                raise ValueError(f"{name} has width {x.shape[-1]} but d_model={self.d_model}")
        if not batched:
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)  # (1, T, d_model)
            if valid_lens is not None:
                valid_lens = torch.as_tensor(valid_lens)
                valid_lens = valid_lens.reshape(1) if valid_lens.dim() == 0 else valid_lens.unsqueeze(0)
        dtype = self.w_q.dtype
        query, key, value = query.to(dtype), key.to(dtype), value.to(dtype)
        if mask is not None:
            mask = torch.as_tensor(mask)
            if batched and mask.dim() == 3:  # (B, T_q, T_k) → (B, 1, T_q, T_k): one mask for every head
                mask = mask.unsqueeze(1)

        if self_attention:  # one matrix product for Q, K and V, as torch does
            w = torch.cat([self.w_q, self.w_k, self.w_v], dim=1)  # (d_model, 3·d_model)
            b = None if self.b_q is None else torch.cat([self.b_q, self.b_k, self.b_v])
            qkv = self._project(query, w, b)  # (B, T, 3·d_model)
            q_proj, k_proj, v_proj = qkv.chunk(3, dim=-1)  # 3 × (B, T, d_model), views of qkv
            projections = (qkv,)
        else:
            q_proj = self._project(query, self.w_q, self.b_q)  # (B, T_q, d_model)
            k_proj = self._project(key, self.w_k, self.b_k)  # (B, T_k, d_model)
            v_proj = self._project(value, self.w_v, self.b_v)  # (B, T_k, d_model)
            projections = (q_proj, k_proj, v_proj)
        h = self.num_heads
        heads = (
            split_heads(q_proj, h),  # (B, H, T_q, d_head)
            split_heads(k_proj, h),  # (B, H, T_k, d_head)
            split_heads(v_proj, h),  # (B, H, T_k, d_head)
        )
        # attend() would check Q, K and V itself, one pass (after a copy) per strided tensor of heads. One pass over
        # each contiguous projection finds the same largest |entry|, which also bounds q·k for the overflow test;
        # only when an entry is not finite does attend() run its own checks, to name the tensor and the entry.
        largest = [_largest_magnitude(p) for p in projections]
        if all(math.isfinite(m) for m in largest):
            trace = _attend(*heads, scale=scale, mask=mask, valid_lens=valid_lens, qk_bound=max(largest) ** 2)
        else:  # attend() raises, naming the tensor and the entry
            trace = attend(*heads, scale=scale, mask=mask, valid_lens=valid_lens)
        concat = merge_heads(trace.output)  # (B, T_q, d_model)
        output = self._project(concat, self.w_o, self.b_o)  # (B, T_q, d_model)
        fields = {
            "q_proj": q_proj,
            "k_proj": k_proj,
            "v_proj": v_proj,
            "query": trace.query,
            "key": trace.key,
            "value": trace.value,
            "scores": trace.scores,
            "scaled": trace.scaled,
            "mask": trace.mask,
            "masked": trace.masked,
            "weights": trace.weights,
            "fully_masked": trace.fully_masked,
            "head_outputs": trace.output,
            "concat": concat,
            "output": output,
        }
        if not batched:
            fields = {name: t.squeeze(0) for name, t in fields.items()}
        return MultiHeadTrace(scale=trace.scale, **fields)

    def head_trace(self, trace: MultiHeadTrace, head: int, batch: int = 0) -> AttentionTrace:
        """One head of a (possibly batched) trace as a single-head :class:`AttentionTrace`."""
        index = (batch, head) if trace.weights.dim() == 4 else (head,)
        return AttentionTrace(
            query=trace.query[index],
            key=trace.key[index],
            value=trace.value[index],
            scores=trace.scores[index],
            scale=trace.scale,
            scaled=trace.scaled[index],
            mask=trace.mask[index],
            masked=trace.masked[index],
            weights=trace.weights[index],
            output=trace.head_outputs[index],
            fully_masked=trace.fully_masked[index],
        )

    @classmethod
    def from_torch(cls, m: nn.MultiheadAttention) -> MultiHeadAttention:
        """Copy the weights of a ``torch.nn.MultiheadAttention`` (``batch_first`` either way, same k/v dims)."""
        if not m._qkv_same_embed_dim:
            raise ValueError("only nn.MultiheadAttention with kdim == vdim == embed_dim can be copied")
        if m.bias_k is not None or m.add_zero_attn:
            raise ValueError("add_bias_kv and add_zero_attn are not supported")
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
