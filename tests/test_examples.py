"""The worked example and the matrix presets."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from attnviz.examples import (
    PRESETS,
    WORKED_EXAMPLE,
    WORKED_EXAMPLE_PRINTED,
    WorkedExample,
    identity_example,
    preset,
    random_example,
    resize,
)

SHAPES = [(3, 4, 3), (1, 1, 1), (2, 5, 2), (6, 2, 4), (5, 6, 7)]


def _arrays(example: WorkedExample) -> list[np.ndarray]:
    return [example.x, example.w_q, example.w_k, example.w_v]


def test_worked_example_is_the_tutorials():
    assert WORKED_EXAMPLE.shape == (3, 4, 3)
    assert WORKED_EXAMPLE.x.tolist() == [[1, 0, 1, 0], [0, 2, 0, 2], [1, 1, 1, 1]]
    # Q = X @ W_q etc. reproduce the tutorial's printed integers (numpy only, no torch)
    assert (WORKED_EXAMPLE.x @ WORKED_EXAMPLE.w_q).tolist() == WORKED_EXAMPLE_PRINTED["query"]
    assert (WORKED_EXAMPLE.x @ WORKED_EXAMPLE.w_k).tolist() == WORKED_EXAMPLE_PRINTED["key"]
    assert (WORKED_EXAMPLE.x @ WORKED_EXAMPLE.w_v).tolist() == WORKED_EXAMPLE_PRINTED["value"]
    q = np.array(WORKED_EXAMPLE_PRINTED["query"])
    k = np.array(WORKED_EXAMPLE_PRINTED["key"])
    assert (q @ k.T).tolist() == WORKED_EXAMPLE_PRINTED["scores"]


def test_worked_example_arrays_are_read_only():
    for array in _arrays(WORKED_EXAMPLE):
        assert not array.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            array[0, 0] = 42.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        WORKED_EXAMPLE.x = np.zeros((3, 4))
    assert WORKED_EXAMPLE.x[0, 0] == 1.0


@pytest.mark.parametrize("name", PRESETS)
@pytest.mark.parametrize("shape", SHAPES)
def test_presets_have_the_requested_shapes(name, shape):
    t, d_in, d_k = shape
    example = preset(name, t, d_in, d_k, seed=3)
    assert example.x.shape == (t, d_in)
    assert example.w_q.shape == example.w_k.shape == example.w_v.shape == (d_in, d_k)
    assert example.shape == shape
    assert all(a.dtype == np.float64 and np.isfinite(a).all() for a in _arrays(example))


def test_tutorial_preset_at_its_own_shape_is_the_worked_example():
    example = preset(PRESETS[0], 3, 4, 3)
    for got, expected in zip(_arrays(example), _arrays(WORKED_EXAMPLE), strict=True):
        np.testing.assert_array_equal(got, expected)
    # a copy the page may edit without touching the constant
    example.x[0, 0] = 7.0
    assert WORKED_EXAMPLE.x[0, 0] == 1.0


def test_tutorial_preset_crops_and_pads():
    small = preset(PRESETS[0], 2, 3, 2)
    np.testing.assert_array_equal(small.x, WORKED_EXAMPLE.x[:2, :3])
    np.testing.assert_array_equal(small.w_v, WORKED_EXAMPLE.w_v[:3, :2])
    big = preset(PRESETS[0], 4, 5, 4)
    np.testing.assert_array_equal(big.x[:3, :4], WORKED_EXAMPLE.x)
    assert (big.x[3] == 0).all() and (big.x[:, 4] == 0).all()
    np.testing.assert_array_equal(big.w_q[:4, :3], WORKED_EXAMPLE.w_q)
    assert (big.w_q[4] == 0).all() and (big.w_q[:, 3] == 0).all()


def test_random_preset_reproducible_per_seed():
    a = preset(PRESETS[1], 4, 3, 2, seed=11)
    b = preset(PRESETS[1], 4, 3, 2, seed=11)
    c = preset(PRESETS[1], 4, 3, 2, seed=12)
    for x, y in zip(_arrays(a), _arrays(b), strict=True):
        np.testing.assert_array_equal(x, y)
    assert any(not np.array_equal(x, y) for x, y in zip(_arrays(a), _arrays(c), strict=True))
    for array in _arrays(random_example(6, 5, 4, seed=0)):
        assert set(np.unique(array)) <= {-2.0, -1.0, 0.0, 1.0, 2.0}
        assert np.array_equal(array, np.round(array))


def test_identity_preset_makes_q_k_v_equal_x():
    example = identity_example(3, 4, 4)
    np.testing.assert_array_equal(example.x, np.eye(3, 4))
    for w in (example.w_q, example.w_k, example.w_v):
        np.testing.assert_array_equal(example.x @ w, example.x)
    # more tokens than width: the one-hot position wraps around
    assert identity_example(5, 2, 2).x.tolist() == [[1, 0], [0, 1], [1, 0], [0, 1], [1, 0]]


def test_unknown_preset():
    with pytest.raises(ValueError, match=r"unknown preset 'nope'; choose one of"):
        preset("nope", 3, 4, 3)


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ((2, 2), [[1, 2], [4, 5]]),
        ((2, 4), [[1, 2, 3, 0], [4, 5, 6, 0]]),
        ((3, 2), [[1, 2], [4, 5], [0, 0]]),
        ((3, 4), [[1, 2, 3, 0], [4, 5, 6, 0], [0, 0, 0, 0]]),
        ((1, 3), [[1, 2, 3]]),
        ((2, 3), [[1, 2, 3], [4, 5, 6]]),
    ],
)
def test_resize_crops_and_pads(shape, expected):
    matrix = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    out = resize(matrix, shape)
    assert out.shape == shape
    assert out.tolist() == expected
    assert matrix.tolist() == [[1, 2, 3], [4, 5, 6]]  # the input is untouched
    assert not np.shares_memory(out, matrix)


def test_resize_accepts_read_only_input():
    out = resize(WORKED_EXAMPLE.w_q, (4, 3))
    assert out.flags.writeable
    np.testing.assert_array_equal(out, WORKED_EXAMPLE.w_q)


# --- seed 000's qkv intro --------------------------------------------------------------------------------------


def _seed_000_qkv_intro(seed: int):
    """Seed 000's code, verbatim apart from the seeding (which it leaves to the global RNG)."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(seed)
    x = torch.tensor(np.array([[1, 0, 1, 0, 1], [0, 1, 0, 1, 0]], dtype=np.float32))
    d_model = 5
    Wq = torch.randn(d_model, d_model)
    Wk = torch.randn(d_model, d_model)
    Wv = torch.randn(d_model, d_model)
    Q, K, V = torch.matmul(x, Wq), torch.matmul(x, Wk), torch.matmul(x, Wv)
    scores = torch.matmul(Q, K.transpose(-2, -1)) / np.sqrt(d_model)
    attention_weights = F.softmax(scores, dim=-1)
    return (Wq, Wk, Wv), attention_weights, torch.matmul(attention_weights, V)


@pytest.mark.parametrize("seed", [0, 7])
def test_qkv_intro_is_the_seeds_and_attends_like_it(seed):
    import torch

    from attnviz.attention import attend
    from attnviz.examples import QKV_INTRO, QKV_INTRO_NOTE, qkv_intro_example

    (wq, wk, wv), weights, output = _seed_000_qkv_intro(seed)
    ex = qkv_intro_example(seed)
    assert ex.shape == (2, 5, 5)
    assert ex.x.tolist() == [[1, 0, 1, 0, 1], [0, 1, 0, 1, 0]]
    for ours, theirs in zip((ex.w_q, ex.w_k, ex.w_v), (wq, wk, wv), strict=True):
        assert np.array_equal(ours, theirs.double().numpy())
    x = torch.tensor(ex.x)
    trace = attend(x @ torch.tensor(ex.w_q), x @ torch.tensor(ex.w_k), x @ torch.tensor(ex.w_v))  # scale 1/√d_k
    assert trace.scale == pytest.approx(1 / np.sqrt(5))
    np.testing.assert_allclose(trace.weights.numpy(), weights.numpy(), atol=1e-6)
    np.testing.assert_allclose(trace.output.numpy(), output.numpy(), atol=1e-5)
    assert np.array_equal(preset(QKV_INTRO, 2, 5, 5, seed=seed).w_v, ex.w_v)
    assert "d_k = d_model = 5" in QKV_INTRO_NOTE


def test_qkv_intro_leaves_the_global_rng_alone():
    import torch

    from attnviz.examples import qkv_intro_example

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    qkv_intro_example(0)
    assert torch.equal(torch.rand(3), expected)
