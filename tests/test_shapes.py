"""The shape flow of multi-head attention, replayed on a trace: sizes, axis letters, and the reshapes themselves."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attnviz.modules import MultiHeadAttention
from attnviz.shapes import MAX_HEADS, divisors, head_problems, shape_flow


def _trace(b: int | None, t: int, d_model: int, heads: int):
    x = torch.randn(*(() if b is None else (b,)), t, d_model, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        return MultiHeadAttention(d_model, heads, seed=0)(x)


def test_flow_of_a_batched_run_uses_its_sizes():
    flow = shape_flow(_trace(2, 5, 12, 3))
    assert [s.sizes for s in flow] == [
        (2, 5, 12),  # Q = X·W_q + b_q
        (2, 5, 3, 4),  # reshape
        (2, 3, 5, 4),  # permute
        (6, 5, 4),  # heads folded into the batch
        (6, 5, 5),  # one attention matrix per head
        (6, 5, 4),  # weights·V
        (2, 3, 5, 4),
        (2, 5, 3, 4),
        (2, 5, 12),  # concatenation
        (2, 5, 12),  # after W_O
    ]
    assert flow[1].symbolic == "(B, T, H, d_head)" and flow[1].numeric == "(2, 5, 3, 4)"
    assert flow[3].axes == ("B·H", "T", "d_head")
    assert all(len(s.axes) == len(s.sizes) and s.note for s in flow)


def test_unbatched_trace_is_described_with_b_1():
    flow = shape_flow(_trace(None, 7, 8, 2))
    assert flow[0].sizes == (1, 7, 8) and flow[3].sizes == (2, 7, 4) and flow[-1].sizes == (1, 7, 8)


def _numpy_heads(x: np.ndarray, heads: int) -> np.ndarray:
    """(B, T, d_model) → (B, H, T, d_head) by an explicit loop: head h is columns h·d_head:(h+1)·d_head."""
    b, t, d_model = x.shape
    d_head = d_model // heads
    out = np.zeros((b, heads, t, d_head), dtype=x.dtype)
    for i in range(b):
        for h in range(heads):
            for j in range(t):
                out[i, h, j] = x[i, j, h * d_head : (h + 1) * d_head]
    return out


@settings(max_examples=30, deadline=None)
@given(b=st.integers(1, 3), t=st.integers(1, 6), heads=st.integers(1, 4), d_head=st.integers(1, 4))
def test_trace_heads_are_column_blocks_of_the_projections(b, t, heads, d_head):
    trace = _trace(b, t, heads * d_head, heads)
    flow = shape_flow(trace)  # replays split and merge on this trace without raising
    assert flow[2].sizes == (b, heads, t, d_head) and flow[3].sizes == (b * heads, t, d_head)
    np.testing.assert_array_equal(trace.query.numpy(), _numpy_heads(trace.q_proj.numpy(), heads))
    np.testing.assert_array_equal(trace.value.numpy(), _numpy_heads(trace.v_proj.numpy(), heads))
    np.testing.assert_array_equal(_numpy_heads(trace.concat.numpy(), heads), trace.head_outputs.numpy())


def test_divisors():
    assert divisors(12) == [1, 2, 3, 4, 6, 12]
    assert divisors(1) == [1] and divisors(0) == []


@pytest.mark.parametrize(
    ("d_model", "heads", "words"),
    [
        (10, 3, ["Heads = 3 does not divide d_model = 10", "1, 2, 5, 10"]),
        (8, 0, ["Heads is 0", "at least 1 head"]),
        (0, 2, ["d_model is 0", "at least 1"]),
        (64, 32, [f"the {MAX_HEADS} heads"]),
    ],
)
def test_head_problems_name_the_control(d_model, heads, words):
    (problem,) = head_problems(d_model, heads)
    for word in words:
        assert word in problem


def test_fitting_sizes_have_no_problem():
    assert head_problems(64, 8) == [] and head_problems(1, 1) == []
    assert "Number of heads = 3" in head_problems(10, 3, heads_label="Number of heads")[0]
