"""Property tests: attend and MultiHeadAttention on random shapes, values and masks (hypothesis, derandomized)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from attnviz.attention import attend
from attnviz.modules import MultiHeadAttention

# Deterministic for CI: the same examples on every run, no example database. 200 + 4 x 300 = 1400 examples.
PROPERTY = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """The tensors here are tiny: intra-op threads only add synchronisation (seconds on a busy 2-core runner)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@dataclass
class Case:
    query: torch.Tensor  # (*batch, T_q, d_k)
    key: torch.Tensor  # (*batch, T_k, d_k)
    value: torch.Tensor  # (*batch, T_k, d_v)
    mask: torch.Tensor | None  # bool, (*batch, T_q, T_k) or (T_q, T_k), True = may attend
    scale: float | None
    valid_lens: torch.Tensor | None = None  # (B,) d2l lengths, only with a batch axis

    @property
    def full_mask(self) -> torch.Tensor:
        """mask & valid_lens, built here without attnviz: (*batch, T_q, T_k)."""
        shape = (*self.query.shape[:-1], self.key.shape[-2])  # (*batch, T_q, T_k)
        full = torch.ones(shape, dtype=torch.bool) if self.mask is None else self.mask.expand(shape)
        if self.valid_lens is not None:
            lens = self.valid_lens.reshape(-1, *([1] * (len(shape) - 1)))  # (B, 1.., 1)
            full = full & (torch.arange(shape[-1]) < lens)
        return full

    def attend(self, **options):
        return attend(
            self.query, self.key, self.value, mask=self.mask, valid_lens=self.valid_lens, scale=self.scale, **options
        )

    @property
    def effective_scale(self) -> float:
        return self.query.shape[-1] ** -0.5 if self.scale is None else self.scale


@st.composite
def cases(draw, dtype=np.float32, elementwise: bool = False) -> Case:
    """Random shapes, scale and mask. Values are |x| <= 10: drawn one by one by hypothesis (``elementwise``, slow
    but adversarial: subnormals, -0.0, ±10, repeats) or from a hypothesis-drawn seed and bound (fast)."""
    batch = tuple(draw(st.lists(st.integers(1, 2), min_size=0, max_size=2)))
    t_q, t_k = (draw(st.one_of(st.just(0), st.integers(1, 8))) for _ in range(2))  # T = 0 now and then
    d_k, d_v = (draw(st.integers(1, 8)) for _ in range(2))
    shapes = {"q": (*batch, t_q, d_k), "k": (*batch, t_k, d_k), "v": (*batch, t_k, d_v)}
    kind = draw(st.sampled_from(["none", "full", "shared"]))
    mask_shape = (*batch, t_q, t_k) if kind == "full" else (t_q, t_k)  # "shared" broadcasts over the batch
    if elementwise:
        width = 32 if dtype == np.float32 else 64
        elements = st.floats(-10, 10, allow_nan=False, allow_infinity=False, width=width)
        qkv = {name: draw(arrays(dtype, shape, elements=elements)) for name, shape in shapes.items()}
        mask = draw(arrays(np.bool_, mask_shape))
    else:
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        if draw(st.booleans()):
            bound = draw(st.floats(0, 10))
            qkv = {name: rng.uniform(-bound, bound, shape).astype(dtype) for name, shape in shapes.items()}
        else:  # small integers: ties in the scores
            qkv = {name: rng.integers(-3, 4, shape).astype(dtype) for name, shape in shapes.items()}
        mask = rng.random(mask_shape) < draw(st.sampled_from([0.1, 0.5, 0.9, 1.0]))  # often fully masked rows
    scale = draw(st.one_of(st.none(), st.floats(0.05, 2.0)))
    lens = None
    if batch and draw(st.booleans()):
        lens = torch.tensor(draw(st.lists(st.integers(0, t_k), min_size=batch[0], max_size=batch[0])))
    tensors = {name: torch.from_numpy(np.ascontiguousarray(a)) for name, a in qkv.items()}
    mask = None if kind == "none" else torch.from_numpy(np.ascontiguousarray(mask))
    return Case(tensors["q"], tensors["k"], tensors["v"], mask, scale, lens)


@settings(PROPERTY, max_examples=200)  # element-by-element generation is the slow part of this file
@given(cases(elementwise=True))
def test_rows_sum_to_one_or_zero_and_masked_keys_get_exactly_zero(case):
    trace = case.attend()
    event(f"some row fully masked: {trace.any_fully_masked}")
    allowed = case.full_mask
    assert torch.equal(trace.mask, allowed)
    assert torch.equal(trace.fully_masked, ~allowed.any(dim=-1))
    assert (trace.weights[~allowed] == 0).all()  # exactly 0, not just small
    assert (trace.weights >= 0).all() and (trace.weights <= 1).all()
    sums = trace.weights.sum(dim=-1)  # (*batch, T_q)
    torch.testing.assert_close(sums[~trace.fully_masked], torch.ones_like(sums[~trace.fully_masked]))
    assert (sums[trace.fully_masked] == 0).all()
    assert (trace.output[trace.fully_masked] == 0).all()
    for t in (trace.scores, trace.scaled, trace.weights, trace.output):
        assert torch.isfinite(t).all()


@PROPERTY
@given(cases(), st.randoms(use_true_random=False))
def test_permuting_keys_and_values_permutes_weight_columns(case, rnd):
    t_k = case.key.shape[-2]
    perm = list(range(t_k))
    rnd.shuffle(perm)
    perm = torch.tensor(perm, dtype=torch.long)
    mask = case.full_mask[..., perm]  # valid_lens marks a prefix, which a permutation does not keep
    before = case.attend()
    after = attend(case.query, case.key[..., perm, :], case.value[..., perm, :], mask=mask, scale=case.scale)
    torch.testing.assert_close(after.weights, before.weights[..., perm], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(after.output, before.output, atol=1e-4, rtol=1e-4)
    assert torch.equal(after.fully_masked, before.fully_masked)
    assert torch.equal(after.mask, before.mask[..., perm])
    assert (after.weights[~after.mask] == 0).all()


@PROPERTY
@given(cases())
def test_agrees_with_scaled_dot_product_attention_on_rows_that_see_a_key(case):
    trace = case.attend()
    sdpa = F.scaled_dot_product_attention(
        case.query, case.key, case.value, attn_mask=case.full_mask, scale=case.effective_scale
    )
    event(f"some row fully masked: {trace.any_fully_masked}")
    keep = ~trace.fully_masked  # torch's answer for a row with no key is its own business
    torch.testing.assert_close(trace.output[keep], sdpa[keep], atol=2e-4, rtol=1e-4)


def _numpy_reference(q, k, v, allowed, scale):
    """softmax(q·kᵀ·scale) over allowed keys, then · v; a row with no allowed key is 0. float64 numpy."""
    scores = np.einsum("...qd,...kd->...qk", q, k) * scale
    scores = np.where(allowed, scores, -np.inf)
    row_max = scores.max(axis=-1, keepdims=True, initial=-np.inf)
    row_max = np.where(np.isfinite(row_max), row_max, 0.0)
    exp = np.where(allowed, np.exp(scores - row_max), 0.0)
    total = exp.sum(axis=-1, keepdims=True)
    weights = np.divide(exp, total, out=np.zeros_like(exp), where=total > 0)
    return weights, np.einsum("...qk,...kd->...qd", weights, v)


@PROPERTY
@given(cases(dtype=np.float64))
def test_float64_agrees_with_independent_numpy_reference(case):
    trace = case.attend()
    assert trace.weights.dtype == trace.output.dtype == torch.float64
    weights, output = _numpy_reference(
        case.query.numpy(), case.key.numpy(), case.value.numpy(), case.full_mask.numpy(), case.effective_scale
    )
    np.testing.assert_allclose(trace.weights.numpy(), weights, atol=1e-9, rtol=0)
    np.testing.assert_allclose(trace.output.numpy(), output, atol=1e-9, rtol=0)
    assert torch.equal(trace.fully_masked, ~case.full_mask.any(dim=-1))  # T_k = 0 included


@PROPERTY
@given(cases(), st.sampled_from([torch.float16, torch.bfloat16]))
def test_half_precision_agrees_with_float64_reference_loosely(case, dtype):
    """float16 / bfloat16 in, the same dtype out, close to the float64 answer on the same (rounded) inputs. Inputs
    are scaled to |x| <= 1 (scores <= 16 after scaling), where the dtype's rounding of the scores moves a weight
    by at most ~1e-2 (float16, 11-bit significand) or ~5e-2 (bfloat16, 8-bit)."""
    q, k, v = (t.div(10).to(dtype) for t in (case.query, case.key, case.value))
    trace = attend(q, k, v, mask=case.mask, valid_lens=case.valid_lens, scale=case.scale)
    assert trace.weights.dtype == trace.output.dtype == dtype
    weights, output = _numpy_reference(
        *(t.double().numpy() for t in (q, k, v)), case.full_mask.numpy(), case.effective_scale
    )
    tol = 5e-2 if dtype == torch.bfloat16 else 1e-2
    np.testing.assert_allclose(trace.weights.double().numpy(), weights, atol=tol, rtol=0)
    np.testing.assert_allclose(trace.output.double().numpy(), output, atol=tol, rtol=0)  # |v| <= 1
    assert (trace.weights[~case.full_mask] == 0).all()
    assert torch.equal(trace.fully_masked, ~case.full_mask.any(dim=-1))


@settings(PROPERTY, max_examples=40)
@given(cases(dtype=np.float64))
def test_gradients_match_sdpa_and_finite_differences(case):
    """float64: autograd through attend equals autograd through scaled_dot_product_attention (on a mask where
    every query sees key 0, so torch has no NaN row), and gradcheck passes on the case's own mask."""
    q, k, v = (t.clone().requires_grad_() for t in (case.query, case.key, case.value))
    if q.shape[-2] == 0 or k.shape[-2] == 0:
        return  # nothing to differentiate
    allowed = case.full_mask.clone()
    allowed[..., 0] = True
    ours = attend(q, k, v, mask=allowed, scale=case.scale).output
    grads = torch.autograd.grad(ours.sum() + (ours**2).sum(), (q, k, v))
    theirs = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, scale=case.effective_scale)
    expected = torch.autograd.grad(theirs.sum() + (theirs**2).sum(), (q, k, v))
    for got, want in zip(grads, expected, strict=True):
        torch.testing.assert_close(got, want, atol=1e-8, rtol=1e-7)
    small = tuple(t.detach()[(0,) * (t.dim() - 2)].clone().requires_grad_() for t in (q, k, v))  # one batch row
    mask = case.full_mask[(0,) * (case.full_mask.dim() - 2)]
    assert torch.autograd.gradcheck(lambda a, b, c: attend(a, b, c, mask=mask, scale=case.scale).output, small)


@PROPERTY
@given(
    num_heads=st.integers(1, 4),
    d_head=st.integers(1, 4),
    t_q=st.integers(1, 6),
    t_k=st.integers(1, 6),
    batch=st.one_of(st.none(), st.integers(1, 3)),
    bias=st.booleans(),
    masking=st.sampled_from(["none", "causal", "per-head", "lengths"]),
    seed=st.integers(0, 2**32 - 1),
    from_torch=st.booleans(),
)
def test_multihead_agrees_with_torch(num_heads, d_head, t_q, t_k, batch, bias, masking, seed, from_torch):
    """Including fully masked rows (random per-head masks, length 0): torch answers NaN there, attnviz weights 0
    and a head output 0, so the output row is the output projection of the other heads' outputs."""
    d_model = num_heads * d_head
    if from_torch:
        torch.manual_seed(seed)
        theirs = torch.nn.MultiheadAttention(d_model, num_heads, bias=bias, batch_first=True).eval()
        ours = MultiHeadAttention.from_torch(theirs)
    else:
        ours = MultiHeadAttention(d_model, num_heads, bias=bias, seed=seed)
        theirs = ours.to_torch(batch_first=True)
    g = torch.Generator().manual_seed(seed)
    lead = () if batch is None else (batch,)
    q = torch.randn(*lead, t_q, d_model, generator=g)
    kv = torch.randn(*lead, t_k, d_model, generator=g)
    b = 1 if batch is None else batch
    allowed, attn_mask, lens, padding = None, None, None, None
    if masking == "causal":
        allowed = torch.ones(t_q, t_k, dtype=torch.bool).tril(diagonal=max(t_k - t_q, 0))
        attn_mask = ~allowed  # torch: True = may NOT attend
    elif masking == "per-head":
        per_head = torch.rand(b, num_heads, t_q, t_k, generator=g) < 0.6  # some rows fully masked
        allowed = per_head if batch is not None else per_head[0]  # (B, H, T_q, T_k) or (H, T_q, T_k)
        attn_mask = ~per_head.reshape(b * num_heads, t_q, t_k) if batch is not None else ~per_head[0]
    elif masking == "lengths" and batch is not None:
        lens = torch.randint(0, t_k + 1, (b,), generator=g)
        padding = torch.arange(t_k)[None, :] >= lens[:, None]  # (B, T_k), torch: True = ignore

    with torch.no_grad():
        trace = ours(q, kv, kv, mask=allowed, valid_lens=lens)
        out, weights = theirs(q, kv, kv, attn_mask=attn_mask, key_padding_mask=padding, average_attn_weights=False)
        no_key = weights.isnan().any(dim=-1)  # (*lead, H, T_q): torch found no key
        event(f"fully masked rows: {bool(no_key.any())}")
        assert torch.equal(trace.fully_masked, no_key)
        # Independent expected output: torch's per-head outputs are not exposed, so rebuild the output row from
        # torch's weights (NaN → 0) with the explicit per-head formula of nn.MultiheadAttention.
        w = weights.nan_to_num(nan=0.0)
        v_proj = kv @ theirs.in_proj_weight[2 * d_model :].T
        if bias:
            v_proj = v_proj + theirs.in_proj_bias[2 * d_model :]
        v_heads = v_proj.reshape(*lead, t_k, num_heads, d_head).transpose(-3, -2)  # (*lead, H, T_k, d_head)
        concat = (w @ v_heads).transpose(-3, -2).reshape(*lead, t_q, d_model)
        expected = theirs.out_proj(concat)
    torch.testing.assert_close(trace.weights, w, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(trace.output, expected, atol=1e-5, rtol=1e-5)
    keep = ~no_key.any(dim=-2)  # (*lead, T_q): rows every head could compute, where torch's output is a number
    torch.testing.assert_close(trace.output[keep], out[keep], atol=1e-5, rtol=1e-5)
