"""EncoderLayer / Encoder against nn.TransformerEncoderLayer / nn.TransformerEncoder holding the same weights."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from attnviz.encoder import (
    ENCODER_LAYER_TRACE_FIELDS,
    LAYER_NORM_TRACE_FIELDS,
    EncoderLayer,
    EncoderLayerTrace,
    LayerNormTrace,
    layer_norm,
)

TOL = {torch.float32: 1e-5, torch.float64: 1e-10}


def _randn(*shape: int, seed: int = 0, dtype=torch.float32) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _torch_layer(
    d_model=12,
    nhead=3,
    d_ff=20,
    *,
    norm_first=False,
    activation="relu",
    bias=True,
    batch_first=True,
    dtype=torch.float32,
    seed=0,
) -> nn.TransformerEncoderLayer:
    """A torch layer with torch's own random init, plus non-trivial LayerNorm γ/β so the affine step is tested."""
    torch.manual_seed(seed)
    layer = nn.TransformerEncoderLayer(
        d_model,
        nhead,
        dim_feedforward=d_ff,
        dropout=0.0,
        activation=activation,
        batch_first=batch_first,
        norm_first=norm_first,
        bias=bias,
        dtype=dtype,
    )
    with torch.no_grad():
        for norm in (layer.norm1, layer.norm2):
            norm.weight.uniform_(0.5, 1.5)
            if norm.bias is not None:
                norm.bias.uniform_(-0.5, 0.5)
        if layer.self_attn.in_proj_bias is not None:
            layer.self_attn.in_proj_bias.uniform_(-0.3, 0.3)  # torch starts them at 0: make them matter
            layer.self_attn.out_proj.bias.uniform_(-0.3, 0.3)
    return layer.eval()


def _torch_run(layer, x, *, mask=None, valid_lens=None, batch_first=True):
    """Torch's output and per-head weights for batch-first ``x``; ``mask`` True = may attend (torch: negated)."""
    attn_mask = None if mask is None else ~mask
    padding = None
    if valid_lens is not None:
        t = x.shape[-2]
        padding = torch.arange(t).unsqueeze(0) >= valid_lens.reshape(-1, 1)  # (B, T), True = padding
        if x.dim() == 2:
            padding = padding.squeeze(0)
    xt = x if batch_first or x.dim() == 2 else x.transpose(0, 1)  # (T, B, d) when not batch_first
    with torch.no_grad():
        out = layer(xt, src_mask=attn_mask, src_key_padding_mask=padding)
        attn_in = layer.norm1(xt) if layer.norm_first else xt
        _, weights = layer.self_attn(
            attn_in,
            attn_in,
            attn_in,
            attn_mask=attn_mask,
            key_padding_mask=padding,
            need_weights=True,
            average_attn_weights=False,
        )
    if not batch_first and x.dim() == 3:
        out = out.transpose(0, 1)
    return out, weights


CASES = list(itertools.product([False, True], ["relu", "gelu"], [True, False], [True, False]))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("norm_first", "activation", "bias", "batch_first"), CASES)
def test_layer_matches_torch(norm_first, activation, bias, batch_first, dtype):
    reference = _torch_layer(
        norm_first=norm_first, activation=activation, bias=bias, batch_first=batch_first, dtype=dtype
    )
    ours = EncoderLayer.from_torch(reference)
    x = _randn(2, 7, 12, seed=1, dtype=dtype)
    trace = ours(x)
    out, weights = _torch_run(reference, x, batch_first=batch_first)
    tol = TOL[dtype]
    assert trace.output.dtype == dtype
    assert (trace.output - out).abs().max() <= tol
    assert trace.attention.weights.shape == weights.shape == (2, 3, 7, 7)
    assert (trace.attention.weights - weights).abs().max() <= tol


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("norm_first", [False, True])
def test_layer_masks_and_padding_match_torch(norm_first, dtype):
    reference = _torch_layer(norm_first=norm_first, dtype=dtype, seed=3)
    ours = EncoderLayer.from_torch(reference)
    x = _randn(3, 6, 12, seed=2, dtype=dtype)
    causal = torch.ones(6, 6, dtype=torch.bool).tril()
    lens = torch.tensor([6, 4, 2])
    tol = TOL[dtype]
    for mask, valid_lens in ((causal, None), (None, lens), (causal, lens)):
        trace = ours(x, mask=mask, valid_lens=valid_lens)
        out, weights = _torch_run(reference, x, mask=mask, valid_lens=valid_lens)
        assert (trace.output - out).abs().max() <= tol
        assert (trace.attention.weights - weights).abs().max() <= tol
        if valid_lens is not None:  # padding keys get weight 0
            for b, n in enumerate(lens.tolist()):
                assert torch.all(trace.attention.weights[b, :, :, n:] == 0)


@pytest.mark.parametrize("norm_first", [False, True])
def test_unbatched_matches_torch_and_batched(norm_first):
    reference = _torch_layer(norm_first=norm_first, activation="gelu", seed=4)
    ours = EncoderLayer.from_torch(reference)
    x = _randn(5, 12, seed=5)
    trace = ours(x, valid_lens=torch.tensor(3))
    out, weights = _torch_run(reference, x, valid_lens=torch.tensor([3]))
    assert trace.output.shape == (5, 12) and trace.attention.weights.shape == (3, 5, 5)
    assert (trace.output - out).abs().max() <= 1e-5
    assert (trace.attention.weights - weights).abs().max() <= 1e-5
    batched = ours(x.unsqueeze(0), valid_lens=torch.tensor([3]))
    assert torch.allclose(batched.output[0], trace.output, atol=1e-6)


def test_to_torch_round_trip_and_own_init_match():
    ours = EncoderLayer(16, 4, 24, norm_first=True, activation="gelu", seed=11).double()
    x = _randn(2, 9, 16, seed=6, dtype=torch.float64)
    for batch_first in (True, False):
        reference = ours.to_torch(batch_first=batch_first)
        assert reference.self_attn.batch_first is batch_first and not reference.training
        out, weights = _torch_run(reference, x, batch_first=batch_first)
        trace = ours(x)
        assert (trace.output - out).abs().max() <= 1e-10
        assert (trace.attention.weights - weights).abs().max() <= 1e-10
        back = EncoderLayer.from_torch(reference)
        for (name, p), (name2, q) in zip(ours.named_parameters(), back.named_parameters(), strict=True):
            assert name == name2 and torch.equal(p, q)


def test_seeded_init_is_reproducible_and_differs_by_seed():
    a, b, c = EncoderLayer(8, 2, 16, seed=1), EncoderLayer(8, 2, 16, seed=1), EncoderLayer(8, 2, 16, seed=2)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(a.w_1, c.w_1) and not torch.equal(a.attention.w_q, c.attention.w_q)
    assert torch.equal(a.norm1_weight, torch.ones(8)) and torch.equal(a.norm1_bias, torch.zeros(8))


def test_trace_field_names_pinned():
    assert ENCODER_LAYER_TRACE_FIELDS == (
        "input",
        "attention_input",
        "attention",
        "residual1",
        "norm1",
        "ffn_input",
        "ffn_pre_activation",
        "ffn_hidden",
        "ffn_output",
        "residual2",
        "norm2",
        "output",
        "norm_first",
        "activation",
    )
    assert LAYER_NORM_TRACE_FIELDS == ("input", "mean", "variance", "eps", "std", "standardized", "output")
    trace = EncoderLayer(6, 2, 8)(_randn(4, 6))
    assert isinstance(trace, EncoderLayerTrace) and isinstance(trace.norm1, LayerNormTrace)
    with pytest.raises(dataclasses.FrozenInstanceError):
        trace.output = None  # type: ignore[misc]


@pytest.mark.parametrize("norm_first", [False, True])
def test_steps_are_wired_as_documented(norm_first):
    """Each named step is what the one before it says, checked with torch's own functional pieces."""
    layer = EncoderLayer(8, 2, 16, norm_first=norm_first, seed=3).double()
    with torch.no_grad():
        layer.norm1_weight.uniform_(0.5, 1.5)
        layer.norm2_bias.uniform_(-0.5, 0.5)
    x = _randn(2, 5, 8, seed=7, dtype=torch.float64)
    t = layer(x)

    def ln(v, w, b):
        return F.layer_norm(v, (8,), w, b, 1e-5)

    assert torch.equal(t.input, x)
    if norm_first:
        assert torch.allclose(t.attention_input, ln(x, layer.norm1_weight, layer.norm1_bias), atol=1e-12)
        assert torch.allclose(t.ffn_input, ln(t.residual1, layer.norm2_weight, layer.norm2_bias), atol=1e-12)
        assert torch.allclose(t.residual2, t.residual1 + t.ffn_output, atol=1e-12)
        assert torch.equal(t.output, t.residual2)
    else:
        assert torch.equal(t.attention_input, x)
        assert torch.allclose(t.ffn_input, ln(t.residual1, layer.norm1_weight, layer.norm1_bias), atol=1e-12)
        assert torch.allclose(t.residual2, t.ffn_input + t.ffn_output, atol=1e-12)
        assert torch.allclose(t.output, ln(t.residual2, layer.norm2_weight, layer.norm2_bias), atol=1e-12)
    assert torch.allclose(t.residual1, x + t.attention.output, atol=1e-12)
    linear1 = F.linear(t.ffn_input, layer.w_1.T, layer.b_1)
    assert torch.allclose(t.ffn_pre_activation, linear1, atol=1e-12)
    assert torch.equal(t.ffn_hidden, torch.relu(t.ffn_pre_activation))
    assert t.ffn_zero_fraction == pytest.approx(float((t.ffn_pre_activation <= 0).double().mean()))
    assert torch.allclose(t.ffn_output, F.linear(t.ffn_hidden, layer.w_2.T, layer.b_2), atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_layer_norm_steps_match_f_layer_norm(dtype):
    x = _randn(3, 5, 10, seed=8, dtype=dtype) * 4 + 2
    w = _randn(10, seed=9, dtype=dtype)
    b = _randn(10, seed=10, dtype=dtype)
    before = x.clone()
    trace = layer_norm(x, w, b, 1e-5)
    assert torch.equal(x, before)
    tol = TOL[dtype]
    assert (trace.output - F.layer_norm(x, (10,), w, b, 1e-5)).abs().max() <= tol
    assert (trace.standardized - F.layer_norm(x, (10,), None, None, 1e-5)).abs().max() <= tol
    x64 = x.double()
    assert torch.allclose(trace.mean.double(), x64.mean(-1), atol=tol)
    assert torch.allclose(trace.variance.double(), x64.var(-1, unbiased=False), atol=tol * 10)
    # after standardising, every row has mean 0 and std sqrt(var / (var + eps)) ≈ 1
    assert trace.standardized.mean(-1).abs().max() <= tol
    expected_std = torch.sqrt(trace.variance / (trace.variance + 1e-5))
    assert torch.allclose(trace.standardized.std(-1, unbiased=False), expected_std, atol=tol * 10)


def test_gradients_reach_every_parameter():
    layer = EncoderLayer(8, 2, 16, seed=0)
    layer(_randn(2, 4, 8)).output.pow(2).sum().backward()
    for name, p in layer.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_input_is_not_changed():
    x = _randn(2, 4, 8, seed=12)
    before = x.clone()
    EncoderLayer(8, 2, 16)(x, mask=torch.ones(4, 4, dtype=torch.bool).tril())
    assert torch.equal(x, before)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"d_model": 10, "num_heads": 3, "d_ff": 8}, "d_model=10 is not divisible by num_heads=3"),
        ({"d_model": 8, "num_heads": 2, "d_ff": 0}, "d_ff=0"),
        ({"d_model": 8, "num_heads": 2, "d_ff": 8, "activation": "tanh"}, "activation='tanh'"),
        ({"d_model": 8, "num_heads": 2, "d_ff": 8, "layer_norm_eps": 0.0}, "layer_norm_eps=0.0"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EncoderLayer(**kwargs)


def test_bad_input_shape_is_named():
    layer = EncoderLayer(8, 2, 16)
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, 8\) or \(T, 8\), got \(2, 4, 6\)"):
        layer(torch.zeros(2, 4, 6))


def test_from_torch_rejects_other_activations():
    reference = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation=torch.tanh)
    with pytest.raises(ValueError, match="only relu or gelu"):
        EncoderLayer.from_torch(reference)
