"""The shape flow of multi-head attention, replayed on a trace: sizes, axis letters, and the reshapes themselves."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attnviz.modules import MultiHeadAttention
from attnviz.shapes import MAX_HEADS, divisors, head_problems, shape_flow, transpose_output, transpose_qkv


def _trace(b: int | None, t: int, d_model: int, heads: int):
    x = torch.randn(*(() if b is None else (b,)), t, d_model, generator=torch.Generator().manual_seed(0))
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


@settings(max_examples=30, deadline=None)
@given(b=st.integers(1, 3), t=st.integers(1, 6), heads=st.integers(1, 4), d_head=st.integers(1, 4))
def test_transpose_output_undoes_transpose_qkv_and_matches_the_trace(b, t, heads, d_head):
    trace = _trace(b, t, heads * d_head, heads)
    split, permuted, flat = transpose_qkv(trace.q_proj, heads)
    assert split.shape == (b, t, heads, d_head)
    assert torch.equal(permuted, trace.query)  # the trace's per-head queries are d2l's transpose_qkv
    assert torch.equal(transpose_output(flat, heads)[-1], trace.q_proj)
    merged = transpose_output(trace.head_outputs.reshape(b * heads, t, d_head), heads)[-1]
    assert torch.equal(merged, trace.concat)


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
