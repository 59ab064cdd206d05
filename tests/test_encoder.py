"""EncoderLayer / Encoder against nn.TransformerEncoderLayer / nn.TransformerEncoder holding the same weights."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from attnviz.encoder import (
    ENCODER_LAYER_TRACE_FIELDS,
    ENCODER_TRACE_FIELDS,
    LAYER_NORM_TRACE_FIELDS,
    Encoder,
    EncoderLayer,
    EncoderLayerTrace,
    EncoderTrace,
    LayerNormTrace,
    TimeSeriesTransformer,
    layer_norm,
    seed_bug_report,
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


# --- Encoder: the stack against nn.TransformerEncoder ------------------------------------------------------------


def _torch_encoder(
    num_layers=3,
    *,
    norm_first=False,
    final_norm=False,
    batch_first=True,
    dtype=torch.float32,
    activation="relu",
    nested=False,
    nhead=3,
    seed=0,
) -> nn.TransformerEncoder:
    layer = _torch_layer(
        nhead=nhead, norm_first=norm_first, activation=activation, batch_first=batch_first, dtype=dtype, seed=seed
    )
    norm = None
    if final_norm:
        norm = nn.LayerNorm(12, dtype=dtype)
        with torch.no_grad():
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.uniform_(-0.5, 0.5)
    encoder = nn.TransformerEncoder(layer, num_layers, norm=norm, enable_nested_tensor=nested)
    with torch.no_grad():  # the copies are identical: give each layer its own weights
        for index, copy in enumerate(encoder.layers):
            torch.manual_seed(100 + index)
            for p in copy.parameters():
                p.add_(torch.randn(p.shape, dtype=dtype) * 0.1)
    return encoder.eval()


def _torch_layer_weights(encoder, x, *, mask=None, padding=None):
    """Each torch layer's per-head weights on that layer's own input (batch-first x)."""
    weights = []
    h = x
    attn_mask = None if mask is None else ~mask
    with torch.no_grad():
        for layer in encoder.layers:
            attn_in = layer.norm1(h) if layer.norm_first else h
            _, w = layer.self_attn(
                attn_in,
                attn_in,
                attn_in,
                attn_mask=attn_mask,
                key_padding_mask=padding,
                need_weights=True,
                average_attn_weights=False,
            )
            weights.append(w)
            h = layer(h, src_mask=attn_mask, src_key_padding_mask=padding)
    return weights


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    ("norm_first", "final_norm", "activation"),
    [(False, False, "relu"), (True, True, "gelu"), (False, True, "gelu"), (True, False, "relu")],
)
def test_encoder_matches_torch_per_layer(norm_first, final_norm, activation, dtype):
    reference = _torch_encoder(norm_first=norm_first, final_norm=final_norm, activation=activation, dtype=dtype)
    ours = Encoder.from_torch(reference)
    assert ours.num_layers == 3 and ours.has_final_norm is final_norm
    x = _randn(2, 6, 12, seed=20, dtype=dtype)
    mask = torch.ones(6, 6, dtype=torch.bool).tril()
    trace = ours(x, mask=mask)
    with torch.no_grad():
        out = reference(x, mask=~mask)
    tol = TOL[dtype]
    assert isinstance(trace, EncoderTrace) and len(trace.layers) == 3
    assert (trace.output - out).abs().max() <= tol
    for ours_layer, theirs in zip(trace.layers, _torch_layer_weights(reference, x, mask=mask), strict=True):
        assert (ours_layer.attention.weights - theirs).abs().max() <= tol
    assert trace.weights.shape == (3, 2, 3, 6, 6)
    for before, after in itertools.pairwise(trace.layers):
        assert after.input is before.output
    assert (trace.final_norm is not None) is final_norm
    assert len(trace.hidden_states) == 4 and torch.equal(trace.hidden_states[0], x)


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")
def test_encoder_padding_matches_torch_nested_fast_path():
    """torch's default (nested tensors on) zeroes padded positions' outputs; the valid positions must agree."""
    reference = _torch_encoder(num_layers=2, nested=True, nhead=4)  # torch nests only for even heads
    assert reference.use_nested_tensor
    ours = Encoder.from_torch(reference)
    x = _randn(3, 7, 12, seed=21)
    lens = torch.tensor([7, 5, 2])
    padding = torch.arange(7).unsqueeze(0) >= lens.unsqueeze(1)  # (B, T)
    trace = ours(x, valid_lens=lens)
    with torch.no_grad():
        out = reference(x, src_key_padding_mask=padding)
    valid = ~padding
    assert (trace.output[valid] - out[valid]).abs().max() <= 1e-5
    for layer, theirs in zip(trace.layers, _torch_layer_weights(reference, x, padding=padding), strict=True):
        for b, n in enumerate(lens.tolist()):
            assert torch.all(layer.attention.weights[b, :, :, n:] == 0)  # padding keys: weight 0 in every layer
            assert (layer.attention.weights[b, :, :n] - theirs[b, :, :n]).abs().max() <= 1e-5


def test_encoder_to_torch_round_trip_both_batch_first():
    ours = Encoder(4, 12, 4, 16, norm_first=True, final_norm=True, activation="gelu", seed=5).double()
    x = _randn(2, 5, 12, seed=22, dtype=torch.float64)
    trace = ours(x)
    for batch_first in (True, False):
        reference = ours.to_torch(batch_first=batch_first)
        with torch.no_grad():
            out = reference(x if batch_first else x.transpose(0, 1))
        out = out if batch_first else out.transpose(0, 1)
        assert (trace.output - out).abs().max() <= 1e-10
    back = Encoder.from_torch(ours.to_torch())
    for p, q in zip(ours.parameters(), back.parameters(), strict=True):
        assert torch.equal(p, q)


def test_encoder_unbatched_and_layers_differ():
    ours = Encoder(2, 8, 2, 16, seed=0)
    assert not torch.equal(ours.layers[0].w_1, ours.layers[1].w_1)
    x = _randn(4, 8, seed=23)
    trace = ours(x)
    assert trace.output.shape == (4, 8) and trace.weights.shape == (2, 2, 4, 4)
    with torch.no_grad():
        assert (ours.to_torch()(x) - trace.output).abs().max() <= 1e-5


def test_encoder_trace_field_names_pinned():
    assert ENCODER_TRACE_FIELDS == ("input", "layers", "final_norm", "output")


@pytest.mark.parametrize("num_layers", [0, 65])
def test_encoder_layers_out_of_range(num_layers):
    with pytest.raises(ValueError, match=f"num_layers={num_layers}"):
        Encoder(num_layers, 8, 2, 16)


# --- TimeSeriesTransformer and seed 000's batch-axis bug ---------------------------------------------------------


class _SeedPositionalEncoding(nn.Module):
    """Seed 000's PositionalEncoding, verbatim apart from dropout (0 here)."""

    def __init__(self, input_size, max_len=5000):
        super().__init__()
        pe = torch.zeros(max_len, input_size)
        position = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
        div_term_even = torch.exp(torch.arange(0, input_size, 2).float() * (-np.log(10000.0) / input_size))
        div_term_odd = torch.exp(torch.arange(1, input_size, 2).float() * (-np.log(10000.0) / input_size))
        pe[:, 0::2] = torch.sin(position * div_term_even.unsqueeze(0))
        pe[:, 1::2] = torch.cos(position * div_term_odd.unsqueeze(0))
        pe = pe.unsqueeze(0).transpose(0, 1)
        self.register_buffer("pe", pe)

    def forward(self, x):
        return x + self.pe[: x.size(0), :]


def test_time_series_shapes():
    model = TimeSeriesTransformer(seed=0)
    assert model.input_size == 9 and model.encoder.num_layers == 10 and model.encoder.num_heads == 3
    assert model.encoder.layers[0].d_ff == 2048
    x = torch.rand(2, 64, 9, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        trace = model(x)
    assert trace.positional.shape == (64, 9)
    assert trace.encoder.weights.shape == (10, 2, 3, 64, 64)
    assert trace.forecast.shape == (2, 4, 9)
    assert torch.allclose(trace.encoder_input, x + trace.positional)


def test_seed_run_matches_the_seeds_own_code():
    """As the seed runs it: its PositionalEncoding, then a batch_first=False nn.TransformerEncoder on (16, 32, 9)."""
    model = TimeSeriesTransformer(num_layers=3, seed=1)
    x = torch.rand(16, 32, 9, generator=torch.Generator().manual_seed(1))
    seed_encoder = model.encoder.to_torch(batch_first=False)
    with torch.no_grad():
        src = _SeedPositionalEncoding(9)(x)
        expected = seed_encoder(src)  # (16, 32, 9)
        _, expected_w = seed_encoder.layers[0].self_attn(src, src, src, need_weights=True, average_attn_weights=False)
        run = model.forward_as_seed(x)
    assert torch.allclose(run.positional, _SeedPositionalEncoding(9).pe[:16, 0, :], atol=1e-6)
    assert (run.output - expected).abs().max() <= 1e-5
    assert expected_w.shape == run.encoder.layers[0].attention.weights.shape == (32, 3, 16, 16)
    assert (run.encoder.layers[0].attention.weights - expected_w).abs().max() <= 1e-5
    assert (run.flattened - expected.reshape(expected.size(0), -1)).abs().max() <= 1e-5
    assert run.flattened.shape == (16, 288)  # what the seed's nn.Linear(288, 32) reads


def test_seed_bug_report_numbers():
    model = TimeSeriesTransformer(num_layers=2, seed=0)
    x = torch.rand(16, 32, 9, generator=torch.Generator().manual_seed(2))
    report = seed_bug_report(model, x)
    assert report.input_shape == (16, 32, 9)
    assert report.seed_weights_shape == (32, 3, 16, 16)
    assert report.right_weights_shape == (16, 3, 32, 32)
    assert report.flattened_shape == (16, 288)
    assert report.seed_leak > 1e-3  # changing sample 0 moves every other sample's output
    assert report.right_leak == 0.0  # batch-first: samples are independent
    assert report.seed_positional_spread <= 1e-6  # all 32 time steps of a sample get the same position (to rounding)
    # independent check of the leak with torch, as the seed runs it
    seed_encoder = model.encoder.to_torch(batch_first=False)
    pe = _SeedPositionalEncoding(9)
    changed = x.clone()
    changed[0] += 1.0
    with torch.no_grad():
        leak = (seed_encoder(pe(changed))[1:] - seed_encoder(pe(x))[1:]).abs().max()
    assert report.seed_leak == pytest.approx(float(leak), abs=1e-5)
    assert 0 < report.seed_self_weight < 1


def test_time_series_bad_input():
    model = TimeSeriesTransformer(num_layers=1, seed=0)
    with pytest.raises(ValueError, match=r"input_size=9\), got \(2, 5, 7\)"):
        model(torch.zeros(2, 5, 7))
    with pytest.raises(ValueError, match="S >= 2"):
        seed_bug_report(model, torch.zeros(1, 5, 9))
    with pytest.raises(ValueError, match="d_model=9 is not divisible by num_heads=2"):
        TimeSeriesTransformer(num_heads=2)


# --- the verification badge's check -----------------------------------------------------------------------------


def test_check_against_torch_passes_and_catches_a_wrong_weight():
    from attnviz.encoder import check_encoder_against_torch

    encoder = Encoder(3, 12, 3, 24, seed=2)
    x = _randn(1, 10, 12, seed=30)
    mask = torch.ones(10, 10, dtype=torch.bool).tril()
    lens = torch.tensor([8])
    with torch.no_grad():
        trace = encoder(x, mask=mask, valid_lens=lens)
        check = check_encoder_against_torch(encoder, trace, mask=mask, valid_lens=lens)
    assert check.passed and len(check.layer_weight_diffs) == 3 and check.max_output_diff <= 1e-5
    # a trace from different weights must fail the check
    other = Encoder(3, 12, 3, 24, seed=3)
    with torch.no_grad():
        wrong = other(x, mask=mask, valid_lens=lens)
        bad = check_encoder_against_torch(encoder, wrong, mask=mask, valid_lens=lens)
    assert not bad.passed and bad.max_weight_diff > 1e-3 and bad.max_output_diff > 1e-3
    double = Encoder(2, 12, 4, 16, norm_first=True, final_norm=True, seed=4).double()
    with torch.no_grad():
        check64 = check_encoder_against_torch(double, double(x.double()))
    assert check64.tolerance == 1e-10 and check64.passed
