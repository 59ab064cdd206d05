"""attnviz.stats against float64 numpy references written out independently."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attnviz.stats import effective_keys, mean_distance, row_entropy, token_similarity


def _np_entropy_bits(row: np.ndarray) -> float:
    return float(-sum(p * np.log2(p) for p in row if p > 0))


def test_entropy_matches_numpy_reference():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 5, 7))
    w = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    got = row_entropy(torch.tensor(w)).numpy()
    want = np.array([[_np_entropy_bits(r) for r in block] for block in w])
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_entropy_edge_rows_and_base():
    w = torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25], [0.0, 0.0, 0.0, 0.0]])
    np.testing.assert_allclose(row_entropy(w).numpy(), [0.0, 2.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(row_entropy(w, base=np.e).numpy(), [0.0, np.log(4), 0.0], atol=1e-6)
    np.testing.assert_allclose(effective_keys(w).numpy(), [1.0, 4.0, 1.0], atol=1e-5)
    assert not torch.isnan(row_entropy(w)).any()


def test_mean_distance_reference():
    rng = np.random.default_rng(1)
    w = rng.random((2, 4, 6))
    w /= w.sum(-1, keepdims=True)
    want = np.array([[sum(w[b, i, j] * abs(i - j) for j in range(6)) for i in range(4)] for b in range(2)])
    np.testing.assert_allclose(mean_distance(torch.tensor(w)).numpy(), want, rtol=1e-12)
    eye = torch.eye(5)
    assert torch.equal(mean_distance(eye), torch.zeros(5))


def test_token_similarity_matches_cosine_similarity():
    x = torch.randn(2, 5, 8, dtype=torch.float64)
    x[0, 2] = 0.0
    got = token_similarity(x)
    want = torch.nn.functional.cosine_similarity(x.unsqueeze(-2), x.unsqueeze(-3), dim=-1)
    want[0, 2, :] = 0.0
    want[0, :, 2] = 0.0
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


def test_inputs_unchanged_and_errors():
    w = torch.softmax(torch.randn(3, 3), -1)
    before = w.clone()
    row_entropy(w), mean_distance(w), token_similarity(w)
    assert torch.equal(w, before)
    with pytest.raises(ValueError, match="T_q, T_k"):
        row_entropy(torch.ones(3))
    with pytest.raises(ValueError, match="base"):
        row_entropy(w, base=1.0)
    with pytest.raises(ValueError, match="tensor"):
        token_similarity([1.0, 2.0])


def test_entropy_ignores_negative_entries_as_before():
    w = torch.tensor([[0.5, 0.5, -0.1], [0.5, 0.5, 0.0]])
    np.testing.assert_allclose(row_entropy(w).numpy(), [1.0, 1.0], atol=1e-6)
