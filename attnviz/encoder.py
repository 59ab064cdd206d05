"""The Transformer encoder layer and stack, every intermediate named, checked against ``nn.TransformerEncoderLayer``.

One layer is multi-head self-attention → add & norm → feed-forward → add & norm (post-norm, the original Transformer
and PyTorch's default), or with ``norm_first=True`` (pre-norm) ``x + attn(norm1(x))`` then ``x + ffn(norm2(x))``.
Weights are stored in the project's orientation, ``y = x @ W + b`` with ``W`` of shape ``(d_in, d_out)`` (the
transpose of ``nn.Linear.weight``). Shapes: B batch (absent for unbatched input), T positions, d_model, d_ff.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from attnviz.modules import MultiHeadAttention, MultiHeadTrace, _generator, _uniform

__all__ = [
    "ACTIVATIONS",
    "ENCODER_LAYER_TRACE_FIELDS",
    "LAYER_NORM_TRACE_FIELDS",
    "EncoderLayer",
    "EncoderLayerTrace",
    "LayerNormTrace",
    "layer_norm",
]

ACTIVATIONS = ("relu", "gelu")


@dataclass(frozen=True)
class LayerNormTrace:
    """``LayerNorm`` over the last axis, step by step: standardise each row, then scale and shift."""

    input: Tensor  # (..., T, d_model)
    mean: Tensor  # (..., T)  per-token mean over d_model
    variance: Tensor  # (..., T)  per-token biased variance over d_model
    eps: float
    std: Tensor  # (..., T)  sqrt(variance + eps): what each row is divided by
    standardized: Tensor  # (..., T, d_model)  (input − mean) / std: every row mean 0, std ≈ 1
    output: Tensor  # (..., T, d_model)  standardized · γ + β


LAYER_NORM_TRACE_FIELDS = tuple(f.name for f in fields(LayerNormTrace))


def layer_norm(x: Tensor, weight: Tensor | None, bias: Tensor | None, eps: float = 1e-5) -> LayerNormTrace:
    """``F.layer_norm(x, (d,), weight, bias, eps)`` written out, returning every step. ``x`` is not changed."""
    if x.dim() < 1:
        raise ValueError(f"x must have a feature axis, got shape {tuple(x.shape)}")
    mean = x.mean(dim=-1)  # (..., T)
    centered = x - mean.unsqueeze(-1)  # (..., T, d_model)
    variance = centered.pow(2).mean(dim=-1)  # (..., T)  biased, as LayerNorm uses
    std = torch.sqrt(variance + eps)  # (..., T)
    standardized = centered / std.unsqueeze(-1)  # (..., T, d_model)
    output = standardized
    if weight is not None:
        output = output * weight
    if bias is not None:
        output = output + bias
    return LayerNormTrace(
        input=x, mean=mean, variance=variance, eps=float(eps), std=std, standardized=standardized, output=output
    )


@dataclass(frozen=True)
class EncoderLayerTrace:
    """Every step of one encoder layer. ``B`` is absent when the input was unbatched ``(T, d_model)``.

    Post-norm: ``residual1 = input + attention.output``, ``norm1 = LN(residual1)``, ``ffn_input = norm1.output``,
    ``residual2 = norm1.output + ffn_output``, ``norm2 = LN(residual2)``, ``output = norm2.output``.
    Pre-norm: ``norm1 = LN(input)``, ``attention_input = norm1.output``, ``residual1 = input + attention.output``,
    ``norm2 = LN(residual1)``, ``ffn_input = norm2.output``, ``residual2 = residual1 + ffn_output = output``.
    """

    input: Tensor  # (B, T, d_model)
    attention_input: Tensor  # (B, T, d_model)  what self-attention reads: input (post-norm) or norm1 (pre-norm)
    attention: MultiHeadTrace  # weights (B, H, T, T), output (B, T, d_model)
    residual1: Tensor  # (B, T, d_model)  first residual sum
    norm1: LayerNormTrace  # (B, T, d_model)  first LayerNorm
    ffn_input: Tensor  # (B, T, d_model)  what the feed-forward network reads
    ffn_pre_activation: Tensor  # (B, T, d_ff)  ffn_input @ W_1 + b_1
    ffn_hidden: Tensor  # (B, T, d_ff)  activation(ffn_pre_activation)
    ffn_output: Tensor  # (B, T, d_model)  ffn_hidden @ W_2 + b_2
    residual2: Tensor  # (B, T, d_model)  second residual sum
    norm2: LayerNormTrace  # (B, T, d_model)  second LayerNorm
    output: Tensor  # (B, T, d_model)
    norm_first: bool
    activation: str

    @property
    def weights(self) -> Tensor:
        """``(B, H, T, T)``: the attention weights of every head."""
        return self.attention.weights

    @property
    def ffn_zero_fraction(self) -> float:
        """Share of FFN hidden activations that are exactly 0 (ReLU zeroes every negative pre-activation)."""
        return float((self.ffn_hidden == 0).float().mean()) if self.ffn_hidden.numel() else 0.0


ENCODER_LAYER_TRACE_FIELDS = tuple(f.name for f in fields(EncoderLayerTrace))


def _check_activation(activation: str) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation={activation!r} must be one of {ACTIVATIONS}")
    return activation


def _check_positive(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}={value!r} must be a positive int")
    return value


class EncoderLayer(nn.Module):
    """One Transformer encoder layer: self-attention, add & norm, feed-forward (d_model → d_ff → d_model), add & norm.

    Initialised reproducibly from ``seed`` (attention as :class:`attnviz.MultiHeadAttention`, the FFN as
    ``nn.Linear`` does, LayerNorm γ = 1, β = 0 as PyTorch does). ``bias=False`` drops every bias, LayerNorm's β
    included, as ``nn.TransformerEncoderLayer(bias=False)`` does. No dropout: the layer behaves as PyTorch's in eval.
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        d_ff: int,
        *,
        norm_first: bool = False,
        activation: str = "relu",
        bias: bool = True,
        layer_norm_eps: float = 1e-5,
        seed: int | None = 0,
    ):
        super().__init__()
        d_model = _check_positive("d_model", d_model)
        num_heads = _check_positive("num_heads", num_heads)
        d_ff = _check_positive("d_ff", d_ff)
        if not (math.isfinite(layer_norm_eps) and layer_norm_eps > 0):
            raise ValueError(f"layer_norm_eps={layer_norm_eps!r} must be positive")
        self.activation = _check_activation(activation)
        self.norm_first = bool(norm_first)
        self.layer_norm_eps = float(layer_norm_eps)
        self.attention = MultiHeadAttention(d_model, num_heads, bias=bias, seed=seed)
        generator = _generator(None if seed is None else int(seed) + 7919)  # the FFN's own stream
        b1, b2 = 1.0 / math.sqrt(d_model), 1.0 / math.sqrt(d_ff)
        self.w_1 = nn.Parameter(_uniform((d_model, d_ff), b1, generator))
        self.w_2 = nn.Parameter(_uniform((d_ff, d_model), b2, generator))
        self.norm1_weight = nn.Parameter(torch.ones(d_model))
        self.norm2_weight = nn.Parameter(torch.ones(d_model))
        if bias:
            self.b_1 = nn.Parameter(_uniform((d_ff,), b1, generator))
            self.b_2 = nn.Parameter(_uniform((d_model,), b2, generator))
            self.norm1_bias = nn.Parameter(torch.zeros(d_model))
            self.norm2_bias = nn.Parameter(torch.zeros(d_model))
        else:
            for name in ("b_1", "b_2", "norm1_bias", "norm2_bias"):
                self.register_parameter(name, None)

    @property
    def d_model(self) -> int:
        return self.attention.d_model

    @property
    def num_heads(self) -> int:
        return self.attention.num_heads

    @property
    def d_ff(self) -> int:
        return self.w_1.shape[1]

    @property
    def has_bias(self) -> bool:
        return self.b_1 is not None

    def _linear(self, x: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
        y = x @ w  # (..., T, d_out)
        return y if b is None else y + b

    def forward(self, x: Tensor, *, mask: Tensor | None = None, valid_lens: Tensor | None = None) -> EncoderLayerTrace:
        """Run ``x`` ``(B, T, d_model)`` or ``(T, d_model)``; ``mask``/``valid_lens`` as :class:`MultiHeadAttention`."""
        if not isinstance(x, Tensor) or x.dim() not in (2, 3) or x.shape[-1] != self.d_model:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"x must have shape (B, T, {self.d_model}) or (T, {self.d_model}), got {shape}")
        x = x.to(self.w_1.dtype)
        eps = self.layer_norm_eps
        if self.norm_first:
            norm1 = layer_norm(x, self.norm1_weight, self.norm1_bias, eps)
            attention_input = norm1.output
            attention = self.attention(
                attention_input, attention_input, attention_input, mask=mask, valid_lens=valid_lens
            )
            residual1 = x + attention.output  # (B, T, d_model)
            norm2 = layer_norm(residual1, self.norm2_weight, self.norm2_bias, eps)
            ffn_input = norm2.output
        else:
            attention_input = x
            attention = self.attention(x, x, x, mask=mask, valid_lens=valid_lens)
            residual1 = x + attention.output  # (B, T, d_model)
            norm1 = layer_norm(residual1, self.norm1_weight, self.norm1_bias, eps)
            ffn_input = norm1.output
        pre = self._linear(ffn_input, self.w_1, self.b_1)  # (B, T, d_ff)
        hidden = F.relu(pre) if self.activation == "relu" else F.gelu(pre)  # (B, T, d_ff)
        ffn_output = self._linear(hidden, self.w_2, self.b_2)  # (B, T, d_model)
        if self.norm_first:
            residual2 = residual1 + ffn_output
            output = residual2
        else:
            residual2 = norm1.output + ffn_output
            norm2 = layer_norm(residual2, self.norm2_weight, self.norm2_bias, eps)
            output = norm2.output
        return EncoderLayerTrace(
            input=x,
            attention_input=attention_input,
            attention=attention,
            residual1=residual1,
            norm1=norm1,
            ffn_input=ffn_input,
            ffn_pre_activation=pre,
            ffn_hidden=hidden,
            ffn_output=ffn_output,
            residual2=residual2,
            norm2=norm2,
            output=output,
            norm_first=self.norm_first,
            activation=self.activation,
        )

    @classmethod
    def from_torch(cls, layer: nn.TransformerEncoderLayer) -> EncoderLayer:
        """Copy the weights of an ``nn.TransformerEncoderLayer`` (``batch_first`` either way; relu or gelu)."""
        if not isinstance(layer, nn.TransformerEncoderLayer):
            raise ValueError(f"layer must be an nn.TransformerEncoderLayer, got {type(layer).__name__}")
        kind = getattr(layer, "activation_relu_or_gelu", 0)
        if kind == 1:
            activation = "relu"
        elif kind == 2:
            activation = "gelu"
        else:
            raise ValueError(f"only relu or gelu activations can be copied, got {layer.activation!r}")
        attention = MultiHeadAttention.from_torch(layer.self_attn)
        has_bias = layer.linear1.bias is not None
        module = cls(
            attention.d_model,
            attention.num_heads,
            layer.linear1.out_features,
            norm_first=layer.norm_first,
            activation=activation,
            bias=has_bias,
            layer_norm_eps=layer.norm1.eps,
            seed=0,
        )
        module.attention = attention
        with torch.no_grad():
            module.w_1 = nn.Parameter(layer.linear1.weight.detach().T.clone())
            module.w_2 = nn.Parameter(layer.linear2.weight.detach().T.clone())
            module.norm1_weight = nn.Parameter(layer.norm1.weight.detach().clone())
            module.norm2_weight = nn.Parameter(layer.norm2.weight.detach().clone())
            if has_bias:
                module.b_1 = nn.Parameter(layer.linear1.bias.detach().clone())
                module.b_2 = nn.Parameter(layer.linear2.bias.detach().clone())
                module.norm1_bias = nn.Parameter(layer.norm1.bias.detach().clone())
                module.norm2_bias = nn.Parameter(layer.norm2.bias.detach().clone())
        return module

    def to_torch(self, *, batch_first: bool = True) -> nn.TransformerEncoderLayer:
        """An ``nn.TransformerEncoderLayer`` holding the same weights (dropout 0), in eval mode."""
        layer = nn.TransformerEncoderLayer(
            self.d_model,
            self.num_heads,
            dim_feedforward=self.d_ff,
            dropout=0.0,
            activation=self.activation,
            layer_norm_eps=self.layer_norm_eps,
            batch_first=batch_first,
            norm_first=self.norm_first,
            bias=self.has_bias,
            dtype=self.w_1.dtype,
        )
        attention = self.attention.to_torch(batch_first=batch_first)
        with torch.no_grad():
            layer.self_attn.load_state_dict(attention.state_dict())
            layer.linear1.weight.copy_(self.w_1.T)
            layer.linear2.weight.copy_(self.w_2.T)
            layer.norm1.weight.copy_(self.norm1_weight)
            layer.norm2.weight.copy_(self.norm2_weight)
            if self.has_bias:
                layer.linear1.bias.copy_(self.b_1)
                layer.linear2.bias.copy_(self.b_2)
                layer.norm1.bias.copy_(self.norm1_bias)
                layer.norm2.bias.copy_(self.norm2_bias)
        return layer.eval()
