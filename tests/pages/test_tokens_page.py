"""AppTest of the Tokens page: figures are checked through their JSON, values against attnviz."""

import re

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from attnviz import i18n
from attnviz.modules import SelfAttention
from attnviz.tokens import MAX_TOKENS, input_embeddings, token_labels, tokenize
from attnviz.ui.cache import heatmap_figure
from attnviz.ui.render import escape_markdown
from attnviz.ui.tokens import PRESETS
from attnviz.views import DEFAULT_SENTENCE, temperature_scale, top_keys
from tests.pages.conftest import ROOT, TIMEOUT, array, error_text, figure, heatmap, markdown_text, open_page, titles
from tests.support.i18n import assert_chinese, missing_translations

PAGE = "pages/2_Tokens.py"
DEFAULT_LABELS = token_labels(tokenize(DEFAULT_SENTENCE))


@pytest.fixture
def at() -> AppTest:
    app = open_page(PAGE)
    assert not app.exception
    return app


def type_text(at: AppTest, text: str) -> AppTest:
    at.text_area(key="tokens_text").input(text).run()
    assert not at.exception
    return at


def test_smoke_default_sentence(at):
    assert not at.error and not at.warning
    assert at.text_area(key="tokens_text").value == DEFAULT_SENTENCE
    assert len(at.get("plotly_chart")) == 5  # with the effective-keys bars
    rows, cols, scores = heatmap(at, "scores")
    assert rows == cols == DEFAULT_LABELS
    assert scores.shape == (11, 11)
    _, _, weights = heatmap(at, "weights = ")
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-5)
    assert "11 tokens" in markdown_text(at)
    # The token list is plain text (st.code), each label kept on one line by a no-break space.
    assert all(label.replace(" ", "\u00a0") in at.code[0].value for label in DEFAULT_LABELS)


def test_figures_hold_attnviz_numbers(at):
    tokens = tokenize(DEFAULT_SENTENCE)
    with torch.no_grad():
        x = input_embeddings(tokens, 16, seed=0, positional=True)
        trace = SelfAttention(16, 8, bias=True, seed=0)(x)  # default scale 1/√d_k = temperature 1
    _, dims, x_shown = heatmap(at, "X = embedding + PE")
    assert dims == [str(j) for j in range(16)]
    np.testing.assert_allclose(x_shown, x.numpy(), atol=1e-6)
    np.testing.assert_allclose(heatmap(at, "scores")[2], trace.scores.numpy(), atol=1e-5)
    np.testing.assert_allclose(heatmap(at, "weights = ")[2], trace.weights.numpy(), atol=1e-6)
    assert f"= {trace.scale:.4f}" in markdown_text(at)


def test_typing_text_changes_axis_labels(at):
    type_text(at, "the cat saw the dog")
    rows, cols, scores = heatmap(at, "scores")
    assert rows == cols == ["0 the", "1 cat", "2 saw", "3 the", "4 dog"]
    assert scores.shape == (5, 5)
    bar = figure(at, "weights of query")["data"][0]
    assert bar["x"] == rows


def test_repeated_token_rows_identical_without_positional_encoding(at):
    type_text(at, "the cat saw the dog")
    at.toggle(key="tokens_pe").set_value(False).run()
    _, _, x = heatmap(at, "X = embedding")
    np.testing.assert_array_equal(x[0], x[3])
    _, _, weights = heatmap(at, "weights = ")
    np.testing.assert_array_equal(weights[0], weights[3])
    assert "identical rows" in markdown_text(at)
    at.toggle(key="tokens_pe").set_value(True).run()
    _, _, weights = heatmap(at, "weights = ")
    assert np.abs(weights[0] - weights[3]).max() > 1e-3


def test_embedding_scale_toggle_multiplies_by_sqrt_d_model(at):
    at.toggle(key="tokens_pe").set_value(False).run()
    _, _, plain = heatmap(at, "X = embedding")
    at.toggle(key="tokens_scale").set_value(True).run()
    _, _, scaled = heatmap(at, "X = embedding × √d_model")
    np.testing.assert_allclose(scaled, plain * 4.0, rtol=1e-6)
    assert "√d_model = 4.00" in markdown_text(at)


def test_characters_mode(at):
    at.radio(key="tokens_mode").set_value("Characters").run()
    rows, _, scores = heatmap(at, "scores")
    assert scores.shape == (49, 49)
    assert rows[:3] == ["0 T", "1 h", "2 e"]


@pytest.mark.parametrize("index", range(len(PRESETS)))
def test_every_preset_button_loads_its_text(at, index):
    name = list(PRESETS)[index]
    at.button(key=f"tokens_preset_{index}").click().run()
    assert not at.exception and not at.error
    assert at.text_area(key="tokens_text").value == PRESETS[name]
    rows, _, _ = heatmap(at, "scores")
    assert rows == token_labels(tokenize(PRESETS[name]))


def test_chinese_preset_is_one_token_per_character(at):
    at.button(key="tokens_preset_1").click().run()
    rows, _, _ = heatmap(at, "scores")
    assert len(rows) == 14
    assert rows[:2] == ["0 动", "1 物"]


def test_default_query_is_it_and_picking_another_query_updates_the_bars(at):
    assert at.selectbox(key="tokens_query").value == 7
    _, _, weights = heatmap(at, "weights = ")
    bar = figure(at, "weights of query 7 it")["data"][0]
    np.testing.assert_allclose(array(bar["y"]), weights[7], atol=1e-6)
    assert bar["marker"]["color"][7] == "#d62728"
    at.selectbox(key="tokens_query").set_value(3).run()
    bar = figure(at, "weights of query 3 cross")["data"][0]
    np.testing.assert_allclose(array(bar["y"]), weights[3], atol=1e-6)
    assert "Query “3 cross” gives the most weight to" in markdown_text(at)


def test_query_resets_to_a_valid_token_when_the_text_gets_shorter(at):
    at.selectbox(key="tokens_query").set_value(10).run()
    type_text(at, "a b")
    assert at.selectbox(key="tokens_query").value == 1
    assert figure(at, "weights of query 1 b")


def test_causal_mask_zeroes_the_upper_triangle(at):
    at.toggle(key="tokens_causal").set_value(True).run()
    _, _, weights = heatmap(at, "weights = ")
    assert np.all(np.triu(weights, k=1) == 0)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-5)
    assert weights[0, 0] == pytest.approx(1.0)
    assert "causal mask" in markdown_text(at)


def test_lower_temperature_sharpens_the_weights(at):
    _, _, before = heatmap(at, "weights = ")
    at.number_input(key="tokens_temperature").set_value(0.25).run()
    _, _, after = heatmap(at, "weights = ")
    assert after.max(axis=1).mean() > before.max(axis=1).mean()
    assert "1/(√8 · 0.25) = 1.4142" in markdown_text(at)


@pytest.mark.parametrize("temperature", [0.0, -1.5])
def test_temperature_not_positive_is_an_error_and_the_last_result_stays(at, temperature):
    _, _, before = heatmap(at, "weights = ")
    at.number_input(key="tokens_temperature").set_value(temperature).run()
    assert not at.exception
    assert "Temperature must be greater than 0" in error_text(at)
    assert "last result" in error_text(at)
    _, _, after = heatmap(at, "weights = ")
    np.testing.assert_array_equal(after, before)


@pytest.mark.parametrize(("key", "value", "name"), [("tokens_d_model", 0, "d_model"), ("tokens_d_k", 999, "d_k")])
def test_bad_widths_are_errors_naming_the_control(at, key, value, name):
    at.number_input(key=key).set_value(value).run()
    assert not at.exception
    assert f"{name} (" in error_text(at)
    assert f"got {value}" in error_text(at)
    assert len(at.get("plotly_chart")) == 5


def test_d_model_change_changes_x_width(at):
    at.number_input(key="tokens_d_model").set_value(33).run()
    _, dims, x = heatmap(at, "X =")
    assert x.shape == (11, 33)
    assert dims[-1] == "32"


@pytest.mark.parametrize("text", ["", "   \n\t  "])
def test_empty_text_is_an_error_and_the_last_result_stays(at, text):
    type_text(at, text)
    assert "text box is empty" in error_text(at)
    rows, _, _ = heatmap(at, "scores")
    assert rows == DEFAULT_LABELS


def test_ten_thousand_words_are_cut_with_a_warning(at):
    type_text(at, " ".join(f"w{i % 50}" for i in range(10_000)))
    warning = at.warning[0].value
    assert f"first {MAX_TOKENS:,}" in warning
    assert f"({10_000 - MAX_TOKENS:,} cut)" in warning
    rows, _, scores = heatmap(at, "scores")
    assert scores.shape == (MAX_TOKENS, MAX_TOKENS)
    assert len(set(rows)) == MAX_TOKENS
    trace = figure(at, "scores")["data"][0]
    assert trace.get("texttemplate") is None  # no per-cell text on a large matrix


def test_512_token_preset_has_no_cell_text_and_no_warning(at):
    at.button(key="tokens_preset_4").click().run()
    assert not at.warning
    _, _, weights = heatmap(at, "weights = ")
    assert weights.shape == (512, 512)
    assert figure(at, "weights = ")["data"][0].get("texttemplate") is None


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script> <script>",
        "**markdown** is **bold** _it_ [link](http://x) $x$",
        "👩‍👩‍👧 🇫🇷 ❤️ it 👍🏽 👩‍👩‍👧",
        "动物没有过马路，因为它太累了",
        "القطة لم تعبر الشارع لأنها كانت متعبة القطة",
        "3.14 1,000 42 -7 3.14",
    ],
)
def test_unusual_text_is_tokenized_and_never_rendered_as_markup(at, text):
    type_text(at, text)
    assert not at.error
    tokens = tokenize(text)
    rows, _, _ = heatmap(at, "scores")
    assert rows == token_labels(tokens)
    assert all(token in at.code[0].value for token in tokens)
    for element in at.markdown:
        assert "<script>" not in element.value
        assert "**markdown**" not in element.value
        assert "[link]" not in element.value
    shown = markdown_text(at)
    for token in ("<", ">", "*", "_", "[", "$", "-"):
        if token in tokens:
            assert f"“{token}”" not in shown  # a markup character is only ever shown escaped


def test_markup_token_in_the_query_sentence_is_escaped(at):
    type_text(at, "* * * it")
    shown = markdown_text(at)
    assert "Query “3 it”" in shown
    assert r"“0 \*”" in shown


def test_long_preset_is_exactly_512_tokens():
    assert len(tokenize(PRESETS["512 tokens"])) == 512


def test_temperature_scale_and_top_keys():
    assert temperature_scale(16, 0.5) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="temperature must be finite and greater than 0, got -1"):
        temperature_scale(8, -1.0)
    with pytest.raises(ValueError, match="got nan"):
        temperature_scale(8, float("nan"))
    assert top_keys(np.array([0.1, 0.4, 0.1, 0.4]), k=3) == [1, 3, 0]  # ties: the earlier key first


def test_heatmap_figure_is_reused_and_sees_every_entry_of_a_large_matrix():
    labels = token_labels(["w"] * 1024)
    matrix = np.zeros((1024, 1024), dtype=np.float32)
    first = heatmap_figure(matrix, labels, labels, title="cache test", max_ticks=40)
    assert heatmap_figure(matrix.copy(), labels, labels, title="cache test", max_ticks=40) is first
    changed = matrix.copy()
    changed[1000, 3] = 1.0  # one entry of a million: streamlit's own hasher samples arrays this large
    other = heatmap_figure(changed, labels, labels, title="cache test", max_ticks=40)
    assert other is not first
    assert array(other.to_dict()["data"][0]["z"])[1000, 3] == 1.0
    # one tick policy: every k-th label as an explicit array (no nticks, which has no effect under tickmode=array)
    assert first.layout.xaxis.tickmode == "array" and len(first.layout.xaxis.tickvals) <= 40
    assert first.layout.xaxis.nticks is None


def test_what_the_text_says_about_it_matches_the_weights(at):
    labels, keys, weights = heatmap(at, "weights =")
    it = next(i for i, label in enumerate(labels) if label.endswith(" it"))
    top = keys[int(np.argmax(weights[it]))]
    text = markdown_text(at)
    assert "is spread out" not in text
    if top.endswith(" animal"):
        assert "also gives its largest weight" in text and "“animal”" in text
    else:
        assert f"to “{top}”" in text


def test_the_weights_colour_scale_says_where_it_tops_out(at):
    trace = figure(at, "weights =")["data"][0]
    assert trace["colorbar"]["title"]["text"] == f"weight (0 … {trace['zmax']:.3f})"


# ------------------------------------------------------------------------------------------------ in Chinese


@pytest.fixture
def zh() -> AppTest:
    """The page opened with ``?lang=zh``; the test runs in Chinese too, so the options' format_func (called in the
    test's thread when AppTest sends the widgets' values) translates as the page did."""
    app = AppTest.from_file(str(ROOT / PAGE), default_timeout=TIMEOUT)
    app.query_params["lang"] = "zh"
    with missing_translations() as missing, i18n.use("zh"):
        app.missing_translations = missing  # what assert_chinese checks
        yield app.run()


def test_in_chinese_the_default_sentence_stays_english_and_the_rest_is_chinese(zh):
    at = zh
    assert_chinese(at, at.missing_translations)
    assert at.title[0].value == "你自己的句子"
    assert at.text_area(key="tokens_text").value == DEFAULT_SENTENCE  # the learner's data
    # The preset names are interface text; the sentences they load are data.
    assert [b.label for b in at.button if b.key.startswith("tokens_preset_")] == [
        "英文",
        "中文",
        "重复的词",
        "العربية（从右到左）",
        "512 个词元",
    ]
    text = markdown_text(at)
    # Sentences computed from the weights, joined the Chinese way (no space after a full stop).
    it = DEFAULT_LABELS.index("7 it")
    _, keys, weights = heatmap(at, "注意力权重 =")
    top = [keys[j] for j in top_keys(weights[it])]
    assert "11 个词元（按词和标点切分）。每个标签" in text
    assert "在训练好的 Transformer 中，教程句子里的 “it” 主要关注 “animal”。这里 “it”" in text
    best = "、".join(f"“{escape_markdown(k)}”（{weights[it, DEFAULT_LABELS.index(k)]:.3f}）" for k in top)
    assert f"查询 “7 it” 把最多的权重给了 {best}；它的权重之和为 1.000。" in text
    assert set(titles(at)) >= {"X = 嵌入 + PE", "注意力分数 = Q·Kᵀ", "查询 7 it 的注意力权重"}


def test_in_chinese_repeats_scaling_mask_and_characters_are_explained(zh):
    at = zh
    at.button(key="tokens_preset_2").click().run()  # Repeated words
    at.toggle(key="tokens_pe").set_value(False).run()
    at.toggle(key="tokens_scale").set_value(True).run()
    at.toggle(key="tokens_causal").set_value(True).run()
    assert_chinese(at, at.missing_translations)
    text = markdown_text(at)
    assert "这些向量乘以 √d_model = 4.00，与 Transformer 论文相同" in text
    assert "没有位置编码：“the” 在位置 0 和位置 3 上得到完全相同的行" in text
    assert "因果掩码让每个后面的键的权重都为 0（上三角）。" in text
    assert {"X = 嵌入 × √d_model", "注意力权重 = softmax(缩放系数 · 分数，掩码)"} <= set(titles(at))
    at.radio(key="tokens_mode").set_value("Characters").run()
    assert at.session_state["tokens_mode"] == "Characters"  # the state keeps the code
    assert at.radio(key="tokens_mode").options == ["词和标点", "字符"]
    assert_chinese(at, at.missing_translations)
    assert "（按字符切分）" in markdown_text(at)


def test_in_chinese_every_refused_input_is_named_in_chinese(zh):
    at = zh
    at.number_input(key="tokens_d_model").set_value(0).run()
    at.number_input(key="tokens_temperature").set_value(0.0).run()
    assert_chinese(at, at.missing_translations)
    errors = error_text(at)
    assert "d_model（嵌入宽度）必须是 1 到 512 之间的整数，得到的是 0" in errors
    assert "温度必须大于 0，得到的是 0：" in errors
    at.text_area(key="tokens_text").input("   ").run()
    assert "文本框是空的（或只有空格）：请输入一个句子来切分词元" in error_text(at)
    assert_chinese(at, at.missing_translations)


def test_in_chinese_a_cut_text_and_a_large_matrix_are_explained(zh):
    at = zh
    total = MAX_TOKENS + 76
    at.text_area(key="tokens_text").input(" ".join(f"w{i % 50}" for i in range(total))).run()
    assert_chinese(at, at.missing_translations)
    assert at.warning[0].value.startswith(f"文本有 {total:,} 个词元；只用前 {MAX_TOKENS:,} 个（截掉 76 个）。")
    assert any(c.value.startswith("大矩阵的格子里不显示数字") for c in at.caption)


def test_in_chinese_the_trained_model_panel_speaks_chinese(zh):
    at = zh
    at.text_area(key="tokens_text").input("The zebra and the yak were too tired").run()
    at.toggle(key="tokens_it_model").set_value(True).run()
    # The unknown words are the learner's, quoted as typed; the model's vocabulary is shown as code.
    assert_chinese(at, at.missing_translations)
    warning = re.sub(r"\\(.)", r"\1", at.warning[0].value)
    assert warning == "不在训练好的模型的词表中，按 <unk> 读入：“zebra”、“and”、“yak”、“were”"
    assert at.info[0].value == "模型是在 11 个词的句子上训练的；这句有 8 个词，所以模式可能没那么清晰。"
    grid = figure(at, "在 “it” 任务上训练：每一层 × 每个头")
    panels = [a["text"] for a in grid["layout"]["annotations"] if "层" in a["text"]]
    assert panels == ["第 1 层 · 头 1", "第 2 层 · 头 1"]
    at.text_area(key="tokens_text").input(DEFAULT_SENTENCE).run()
    assert_chinese(at, at.missing_translations)
    assert "在 7 it 处，模型的回答是 **animal**" in re.sub(r"\\(.)", r"\1", markdown_text(at))
    assert figure(at, "最后一层：查询 7 it 的注意力权重")
