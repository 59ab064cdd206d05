"""Array arithmetic: block pooling, pool sizes, range labels, robust colour tops, crop/pad, numpy copies."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from attnviz.arrays import pool_blocks, pool_factor, range_labels, resize, robust_max, to_numpy


def test_to_numpy_copies_a_tensor_as_float32_with_blank_infinities():
    t = torch.tensor([[1.0, float("-inf")], [float("inf"), 2.0]], dtype=torch.float64)
    z = to_numpy(t)
    assert z.dtype == np.float32 and np.isnan(z[0, 1]) and np.isnan(z[1, 0]) and z[1, 1] == 2.0
    z[0, 0] = 9.0
    assert t[0, 0] == 1.0  # a copy


def test_resize_crops_and_pads_with_zeros():
    m = np.arange(6, dtype=float).reshape(2, 3)  # [[0, 1, 2], [3, 4, 5]]
    np.testing.assert_array_equal(resize(m, (3, 2)), [[0, 1], [3, 4], [0, 0]])


# --- pooling -------------------------------------------------------------------------------------------


def test_range_labels_and_pool_factor():
    assert range_labels(10, 4) == ["0–3", "4–7", "8–9"]
    assert range_labels(9, 4)[-1] == "8"
    assert pool_factor(512, 64) == 8 and pool_factor(64, 64) == 1 and pool_factor(65, 64) == 2


def test_pool_mean_leaves_masked_cells_out():
    z = np.array([[1.0, 3.0, np.nan, np.nan], [5.0, 7.0, np.nan, np.nan]])
    pooled = pool_blocks(z, 2)
    assert pooled.shape == (1, 2)
    assert pooled[0, 0] == 4.0 and np.isnan(pooled[0, 1])
    assert pooled.dtype == np.float32


def test_pool_block_one_is_the_matrix():
    z = np.random.default_rng(0).random((2, 5, 5)).astype(np.float32)
    np.testing.assert_array_equal(pool_blocks(z, 1), z)


@settings(max_examples=40, deadline=None)
@given(
    t=st.integers(1, 40),
    block=st.integers(1, 9),
    heads=st.integers(1, 3),
    causal=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_pooled_weights_rows_still_sum_to_one(t, block, heads, causal, seed):
    logits = np.random.default_rng(seed).normal(size=(heads, t, t))
    allowed = np.tril(np.ones((t, t), dtype=bool)) if causal else np.ones((t, t), dtype=bool)
    logits = np.where(allowed, logits, -np.inf)
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    weights = np.where(allowed, weights, np.nan)  # masked cells blank, as the page sends them
    pooled = pool_blocks(weights, block, how="row_share")
    assert pooled.shape == (heads, -(-t // block), -(-t // block))
    np.testing.assert_allclose(np.nansum(pooled, axis=-1), 1.0, rtol=1e-5)


@settings(max_examples=30, deadline=None)
@given(
    hnp.arrays(np.float32, hnp.array_shapes(min_dims=2, max_dims=2, max_side=12), elements=st.floats(-5, 5, width=32))
)
def test_pooled_means_stay_within_the_values(z):
    pooled = pool_blocks(z, 3)
    assert np.nanmin(pooled) >= z.min() - 1e-5 and np.nanmax(pooled) <= z.max() + 1e-5


def _pool_by_loops(z: np.ndarray, block: int, how: str) -> np.ndarray:
    """An independent reference: one block at a time."""
    *lead, r, c = z.shape
    out = np.full((*lead, -(-r // block), -(-c // block)), np.nan)
    for i in range(0, r, block):
        for j in range(0, c, block):
            cell = z[..., i : i + block, j : j + block].astype(np.float64)
            finite = np.isfinite(cell).sum(axis=(-2, -1))
            total = np.where(np.isfinite(cell), cell, 0).sum(axis=(-2, -1))
            value = total / cell.shape[-2] if how == "row_share" else total / np.maximum(finite, 1)
            out[..., i // block, j // block] = np.where(finite > 0, value, np.nan)
    return out


@settings(max_examples=60, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 3), st.integers(1, 30), st.integers(1, 30)),
    block=st.integers(2, 9),
    how=st.sampled_from(["mean", "row_share"]),
    blanks=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_pooling_matches_a_block_by_block_reference(shape, block, how, blanks, seed):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=shape).astype(np.float32)
    if blanks:  # masked cells take the NaN-aware path, the others the fast one
        z[rng.random(shape) < 0.3] = np.nan
    np.testing.assert_allclose(pool_blocks(z, block, how=how), _pool_by_loops(z, block, how), rtol=1e-5, atol=1e-6)


def test_pool_rejects_bad_arguments():
    with pytest.raises(ValueError, match="block"):
        pool_blocks(np.zeros((2, 2)), 0)
    with pytest.raises(ValueError, match="how"):
        pool_blocks(np.zeros((2, 2)), 2, how="max")


def test_robust_max_ignores_a_few_outliers():
    values = np.full(1000, 0.01)
    values[:3] = 1.0
    assert robust_max(values) == pytest.approx(0.01)
    assert robust_max(np.array([np.nan, -1.0])) == 1.0


def test_read_only_freezes_every_array_of_a_view_also_nested():
    from dataclasses import dataclass

    from attnviz.arrays import read_only

    @dataclass(frozen=True)
    class Inner:
        a: np.ndarray

    @dataclass(frozen=True)
    class Outer:
        top: np.ndarray
        inner: Inner
        steps: tuple
        label: str

    view = Outer(np.zeros(2), Inner(np.ones(2)), (Inner(np.ones(3)), np.arange(2)), "x")
    assert read_only(view) is view
    for array in (view.top, view.inner.a, view.steps[0].a, view.steps[1]):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 5
