"""Attention-lab page: every section's numbers against independent references, and bad input kept as last good."""

from __future__ import annotations

import json
import math
from functools import partial

import numpy as np
import pytest

from attnviz import i18n
from attnviz.lab import lab_inputs
from tests.pages.conftest import (
    array,
    error_text,
    figure,
    heatmap,
    markdown_text,
    open_in_chinese,
    open_page,
    titles,
)
from tests.support.i18n import MISSING, assert_chinese

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


# ------------------------------------------------------------------------------------------------ in Chinese


open_zh = partial(open_in_chinese, PAGE)


def test_chinese_default_page_has_no_english_left():
    at = open_zh()
    assert not at.exception and not at.error
    assert at.title[0].value == "注意力实验室"
    assert_chinese(at)
    text = markdown_text(at)
    for term in ("点积", "缩放点积", "余弦", "加性", "注意力权重", "温度", "随机丢弃", "掩码"):
        assert term in text or term in " ".join(titles(at)), term
    radio = at.radio(key="lab_mask")  # the state holds the code, the radio shows the label
    assert at.session_state["lab_mask"] == "causal" and "因果" in radio.options and "滑动窗口" in radio.options


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (  # saturated softmax, exact masking of a fully masked row, eval mode, a cold temperature
            {
                "lab_scaling_d_k": 1024,
                "lab_tau": 0.05,
                "lab_train": False,
                "lab_mask": "padding, per query",
                "lab_valid_lens": "0 1 2 3 4 5 6 7 8 9 10",
                "lab_fill": "exact",
            },
            ["这就是梯度消失", "评估模式，p = 0.1", "查询行 0 没有任何可以关注的键", "τ = 0.05 时的注意力权重"],
        ),
        (  # a big negative fill on two fully masked rows, a sliding window's controls
            {"lab_mask": "padding, per query", "lab_valid_lens": "0 0 2 3 4 5 6 7 8 9 10", "lab_fill": "-1e9"},
            ["`masked_fill(scores, -1e+09)`", "查询行 0, 1 的所有键都被遮住", "1/11 = 0.091"],
        ),
        (  # fill 0 leaks, on the worked example; the bug hidden
            {"lab_source": "worked example", "lab_fill": "0", "lab_bug": False, "lab_scaling_d_k": 1},
            ["掩码漏了", "来源：示例演算", "两者还很接近", "训练模式，p = 0.1"],
        ),
        (  # random rows, a sliding window and a painted mask's sidebar and controls
            {"lab_source": "random", "lab_t": 5, "lab_mask": "sliding window", "lab_window_causal": True},
            ["来源：随机行", "精确掩码"],
        ),
        ({"lab_mask": "painted"}, ["勾选每个查询"]),
        ({"lab_mask": "padding, one length", "lab_valid_len": 0, "lab_fill": "-1e6"}, ["-1e+06"]),
        ({"lab_sentence": "hello"}, ["只有一个词元"]),
    ],
)
def test_chinese_sections_in_other_states(state, expected):
    at = open_zh(**state)
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert_chinese(at)
    shown = "\n".join([markdown_text(at), *titles(at), *(c.value for c in at.caption), *(i.value for i in at.info)])
    for text in expected:
        assert text in shown, text


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ({"lab_sentence": "   "}, "句子里没有词元"),
        ({"lab_sentence": "词 " * 70}, "句子有 70 个词元；实验室最多显示 64 个"),
        ({"lab_mask": "padding, per query", "lab_valid_lens": "1 x"}, "有效长度必须是用空格分隔的整数"),
        (
            {"lab_mask": "padding, per query", "lab_valid_lens": "1 2"},
            "有效长度：每个查询给一个（共 11 个），收到的是 2 个",
        ),
        ({"lab_mask": "padding, per query", "lab_valid_lens": " ".join(["12"] * 11)}, "有效长度必须在 0 到 11 之间"),
        ({"lab_source": "random", "lab_t": 20, "lab_mask": "painted"}, "手绘掩码最多支持 16 个词元；当前输入有 20 个"),
    ],
)
def test_chinese_errors_name_the_problem(state, message):
    at = open_zh(**state)
    assert not at.exception
    assert message in error_text(at), error_text(at)
    assert_chinese(at)


def click(at, key: str, x: str, y: str, curve: int = 0):
    """A click on a heatmap cell, then a rerun in Chinese (AppTest formats a radio's code in this thread to send
    the widget states back: its labels must be the Chinese the page drew)."""
    at.session_state[key] = {"selection": {"x": x, "y": y, "z": None, "curve": curve, "point": None}}
    with i18n.use("zh"):
        return at.run()


def test_chinese_cell_note_names_the_score_function(monkeypatch):
    from attnviz.ui import chart

    monkeypatch.setattr(chart, "FORCE_COMPONENT", True)  # the in-place chart, whose state a click sets

    def charts(at) -> dict[str, dict]:
        found = [json.loads(e.proto.bytes.decode()) for e in at.get("bidi_component") if e.proto.bytes]
        return {f["figure"]["layout"]["title"]["text"]: f["figure"] for f in found if f.get("figure")}

    at = open_zh()
    trace = charts(at)["每个打分函数的注意力权重 = softmax(分数)"]["data"][2]  # cosine
    MISSING.clear()
    at = click(at, "lab_score_weights", x=trace["x"][1], y=trace["y"][3], curve=2)
    assert not at.exception
    assert_chinese(at)
    notes = "\n".join(c.value for c in at.caption)
    assert "余弦打分：下方“余弦：分数”热力图中这个查询所在行的 softmax。" in notes
    trace = charts(at)["缩放点积：分数"]["data"][0]
    at = click(at, "lab_s_1", x=trace["x"][2], y=trace["y"][4])
    assert not at.exception
    assert_chinese(at)
    assert "缩放点积：q·k 乘以 1/√d_k = 1/√16。" in "\n".join(c.value for c in at.caption)
