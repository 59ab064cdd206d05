"""Cross-attention page: target rows × source columns, per-head panels, a padded batch checked against torch."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from attnviz import i18n
from tests.pages.conftest import (
    array,
    error_text,
    figure,
    heatmap,
    markdown_text,
    open_in_chinese,
    open_page,
)
from tests.support.i18n import assert_chinese

PAGE = "pages/7_Cross-attention.py"


@pytest.fixture(scope="module")
def at():
    return open_page(PAGE)


def test_defaults_rows_are_target_columns_source(at):
    assert not at.exception and not at.error
    rows, cols, _ = heatmap(at, "batch row 0")
    assert rows[0] == "0 The" and rows[7] == "7 it"  # the English target
    assert cols[0] == "0 动" and len(cols) == 15  # the Chinese source
    assert "got these axes backwards" in markdown_text(at)


def test_per_head_panels_follow_the_head_count(at):
    fig = figure(at, "weights per head")
    heatmaps = [t for t in fig["data"] if t["type"] == "heatmap"]
    assert len(heatmaps) == 4
    for trace in heatmaps:
        np.testing.assert_allclose(array(trace["z"]).sum(axis=1), 1.0, atol=1e-5)  # rows sum to 1 over the source


def test_padded_batch_has_zero_padding_columns_and_a_badge(at):
    _, cols, weights = heatmap(at, "batch row 1")
    assert cols[5] == "5 <pad>" and len(cols) == 15
    assert np.all(weights[:, 5:] == 0.0)
    np.testing.assert_allclose(weights[:, :5].sum(axis=1), 1.0, atol=1e-5)
    badges = [m.value for m in at.markdown if "badge" in m.value]
    assert any("Matches torch.nn.MultiheadAttention with key_padding_mask" in b for b in badges)


def test_preset_and_heads():
    at = open_page(PAGE)
    at.button(key="cross_preset_1").click().run()
    rows, cols, _ = heatmap(at, "batch row 0")
    assert rows == ["0 I", "1 love", "2 you"] and cols == ["0 我", "1 爱", "2 你"]
    at.session_state["cross_heads"] = 2
    at.run()
    heatmaps = [t for t in figure(at, "weights per head")["data"] if t["type"] == "heatmap"]
    assert len(heatmaps) == 2


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("cross_source", "  ", "The source is empty"),
        ("cross_target", "", "The target is empty"),
        ("cross_source2", "", "The second source is empty"),
        ("cross_target", "word " * 1030, "the target has 1030 tokens; the most this page handles is 128"),
        ("cross_heads", 3, "d_model = 16 is not divisible by heads = 3"),
    ],
)
def test_bad_input_keeps_the_last_good_view(key, value, message):
    at = open_page(PAGE)
    before = heatmap(at, "batch row 0")
    at.session_state[key] = value
    at.run()
    assert message.lower() in error_text(at).lower()
    after = heatmap(at, "batch row 0")
    assert after[0] == before[0] and after[1] == before[1]


def test_one_token_each_side():
    at = open_page(PAGE)
    at.session_state["cross_target"] = "I"
    at.session_state["cross_source"] = "我"
    at.session_state["cross_source2"] = "你"
    at.run()
    assert not at.error
    _, _, w = heatmap(at, "batch row 0")
    assert w.tolist() == [[1.0]]


# ------------------------------------------------------------------------------------------------ in Chinese


open_zh = partial(open_in_chinese, PAGE)


def test_chinese_page_keeps_the_sentences_as_typed():
    at = open_zh()
    assert not at.exception and not at.error
    assert at.title[0].value == "交叉注意力"
    assert_chinese(at)
    # the data stays as typed: a Chinese source, an English target
    assert at.text_input(key="cross_target").value.startswith("The animal didn't cross")
    assert at.text_input(key="cross_source").value == "动物没有过马路，因为它太累了。"
    rows, cols, _ = heatmap(at, "批次第 0 行：各头平均（15 个真实的键）")
    assert rows[0] == "0 The" and cols[0] == "0 动"
    assert "查询是目标（英文）词元" in markdown_text(at)
    badges = [m.value for m in at.markdown if "badge" in m.value]
    assert any("与使用 `key_padding_mask` 的 torch.nn.MultiheadAttention 一致" in b for b in badges)
    assert [b.label for b in at.button][:2] == ["中 → 英：累了的动物（教程 003）", "中 → 英：我爱你"]


def test_chinese_preset_and_heads():
    at = open_zh()
    with i18n.use("zh"):
        at.button(key="cross_preset_3").click().run()  # German → English: the sentences, not their labels
    assert at.session_state["cross_source"] == "Das Haus ist klein."
    at.session_state["cross_heads"] = 2
    with i18n.use("zh"):
        at.run()
    assert not at.exception and not at.error
    heads = figure(at, "各头的注意力权重：目标句（行）× 源句（列）")
    assert [a["text"] for a in heads["layout"]["annotations"]][:2] == ["头 0", "头 1"]
    assert_chinese(at)  # "Das", "Haus": the learner's data, kept


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("cross_source", "  ", "源句是空的（或只有空格）：请至少输入一个词"),
        ("cross_target", "", "目标句是空的（或只有空格）"),
        ("cross_source2", "", "第二个源句是空的"),
        ("cross_source", "词 " * 130, "源句有 130 个词元；本页最多处理 128 个"),
        ("cross_heads", 3, "d_model = 16 不能被头数 3 整除"),
    ],
)
def test_chinese_errors_name_the_sentence(key, value, message):
    at = open_zh()
    before = heatmap(at, "批次第 0 行")
    at.session_state[key] = value
    with i18n.use("zh"):
        at.run()
    assert message in error_text(at), error_text(at)
    assert heatmap(at, "批次第 0 行")[1] == before[1]  # the last good view stays
    assert_chinese(at)
