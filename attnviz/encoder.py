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

from attnviz.i18n import gettext as _
from attnviz.modules import MultiHeadAttention, MultiHeadTrace, seeded_generator, uniform_init

__all__ = [
    "ACTIVATIONS",
    "ENCODER_LAYER_TRACE_FIELDS",
    "ENCODER_TRACE_FIELDS",
    "LAYER_NORM_TRACE_FIELDS",
    "Encoder",
    "EncoderCheck",
    "EncoderLayer",
    "EncoderLayerTrace",
    "EncoderTrace",
    "LayerNormTrace",
    "SeedBugReport",
    "SeedRun",
    "TimeSeriesTrace",
    "TimeSeriesTransformer",
    "check_encoder_against_torch",
    "layer_norm",
    "seed_bug_report",
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
        raise ValueError(
            _("activation={activation} must be one of {options}").format(
                activation=repr(activation), options=ACTIVATIONS
            )
        )
    return activation


def _check_positive(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(_("{name}={value} must be a positive int").format(name=name, value=repr(value)))
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
        generator = seeded_generator(None if seed is None else int(seed) + 7919)  # the FFN's own stream
        b1, b2 = 1.0 / math.sqrt(d_model), 1.0 / math.sqrt(d_ff)
        self.w_1 = nn.Parameter(uniform_init((d_model, d_ff), b1, generator))
        self.w_2 = nn.Parameter(uniform_init((d_ff, d_model), b2, generator))
        self.norm1_weight = nn.Parameter(torch.ones(d_model))
        self.norm2_weight = nn.Parameter(torch.ones(d_model))
        if bias:
            self.b_1 = nn.Parameter(uniform_init((d_ff,), b1, generator))
            self.b_2 = nn.Parameter(uniform_init((d_model,), b2, generator))
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


@dataclass(frozen=True)
class EncoderTrace:
    """A stack of encoder layers: ``layers[l]`` is layer ``l``'s trace; ``output`` is after the final norm, if any."""

    input: Tensor  # (B, T, d_model)
    layers: tuple[EncoderLayerTrace, ...]  # one per layer, layers[l].output is layers[l + 1].input
    final_norm: LayerNormTrace | None  # (B, T, d_model)  the stack's closing LayerNorm (pre-norm stacks use one)
    output: Tensor  # (B, T, d_model)

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    @property
    def weights(self) -> Tensor:
        """``(L, B, H, T, T)``: every layer's per-head attention weights, stacked."""
        return torch.stack([layer.attention.weights for layer in self.layers])

    @property
    def hidden_states(self) -> tuple[Tensor, ...]:
        """``L + 1`` tensors ``(B, T, d_model)``: the input, then each layer's output (the residual stream)."""
        return (self.input, *(layer.output for layer in self.layers))


ENCODER_TRACE_FIELDS = tuple(f.name for f in fields(EncoderTrace))

MAX_LAYERS = 64


class Encoder(nn.Module):
    """``num_layers`` :class:`EncoderLayer` s in a row (layer ``l`` seeded with ``seed + l``), optionally a final norm.

    ``final_norm=True`` adds the closing ``LayerNorm`` that ``nn.TransformerEncoder(norm=...)`` takes (pre-norm
    stacks need it; PyTorch's default is none).
    """

    def __init__(
        self,
        num_layers: int,
        d_model: int,
        num_heads: int,
        d_ff: int,
        *,
        norm_first: bool = False,
        activation: str = "relu",
        bias: bool = True,
        final_norm: bool = False,
        layer_norm_eps: float = 1e-5,
        seed: int | None = 0,
    ):
        super().__init__()
        num_layers = _check_positive("num_layers", num_layers)
        if num_layers > MAX_LAYERS:
            raise ValueError(
                _("num_layers={num_layers} must be at most {limit}").format(num_layers=num_layers, limit=MAX_LAYERS)
            )
        self.layers = nn.ModuleList(
            EncoderLayer(
                d_model,
                num_heads,
                d_ff,
                norm_first=norm_first,
                activation=activation,
                bias=bias,
                layer_norm_eps=layer_norm_eps,
                seed=None if seed is None else int(seed) + index,
            )
            for index in range(num_layers)
        )
        self.final_norm_eps = float(layer_norm_eps)
        if final_norm:
            self.final_norm_weight = nn.Parameter(torch.ones(d_model))
            self.final_norm_bias = nn.Parameter(torch.zeros(d_model)) if bias else None
        else:
            self.register_parameter("final_norm_weight", None)
            self.register_parameter("final_norm_bias", None)

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    @property
    def d_model(self) -> int:
        return self.layers[0].d_model

    @property
    def num_heads(self) -> int:
        return self.layers[0].num_heads

    @property
    def has_final_norm(self) -> bool:
        return self.final_norm_weight is not None

    def forward(self, x: Tensor, *, mask: Tensor | None = None, valid_lens: Tensor | None = None) -> EncoderTrace:
        """Run ``x`` ``(B, T, d_model)`` or ``(T, d_model)`` through every layer, the same mask in each."""
        traces = []
        h = x
        for layer in self.layers:
            trace = layer(h, mask=mask, valid_lens=valid_lens)
            traces.append(trace)
            h = trace.output
        final = None
        if self.has_final_norm:
            final = layer_norm(h, self.final_norm_weight, self.final_norm_bias, self.final_norm_eps)
            h = final.output
        return EncoderTrace(input=traces[0].input, layers=tuple(traces), final_norm=final, output=h)

    @classmethod
    def from_torch(cls, encoder: nn.TransformerEncoder) -> Encoder:
        """Copy the weights of an ``nn.TransformerEncoder`` (its layers and its optional final ``LayerNorm``)."""
        if not isinstance(encoder, nn.TransformerEncoder):
            raise ValueError(f"encoder must be an nn.TransformerEncoder, got {type(encoder).__name__}")
        layers = [EncoderLayer.from_torch(layer) for layer in encoder.layers]
        first = layers[0]
        norm = encoder.norm
        if norm is not None and not isinstance(norm, nn.LayerNorm):
            raise ValueError(f"the final norm must be an nn.LayerNorm, got {type(norm).__name__}")
        module = cls(
            len(layers),
            first.d_model,
            first.num_heads,
            first.d_ff,
            norm_first=first.norm_first,
            activation=first.activation,
            bias=first.has_bias,
            final_norm=norm is not None,
            layer_norm_eps=first.layer_norm_eps if norm is None else norm.eps,
        )
        module.layers = nn.ModuleList(layers)
        if norm is not None:
            with torch.no_grad():
                module.final_norm_weight = nn.Parameter(norm.weight.detach().clone())
                module.final_norm_bias = None if norm.bias is None else nn.Parameter(norm.bias.detach().clone())
        return module

    def to_torch(self, *, batch_first: bool = True) -> nn.TransformerEncoder:
        """An ``nn.TransformerEncoder`` holding the same weights (dropout 0, nested tensors off), in eval mode."""
        torch_layers = [layer.to_torch(batch_first=batch_first) for layer in self.layers]
        norm = None
        if self.has_final_norm:
            norm = nn.LayerNorm(
                self.d_model,
                eps=self.final_norm_eps,
                bias=self.final_norm_bias is not None,
                dtype=self.final_norm_weight.dtype,
            )
            with torch.no_grad():
                norm.weight.copy_(self.final_norm_weight)
                if self.final_norm_bias is not None:
                    norm.bias.copy_(self.final_norm_bias)
        encoder = nn.TransformerEncoder(torch_layers[0], len(torch_layers), norm=norm, enable_nested_tensor=False)
        encoder.layers = nn.ModuleList(torch_layers)
        return encoder.eval()


@dataclass(frozen=True)
class TimeSeriesTrace:
    """Seed 000's model run batch-first: positional encoding, the encoder over time steps, a forecast."""

    input: Tensor  # (B, T, input_size)  one row per time step
    positional: Tensor  # (T, input_size)  seed 000's sinusoidal encoding (odd d_model allowed)
    encoder_input: Tensor  # (B, T, input_size)  input + positional
    encoder: EncoderTrace  # attention over the T time steps of each sample
    forecast: Tensor  # (B, horizon, input_size)  from the last time step's output


@dataclass(frozen=True)
class SeedRun:
    """The same weights run as seed 000 does: ``(16, 32, 9)`` fed to a ``batch_first=False`` encoder."""

    input: Tensor  # (S, N, input_size)  the seed's (16, 32, 9): S = its batch, read by torch as the sequence
    positional: Tensor  # (S, input_size)  one position per *sample*, the same for all N of its time steps
    encoder: EncoderTrace  # batch-first view (N, S, input_size): attention over the S samples, N times
    output: Tensor  # (S, N, input_size)  the encoder's output in the seed's layout
    flattened: Tensor  # (S, N · input_size)  the seed's ``output.reshape(output.size(0), -1)``


@dataclass(frozen=True)
class SeedBugReport:
    """The numbers behind the explanation of seed 000's batch-axis bug (see :func:`seed_bug_report`)."""

    input_shape: tuple[int, int, int]  # (16, 32, 9) as the seed builds it
    seed_weights_shape: tuple[int, ...]  # (32, H, 16, 16): 32 attention maps over the 16 samples
    right_weights_shape: tuple[int, ...]  # (16, H, 32, 32): 16 attention maps over the 32 time steps
    flattened_shape: tuple[int, int]  # (16, 288): the seed's reshape, which its Linear(288, 32) expects
    seed_leak: float  # max |change| in samples 1.. when only sample 0 changes, as the seed runs it
    right_leak: float  # the same, batch-first: 0 (samples are independent)
    seed_positional_spread: float  # max |pe[s, t] − pe[s, 0]| over the seed's time axis: 0 (no time order)
    seed_self_weight: float  # mean weight a sample gives itself (seed way), vs 1/S if uniform


class TimeSeriesTransformer(nn.Module):
    """Seed 000's ``TimeSeriesTransformer`` made right: batch-first, attention over the time steps of each sample.

    ``input_size`` features per time step are the model width (d_model = input_size, odd allowed, as in the seed),
    plus seed 000's positional encoding, ``num_layers`` post-norm encoder layers of ``num_heads`` heads (the seed's
    ``nn.TransformerEncoderLayer`` defaults: d_ff 2048, relu), and a linear head reading the last time step's output
    to forecast the next ``horizon`` steps of every feature.
    """

    def __init__(
        self,
        input_size: int = 9,
        num_layers: int = 10,
        num_heads: int = 3,
        d_ff: int = 2048,
        *,
        horizon: int = 4,
        norm_first: bool = False,
        activation: str = "relu",
        seed: int | None = 0,
    ):
        super().__init__()
        input_size = _check_positive("input_size", input_size)
        self.horizon = _check_positive("horizon", horizon)
        self.encoder = Encoder(
            num_layers, input_size, num_heads, d_ff, norm_first=norm_first, activation=activation, seed=seed
        )
        generator = seeded_generator(None if seed is None else int(seed) + 104729)
        bound = 1.0 / math.sqrt(input_size)
        self.w_head = nn.Parameter(uniform_init((input_size, self.horizon * input_size), bound, generator))
        self.b_head = nn.Parameter(uniform_init((self.horizon * input_size,), bound, generator))

    @property
    def input_size(self) -> int:
        return self.encoder.d_model

    def positional(self, num_positions: int) -> Tensor:
        """Seed 000's encoding for ``num_positions`` positions, ``(T, input_size)``, in the model's dtype."""
        from attnviz.positional import seed_odd_variant_encoding

        return seed_odd_variant_encoding(num_positions, self.input_size, dtype=torch.float64).to(self.w_head.dtype)

    def _check(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or x.dim() != 3 or x.shape[-1] != self.input_size or x.shape[1] < 1:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"x must have shape (B, T, input_size={self.input_size}), got {shape}")
        return x.to(self.w_head.dtype)

    def forward(self, x: Tensor, *, mask: Tensor | None = None, valid_lens: Tensor | None = None) -> TimeSeriesTrace:
        """``x`` ``(B, T, input_size)``, batch first: each sample's T time steps attend to each other."""
        x = self._check(x)
        pe = self.positional(x.shape[1])  # (T, input_size)
        encoder_input = x + pe  # (B, T, input_size)
        trace = self.encoder(encoder_input, mask=mask, valid_lens=valid_lens)
        last = trace.output[:, -1, :]  # (B, input_size)
        forecast = (last @ self.w_head + self.b_head).reshape(x.shape[0], self.horizon, self.input_size)
        return TimeSeriesTrace(input=x, positional=pe, encoder_input=encoder_input, encoder=trace, forecast=forecast)

    def forward_as_seed(self, x: Tensor) -> SeedRun:
        """Run ``x`` exactly as seed 000 does: axis 0 (its batch) is read as the sequence by a sequence-first encoder.

        Its ``PositionalEncoding`` adds ``pe[:x.size(0)]``, one position per *sample*; the encoder then attends over
        axis 0, so every sample mixes with the others, and ``reshape(output.size(0), -1)`` flattens the encoder's
        batch (the time steps) into the features.
        """
        x = self._check(x)
        s = x.shape[0]
        pe = self.positional(s)  # (S, input_size)
        seq_first = x + pe.unsqueeze(1)  # (S, N, input_size): the same position for all N steps of sample s
        trace = self.encoder(seq_first.transpose(0, 1))  # (N, S, input_size): attention over the S samples
        output = trace.output.transpose(0, 1)  # (S, N, input_size)
        return SeedRun(input=x, positional=pe, encoder=trace, output=output, flattened=output.reshape(s, -1))


def seed_bug_report(
    model: TimeSeriesTransformer, x: Tensor, *, seed_run: SeedRun | None = None, right: TimeSeriesTrace | None = None
) -> SeedBugReport:
    """Run ``x`` ``(S, N, input_size)`` both ways and measure what the seed's layout does (no gradients).

    ``seed_run`` / ``right``: ``model.forward_as_seed(x)`` / ``model(x)`` when the caller already has them.
    """
    if not isinstance(x, Tensor) or x.dim() != 3 or x.shape[0] < 2:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"x must have shape (S >= 2, N, input_size) to show the leak, got {shape}")
    with torch.no_grad():
        seed = model.forward_as_seed(x) if seed_run is None else seed_run
        right = model(x) if right is None else right
        changed = x.clone()
        changed[0] = changed[0] + 1.0  # only sample 0 changes
        seed_changed = model.forward_as_seed(changed)
        right_changed = model(changed)
    added = seed.encoder.input.transpose(0, 1) - seed.input  # (S, N, input_size): what the seed's PE added
    weights = seed.encoder.weights  # (L, N, H, S, S)
    self_weight = torch.diagonal(weights, dim1=-2, dim2=-1).mean()
    return SeedBugReport(
        input_shape=tuple(x.shape),
        seed_weights_shape=tuple(seed.encoder.layers[0].attention.weights.shape),
        right_weights_shape=tuple(right.encoder.layers[0].attention.weights.shape),
        flattened_shape=tuple(seed.flattened.shape),
        seed_leak=float((seed_changed.output[1:] - seed.output[1:]).abs().max()),
        right_leak=float((right_changed.encoder.output[1:] - right.encoder.output[1:]).abs().max()),
        seed_positional_spread=float((added - added[:, :1]).abs().max()),
        seed_self_weight=float(self_weight),
    )


@dataclass(frozen=True)
class EncoderCheck:
    """Largest differences between an :class:`EncoderTrace` and ``nn.TransformerEncoder`` holding the same weights."""

    max_output_diff: float  # max |output − torch output| over the compared rows
    layer_weight_diffs: tuple[float, ...]  # per layer: max |weights − torch self_attn weights| on that layer's input
    output_scale: float  # max(1, max |torch output|): the output tolerance is tolerance × this
    tolerance: float

    @property
    def max_weight_diff(self) -> float:
        return max(self.layer_weight_diffs, default=0.0)

    @property
    def passed(self) -> bool:
        return self.max_output_diff <= self.tolerance * self.output_scale and self.max_weight_diff <= self.tolerance


def check_encoder_against_torch(
    encoder: Encoder,
    trace: EncoderTrace,
    *,
    mask: Tensor | None = None,
    valid_lens: Tensor | None = None,
    tolerance: float | None = None,
) -> EncoderCheck:
    """Run ``trace.input`` ``(B, T, d_model)`` through ``encoder.to_torch()`` and compare outputs and every layer's
    per-head weights (``self_attn(..., average_attn_weights=False)`` on torch's own input to that layer).

    ``mask`` ``(T, T)`` True = may attend; ``valid_lens`` ``(B,)`` marks keys ``>= valid_lens[b]`` as padding.
    Queries that may attend to no key are left out (attnviz gives them zeros, torch NaN).
    """
    x = trace.input
    if x.dim() != 3:
        raise ValueError(f"the trace's input must have shape (B, T, d_model), got {tuple(x.shape)}")
    if tolerance is None:
        tolerance = 1e-10 if x.dtype == torch.float64 else 1e-5
    b, t = x.shape[:2]
    reference = encoder.to_torch(batch_first=True)
    attn_mask = None if mask is None else ~torch.as_tensor(mask, dtype=torch.bool)  # torch: True = may NOT attend
    padding = None
    if valid_lens is not None:
        padding = torch.arange(t).reshape(1, t) >= torch.as_tensor(valid_lens).reshape(b, 1)  # (B, T)
    diffs = []
    h = x
    with torch.no_grad():
        for ours, layer in zip(trace.layers, reference.layers, strict=True):
            attn_in = layer.norm1(h) if layer.norm_first else h
            weights = layer.self_attn(
                attn_in,
                attn_in,
                attn_in,
                attn_mask=attn_mask,
                key_padding_mask=padding,
                need_weights=True,
                average_attn_weights=False,
            )[1]  # (B, H, T, T)
            seen = ~ours.attention.fully_masked  # (B, H, T)
            diff = (ours.attention.weights - weights).abs()[seen]
            diffs.append(float(diff.max()) if diff.numel() else 0.0)
            h = layer(h, src_mask=attn_mask, src_key_padding_mask=padding)
        out = h if reference.norm is None else reference.norm(h)
    row_seen = (~trace.layers[0].attention.fully_masked).all(dim=1)  # (B, T)
    out_diff = (trace.output - out).abs()[row_seen]
    return EncoderCheck(
        max_output_diff=float(out_diff.max()) if out_diff.numel() else 0.0,
        layer_weight_diffs=tuple(diffs),
        output_scale=max(1.0, float(out[row_seen].abs().max())) if out_diff.numel() else 1.0,
        tolerance=float(tolerance),
    )
