"""SelfAttention and MultiHeadAttention against the worked example, nn.Linear and nn.MultiheadAttention."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from attnviz.attention import TRACE_FIELDS, AttentionTrace, attend
from attnviz.examples import WORKED_EXAMPLE, WORKED_EXAMPLE_PRINTED
from attnviz.modules import (
    MULTIHEAD_TRACE_FIELDS,
    MultiHeadAttention,
    MultiHeadTrace,
    SelfAttention,
    head_slice,
    merge_heads,
    split_heads,
    weights_as_numpy,
)

ATOL = 1e-5


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randn(*shape: int, seed: int = 0, dtype=torch.float32) -> torch.Tensor:
    return torch.randn(*shape, generator=_gen(seed), dtype=dtype)


# --- SelfAttention: the worked example -----------------------------------------------------------------------


def _worked_trace() -> AttentionTrace:
    module = SelfAttention.from_matrices(WORKED_EXAMPLE.w_q, WORKED_EXAMPLE.w_k, WORKED_EXAMPLE.w_v)
    return module(torch.tensor(WORKED_EXAMPLE.x), scale=1.0)


@pytest.mark.parametrize("name", ["query", "key", "value", "scores"])
def test_worked_example_integers_exact(name):
    trace = _worked_trace()
    expected = torch.tensor(WORKED_EXAMPLE_PRINTED[name], dtype=torch.float64)
    assert torch.equal(getattr(trace, name).detach(), expected)


@pytest.mark.parametrize("name", ["weights", "output"])
def test_worked_example_printed_to_two_decimals(name):
    trace = _worked_trace()
    expected = np.array(WORKED_EXAMPLE_PRINTED[name])
    got = getattr(trace, name).detach().numpy()
    assert got.shape == expected.shape == (3, 3)
    np.testing.assert_allclose(got, expected, atol=0.005, rtol=0)


def test_worked_example_unscaled_and_default_scale():
    trace = _worked_trace()
    assert trace.scale == 1.0
    assert torch.equal(trace.scaled, trace.scores)
    module = SelfAttention.from_matrices(WORKED_EXAMPLE.w_q, WORKED_EXAMPLE.w_k, WORKED_EXAMPLE.w_v)
    scaled = module(torch.tensor(WORKED_EXAMPLE.x))
    assert scaled.scale == pytest.approx(1 / math.sqrt(3))
    x = np.asarray(WORKED_EXAMPLE.x, dtype=np.float64)
    q, k = x @ np.asarray(WORKED_EXAMPLE.w_q, np.float64), x @ np.asarray(WORKED_EXAMPLE.w_k, np.float64)
    np.testing.assert_allclose(scaled.scaled.detach().double().numpy(), q @ k.T / np.sqrt(3), rtol=1e-6)


def test_from_matrices_copies_and_accepts_biases():
    w = np.eye(3, 2)
    b = [torch.tensor([1.0, 2.0]), torch.tensor([0.0, 1.0]), torch.tensor([3.0, 4.0])]
    module = SelfAttention.from_matrices(w, w, w, *b)
    w[0, 0] = 99.0
    assert module.w_q[0, 0] == 1.0  # the module holds its own copy
    q, k, v = module.project(torch.zeros(1, 3, dtype=torch.float64))
    assert q.tolist() == [[1.0, 2.0]] and k.tolist() == [[0.0, 1.0]] and v.tolist() == [[3.0, 4.0]]
    with pytest.raises(ValueError, match="give all three biases"):
        SelfAttention.from_matrices(w, w, w, b_q=b[0])
    with pytest.raises(ValueError, match=r"W_k must have shape \(3, 2\), got \(3, 3\)"):
        SelfAttention.from_matrices(w, np.eye(3), w)
    with pytest.raises(ValueError, match=r"W_v must have 3 rows like W_q, got shape \(2, 2\)"):
        SelfAttention.from_matrices(w, w, np.eye(2))


def test_project_names_the_width_mismatch():
    module = SelfAttention(4, 3, seed=0)
    with pytest.raises(ValueError, match=r"X has width 5 but W_q has 4 rows"):
        module(torch.zeros(2, 5))


def test_from_matrices_with_read_only_arrays_warns_nothing():
    """The WORKED_EXAMPLE arrays are read-only; ``torch.as_tensor`` on them would print "The given NumPy array is
    not writable ... undefined behavior" (once per process, hence the subprocess): the module copies them."""
    code = (
        "from attnviz.examples import WORKED_EXAMPLE as W\n"
        "from attnviz.modules import SelfAttention\n"
        "SelfAttention.from_matrices(W.w_q, W.w_k, W.w_v, W.w_q[0], W.w_k[0], W.w_v[0])\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "error::UserWarning", "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-600:]


# --- SelfAttention: the seeded ("learned") variant -----------------------------------------------------------


PARAMS = ("w_q", "w_k", "w_v", "b_q", "b_k", "b_v")


def test_seeded_self_attention_is_deterministic_per_seed():
    a, b, c = (
        SelfAttention(4, 3, bias=True, seed=7),
        SelfAttention(4, 3, bias=True, seed=7),
        SelfAttention(4, 3, bias=True, seed=8),
    )
    for name in PARAMS:
        assert torch.equal(getattr(a, name), getattr(b, name)), name
        assert not torch.equal(getattr(a, name), getattr(c, name)), name
    x = _randn(5, 4)
    assert torch.equal(a(x).output, b(x).output)
    assert not torch.allclose(a(x).output, c(x).output)


def test_seeded_self_attention_shapes_bias_and_init_range():
    m = SelfAttention(4, 3, bias=True, seed=0)
    assert m.w_q.shape == m.w_k.shape == m.w_v.shape == (4, 3)
    assert m.b_q.shape == m.b_k.shape == m.b_v.shape == (3,)
    assert all(getattr(m, name).abs().max() <= 0.5 for name in PARAMS)  # nn.Linear's ±1/√d_in
    assert all(getattr(m, name).abs().max() > 0 for name in PARAMS)
    n = SelfAttention(4, 3, bias=False, seed=0)
    assert n.b_q is None and n.b_k is None and n.b_v is None
    assert {name for name, _ in n.named_parameters()} == {"w_q", "w_k", "w_v"}
    assert SelfAttention(4, 3, d_v=5, seed=0)(_randn(2, 4)).output.shape == (2, 5)


@pytest.mark.parametrize("d", [0, -1])
def test_self_attention_rejects_empty_widths(d):
    with pytest.raises(ValueError, match=rf"d_k={d} must be at least 1"):
        SelfAttention(4, d)


@pytest.mark.parametrize("seed", [0, 1, 123])
@pytest.mark.parametrize("bias", [True, False])
def test_seeded_self_attention_equals_linear_layers(seed, bias):
    m = SelfAttention(4, 3, bias=bias, seed=seed)
    linears = {}
    for name in ("q", "k", "v"):
        lin = nn.Linear(4, 3, bias=bias)
        with torch.no_grad():
            lin.weight.copy_(getattr(m, f"w_{name}").T)  # nn.Linear's weight is (d_out, d_in)
            if bias:
                lin.bias.copy_(getattr(m, f"b_{name}"))
        linears[name] = lin
    x = _randn(2, 5, 4, seed=seed + 100)
    mask = torch.ones(5, 5, dtype=torch.bool).tril()

    with torch.no_grad():
        q, k, v = (linears[n](x) for n in ("q", "k", "v"))
        scores = torch.einsum("btd,bsd->bts", q, k) / math.sqrt(3)
        weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
        output = torch.einsum("bts,bsd->btd", weights, v)
        trace = m(x, mask=mask)
    torch.testing.assert_close(trace.query, q, atol=ATOL, rtol=ATOL)
    torch.testing.assert_close(trace.key, k, atol=ATOL, rtol=ATOL)
    torch.testing.assert_close(trace.value, v, atol=ATOL, rtol=ATOL)
    torch.testing.assert_close(trace.weights, weights, atol=ATOL, rtol=ATOL)
    torch.testing.assert_close(trace.output, output, atol=ATOL, rtol=ATOL)


def test_modules_keep_no_result_on_self():
    sa, mha = SelfAttention(4, 3, seed=0), MultiHeadAttention(4, 2, seed=0)
    before = (set(vars(sa)), set(vars(mha)), {k: v.clone() for k, v in mha.state_dict().items()})
    sa(_randn(3, 4))
    mha(_randn(2, 3, 4))
    assert set(vars(sa)) == before[0] and set(vars(mha)) == before[1]
    assert all(torch.equal(v, before[2][k]) for k, v in mha.state_dict().items())


# --- MultiHeadAttention against nn.MultiheadAttention --------------------------------------------------------


def _pair(direction: str, d_model: int, num_heads: int, bias: bool, batch_first: bool, seed: int):
    """(ours, torch's) holding the same weights, copied one way or the other."""
    if direction == "from_torch":
        torch.manual_seed(seed)
        theirs = nn.MultiheadAttention(d_model, num_heads, bias=bias, batch_first=batch_first).eval()
        if bias:  # torch initialises its biases to 0; make them visible
            with torch.no_grad():
                theirs.in_proj_bias.uniform_(-1, 1)
                theirs.out_proj.bias.uniform_(-1, 1)
        return MultiHeadAttention.from_torch(theirs), theirs
    ours = MultiHeadAttention(d_model, num_heads, bias=bias, seed=seed)
    return ours, ours.to_torch(batch_first=batch_first)


def _torch_call(theirs: nn.MultiheadAttention, q, k, v, batched: bool, **kwargs):
    """Call torch's module with batch-first tensors, whatever its batch_first; return batch-first results."""
    if batched and not theirs.batch_first:
        q, k, v = (x.transpose(0, 1) for x in (q, k, v))  # (T, B, d_model)
    out, weights = theirs(q, k, v, need_weights=True, **kwargs)
    if batched and not theirs.batch_first:
        out = out.transpose(0, 1)  # (B, T_q, d_model)
    return out, weights


@pytest.mark.parametrize("direction", ["from_torch", "to_torch"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("cross", [False, True])
def test_matches_torch_multihead(direction, bias, batch_first, batched, cross):
    d_model, h, b, t_q = 8, 2, 3, 4
    t_k = 6 if cross else t_q
    ours, theirs = _pair(direction, d_model, h, bias, batch_first, seed=5)
    batch = (b,) if batched else ()
    q = _randn(*batch, t_q, d_model, seed=1)
    k = _randn(*batch, t_k, d_model, seed=2) if cross else q
    v = _randn(*batch, t_k, d_model, seed=3) if cross else q

    with torch.no_grad():
        trace = ours(q, k, v) if cross else ours(q)
        out, weights = _torch_call(theirs, q, k, v, batched, average_attn_weights=False)
        _, mean_weights = _torch_call(theirs, q, k, v, batched)

    assert trace.output.shape == (*batch, t_q, d_model)
    assert trace.weights.shape == weights.shape == (*batch, h, t_q, t_k)
    torch.testing.assert_close(trace.output, out, atol=ATOL, rtol=ATOL)
    torch.testing.assert_close(trace.weights, weights, atol=ATOL, rtol=ATOL)
    torch.testing.assert_close(trace.mean_weights, mean_weights, atol=ATOL, rtol=ATOL)


@pytest.mark.parametrize("direction", ["from_torch", "to_torch"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batched", [True, False])
def test_matches_torch_with_causal_mask(direction, bias, batched):
    d_model, h, t = 6, 3, 5
    ours, theirs = _pair(direction, d_model, h, bias, batch_first=True, seed=6)
    x = _randn(*((2,) if batched else ()), t, d_model, seed=4)
    allowed = torch.ones(t, t, dtype=torch.bool).tril()  # ours: True = may attend
    with torch.no_grad():
        trace = ours(x, mask=allowed)
        out, weights = _torch_call(theirs, x, x, x, batched, attn_mask=~allowed, average_attn_weights=False)
    torch.testing.assert_close(trace.output, out, atol=ATOL, rtol=ATOL)
    torch.testing.assert_close(trace.weights, weights, atol=ATOL, rtol=ATOL)
    assert (trace.weights[..., ~allowed] == 0).all()


@pytest.mark.parametrize("direction", ["from_torch", "to_torch"])
@pytest.mark.parametrize("batch_first", [True, False])
def test_matches_torch_with_per_head_cross_mask(direction, batch_first):
    """Our (B, H, T_q, T_k) mask is torch's (B·H, T_q, T_k) attn_mask, inverted."""
    d_model, h, b, t_q, t_k = 8, 4, 2, 3, 5
    ours, theirs = _pair(direction, d_model, h, True, batch_first, seed=7)
    q, k, v = _randn(b, t_q, d_model, seed=1), _randn(b, t_k, d_model, seed=2), _randn(b, t_k, d_model, seed=3)
    allowed = torch.rand(b, h, t_q, t_k, generator=_gen(8)) > 0.5
    allowed[..., 2] = True  # no fully masked rows (torch answers NaN there)
    with torch.no_grad():
        trace = ours(q, k, v, mask=allowed)
        out, weights = _torch_call(
            theirs, q, k, v, True, attn_mask=~allowed.reshape(b * h, t_q, t_k), average_attn_weights=False
        )
        _, mean_weights = _torch_call(theirs, q, k, v, True, attn_mask=~allowed.reshape(b * h, t_q, t_k))
    torch.testing.assert_close(trace.output, out, atol=ATOL, rtol=ATOL)
    torch.testing.assert_close(trace.weights, weights, atol=ATOL, rtol=ATOL)
    torch.testing.assert_close(trace.mean_weights, mean_weights, atol=ATOL, rtol=ATOL)
    assert torch.equal(trace.mask, allowed)


def test_batched_three_d_mask_is_rejected_with_both_fixes_named():
    """Issue 9 bug 2: a (B, T, T) mask used to be read per batch row, silently wrong for a per-head (H, T, T) mask
    when B == H. B = 3 != H = 2 here, so batch rows and heads cannot be confused."""
    d_model, h, b, t = 4, 2, 3, 3
    ours = MultiHeadAttention(d_model, h, seed=9)
    with pytest.raises(ValueError, match=r"3-D mask \(3, 3, 3\).*mask\[:, None\].*mask\[None\]"):
        ours(_randn(b, t, d_model), mask=torch.ones(b, t, t, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"3-D mask \(2, 3, 3\)"):
        ours(_randn(b, t, d_model), mask=torch.ones(h, t, t, dtype=torch.bool))


@pytest.mark.parametrize("per", ["batch", "head"])
def test_four_d_masks_per_batch_row_or_per_head_match_torch(per):
    d_model, h, b, t = 4, 2, 3, 3
    ours, theirs = _pair("to_torch", d_model, h, True, True, seed=9)
    x = _randn(b, t, d_model)
    shape = (b, t, t) if per == "batch" else (h, t, t)
    allowed = torch.rand(*shape, generator=_gen(3)) > 0.5
    allowed[..., 0] = True
    mask = allowed[:, None] if per == "batch" else allowed[None]  # (B, 1, T, T) or (1, H, T, T)
    # torch's 3-D attn_mask is (B·H, T_q, T_k), batch-major: spell out every (batch row, head) pair.
    full = torch.stack([allowed[i] if per == "batch" else allowed[j] for i in range(b) for j in range(h)])
    with torch.no_grad():
        trace = ours(x, mask=mask)
        out, weights = _torch_call(theirs, x, x, x, True, attn_mask=~full, average_attn_weights=False)
    torch.testing.assert_close(trace.output, out, atol=ATOL, rtol=ATOL)
    torch.testing.assert_close(trace.weights, weights, atol=ATOL, rtol=ATOL)


def test_unbatched_single_valid_length_matches_key_padding_mask():
    """Issue 9 bug 7: unbatched, ``tensor([2])`` was read as per-query lengths and failed."""
    d_model, h, t = 4, 2, 4
    ours, theirs = _pair("to_torch", d_model, h, True, True, seed=13)
    x = _randn(t, d_model)
    padding = torch.arange(t) >= 2  # (T_k,) torch: True = ignore
    with torch.no_grad():
        out, weights = theirs(x, x, x, key_padding_mask=padding, average_attn_weights=False)
        for lens in (torch.tensor([2]), torch.tensor(2), 2):
            trace = ours(x, valid_lens=lens)
            torch.testing.assert_close(trace.output, out, atol=ATOL, rtol=ATOL)
            torch.testing.assert_close(trace.weights, weights, atol=ATOL, rtol=ATOL)
        per_query = ours(x, valid_lens=torch.tensor([1, 2, 3, 4]))  # (T_q,): one length per query
    assert per_query.mask[:, 0].sum(dim=-1).tolist() == [1, 1] and per_query.mask[:, 3].all()
    with pytest.raises(ValueError, match=r"one length or T_q=4 lengths.*\(3,\)"):
        ours(x, valid_lens=torch.tensor([1, 2, 3]))


@pytest.mark.parametrize("direction", ["from_torch", "to_torch"])
@pytest.mark.parametrize("cross", [False, True])
def test_valid_lens_match_key_padding_mask(direction, cross):
    d_model, h, b, t_q = 6, 2, 3, 4
    t_k = 5 if cross else t_q
    ours, theirs = _pair(direction, d_model, h, True, True, seed=10)
    q = _randn(b, t_q, d_model, seed=1)
    kv = _randn(b, t_k, d_model, seed=2) if cross else q
    valid_lens = torch.tensor([1, 3, t_k])
    key_padding_mask = torch.arange(t_k)[None, :] >= valid_lens[:, None]  # (B, T_k), torch: True = ignore
    with torch.no_grad():
        trace = ours(q, kv, kv, valid_lens=valid_lens)
        out, weights = _torch_call(
            theirs, q, kv, kv, True, key_padding_mask=key_padding_mask, average_attn_weights=False
        )
    torch.testing.assert_close(trace.output, out, atol=ATOL, rtol=ATOL)
    torch.testing.assert_close(trace.weights, weights, atol=ATOL, rtol=ATOL)
    assert (trace.weights[0, :, :, 1:] == 0).all()


def test_valid_lens_and_mask_together_match_torch():
    d_model, h, b, t = 4, 2, 2, 4
    ours, theirs = _pair("from_torch", d_model, h, True, True, seed=11)
    x = _randn(b, t, d_model)
    causal = torch.ones(t, t, dtype=torch.bool).tril()
    valid_lens = torch.tensor([2, 4])
    with torch.no_grad():
        trace = ours(x, mask=causal, valid_lens=valid_lens)
        out, weights = _torch_call(
            theirs,
            x,
            x,
            x,
            True,
            attn_mask=~causal,
            key_padding_mask=torch.arange(t)[None, :] >= valid_lens[:, None],
            average_attn_weights=False,
        )
    torch.testing.assert_close(trace.output, out, atol=ATOL, rtol=ATOL)
    torch.testing.assert_close(trace.weights, weights, atol=ATOL, rtol=ATOL)


def test_unbatched_per_head_mask_matches_torch():
    """Unbatched traces have shape (H, T_q, T_k), and torch accepts an unbatched per-head attn_mask of that shape."""
    d_model, h, t = 8, 2, 3
    ours, theirs = _pair("to_torch", d_model, h, True, True, seed=12)
    x = _randn(t, d_model)
    allowed = torch.rand(h, t, t, generator=_gen(1)) > 0.4
    allowed[..., 0] = True
    with torch.no_grad():
        out, weights = theirs(x, x, x, attn_mask=~allowed, average_attn_weights=False)
        trace = ours(x, mask=allowed)
    torch.testing.assert_close(trace.output, out, atol=ATOL, rtol=ATOL)
    torch.testing.assert_close(trace.weights, weights, atol=ATOL, rtol=ATOL)


def test_float64_round_trip_through_torch():
    ours = MultiHeadAttention(6, 3, seed=2).double()
    theirs = ours.to_torch()
    assert theirs.in_proj_weight.dtype == torch.float64
    back = MultiHeadAttention.from_torch(theirs)
    for name in ("w_q", "w_k", "w_v", "w_o", "b_q", "b_k", "b_v", "b_o"):
        assert torch.equal(getattr(back, name), getattr(ours, name)), name
    x = _randn(2, 3, 6, dtype=torch.float64)
    with torch.no_grad():
        out, _ = theirs(x, x, x)
        torch.testing.assert_close(ours(x).output, out, atol=1e-12, rtol=1e-12)


def test_from_torch_rejects_unsupported_modules():
    with pytest.raises(ValueError, match="kdim == vdim == embed_dim"):
        MultiHeadAttention.from_torch(nn.MultiheadAttention(4, 2, kdim=3, vdim=3))
    with pytest.raises(ValueError, match="add_bias_kv and add_zero_attn"):
        MultiHeadAttention.from_torch(nn.MultiheadAttention(4, 2, add_bias_kv=True))


def test_multihead_seeds_and_bias():
    a, b, c = MultiHeadAttention(8, 2, seed=1), MultiHeadAttention(8, 2, seed=1), MultiHeadAttention(8, 2, seed=2)
    names = ("w_q", "w_k", "w_v", "w_o", "b_q", "b_k", "b_v", "b_o")
    assert all(torch.equal(getattr(a, n), getattr(b, n)) for n in names)
    assert all(not torch.equal(getattr(a, n), getattr(c, n)) for n in names)
    assert a.has_bias and a.d_head == 4
    nobias = MultiHeadAttention(8, 2, bias=False)
    assert not nobias.has_bias
    assert {n for n, _ in nobias.named_parameters()} == {"w_q", "w_k", "w_v", "w_o"}


# --- heads: split / merge ------------------------------------------------------------------------------------


def d2l_transpose_qkv(x, num_heads):
    """d2l.ai's transpose_qkv: (B, T, d_model) → (B·H, T, d_head)."""
    x = x.reshape(x.shape[0], x.shape[1], num_heads, -1)
    x = x.permute(0, 2, 1, 3)
    return x.reshape(-1, x.shape[2], x.shape[3])


def d2l_transpose_output(x, num_heads):
    """d2l.ai's transpose_output: (B·H, T, d_head) → (B, T, d_model)."""
    x = x.reshape(-1, num_heads, x.shape[1], x.shape[2])
    x = x.permute(0, 2, 1, 3)
    return x.reshape(x.shape[0], x.shape[1], -1)


@pytest.mark.parametrize(("b", "t", "h", "d_head"), [(1, 1, 1, 1), (2, 3, 4, 5), (3, 5, 2, 1), (2, 4, 1, 6)])
def test_split_merge_heads_round_trip_and_match_d2l(b, t, h, d_head):
    x = _randn(b, t, h * d_head)
    heads = split_heads(x, h)
    assert heads.shape == (b, h, t, d_head)
    assert torch.equal(merge_heads(heads), x)
    assert torch.equal(heads.reshape(b * h, t, d_head), d2l_transpose_qkv(x, h))
    y = _randn(b, h, t, d_head, seed=1)
    assert torch.equal(merge_heads(y), d2l_transpose_output(y.reshape(b * h, t, d_head), h))
    # head j holds columns j·d_head:(j+1)·d_head of the input
    for j in range(h):
        assert torch.equal(heads[:, j], x[..., j * d_head : (j + 1) * d_head])


# --- the multi-head trace ------------------------------------------------------------------------------------


def test_multihead_trace_fields_pinned():
    expected = (
        "q_proj",
        "k_proj",
        "v_proj",
        "query",
        "key",
        "value",
        "scores",
        "scale",
        "scaled",
        "mask",
        "masked",
        "weights",
        "fully_masked",
        "head_outputs",
        "concat",
        "output",
        "score",
        "temperature",
        "fill_value",
    )
    assert expected == MULTIHEAD_TRACE_FIELDS
    assert tuple(f.name for f in dataclasses.fields(MultiHeadTrace)) == MULTIHEAD_TRACE_FIELDS


@pytest.mark.parametrize("batched", [True, False])
def test_multihead_trace_field_shapes(batched):
    b, h, t_q, t_k, d_model = 2, 3, 4, 5, 6
    d_head = d_model // h
    batch = (b,) if batched else ()
    m = MultiHeadAttention(d_model, h, seed=0)
    trace = m(_randn(*batch, t_q, d_model), _randn(*batch, t_k, d_model, seed=1))
    expected = {
        "q_proj": (t_q, d_model),
        "k_proj": (t_k, d_model),
        "v_proj": (t_k, d_model),
        "query": (h, t_q, d_head),
        "key": (h, t_k, d_head),
        "value": (h, t_k, d_head),
        "scores": (h, t_q, t_k),
        "scaled": (h, t_q, t_k),
        "mask": (h, t_q, t_k),
        "masked": (h, t_q, t_k),
        "weights": (h, t_q, t_k),
        "fully_masked": (h, t_q),
        "head_outputs": (h, t_q, d_head),
        "concat": (t_q, d_model),
        "output": (t_q, d_model),
    }
    assert set(expected) | {"scale", "score", "temperature", "fill_value"} == set(MULTIHEAD_TRACE_FIELDS)
    for name, shape in expected.items():
        assert tuple(getattr(trace, name).shape) == (*batch, *shape), name
    assert trace.mean_weights.shape == (*batch, t_q, t_k)
    assert trace.num_heads == h
    assert trace.scale == pytest.approx(1 / math.sqrt(d_head))


def test_multihead_trace_steps_are_consistent():
    m = MultiHeadAttention(6, 2, seed=3)
    x = _randn(2, 4, 6)
    with torch.no_grad():
        trace = m(x)
        torch.testing.assert_close(trace.q_proj, x @ m.w_q + m.b_q)
        for j in range(2):  # head j is columns 3j:3j+3 of the projection and of the concatenation
            assert torch.equal(trace.query[:, j], trace.q_proj[..., 3 * j : 3 * j + 3])
            assert torch.equal(trace.concat[..., 3 * j : 3 * j + 3], trace.head_outputs[:, j])
        torch.testing.assert_close(trace.output, trace.concat @ m.w_o + m.b_o)
    with pytest.raises(dataclasses.FrozenInstanceError):
        trace.output = x


@pytest.mark.parametrize("batched", [True, False])
def test_trace_head_slices_one_head(batched):
    m = MultiHeadAttention(6, 3, seed=4)
    batch = (2,) if batched else ()
    q, kv = _randn(*batch, 3, 6), _randn(*batch, 4, 6, seed=1)
    mask = torch.rand(*batch, 3, 4, generator=_gen(2)) > 0.3
    with torch.no_grad():
        trace = m(q, kv, kv, mask=mask[:, None] if batched else mask)  # (B, 1, T_q, T_k): shared by the heads
    b_index = 1 if batched else 0
    one = trace.head(2, batch=b_index)
    assert isinstance(one, AttentionTrace)
    index = (1, 2) if batched else (2,)
    assert (one.scale, one.score, one.temperature, one.fill_value) == (trace.scale, "dot", 1.0, None)
    for name in TRACE_FIELDS:
        if name in ("scale", "score", "temperature", "fill_value"):
            continue
        source = "head_outputs" if name == "output" else name  # a head's output is the trace's head_outputs
        assert torch.equal(getattr(one, name), getattr(trace, source)[index]), name
    # and it is what attend computes on that head alone
    again = attend(one.query, one.key, one.value, mask=one.mask)
    torch.testing.assert_close(again.weights, one.weights)
    torch.testing.assert_close(again.output, one.output)


# --- errors --------------------------------------------------------------------------------------------------


def test_d_model_not_divisible_names_both_numbers():
    with pytest.raises(ValueError, match=r"^d_model=10 is not divisible by num_heads=3$"):
        MultiHeadAttention(10, 3)


@pytest.mark.parametrize(
    ("d_model", "num_heads", "match"),
    [
        (8, 0, r"num_heads=0 must be at least 1"),
        (8, -2, r"num_heads=-2 must be at least 1"),
        (0, 1, r"d_model=0 must be at least 1"),
        (0, 0, r"d_model=0 must be at least 1"),
        (3, 6, r"d_model=3 is not divisible by num_heads=6"),
    ],
)
def test_bad_sizes(d_model, num_heads, match):
    with pytest.raises(ValueError, match=match):
        MultiHeadAttention(d_model, num_heads)


def test_forward_width_and_rank_errors():
    m = MultiHeadAttention(4, 2)
    with pytest.raises(ValueError, match=r"query has width 5 but d_model=4"):
        m(torch.zeros(2, 3, 5))
    with pytest.raises(ValueError, match=r"key must have shape \(B, T, d_model\) or \(T, d_model\) like query"):
        m(torch.zeros(2, 3, 4), torch.zeros(3, 4))
    with pytest.raises(ValueError, match=r"value has width 3 but d_model=4"):
        m(torch.zeros(3, 4), torch.zeros(3, 4), torch.zeros(3, 3))


@pytest.mark.parametrize(
    ("given", "bad_input"),
    [
        (("query",), "query"),
        (("query", "key", "value"), "query"),
        (("query", "key", "value"), "key"),
        (("query", "key", "value"), "value"),
    ],
)
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_multihead_names_a_non_finite_projection(given, bad_input, bad):
    """A non-finite entry in an input reaches Q, K or V: the error names that tensor (split into heads) and its first
    bad entry. Self-attention (only ``query`` given) names Q, which is checked first."""
    module = MultiHeadAttention(4, 2, seed=0)
    inputs = {name: _randn(2, 3, 4, seed=i) for i, name in enumerate(given)}
    inputs[bad_input][1, 2, 0] = bad  # feature 0 reaches every column of row (1, 2) through W
    with pytest.raises(ValueError, match=rf"^{bad_input} has a non-finite value \S+ at index \(1, 0, 2, 0\)$"):
        module(**inputs)


def test_multihead_overflow_in_the_scores_is_named():
    module = MultiHeadAttention(4, 2, bias=False, seed=0)
    with torch.no_grad():
        for w in (module.w_q, module.w_k):
            w.copy_(torch.eye(4))
    x = torch.full((1, 3, 4), 1e20)  # Q = K = X are finite; their dot products are not (float32)
    with pytest.raises(ValueError, match=r"overflow"):
        module(x)


def test_trace_head_out_of_range():
    trace = MultiHeadAttention(4, 2, seed=0)(_randn(3, 4))
    with pytest.raises(ValueError, match=r"head=2 is out of range for 2 heads"):
        trace.head(2)


def test_key_value_and_batch_mismatches_are_value_errors():
    """Issue 9 bug 5: these reached torch and raised its RuntimeError."""
    m = MultiHeadAttention(4, 2)
    with pytest.raises(ValueError, match=r"key \(2, 5, 4\) and value \(2, 6, 4\).*T_k"):
        m(torch.zeros(2, 3, 4), torch.zeros(2, 5, 4), torch.zeros(2, 6, 4))
    with pytest.raises(ValueError, match=r"key \(2, 5, 4\) and value \(3, 5, 4\)"):
        m(torch.zeros(2, 3, 4), torch.zeros(2, 5, 4), torch.zeros(3, 5, 4))
    with pytest.raises(ValueError, match=r"query \(2, 3, 4\) and key \(3, 5, 4\) have different batch sizes"):
        m(torch.zeros(2, 3, 4), torch.zeros(3, 5, 4), torch.zeros(3, 5, 4))
    with pytest.raises(ValueError, match=r"query must be a tensor"):
        m(np.zeros((3, 4)))


def test_from_matrices_with_mixed_dtypes_names_them():
    """Issue 9 bug 5: mixed dtypes used to fail only at forward."""
    w32, w64 = np.eye(3, dtype=np.float32), np.eye(3, dtype=np.float64)
    with pytest.raises(ValueError, match=r"W_q, W_k, W_v must have one dtype, got torch.float32, torch.float64"):
        SelfAttention.from_matrices(w32, w64, w32)


def test_options_are_keyword_only_in_one_order():
    import inspect

    sa = inspect.signature(SelfAttention.forward).parameters
    mha = inspect.signature(MultiHeadAttention.forward).parameters
    options = ["mask", "valid_lens", "scale", "score", "temperature", "fill_value"]
    assert [n for n, p in sa.items() if p.kind is p.KEYWORD_ONLY] == options
    assert [n for n, p in mha.items() if p.kind is p.KEYWORD_ONLY] == options
    with pytest.raises(TypeError):
        SelfAttention(4, 3)(_randn(3, 4), None)


def test_options_reach_attend_through_both_modules():
    """Temperature, cosine scores and a fill value: each module's weights against an explicit softmax."""
    x = _randn(5, 4, dtype=torch.float64)
    sa = SelfAttention(4, 3, seed=1).double()
    causal = torch.ones(5, 5, dtype=torch.bool).tril()
    with torch.no_grad():
        trace = sa(x, mask=causal, temperature=0.5, fill_value=-1e6)
        q, k = x @ sa.w_q + sa.b_q, x @ sa.w_k + sa.b_k
        logits = (q @ k.T / math.sqrt(3) / 0.5).masked_fill(~causal, -1e6)
        torch.testing.assert_close(trace.weights, torch.softmax(logits, dim=-1))
        cos = sa(x, score="cosine")
        expected = F.cosine_similarity(q[:, None, :], k[None, :, :], dim=-1)
        torch.testing.assert_close(cos.scores, expected)
        m = MultiHeadAttention(4, 2, seed=2).double()
        mh = m(x, temperature=2.0)
        qh, kh = (x @ m.w_q + m.b_q)[:, :2], (x @ m.w_k + m.b_k)[:, :2]  # head 0: columns 0:2
        torch.testing.assert_close(mh.weights[0], torch.softmax(qh @ kh.T / math.sqrt(2) / 2.0, dim=-1))
        assert mh.head(0).temperature == 2.0 and mh.temperature == 2.0


def test_tutorial_bug_uses_q_linear_for_keys_and_values():
    """Seed 003's SelfAttention as written: k = q_linear(x), v = q_linear(x). Scores Q·Qᵀ are symmetric and each
    token's largest score is with itself whenever its query is the longest of its pair."""
    x = _randn(6, 4, dtype=torch.float64)
    buggy = SelfAttention(4, 4, seed=3, tutorial_bug=True).double()
    fixed = SelfAttention(4, 4, seed=3).double()
    with torch.no_grad():
        trace = buggy(x)
        q = (x @ fixed.w_q + fixed.b_q).numpy()  # the same W_q, b_q: the seed is the same
        np.testing.assert_allclose(trace.scores.numpy(), q @ q.T, rtol=1e-12)
        # Symmetric up to float64 rounding: a CPU's blocked matrix product need not add q_i·q_j and q_j·q_i in the
        # same order (bitwise equal on one machine, not on another with AVX-512).
        torch.testing.assert_close(trace.scores, trace.scores.T, rtol=1e-13, atol=1e-15)
        assert torch.equal(trace.key, trace.query) and torch.equal(trace.value, trace.query)
        assert not torch.allclose(fixed(x).scores, fixed(x).scores.T)
        # Cauchy-Schwarz: q_i·q_j ≤ max(|q_i|², |q_j|²), so every row's largest score is on the diagonal or with
        # a longer query; the longest query is drawn most to itself.
        longest = int(np.argmax((q * q).sum(axis=1)))
        assert int(trace.scores[longest].argmax()) == longest
    w = np.eye(4)
    hand = SelfAttention.from_matrices(w, 2 * w, 3 * w, tutorial_bug=True)
    assert torch.equal(hand(torch.eye(4, dtype=torch.float64)).value, torch.eye(4, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"d_v=2 must equal d_k=3"):
        SelfAttention(4, 3, d_v=2, tutorial_bug=True)


@pytest.mark.parametrize("as_numpy", [False, True])
def test_head_slice_against_explicit_blocks(as_numpy):
    m = MultiHeadAttention(6, 3, seed=5)
    weights = weights_as_numpy(m)
    assert set(weights) == {"w_q", "w_k", "w_v", "w_o", "b_q", "b_k", "b_v", "b_o"}
    w_q = weights["w_q"] if as_numpy else m.w_q.detach()
    w_o = weights["w_o"] if as_numpy else m.w_o.detach()
    np.testing.assert_array_equal(np.asarray(head_slice("w_q", w_q, 1, 3)), weights["w_q"][:, [2, 3]])
    np.testing.assert_array_equal(np.asarray(head_slice("w_o", w_o, 2, 3)), weights["w_o"][[4, 5], :])
    np.testing.assert_array_equal(np.asarray(head_slice("b_v", weights["b_v"], 0, 3)), weights["b_v"][[0, 1]])
    weights["w_q"][0, 0] = 123.0
    assert m.w_q[0, 0] != 123.0  # a copy
    with pytest.raises(ValueError, match=r"name must be one of"):
        head_slice("b_o", weights["b_o"], 0, 3)
    with pytest.raises(ValueError, match=r"head=3 is out of range for 3 heads"):
        head_slice("w_q", w_q, 3, 3)
