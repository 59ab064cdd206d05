"""Display models: what each page draws, checked against float64 numpy references and torch's own modules."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attnviz.examples import WORKED_EXAMPLE, WORKED_EXAMPLE_PRINTED
from attnviz.modules import SelfAttention
from attnviz.views import (
    FOCUS_CELLS,
    ROW_WINDOW,
    head_slice,
    join_head_slices,
    multihead_view,
    worked_view,
)


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - np.nanmax(np.where(np.isfinite(z), z, np.nan), axis=-1, keepdims=True)
    e = np.where(np.isfinite(z), np.exp(z), 0.0)
    return e / e.sum(axis=-1, keepdims=True)


def random_weights(d_model: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    w = {n: rng.normal(0, d_model**-0.5, (d_model, d_model)).astype(np.float32) for n in ("w_q", "w_k", "w_v", "w_o")}
    return w | {n: rng.normal(0, 0.1, d_model).astype(np.float32) for n in ("b_q", "b_k", "b_v", "b_o")}


def reference_weights(x: np.ndarray, w: dict[str, np.ndarray], heads: int, mask: np.ndarray | None) -> np.ndarray:
    """Per-head weights ``(H, T, T)`` in float64, written out from the formula (no attnviz code)."""
    x = x.astype(np.float64)
    q, k = x @ w["w_q"] + w["b_q"], x @ w["w_k"] + w["b_k"]
    d_head = x.shape[1] // heads
    out = []
    for h in range(heads):
        cut = slice(h * d_head, (h + 1) * d_head)
        s = q[:, cut] @ k[:, cut].T / np.sqrt(d_head)
        out.append(softmax(s if mask is None else np.where(mask, s, -np.inf)))
    return np.stack(out)


# --- worked example ---------------------------------------------------------------------------------------


def module() -> SelfAttention:
    ex = WORKED_EXAMPLE
    return SelfAttention.from_matrices(*(torch.from_numpy(np.array(m)) for m in (ex.w_q, ex.w_k, ex.w_v)))


def test_worked_view_holds_the_tutorials_numbers_and_its_own_labels():
    trace = module()(torch.from_numpy(np.array(WORKED_EXAMPLE.x)), scale=1.0)
    view = worked_view(trace, scaled=False, causal=False, learned=False)
    np.testing.assert_array_equal(view.scores, WORKED_EXAMPLE_PRINTED["scores"])
    np.testing.assert_allclose(view.weights, WORKED_EXAMPLE_PRINTED["weights"], atol=0.005)
    assert view.tokens == ("x1", "x2", "x3") and view.dims_k == ("d1", "d2", "d3")
    assert view.row(2) == 2 and view.row(3) == 0  # a kept 3-token view asked for a 4th query
    assert view.weights_title == "weights = softmax(scores)"


def test_the_scaling_choice_is_kept_even_when_it_changes_nothing():
    x = torch.ones(2, 1, dtype=torch.float64)
    m = SelfAttention.from_matrices(*(torch.ones(1, 1, dtype=torch.float64) for _ in range(3)))
    view = worked_view(m(x, scale=None), scaled=True, causal=False, learned=False)  # d_k = 1: 1/√1 = 1
    assert view.scale == 1.0 and view.scaled_by_choice
    assert view.weights_title == "weights = softmax(scaled scores)"


# --- multi-head -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("t", "heads", "causal"), [(5, 2, False), (7, 4, True)])
def test_multihead_view_at_full_resolution_matches_a_float64_reference(t, heads, causal):
    x = np.random.default_rng(1).normal(size=(t, 8)).astype(np.float32)
    w = random_weights(8)
    labels = tuple(f"{i} t" for i in range(t))
    view = multihead_view(x, labels, w, num_heads=heads, bias=True, causal=causal, valid_len=None)
    mask = np.tril(np.ones((t, t), dtype=bool)) if causal else None
    expected = reference_weights(x, w, heads, mask)
    assert view.grid_block == 1 and view.grid_labels == labels and not view.pooled
    np.testing.assert_allclose(np.nan_to_num(view.weights), expected, atol=1e-5)
    if causal:
        assert np.isnan(view.weights[:, 0, 1]).all() and np.isnan(view.scaled[:, 0, 1]).all()  # grey, not 0
    np.testing.assert_allclose(np.nan_to_num(view.mean_weights), expected.mean(axis=0), atol=1e-5)
    assert view.check.passed


def test_long_inputs_are_pooled_to_shares_and_windowed():
    t, heads = 200, 4
    x = np.random.default_rng(2).normal(size=(t, 8)).astype(np.float32)
    w = random_weights(8, seed=3)
    view = multihead_view(
        x, tuple(str(i) for i in range(t)), w, num_heads=heads, bias=True, causal=False, valid_len=None
    )
    block = view.grid_block
    assert block > 1 and view.weights.shape == (heads, -(-t // block), -(-t // block))
    expected = reference_weights(x, w, heads, None)  # (H, T, T)
    # A pooled cell is the share block I's queries give block J's keys: the mean over I's rows of their sum over J.
    i, j = 1, 2
    share = expected[:, i * block : (i + 1) * block, j * block : (j + 1) * block].sum(axis=-1).mean(axis=-1)
    np.testing.assert_allclose(view.weights[:, i, j], share, rtol=1e-4)
    np.testing.assert_allclose(view.weights.sum(axis=-1), 1.0, rtol=1e-4)
    assert view.grid_labels[0] == f"0–{block - 1}"
    assert view.focus_block == 1 and view.focus.shape == (heads, t, t)  # t ≤ FOCUS_CELLS: the detail is exact
    assert t <= FOCUS_CELLS
    assert view.window == ROW_WINDOW and view.x.shape == (ROW_WINDOW, 8) and view.output.shape == (ROW_WINDOW, 8)
    np.testing.assert_array_equal(view.x, x[:ROW_WINDOW])
    assert view.weights_top == pytest.approx(np.percentile(view.weights, 99), rel=1e-6)
    # Each head's top for the one-head detail: the 99th percentile of its own T × T weights, read one at a time.
    assert len(view.focus_top) == heads
    assert view.focus_top[1] == pytest.approx(min(1.0, np.percentile(expected[1], 99)), rel=1e-5)
    assert list(view.focus_top) == pytest.approx([min(1.0, np.percentile(e, 99)) for e in expected], rel=1e-5)
    assert view.focus_top[-1] == view.focus_top[heads - 1] and view.focus_top[:2] == tuple(view.focus_top)[:2]


def test_padding_blanks_the_padded_keys_and_a_length_past_the_end_means_none():
    x = np.random.default_rng(4).normal(size=(6, 4)).astype(np.float32)
    w = random_weights(4)
    view = multihead_view(x, tuple("abcdef"), w, num_heads=2, bias=False, causal=False, valid_len=4)
    assert np.isnan(view.weights[:, :, 4:]).all() and np.isfinite(view.weights[:, :, :4]).all()
    assert multihead_view(x, tuple("abcdef"), w, num_heads=2, bias=False, causal=False, valid_len=6).valid_len is None


def test_head_slices_cut_columns_of_w_qkv_and_rows_of_w_o_and_join_back():
    w = random_weights(6)
    before = {n: v.copy() for n, v in w.items()}
    assert head_slice(w, "w_q", 1, 3).shape == (6, 2) and head_slice(w, "w_o", 1, 3).shape == (2, 6)
    np.testing.assert_array_equal(head_slice(w, "w_v", 2, 3), w["w_v"][:, 4:6])
    np.testing.assert_array_equal(head_slice(w, "w_o", 2, 3), w["w_o"][4:6, :])
    parts = {(n, h): head_slice(w, n, h, 3) + 1.0 for n in ("w_q", "w_k", "w_v", "w_o") for h in range(3)}
    joined = join_head_slices(parts, w)
    for n in ("w_q", "w_k", "w_v", "w_o"):
        np.testing.assert_allclose(joined[n], w[n] + 1.0)
    np.testing.assert_array_equal(joined["b_q"], w["b_q"])
    for n, v in before.items():
        np.testing.assert_array_equal(w[n], v, err_msg=n)  # the base was not changed in place


# --- positional -------------------------------------------------------------------------------------------


def test_similarity_colour_scale_follows_the_sign_of_the_data():
    from attnviz.views import encoding_view

    view = encoding_view(20, 16, 10000.0)
    pe = np.array(
        [
            [
                np.sin(p / 10000 ** (2 * (j // 2) / 16)) if j % 2 == 0 else np.cos(p / 10000 ** (2 * (j // 2) / 16))
                for j in range(16)
            ]
            for p in range(20)
        ]
    )
    np.testing.assert_allclose(view.similarity, pe @ pe.T, atol=1e-4)
    assert view.similarity_kind == ("sequential" if (pe @ pe.T).min() >= 0 else "signed")
