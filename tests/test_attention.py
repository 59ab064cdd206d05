"""attend() against torch's fused attention, d2l's masked softmax, and its own documented edge cases."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from attnviz.attention import TRACE_FIELDS, AttentionTrace, attend, check_finite, lengths_to_mask

TOL = {torch.float32: 1e-5, torch.float64: 1e-12}


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _qkv(batch: tuple[int, ...], t_q: int, t_k: int, d_k: int, d_v: int, dtype=torch.float32, seed: int = 0):
    g = _gen(seed)
    q = torch.randn(*batch, t_q, d_k, generator=g, dtype=torch.float64).to(dtype)
    k = torch.randn(*batch, t_k, d_k, generator=g, dtype=torch.float64).to(dtype)
    v = torch.randn(*batch, t_k, d_v, generator=g, dtype=torch.float64).to(dtype)
    return q, k, v


def reference_weights(q, k, scale, allowed=None, temperature=1.0):
    """softmax(scale · q·kᵀ / τ) over the allowed keys, in float64 numpy, independent of attnviz and of torch:
    each entry exp(s - max) / Σ exp over the allowed keys; a row with no allowed key is all 0 (the documented
    answer). Returned as a tensor of q's dtype."""
    qn, kn = q.detach().double().numpy(), k.detach().double().numpy()
    s = np.einsum("...qd,...kd->...qk", qn, kn) * scale / temperature
    ok = np.ones(s.shape, bool) if allowed is None else np.broadcast_to(allowed.numpy(), s.shape)
    s = np.where(ok, s, -np.inf)
    top = s.max(axis=-1, keepdims=True)
    e = np.where(ok, np.exp(s - np.where(np.isfinite(top), top, 0.0)), 0.0)
    total = e.sum(axis=-1, keepdims=True)
    w = np.divide(e, total, out=np.zeros_like(e), where=total > 0)
    return torch.from_numpy(w).to(q.dtype)


# d2l's masked softmax (d2l.ai, chapter "Attention Scoring Functions"), re-implemented verbatim: it writes -1e6
# into its argument in place, so it is only ever called on copies here.
def d2l_sequence_mask(x, valid_len, value=-1e6):
    maxlen = x.size(1)
    mask = torch.arange(maxlen, dtype=torch.float32, device=x.device)[None, :] < valid_len[:, None]
    x[~mask] = value
    return x


def d2l_masked_softmax(x, valid_lens):
    if valid_lens is None:
        return torch.softmax(x, dim=-1)
    shape = x.shape
    if valid_lens.dim() == 1:
        valid_lens = torch.repeat_interleave(valid_lens, shape[1])
    else:
        valid_lens = valid_lens.reshape(-1)
    x = d2l_sequence_mask(x.reshape(-1, shape[-1]), valid_lens, value=-1e6)
    return torch.softmax(x.reshape(shape), dim=-1)


def d2l_dot_product_attention(q, k, v, valid_lens):
    d = q.shape[-1]
    scores = torch.bmm(q, k.transpose(1, 2)) / math.sqrt(d)
    weights = d2l_masked_softmax(scores.clone(), None if valid_lens is None else valid_lens.clone())
    return weights, torch.bmm(weights, v)


# --- against scaled_dot_product_attention --------------------------------------------------------------------


SHAPES = [
    # (batch, T_q, T_k, d_k, d_v)
    ((), 3, 3, 4, 4),  # unbatched self-attention shape
    ((), 2, 5, 3, 7),  # unbatched, T_q != T_k, d_v != d_k
    ((2,), 4, 4, 8, 8),  # (B, T, d)
    ((2, 3), 4, 6, 5, 2),  # (B, H, T, d), T_q != T_k, d_v != d_k
    ((2, 3), 1, 1, 1, 1),
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("scale", [None, 1.0, 0.25, 3.0])
@pytest.mark.parametrize("shape", SHAPES)
def test_matches_sdpa_without_mask(shape, scale, dtype):
    batch, t_q, t_k, d_k, d_v = shape
    q, k, v = _qkv(batch, t_q, t_k, d_k, d_v, dtype)
    trace = attend(q, k, v, scale=scale)

    expected_scale = 1 / math.sqrt(d_k) if scale is None else scale
    assert trace.scale == pytest.approx(expected_scale)
    ref_w = reference_weights(q, k, expected_scale)
    ref_out = F.scaled_dot_product_attention(q, k, v, scale=scale)
    tol = TOL[dtype]
    assert trace.weights.dtype == trace.output.dtype == dtype
    assert trace.weights.shape == (*batch, t_q, t_k)
    assert trace.output.shape == (*batch, t_q, d_v)
    torch.testing.assert_close(trace.weights, ref_w, atol=tol, rtol=tol)
    torch.testing.assert_close(trace.output, ref_out, atol=tol, rtol=tol)
    torch.testing.assert_close(trace.output, ref_w @ v, atol=tol, rtol=tol)
    assert trace.mask.all()
    assert not trace.fully_masked.any()
    assert not trace.any_fully_masked


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("scale", [None, 0.5])
@pytest.mark.parametrize("shape", SHAPES[:4])
def test_matches_sdpa_with_random_boolean_mask(shape, scale, dtype):
    batch, t_q, t_k, d_k, d_v = shape
    q, k, v = _qkv(batch, t_q, t_k, d_k, d_v, dtype, seed=1)
    allowed = torch.rand(*batch, t_q, t_k, generator=_gen(2)) > 0.5
    allowed[..., 0] = True  # no fully masked rows here: torch's answer for those is not ours
    trace = attend(q, k, v, scale=scale, mask=allowed)

    expected_scale = 1 / math.sqrt(d_k) if scale is None else scale
    tol = TOL[dtype]
    torch.testing.assert_close(trace.weights, reference_weights(q, k, expected_scale, allowed), atol=tol, rtol=tol)
    sdpa = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, scale=scale)
    torch.testing.assert_close(trace.output, sdpa, atol=tol, rtol=tol)
    assert torch.equal(trace.mask, allowed)
    assert (trace.weights[~allowed] == 0).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("batch", [(), (2,), (2, 3)])
def test_causal_mask_matches_is_causal(batch, dtype):
    t = 5
    q, k, v = _qkv(batch, t, t, 4, 3, dtype, seed=3)
    causal = torch.ones(t, t, dtype=torch.bool).tril()  # (T_q, T_k), broadcast over the batch axes
    trace = attend(q, k, v, mask=causal)
    tol = TOL[dtype]
    torch.testing.assert_close(
        trace.output, F.scaled_dot_product_attention(q, k, v, is_causal=True), atol=tol, rtol=tol
    )
    torch.testing.assert_close(trace.weights, reference_weights(q, k, 0.5, causal), atol=tol, rtol=tol)
    assert torch.equal(trace.weights.triu(1), torch.zeros_like(trace.weights))
    assert trace.mask.shape == (*batch, t, t)  # the broadcast mask is stored at full size
    # the first query may only see the first key
    assert torch.equal(trace.weights[..., 0, 0], torch.ones_like(trace.weights[..., 0, 0]))


def test_mask_broadcasts_over_queries():
    q, k, v = _qkv((2,), 3, 4, 2, 2)
    key_mask = torch.tensor([[True, True, False, False], [True, False, True, True]])[:, None, :]  # (B, 1, T_k)
    trace = attend(q, k, v, mask=key_mask)
    full = key_mask.expand(2, 3, 4)
    assert torch.equal(trace.mask, full)
    torch.testing.assert_close(trace.weights, reference_weights(q, k, 1 / math.sqrt(2), full))


def test_intermediates_are_the_named_steps():
    q, k, v = _qkv((2,), 3, 4, 5, 6)
    allowed = torch.rand(2, 3, 4, generator=_gen(9)) > 0.3
    trace = attend(q, k, v, scale=0.7, mask=allowed)
    assert trace.query is q and trace.key is k and trace.value is v
    scores = np.einsum("bqd,bkd->bqk", q.double().numpy(), k.double().numpy())  # float64, independent
    np.testing.assert_allclose(trace.scores.double().numpy(), scores, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(trace.scaled.double().numpy(), 0.7 * scores, rtol=1e-5, atol=1e-6)
    assert torch.equal(trace.masked[allowed], trace.scaled[allowed])
    assert torch.isneginf(trace.masked[~allowed]).all()
    assert torch.isfinite(trace.scaled).all()  # masking made a new tensor, scaled keeps its values
    assert torch.equal(trace.fully_masked, ~allowed.any(dim=-1))


# --- valid_lens against d2l ----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_valid_lens_1d_matches_d2l(dtype):
    q, k, v = _qkv((4,), 4, 5, 6, 2, dtype, seed=4)
    valid_lens = torch.tensor([1, 3, 5, 0])  # length 0: d2l's row is uniform (-1e6 everywhere), ours is 0
    trace = attend(q, k, v, valid_lens=valid_lens)
    d2l_w, d2l_out = d2l_dot_product_attention(q, k, v, valid_lens)
    tol = TOL[dtype]
    torch.testing.assert_close(trace.weights[:3], d2l_w[:3], atol=tol, rtol=tol)
    torch.testing.assert_close(trace.output[:3], d2l_out[:3], atol=tol, rtol=tol)
    assert (trace.weights[0, :, 1:] == 0).all()
    assert (trace.weights[1, :, 3:] == 0).all()
    torch.testing.assert_close(d2l_w[3], torch.full((4, 5), 0.2, dtype=dtype))
    assert torch.equal(trace.weights[3], torch.zeros(4, 5, dtype=dtype)) and trace.fully_masked[3].all()
    assert torch.equal(trace.output[3], torch.zeros(4, 2, dtype=dtype))
    # d2l's fill value reproduces d2l exactly, length 0 included
    d2l_like = attend(q, k, v, valid_lens=valid_lens, fill_value=-1e6)
    torch.testing.assert_close(d2l_like.weights, d2l_w, atol=tol, rtol=tol)
    torch.testing.assert_close(d2l_like.output, d2l_out, atol=tol, rtol=tol)
    assert d2l_like.fully_masked[3].all() and d2l_like.fill_value == -1e6
    assert torch.equal(valid_lens, torch.tensor([1, 3, 5, 0]))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_valid_lens_2d_matches_d2l(dtype):
    q, k, v = _qkv((2,), 3, 4, 5, 3, dtype, seed=5)
    valid_lens = torch.tensor([[1, 2, 4], [3, 1, 2]])  # (B, T_q): one length per query
    trace = attend(q, k, v, valid_lens=valid_lens)
    d2l_w, d2l_out = d2l_dot_product_attention(q, k, v, valid_lens)
    tol = TOL[dtype]
    torch.testing.assert_close(trace.weights, d2l_w, atol=tol, rtol=tol)
    torch.testing.assert_close(trace.output, d2l_out, atol=tol, rtol=tol)
    assert trace.weights[1, 1, 1:].eq(0).all() and trace.weights[1, 1, 0] == 1


def test_valid_lens_with_heads_matches_d2l_flattened_heads():
    """(B, H, T, d) with 1-D lens equals d2l's (B·H, T, d) with lens repeated per head, as d2l's MHA does."""
    b, h, t_q, t_k, d = 2, 3, 4, 5, 2
    q, k, v = _qkv((b, h), t_q, t_k, d, d, seed=6)
    valid_lens = torch.tensor([2, 4])
    trace = attend(q, k, v, valid_lens=valid_lens)
    flat = [x.reshape(b * h, x.shape[-2], x.shape[-1]) for x in (q, k, v)]  # (B·H, T, d)
    d2l_w, d2l_out = d2l_dot_product_attention(*flat, torch.repeat_interleave(valid_lens, h, dim=0))
    torch.testing.assert_close(trace.weights, d2l_w.reshape(b, h, t_q, t_k))
    torch.testing.assert_close(trace.output, d2l_out.reshape(b, h, t_q, d))


def test_valid_lens_combined_with_mask():
    q, k, v = _qkv((2,), 4, 4, 3, 3, seed=7)
    causal = torch.ones(4, 4, dtype=torch.bool).tril()
    valid_lens = torch.tensor([2, 4])
    trace = attend(q, k, v, mask=causal, valid_lens=valid_lens)
    expected = causal & (torch.arange(4) < valid_lens[:, None, None])
    assert torch.equal(trace.mask, expected)
    torch.testing.assert_close(trace.weights, reference_weights(q, k, 1 / math.sqrt(3), expected))


def test_d2l_reference_mutates_its_argument_but_attend_does_not():
    """The reason for the copies above: d2l's sequence_mask writes into the caller's tensor."""
    scores = torch.zeros(1, 3)
    d2l_sequence_mask(scores, torch.tensor([1]))
    assert scores.tolist() == [[0.0, -1e6, -1e6]]

    q, k, v = _qkv((1,), 1, 3, 2, 2)
    before = [x.clone() for x in (q, k, v)]
    attend(q, k, v, valid_lens=torch.tensor([1]))
    assert all(torch.equal(x, y) for x, y in zip((q, k, v), before, strict=True))


def test_lengths_to_mask_shapes_and_values():
    m1 = lengths_to_mask(torch.tensor([0, 2]), (2, 3), 4, 3)  # (B, H) batch, 1-D lens
    assert m1.shape == (2, 1, 1, 3)
    assert m1[0].sum() == 0 and m1[1, 0, 0].tolist() == [True, True, False]
    m2 = lengths_to_mask(torch.tensor([[1, 3]]), (1,), 2, 3)  # 2-D lens
    assert m2.tolist() == [[[True, False, False], [True, True, True]]]
    assert lengths_to_mask(torch.tensor([2.0]), (1,), 1, 3).tolist() == [[[True, True, False]]]


@pytest.mark.parametrize(
    ("valid_lens", "match"),
    [
        (torch.tensor([1, 2, 3]), r"valid_lens has 3 entries but the batch has B=2 rows"),
        (torch.tensor([[1, 2]]), r"2-D valid_lens must have shape \(B, T_q\) = \(2, 3\), got \(1, 2\)"),
        (torch.tensor([[[1]]]), r"valid_lens must be 1-D or 2-D, got 3-D"),
        (torch.tensor([1, -1]), r"valid_lens must be >= 0"),
        (torch.tensor([1.5, 2.0]), r"valid_lens must be whole numbers"),
    ],
)
def test_valid_lens_errors(valid_lens, match):
    q, k, v = _qkv((2,), 3, 4, 2, 2)
    with pytest.raises(ValueError, match=match):
        attend(q, k, v, valid_lens=valid_lens)


def test_valid_lens_needs_a_batch_axis():
    q, k, v = _qkv((), 3, 4, 2, 2)
    with pytest.raises(ValueError, match="valid_lens needs a batch axis"):
        attend(q, k, v, valid_lens=torch.tensor([2]))


# --- fully masked rows ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fully_masked_rows_are_zero_flagged_and_never_nan(dtype):
    q, k, v = _qkv((2,), 3, 4, 5, 6, dtype, seed=8)
    allowed = torch.ones(2, 3, 4, dtype=torch.bool)
    allowed[0, 1] = False  # query 1 of batch 0 sees nothing
    allowed[1, :, 2:] = False
    trace = attend(q, k, v, mask=allowed)

    assert trace.fully_masked.tolist() == [[False, True, False], [False, False, False]]
    assert trace.any_fully_masked
    assert torch.equal(trace.weights[0, 1], torch.zeros(4, dtype=dtype))
    assert torch.equal(trace.output[0, 1], torch.zeros(6, dtype=dtype))
    for name in TRACE_FIELDS:
        value = getattr(trace, name)
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            assert not torch.isnan(value).any(), name
    # the other rows are untouched by the special case
    keep = ~trace.fully_masked
    ref = reference_weights(q, k, 1 / math.sqrt(5), allowed)
    tol = TOL[dtype]
    torch.testing.assert_close(trace.weights[keep], ref[keep], atol=tol, rtol=tol)
    torch.testing.assert_close(trace.weights.sum(-1)[keep], torch.ones(5, dtype=dtype), atol=tol, rtol=tol)


def test_everything_masked_and_zero_valid_lens():
    q, k, v = _qkv((2,), 2, 3, 2, 2)
    trace = attend(q, k, v, mask=torch.zeros(2, 3, dtype=torch.bool))
    assert trace.fully_masked.all()
    assert torch.equal(trace.weights, torch.zeros(2, 2, 3))
    assert torch.equal(trace.output, torch.zeros(2, 2, 2))

    trace = attend(q, k, v, valid_lens=torch.tensor([0, 3]))
    assert trace.fully_masked.tolist() == [[True, True], [False, False]]
    assert torch.equal(trace.output[0], torch.zeros(2, 2))
    assert not torch.isnan(trace.weights).any() and not torch.isnan(trace.output).any()


# --- inputs are never modified -------------------------------------------------------------------------------


def test_inputs_unchanged():
    q, k, v = _qkv((2, 2), 3, 4, 5, 6)
    mask = torch.rand(2, 2, 3, 4, generator=_gen(11)) > 0.5
    valid_lens = torch.tensor([2, 4])
    inputs = {"query": q, "key": k, "value": v, "mask": mask, "valid_lens": valid_lens}
    clones = {name: t.clone() for name, t in inputs.items()}
    ptrs = {name: t.data_ptr() for name, t in inputs.items()}
    versions = {name: t._version for name, t in inputs.items()}

    trace = attend(q, k, v, scale=0.5, mask=mask, valid_lens=valid_lens)

    for name, t in inputs.items():
        assert torch.equal(t, clones[name]), name
        assert t.data_ptr() == ptrs[name], name
        assert t._version == versions[name], name
    assert trace.mask.data_ptr() != mask.data_ptr()  # the combined mask is a new tensor
    assert trace.masked.data_ptr() != trace.scaled.data_ptr()


def test_inputs_unchanged_when_they_require_grad():
    q, k, v = (x.requires_grad_() for x in _qkv((), 3, 3, 2, 2))
    versions = [x._version for x in (q, k, v)]
    trace = attend(q, k, v, mask=torch.ones(3, 3, dtype=torch.bool).tril())
    trace.output.sum().backward()
    assert [x._version for x in (q, k, v)] == versions
    assert all(torch.isfinite(x.grad).all() for x in (q, k, v))


# --- the trace's names are pinned ----------------------------------------------------------------------------


def test_trace_fields_pinned():
    expected = (
        "query",
        "key",
        "value",
        "scores",
        "scale",
        "scaled",
        "mask",
        "masked",
        "weights",
        "output",
        "fully_masked",
        "score",
        "temperature",
        "fill_value",
    )
    assert expected == TRACE_FIELDS
    assert tuple(f.name for f in dataclasses.fields(AttentionTrace)) == TRACE_FIELDS


def test_trace_field_shapes():
    b, h, t_q, t_k, d_k, d_v = 2, 3, 4, 5, 6, 7
    q, k, v = _qkv((b, h), t_q, t_k, d_k, d_v)
    trace = attend(q, k, v)
    expected = {
        "query": (b, h, t_q, d_k),
        "key": (b, h, t_k, d_k),
        "value": (b, h, t_k, d_v),
        "scores": (b, h, t_q, t_k),
        "scaled": (b, h, t_q, t_k),
        "mask": (b, h, t_q, t_k),
        "masked": (b, h, t_q, t_k),
        "weights": (b, h, t_q, t_k),
        "output": (b, h, t_q, d_v),
        "fully_masked": (b, h, t_q),
    }
    assert set(expected) | {"scale", "score", "temperature", "fill_value"} == set(TRACE_FIELDS)
    for name, shape in expected.items():
        assert tuple(getattr(trace, name).shape) == shape, name
    assert trace.mask.dtype == trace.fully_masked.dtype == torch.bool
    assert isinstance(trace.scale, float) and trace.scale == pytest.approx(1 / math.sqrt(d_k))


def test_trace_is_frozen():
    trace = attend(*_qkv((), 2, 2, 2, 2))
    with pytest.raises(dataclasses.FrozenInstanceError):
        trace.weights = torch.zeros(2, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        trace.scale = 2.0


# --- errors say what and where -------------------------------------------------------------------------------


def test_d_k_mismatch():
    q, _, _ = _qkv((), 2, 2, 3, 3)
    k = torch.zeros(2, 4)
    with pytest.raises(ValueError, match=r"query width d_k=3 differs from key width 4"):
        attend(q, k, torch.zeros(2, 3))


def test_t_k_mismatch():
    with pytest.raises(ValueError, match=r"key has T_k=5 positions but value has 4"):
        attend(torch.zeros(2, 3), torch.zeros(5, 3), torch.zeros(4, 3))


def test_bad_ranks_and_dtypes():
    with pytest.raises(ValueError, match=r"query must have shape \(\.\.\., T, d\), got \(3,\)"):
        attend(torch.zeros(3), torch.zeros(2, 3), torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"key must be a float tensor, got dtype torch.int64"):
        attend(torch.zeros(2, 3), torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"dtypes differ"):
        attend(torch.zeros(2, 3), torch.zeros(2, 3, dtype=torch.float64), torch.zeros(2, 3))


@pytest.mark.parametrize("mask", [torch.ones(2, 3, dtype=torch.long), torch.ones(2, 3), torch.ones(2, 3).half()])
def test_non_boolean_mask(mask):
    with pytest.raises(ValueError, match=r"mask must be boolean \(True = may attend\), got dtype torch\."):
        attend(torch.zeros(2, 4), torch.zeros(3, 4), torch.zeros(3, 4), mask=mask)


@pytest.mark.parametrize("shape", [(3, 2), (2, 4), (5, 2, 3), (2, 1, 3)])
def test_mask_that_does_not_broadcast(shape):
    """Too-small masks fail to broadcast; masks that would enlarge the scores are rejected too."""
    mask = torch.ones(shape, dtype=torch.bool)
    with pytest.raises(ValueError, match=r"mask of shape .* does not broadcast to scores \(2, 3\)"):
        attend(torch.zeros(2, 4), torch.zeros(3, 4), torch.zeros(3, 4), mask=mask)


@pytest.mark.parametrize("scale", [-1.0, float("inf"), float("-inf"), float("nan"), torch.tensor([1.0, 2.0])])
def test_bad_scale(scale):
    with pytest.raises(ValueError, match=r"scale must be a (finite number >= 0|single number), got"):
        attend(torch.zeros(2, 4), torch.zeros(3, 4), torch.zeros(3, 4), scale=scale)


@pytest.mark.parametrize(
    ("name", "bad", "shown"),
    [("query", float("nan"), "nan"), ("key", float("inf"), "inf"), ("value", float("-inf"), "-inf")],
)
def test_non_finite_input_names_tensor_and_index(name, bad, shown):
    q, k, v = _qkv((2,), 3, 4, 5, 5)
    tensors = {"query": q.clone(), "key": k.clone(), "value": v.clone()}
    tensors[name][1, 2, 3] = bad
    with pytest.raises(ValueError, match=rf"^{name} has a non-finite value {shown} at index \(1, 2, 3\)$"):
        attend(tensors["query"], tensors["key"], tensors["value"])


def test_check_finite_reports_first_bad_entry():
    t = torch.zeros(2, 3)
    t[1, 0] = float("nan")
    t[1, 2] = float("inf")
    with pytest.raises(ValueError, match=r"^X has a non-finite value nan at index \(1, 0\)$"):
        check_finite("X", t)
    check_finite("X", torch.zeros(2, 3))  # finite: no error


def test_check_finite_accepts_huge_finite_values():
    """Entries near the dtype's largest value are finite even though their sum is not."""
    check_finite("X", torch.full((4, 3), 3e38))
    trace = attend(torch.zeros(2, 3), torch.zeros(2, 3), torch.full((2, 3), 3e38))
    torch.testing.assert_close(trace.output, torch.full((2, 3), 3e38))


def test_overflow_in_float32_scores():
    big = torch.full((2, 3), 1e20)  # finite in float32, but 3·1e40 is not
    with pytest.raises(ValueError, match=r"overflow"):
        attend(big, big, torch.zeros(2, 3))
    # the same numbers are fine in float64
    trace = attend(big.double(), big.double(), torch.zeros(2, 3, dtype=torch.float64))
    assert torch.isfinite(trace.weights).all()


def test_overflow_from_a_huge_scale():
    x = torch.full((2, 3), 1e15)  # scores 3e30 are finite; times 1e10 they are not (float32)
    with pytest.raises(ValueError, match=r"scaled scores.*overflow"):
        attend(x, x, torch.zeros(2, 3), scale=1e10)


def test_zero_width_query_is_a_value_error():
    """With ``scale=None`` a d_k=0 query would reach ``1.0 / math.sqrt(0)`` (ZeroDivisionError, which the UI's
    ``except ValueError`` would not catch): it is rejected first, naming d_k."""
    with pytest.raises(ValueError, match=r"d_k=0"):
        attend(torch.zeros(2, 0), torch.zeros(3, 0), torch.zeros(3, 4))


# --- issue 9: the edge bugs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_scale_zero_gives_uniform_weights_like_sdpa(dtype):
    q, k, v = _qkv((2,), 3, 5, 4, 2, dtype, seed=12)
    trace = attend(q, k, v, scale=0)
    tol = TOL[dtype]
    torch.testing.assert_close(trace.weights, torch.full((2, 3, 5), 0.2, dtype=dtype), atol=tol, rtol=tol)
    torch.testing.assert_close(trace.output, F.scaled_dot_product_attention(q, k, v, scale=0.0), atol=tol, rtol=tol)


def test_tensor_scale_keeps_its_gradient():
    q, k, v = _qkv((2,), 3, 4, 5, 2, torch.float64, seed=13)
    scale = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    trace = attend(q, k, v, scale=scale)
    assert trace.scale is scale and trace.scaled.requires_grad
    assert torch.autograd.gradcheck(lambda s: attend(q, k, v, scale=s).output, (scale,))
    torch.testing.assert_close(trace.output, F.scaled_dot_product_attention(q, k, v, scale=0.3))


@pytest.mark.parametrize("mask", [None, torch.ones(3, 0, dtype=torch.bool)])
def test_no_keys_at_all_is_fully_masked(mask):
    """Issue 9 bug 4: T_k = 0 is one answer whether a mask is given or not: every query is flagged (it may attend
    to no key), weights are (T_q, 0), the output is 0."""
    q, k, v = torch.randn(3, 2), torch.zeros(0, 2), torch.zeros(0, 4)
    trace = attend(q, k, v, mask=mask)
    assert trace.fully_masked.tolist() == [True, True, True] and trace.any_fully_masked
    assert trace.weights.shape == (3, 0)
    assert torch.equal(trace.output, torch.zeros(3, 4))


def test_array_likes_are_converted():
    """Issue 9 bug 5: numpy arrays and lists used to fail with AttributeError ('dim')."""
    q, k, v = _qkv((), 2, 3, 2, 2, torch.float64, seed=14)
    expected = attend(q, k, v)
    for convert in (lambda t: t.numpy(), lambda t: t.tolist()):
        trace = attend(convert(q), convert(k), convert(v), mask=np.ones((2, 3), bool))
        torch.testing.assert_close(trace.weights, expected.weights)
    with pytest.raises(ValueError, match=r"query must be a tensor or an array of floats, got str"):
        attend("abc", k, v)
    with pytest.raises(ValueError, match=r"key must be a float tensor"):
        attend(q, [[1, 2], [3, 4], [5, 6]], v)


def test_batch_mismatch_names_the_shapes():
    """Issue 9 bug 5: a batch of 2 queries against 3 keys used to raise torch's RuntimeError."""
    with pytest.raises(ValueError, match=r"batch axes of query \(2, 3, 4\), key \(3, 5, 4\).*do not broadcast"):
        attend(torch.zeros(2, 3, 4), torch.zeros(3, 5, 4), torch.zeros(3, 5, 4))
    trace = attend(torch.zeros(2, 3, 4), torch.zeros(1, 5, 4), torch.zeros(1, 5, 4))  # 1 broadcasts
    assert trace.weights.shape == (2, 3, 5)


def test_what_the_trace_shares_with_its_inputs():
    """Issue 9 bug 6: the docstring says what is shared; this pins it."""
    q, k, v = _qkv((), 3, 3, 2, 2)
    trace = attend(q, k, v)
    assert trace.query is q and trace.key is k and trace.value is v
    assert trace.masked is trace.scaled  # nothing masked, temperature 1
    assert trace.mask.stride() == (0, 0) and trace.fully_masked.stride() == (0,)  # views of one boolean
    masked = attend(q, k, v, mask=torch.ones(3, 3, dtype=torch.bool).tril())
    assert masked.masked.data_ptr() != masked.scaled.data_ptr()
    cooled = attend(q, k, v, temperature=2.0)
    assert cooled.masked is not cooled.scaled
    doc = AttentionTrace.__doc__
    assert "the same objects" in doc and "``masked`` is ``scaled``" in doc and "broadcast views" in doc
    q.mul_(2)  # documented: the trace sees a later in-place change of its inputs
    assert trace.query is q


# --- issue 11: score, temperature, fill_value ----------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_cosine_scores_match_cosine_similarity(dtype):
    q, k, v = _qkv((2,), 3, 4, 5, 2, dtype, seed=15)
    trace = attend(q, k, v, score="cosine")
    expected = F.cosine_similarity(q[:, :, None, :], k[:, None, :, :], dim=-1)  # (B, T_q, T_k)
    tol = TOL[dtype] * 10
    torch.testing.assert_close(trace.scores, expected, atol=tol, rtol=tol)
    assert trace.scale == 1.0 and trace.score == "cosine"  # scale None means 1 for cosine
    torch.testing.assert_close(trace.weights, torch.softmax(expected, dim=-1), atol=tol, rtol=tol)
    halved = attend(q, k, v, score="cosine", scale=0.5)
    torch.testing.assert_close(halved.scaled, expected * 0.5, atol=tol, rtol=tol)


def test_cosine_with_a_zero_vector_is_zero():
    q = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    k = torch.tensor([[2.0, 0.0], [0.0, 0.0], [-1.0, 0.0]])
    trace = attend(q, k, torch.eye(3), score="cosine")
    assert trace.scores.tolist() == [[0.0, 0.0, 0.0], [1.0, 0.0, -1.0]]
    assert torch.isfinite(trace.weights).all()


@pytest.mark.parametrize("temperature", [0.05, 0.5, 1.0, 3.0, 20.0])
def test_temperature_matches_an_explicit_softmax(temperature):
    q, k, v = _qkv((2,), 3, 4, 5, 2, torch.float64, seed=16)
    causal = torch.ones(3, 4, dtype=torch.bool).tril()
    trace = attend(q, k, v, mask=causal, temperature=temperature)
    expected = reference_weights(q, k, 1 / math.sqrt(5), causal, temperature=temperature)
    torch.testing.assert_close(trace.weights, expected, atol=1e-12, rtol=1e-12)
    assert trace.temperature == temperature
    np.testing.assert_allclose(trace.scaled.numpy(), np.einsum("bqd,bkd->bqk", q, k) / math.sqrt(5), rtol=1e-12)


@pytest.mark.parametrize("temperature", [0, 0.0, -1.0, float("inf"), float("nan"), "abc"])
def test_bad_temperature_is_quoted(temperature):
    with pytest.raises(ValueError, match=rf"temperature must be .*got {re.escape(repr(temperature))}"):
        attend(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2, 3), temperature=temperature)


def test_unknown_score_and_bad_fill_value():
    x = torch.zeros(2, 3)
    with pytest.raises(ValueError, match=r"score must be one of \('dot', 'cosine'\), got 'additive'"):
        attend(x, x, x, score="additive")
    for bad, shown in ((float("nan"), "nan"), ("-1e6", "'-1e6'"), (float("-inf"), "-inf")):
        with pytest.raises(ValueError, match=rf"fill_value must be None or a finite number, got {shown}"):
            attend(x, x, x, fill_value=bad)


def _numpy_masked_fill_softmax(q, k, allowed, fill):
    """The tutorials' masked_fill(scores, fill) then softmax, in float64 numpy."""
    s = np.einsum("...qd,...kd->...qk", q.double().numpy(), k.double().numpy()) / math.sqrt(q.shape[-1])
    s = np.where(np.broadcast_to(allowed.numpy(), s.shape), s, fill)
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return torch.from_numpy(e / e.sum(axis=-1, keepdims=True))


@pytest.mark.parametrize("fill", [-1e9, -1e6, 0.0])
def test_fill_values_reproduce_the_tutorials(fill):
    q, k, v = _qkv((2,), 3, 4, 5, 2, torch.float64, seed=17)
    allowed = torch.tensor([[True, True, False, False], [False, False, False, False], [True, False, True, False]])
    trace = attend(q, k, v, mask=allowed, fill_value=fill)
    expected = _numpy_masked_fill_softmax(q, k, allowed, fill)
    torch.testing.assert_close(trace.weights, expected, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(trace.output, expected @ v, atol=1e-12, rtol=1e-12)
    assert trace.fully_masked[:, 1].all() and trace.fill_value == fill
    if fill <= -1e6:  # the fully masked row is uniform, the others give masked keys (numerically) nothing
        torch.testing.assert_close(trace.weights[:, 1], torch.full((2, 4), 0.25, dtype=torch.float64))
        assert (trace.weights[:, [0, 2]][~allowed[[0, 2]].expand(2, 2, 4)] < 1e-100).all()
    else:  # 0: a masked key still gets weight (the common bug)
        assert (trace.weights[0, 0, 2:] > 0.01).all()
    exact = attend(q, k, v, mask=allowed)
    assert (exact.weights[~allowed.expand(2, 3, 4)] == 0).all() and torch.equal(exact.weights[:, 1], torch.zeros(2, 4))


def test_attend_options_are_keyword_only_in_one_order():
    import inspect

    params = inspect.signature(attend).parameters
    assert list(params)[:3] == ["query", "key", "value"]
    keyword_only = [n for n, p in params.items() if p.kind is p.KEYWORD_ONLY]
    assert keyword_only == ["mask", "valid_lens", "scale", "score", "temperature", "fill_value"]
    assert all(params[n].default is None for n in ("mask", "valid_lens", "scale", "fill_value"))
    assert (params["score"].default, params["temperature"].default) == ("dot", 1.0)
