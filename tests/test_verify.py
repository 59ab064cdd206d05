"""attnviz's multi-head path against torch.nn.MultiheadAttention holding the same weights."""

from __future__ import annotations

import math

import pytest
import torch

from attnviz.modules import MultiHeadAttention
from attnviz.verify import TOLERANCE, check_against_torch


def _x(b: int, t: int, d: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(b, t, d, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("causal", [True, False])
def test_matches_torch_with_masks_and_padding(bias, causal):
    module = MultiHeadAttention(16, 4, bias=bias, seed=1)
    x = _x(2, 9, 16)
    mask = torch.ones(9, 9, dtype=torch.bool).tril() if causal else None
    lens = torch.tensor([9, 4])
    with torch.no_grad():
        trace = module(x, mask=mask, valid_lens=lens)
        check = check_against_torch(module, x, trace, mask=mask, valid_lens=lens)
    assert check.passed, check
    assert 0 <= check.max_output_diff < TOLERANCE and 0 <= check.max_weight_diff < TOLERANCE


def test_detects_different_weights():
    module = MultiHeadAttention(8, 2, seed=0)
    other = MultiHeadAttention(8, 2, seed=1)
    x = _x(1, 5, 8)
    with torch.no_grad():
        check = check_against_torch(module, x, other(x))
    assert not check.passed and check.max_output_diff > 1e-3 and check.max_weight_diff > 1e-3


def test_fully_masked_rows_are_compared_against_zero_weights_and_the_bias():
    # valid length 0: no key at all. attnviz gives weights 0 (documented), torch gives NaN: every row is still
    # compared, torch's NaN rows against weights 0 and the output projection of a zero row (b_O).
    module = MultiHeadAttention(8, 2, seed=0)
    x = _x(2, 4, 8)
    lens = torch.tensor([4, 0])
    with torch.no_grad():
        trace = module(x, valid_lens=lens)
        check = check_against_torch(module, x, trace, valid_lens=lens)
    assert check.passed, check
    assert math.isfinite(check.max_output_diff) and math.isfinite(check.max_weight_diff)
    assert bool(trace.fully_masked[1].all()) and not bool(trace.fully_masked[0].any())
    torch.testing.assert_close(trace.output[1], module.b_o.detach().expand(4, 8))


def test_an_over_masking_trace_fails():
    # Issue 9 bug 3: the rows to compare used to come from the trace's own fully_masked, so a trace computed with
    # every key masked "matched" torch run without a mask (diffs 0.0).
    module = MultiHeadAttention(8, 2, seed=0)
    x = _x(1, 4, 8)
    with torch.no_grad():
        trace = module(x, mask=torch.zeros(4, 4, dtype=torch.bool))
        check = check_against_torch(module, x, trace)
    assert not check.passed
    assert check.max_weight_diff > 0.1 and check.max_output_diff > 1e-3


def test_a_trace_masked_differently_fails():
    module = MultiHeadAttention(8, 2, seed=0)
    x = _x(2, 5, 8)
    causal = torch.ones(5, 5, dtype=torch.bool).tril()
    with torch.no_grad():
        trace = module(x, mask=causal)
        assert check_against_torch(module, x, trace, mask=causal).passed
        assert not check_against_torch(module, x, trace).passed  # torch unmasked
        assert not check_against_torch(module, x, trace, mask=causal, valid_lens=torch.tensor([5, 2])).passed


def test_needs_a_batch_axis():
    module = MultiHeadAttention(4, 2, seed=0)
    with pytest.raises(ValueError, match=r"\(B, T, d_model\)"):
        check_against_torch(module, torch.zeros(3, 4), module(torch.zeros(3, 4)))
