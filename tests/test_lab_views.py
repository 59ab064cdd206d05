"""The lab's display models against explicit float64 formulas, torch's dropout and d2l's masked softmax."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from attnviz.lab import lab_inputs
from attnviz.lab_views import (
    FILL_VALUES,
    MASK_KINDS,
    SCALING_D_KS,
    MaskSpec,
    bug_view,
    build_mask,
    check_tau,
    dropout_view,
    fill_value_story,
    mask_view,
    row_readout,
    scaling_points,
    scaling_view,
    score_view,
    temperature_view,
)

SENTENCE = "the animal did not cross the street because it was too tired"


@pytest.fixture(scope="module")
def inputs():
    return lab_inputs("sentence", sentence=SENTENCE, d_k=8, seed=1)


def _softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_score_view_is_the_four_formulas(inputs):
    q, k = inputs.query.numpy(), inputs.key.numpy()
    view = score_view(inputs, seed=0)
    assert view.names == ("dot", "scaled dot", "cosine", "additive") and all(view.notes)
    assert view.scores.shape == view.weights.shape == (4, 12, 12)
    scores = dict(zip(view.names, view.scores, strict=True))
    np.testing.assert_allclose(scores["dot"], q @ k.T, atol=1e-12)
    np.testing.assert_allclose(scores["scaled dot"], q @ k.T / math.sqrt(8), atol=1e-12)
    cos = F.cosine_similarity(inputs.query[:, None, :], inputs.key[None, :, :], dim=-1).numpy()
    np.testing.assert_allclose(scores["cosine"], cos, atol=1e-12)
    np.testing.assert_allclose(view.weights, _softmax(view.scores), atol=1e-12)
    assert np.abs(scores["cosine"]).max() <= 1 + 1e-12
    assert view.labels[1] == "1 animal"


def test_scaling_view_histograms_and_weights():
    points = scaling_points(seed=0, num_queries=32, num_keys=8)
    assert [p.d_k for p in points] == list(SCALING_D_KS)
    view = scaling_view(1024, seed=0, num_queries=32, num_keys=8, points=points)
    assert view.raw.shape == (32, 8)
    np.testing.assert_allclose(view.scaled, view.raw / 32.0, atol=1e-12)
    np.testing.assert_allclose(view.weights_unscaled, _softmax(view.raw[:8]), atol=1e-12)
    np.testing.assert_allclose(view.weights_scaled, _softmax(view.raw[:8] / 32.0), atol=1e-12)
    assert view.current is points[-1]
    assert view.weights_unscaled.max(axis=-1).mean() > view.weights_scaled.max(axis=-1).mean()
    # a d_k off the curve's grid is computed on its own
    assert scaling_view(3, seed=0, num_queries=32, num_keys=8, points=points).current.d_k == 3


@pytest.mark.parametrize("tau", [0.05, 0.5, 1.0, 20.0])
def test_temperature_view_against_explicit_softmax(inputs, tau):
    q, k = inputs.query.numpy(), inputs.key.numpy()
    expected = _softmax(q @ k.T / math.sqrt(8) / tau)
    view = temperature_view(inputs, tau)
    np.testing.assert_allclose(view.weights, expected, atol=1e-10)
    p = np.where(expected > 0, expected, 1.0)
    entropy = -(expected * np.log2(p)).sum(axis=-1)
    np.testing.assert_allclose(view.entropy_bits, entropy, atol=1e-9)
    np.testing.assert_allclose(view.effective_keys, 2.0**entropy, atol=1e-8)


def test_temperature_limits(inputs):
    t = len(inputs.tokens)
    cold, hot = temperature_view(inputs, 0.05), temperature_view(inputs, 20.0)
    assert hot.gap_to_uniform < 0.02 and hot.effective_keys.min() > 0.95 * t
    assert cold.effective_keys.mean() < temperature_view(inputs, 1.0).effective_keys.mean() / 3
    assert cold.gap_to_uniform > hot.gap_to_uniform


def test_dropout_view_train_and_eval(inputs):
    train = dropout_view(inputs, 0.5, seed=4)
    with torch.random.fork_rng():
        torch.manual_seed(4)
        expected = F.dropout(torch.from_numpy(train.weights), 0.5, training=True).numpy()
    np.testing.assert_allclose(train.dropped, expected, atol=1e-15)
    np.testing.assert_allclose(train.row_sums, expected.sum(axis=-1), atol=1e-12)
    assert train.output_change > 0
    evaluated = dropout_view(inputs, 0.5, seed=4, train=False)
    np.testing.assert_array_equal(evaluated.dropped, evaluated.weights)
    assert evaluated.output_change == 0.0


def test_build_mask_each_kind():
    t = 4
    assert build_mask(MaskSpec("none"), t) is None
    assert torch.equal(build_mask(MaskSpec("causal"), t), torch.ones(t, t, dtype=torch.bool).tril())
    assert build_mask(MaskSpec("padding, one length", valid_len=2), t).tolist() == [[True, True, False, False]] * 4
    per_query = build_mask(MaskSpec("padding, per query", valid_lens=(1, 2, 0, 4)), t)
    assert per_query.sum(dim=-1).tolist() == [1, 2, 0, 4]
    window = build_mask(MaskSpec("sliding window", width=1), t)
    assert torch.equal(window, torch.eye(t, dtype=torch.bool))
    painted = build_mask(MaskSpec("painted", grid=((1, 0, 0, 0), (0, 0, 0, 0), (1, 1, 1, 1), (0, 0, 0, 1))), t)
    assert painted.sum(dim=-1).tolist() == [1, 0, 4, 1]
    assert set(MASK_KINDS) == {
        "none",
        "causal",
        "padding, one length",
        "padding, per query",
        "sliding window",
        "painted",
    }


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (MaskSpec("bogus"), "mask kind must be one of"),
        (MaskSpec("padding, per query", valid_lens=(1, 2)), "one per query"),
        (MaskSpec("painted", grid=((1, 0), (0, 1))), r"shape \(2, 2\) but the scores have shape \(4, 4\)"),
        (MaskSpec("padding, one length", valid_len=9), "<= T_k=4"),
    ],
)
def test_build_mask_errors(spec, message):
    with pytest.raises(ValueError, match=message):
        build_mask(spec, 4)


def d2l_masked_softmax_rows(scores: np.ndarray, mask: np.ndarray, value: float) -> np.ndarray:
    """The tutorials' masked_fill(scores, value) then softmax, in numpy."""
    return _softmax(np.where(mask, scores, value))


@pytest.mark.parametrize("fill_name", list(FILL_VALUES))
def test_mask_view_fill_values(inputs, fill_name):
    fill = FILL_VALUES[fill_name]
    t = len(inputs.tokens)
    lens = tuple(range(t))  # row 0 sees nothing, row i sees i keys
    view = mask_view(inputs, MaskSpec("padding, per query", valid_lens=lens), fill)
    q, k = inputs.query.numpy(), inputs.key.numpy()
    scaled = q @ k.T / math.sqrt(8)
    mask = np.arange(t)[None, :] < np.array(lens)[:, None]
    assert view.fully_masked == (0,)
    if fill is None:
        expected = np.zeros_like(scaled)
        expected[1:] = _softmax(np.where(mask[1:], scaled[1:], -np.inf))
        assert view.leaked == 0.0
        np.testing.assert_array_equal(view.fully_masked_rows, np.zeros((1, t)))
    else:
        expected = d2l_masked_softmax_rows(scaled, mask, fill)
        np.testing.assert_allclose(view.fully_masked_rows, np.full((1, t), 1 / t), atol=1e-12)  # uniform
        assert (view.leaked > 0.01) == (fill == 0.0)  # only 0 leaks into rows with a visible key
    np.testing.assert_allclose(view.weights, expected, atol=1e-12)
    story = fill_value_story(view)
    assert ("uniform" in story) == (fill is not None)
    assert ("leaks" in story) == (fill == 0.0)


def test_bug_view_scores_are_q_qt(inputs):
    view = bug_view(inputs)
    q, k = inputs.query.numpy(), inputs.key.numpy()
    np.testing.assert_allclose(view.buggy_scores, q @ q.T / math.sqrt(8), atol=1e-12)
    np.testing.assert_allclose(view.fixed_scores, q @ k.T / math.sqrt(8), atol=1e-12)
    assert view.asymmetry_buggy == 0.0 and view.asymmetry_fixed > 0.1
    assert view.self_share_buggy > view.self_share_fixed


@pytest.mark.parametrize("tau", [0.0, 0.01, 25.0, float("nan"), float("inf")])
def test_tau_out_of_range(tau):
    with pytest.raises(ValueError, match="τ="):
        check_tau(tau)


def test_row_readout_against_numpy():
    w = np.array([[1.0, 0.0, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25], [0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    readout = row_readout(w.astype(np.float32))
    np.testing.assert_allclose(readout.entropy_bits, [0.0, 2.0, 1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(readout.effective_keys, [1.0, 4.0, 2.0, 1.0], atol=1e-6)
    assert readout.mean_effective_keys == pytest.approx(2.0)
