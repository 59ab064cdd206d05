"""Attention-lab page: every section's numbers against independent references, and bad input kept as last good."""

from __future__ import annotations

import math

import numpy as np
import pytest

from attnviz.lab import lab_inputs
from tests.pages.conftest import array, error_text, figure, heatmap, markdown_text, open_page, titles

PAGE = "pages/6_Attention_lab.py"
SENTENCE = "The animal didn't cross the street because it was too tired"


@pytest.fixture(scope="module")
def at():
    return open_page(PAGE)


@pytest.fixture(scope="module")
def reference():
    """Q and K of the default sentence, from the library's inputs, for float64 references written here."""
    inputs = lab_inputs("sentence", sentence=SENTENCE, d_k=16, seed=0)
    return inputs.query.numpy(), inputs.key.numpy()


def softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_defaults_draw_every_section(at):
    assert not at.exception and not at.error
    names = titles(at)
    for start in (
        "dot: scores",
        "cosine: scores",
        "weights = softmax(score)",
        "scores at d_k",
        "weights at τ",
        "mask (1",
        "fixed: weights",
    ):
        assert any(n.startswith(start) for n in names), start
    text = markdown_text(at)
    assert "饱和区" in text and "Var(q·k)" in text


def test_score_panels_match_the_formulas(at, reference):
    q, k = reference
    rows, cols, scaled = heatmap(at, "scaled dot: scores")
    assert rows[3] == "3 cross" and len(cols) == 11
    np.testing.assert_allclose(scaled, q @ k.T / 4.0, atol=1e-4)
    _, _, cosine = heatmap(at, "cosine: scores")
    norms = np.linalg.norm(q, axis=1)[:, None] * np.linalg.norm(k, axis=1)[None, :]
    np.testing.assert_allclose(cosine, q @ k.T / norms, atol=1e-5)
    grid = [t for t in figure(at, "weights = softmax(score)")["data"] if t["type"] == "heatmap"]
    assert len(grid) == 4
    np.testing.assert_allclose(array(grid[0]["z"]), softmax(q @ k.T), atol=1e-5)  # dot
    np.testing.assert_allclose(array(grid[2]["z"]), softmax(q @ k.T / norms), atol=1e-5)  # cosine, scale 1


@pytest.mark.parametrize("d_k", [1, 1024])
def test_scaling_section_at_the_ends(d_k):
    at = open_page(PAGE)
    at.session_state["lab_scaling_d_k"] = d_k
    at.run()
    assert not at.exception and not at.error
    hist = figure(at, f"scores at d_k = {d_k}")
    raw = array(hist["data"][0]["x"]).astype(float)
    scaled = array(hist["data"][1]["x"]).astype(float)
    assert raw.var() == pytest.approx(d_k, rel=0.15)
    assert scaled.var() == pytest.approx(1.0, rel=0.15)
    _, _, unscaled_w = heatmap(at, "softmax(q·k)")
    if d_k == 1024:
        assert unscaled_w.max(axis=1).mean() > 0.9  # saturated
        assert "smaller: that is the vanishing" in markdown_text(at)
    else:
        assert unscaled_w.max(axis=1).mean() < 0.5


@pytest.mark.parametrize(("tau", "low", "high"), [(0.05, 1.0, 6.0), (20.0, 10.5, 11.0)])
def test_temperature_readout(reference, tau, low, high):
    at = open_page(PAGE)
    at.session_state["lab_tau"] = tau
    at.run()
    q, k = reference
    w = softmax(q @ k.T / 4.0 / tau)
    _, _, weights = heatmap(at, f"weights at τ = {tau:g}")
    np.testing.assert_allclose(weights, w, atol=1e-5)
    bars = figure(at, "effective keys")["data"][0]
    entropy = -(w * np.log2(np.where(w > 0, w, 1))).sum(axis=1)
    np.testing.assert_allclose(array(bars["y"]), 2.0**entropy, atol=1e-4)
    assert low <= float(np.mean(2.0**entropy)) <= high


def test_dropout_train_and_eval():
    at = open_page(PAGE)
    at.session_state["lab_p"] = 0.5
    at.run()
    _, _, before = heatmap(at, "weights before dropout")
    _, _, after = heatmap(at, "after dropout")
    kept = after > 0
    np.testing.assert_allclose(after[kept], before[kept] * 2, rtol=1e-5)  # survivors × 1/(1 − p)
    assert 0.3 < 1 - kept.mean() < 0.7
    at.session_state["lab_train"] = False
    at.run()
    _, _, after = heatmap(at, "after dropout")
    np.testing.assert_allclose(after, before, atol=0)


@pytest.mark.parametrize(
    ("fill", "row0"),
    [
        ("exact", 0.0),
        ("-1e9", 1 / 11),
        ("-1e6", 1 / 11),
        ("0", 1 / 11),
    ],
)
def test_each_fill_value_on_a_fully_masked_row(reference, fill, row0):
    at = open_page(PAGE)
    at.session_state["lab_mask"] = "padding, per query"
    at.session_state["lab_valid_lens"] = "0 1 2 3 4 5 6 7 8 9 10"
    at.session_state["lab_fill"] = fill
    at.run()
    assert not at.error
    _, _, weights = heatmap(at, "masked weights")
    np.testing.assert_allclose(weights[0], row0, atol=1e-6)  # the fully masked query
    q, k = reference
    visible = np.arange(11)[None, :] < np.arange(11)[:, None]
    if fill.startswith("0"):
        expected = softmax(np.where(visible, q @ k.T / 4.0, 0.0))
        np.testing.assert_allclose(weights, expected, atol=1e-5)
        assert "leaks" in markdown_text(at)
    elif fill.startswith("exact"):
        assert "never NaN" in markdown_text(at)
    else:
        assert "uniform, 1/11" in markdown_text(at)


def test_causal_sliding_window_and_painted_masks():
    at = open_page(PAGE)
    _, _, mask = heatmap(at, "mask (1")
    np.testing.assert_array_equal(mask, np.tril(np.ones((11, 11))))  # default: causal
    at.session_state["lab_mask"] = "sliding window"
    at.session_state["lab_width"] = 3
    at.run()
    _, _, mask = heatmap(at, "mask (1")
    i, j = np.indices((11, 11))
    np.testing.assert_array_equal(mask, (np.abs(i - j) <= 1).astype(float))
    at.session_state["lab_mask"] = "painted"
    at.run()
    at.session_state["lab_paint_11"] = {
        "edited_rows": {2: {"0 The": False, "1 animal": False, "2 didn't": False}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert not at.error
    _, _, weights = heatmap(at, "masked weights")
    assert weights[2].sum() == 0.0  # a whole row unticked: allowed, weights 0
    assert "Query row(s) 2 may attend to no key" in markdown_text(at)


def test_bug_toggle_shows_and_hides_the_tutorial_version(reference):
    at = open_page(PAGE)
    q, _ = reference
    _, _, s = heatmap(at, "as written (K = V = Q): scaled scores")
    np.testing.assert_allclose(s, q @ q.T / 4.0, atol=1e-4)
    np.testing.assert_allclose(s, s.T, atol=1e-5)
    at.session_state["lab_bug"] = False
    at.run()
    assert not any(t.startswith("as written") for t in titles(at))
    assert any(t.startswith("fixed: weights") for t in titles(at))


def test_bad_input_keeps_the_last_good_view():
    at = open_page(PAGE)
    before = heatmap(at, "scaled dot: scores")
    at.session_state["lab_sentence"] = "   "
    at.run()
    assert "no tokens" in error_text(at)
    assert heatmap(at, "scaled dot: scores")[0] == before[0]  # kept, same labels
    at.session_state["lab_sentence"] = " ".join(["word"] * 1100)
    at.run()
    assert "1100 tokens; the lab shows at most 64" in error_text(at)
    at.session_state["lab_source"] = "random"
    at.session_state["lab_d_k"] = 2000
    at.run()
    assert "d_k (query/key width) must be a whole number from 1 to 1024, got 2000" in error_text(at)
    assert heatmap(at, "scaled dot: scores")[0] == before[0]


def test_tau_and_p_sliders_cover_exactly_their_ranges(at):
    tau = next(s for s in at.select_slider if s.key == "lab_tau")
    assert tau.options[0] == "0.05" and tau.options[-1] == "20"
    p = next(s for s in at.slider if s.key == "lab_p")
    assert (p.min, p.max) == (0.0, 0.9)


def test_one_token_is_explained():
    at = open_page(PAGE)
    at.session_state["lab_sentence"] = "hello"
    at.run()
    assert not at.exception and not at.error
    assert "One token" in "\n".join(i.value for i in at.info)
    grid = [t for t in figure(at, "weights = softmax(score)")["data"] if t["type"] == "heatmap"]
    assert all(array(t["z"]).tolist() == [[1.0]] for t in grid)
    assert math.isfinite(float(array(grid[1]["z"])[0, 0]))
