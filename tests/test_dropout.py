"""Dropout on the weights against torch.nn.functional.dropout and against its definition."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from attnviz.attention import attend
from attnviz.dropout import dropout_attention, dropout_weights


def _weights(seed=0, shape=(6, 8), dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(torch.randn(*shape, generator=g, dtype=dtype), dim=-1)


@pytest.mark.parametrize(
    ("p", "seed", "dtype"), [(0.1, 0, torch.float32), (0.5, 3, torch.float64), (0.9, 11, torch.float32)]
)
def test_train_mode_is_torch_dropout_after_manual_seed(p, seed, dtype):
    w = _weights(seed, (4, 5, 7), dtype)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        expected = F.dropout(w, p, training=True)
    assert torch.equal(dropout_weights(w, p, seed=seed), expected)


def test_train_mode_zeroes_and_rescales():
    w = _weights(1, (200, 50))
    p = 0.3
    out = dropout_weights(w, p, seed=7)
    zero = out == 0
    assert torch.allclose(out[~zero], w[~zero] / (1 - p), rtol=1e-15, atol=0)  # survivors scaled by 1/(1 − p)
    assert zero.float().mean().item() == pytest.approx(p, abs=0.02)  # 10 000 Bernoulli draws
    assert not torch.allclose(out.sum(dim=-1), torch.ones(200, dtype=torch.float64))  # rows no longer sum to 1
    assert out.sum(dim=-1).mean().item() == pytest.approx(1.0, abs=0.03)  # ... but do on average


def test_eval_mode_and_p_zero_change_nothing_and_never_alias():
    w = _weights(2)
    for out in (dropout_weights(w, 0.5, seed=1, train=False), dropout_weights(w, 0.0, seed=1)):
        assert torch.equal(out, w)
        assert out.data_ptr() != w.data_ptr()


def test_same_seed_same_mask_and_input_unchanged():
    w = _weights(3)
    before = w.clone()
    assert torch.equal(dropout_weights(w, 0.4, seed=5), dropout_weights(w, 0.4, seed=5))
    assert not torch.equal(dropout_weights(w, 0.4, seed=5), dropout_weights(w, 0.4, seed=6))
    assert torch.equal(w, before)


def test_dropout_attention_is_the_seed_tutorials_attention():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 5, 4, generator=g, dtype=torch.float64) for _ in range(3))
    trace = attend(q, k, v)
    result = dropout_attention(trace, 0.5, seed=9)
    # seed 003: p_attn = dropout(softmax(q kᵀ / √d_k)); return p_attn @ v  (with torch's dropout, seeded)
    with torch.random.fork_rng():
        torch.manual_seed(9)
        p_attn = F.dropout(torch.softmax(q @ k.transpose(-2, -1) / 2.0, dim=-1), 0.5, training=True)
    assert torch.allclose(result.dropped, p_attn, atol=1e-15, rtol=0)
    assert torch.allclose(result.output, p_attn @ v, atol=1e-12, rtol=0)
    assert torch.equal(result.kept, p_attn != 0)
    assert torch.allclose(result.row_sums, p_attn.sum(-1))
    evaluated = dropout_attention(trace, 0.5, seed=9, train=False)
    assert torch.equal(evaluated.dropped, trace.weights) and bool(evaluated.kept.all())
    assert torch.allclose(evaluated.output, trace.output, atol=1e-15, rtol=0)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, float("nan"), "0.5", True])
def test_bad_p_is_named(p):
    with pytest.raises(ValueError, match="dropout p="):
        dropout_weights(_weights(), p)


def test_integer_weights_rejected():
    with pytest.raises(ValueError, match="weights must be a float tensor"):
        dropout_weights(torch.ones(2, 2, dtype=torch.long), 0.5)
