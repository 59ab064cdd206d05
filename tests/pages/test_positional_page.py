"""AppTest of the Positional-encoding page: figures are checked through their JSON, values against attnviz."""

import re
from functools import partial

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from attnviz import i18n
from attnviz.positional import position_similarity, seed_odd_variant_encoding, sinusoidal_encoding, wavelengths
from attnviz.tokens import token_labels, tokenize
from attnviz.views import default_dims
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

PAGE = "pages/4_Positional_encoding.py"


@pytest.fixture
def at() -> AppTest:
    app = open_page(PAGE)
    assert not app.exception
    return app


def set_number(at: AppTest, key: str, value: float) -> AppTest:
    at.number_input(key=key).set_value(value).run()
    assert not at.exception
    return at


def test_smoke_defaults(at):
    assert not at.error and not at.warning
    assert len(at.get("plotly_chart")) == 10  # 5 + the shuffle pair + 3 position-pair grids
    rows, cols, pe = heatmap(at, "PE (100 × 64)")
    assert pe.shape == (100, 64)
    assert rows[:3] == ["0", "1", "2"]
    assert cols[:4] == ["0 sin", "1 cos", "2 sin", "3 cos"]
    np.testing.assert_allclose(pe, sinusoidal_encoding(100, 64).numpy(), atol=1e-6)
    _, _, sim = heatmap(at, "PE·PEᵀ")
    np.testing.assert_allclose(sim, position_similarity(sinusoidal_encoding(100, 64)).numpy(), atol=1e-4)
    assert "32 sin and 32 cos columns" in markdown_text(at)
    assert "PE[0]·PE[0] = 32.00" in markdown_text(at)
    assert not at.caption or "To keep the browser fast" not in " ".join(c.value for c in at.caption)


def test_odd_d_model_gives_a_heatmap_that_wide(at):
    set_number(at, "pe_d_model", 9)
    _, cols, pe = heatmap(at, "PE (100 × 9)")
    assert pe.shape == (100, 9)
    assert len(cols) == 9
    assert cols[-1] == "8 sin"
    assert "5 sin columns and 4 cos columns" in markdown_text(at)
    np.testing.assert_allclose(pe, sinusoidal_encoding(100, 9).numpy(), atol=1e-6)


def test_curves_are_pe_columns(at):
    curves = figure(at, "PE columns over positions")["data"]
    # The fastest pair, and the sin columns whose wavelengths are nearest 100 / 4 and 100 positions.
    names = [trace["name"] for trace in curves]
    assert names == [
        "dim 0 sin (wavelength 6.3)",
        "dim 1 cos (wavelength 6.3)",
        "dim 10 sin (wavelength 26.5)",
        "dim 20 sin (wavelength 111.7)",
    ]
    pe = sinusoidal_encoding(100, 64).numpy()
    for trace, column in zip(curves, (0, 1, 10, 20), strict=True):
        np.testing.assert_allclose(array(trace["x"]), np.arange(100))
        np.testing.assert_allclose(array(trace["y"]), pe[:, column], atol=1e-6)
    at.multiselect(key="pe_dims").set_value([5]).run()
    curves = figure(at, "PE columns over positions")["data"]
    assert len(curves) == 1 and curves[0]["name"].startswith("dim 5 cos")


def test_dims_reset_when_d_model_shrinks_below_them(at):
    set_number(at, "pe_d_model", 2)
    assert at.multiselect(key="pe_dims").value == [0, 1]
    assert len(figure(at, "PE columns over positions")["data"]) == 2


def test_large_sizes_are_downsampled_for_display(at):
    set_number(at, "pe_positions", 2048)
    set_number(at, "pe_d_model", 512)
    rows, cols, pe = heatmap(at, "PE (2048 × 512)")
    assert pe.shape == (256, 256)
    assert rows[:2] == ["0", "8"] and rows[-1] == "2040"
    assert cols[:4] == ["0 sin", "1 cos", "4 sin", "5 cos"]  # whole sin/cos pairs are kept
    full = sinusoidal_encoding(2048, 512).numpy()
    np.testing.assert_allclose(pe, full[::8][:, [int(c.split()[0]) for c in cols]], atol=1e-6)
    _, _, sim = heatmap(at, "PE·PEᵀ")
    assert sim.shape == (256, 256)
    caption = " ".join(c.value for c in at.caption)
    assert "256 of 2048 positions (one in every 8) and 256 of 512" in caption
    # Every figure stays light enough for the browser.
    assert max(len(chart.proto.spec) for chart in at.get("plotly_chart")) < 1_000_000


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("pe_d_model", 0, "d_model (encoding width) must be a whole number from 1 to 1024, got 0"),
        ("pe_d_model", 100_000, "d_model (encoding width) must be a whole number from 1 to 1024, got 100000"),
        ("pe_positions", 10_000_000, "Number of positions must be a whole number from 1 to 4096, got 1e+07"),
        ("pe_positions", -5, "Number of positions must be a whole number from 1 to 4096, got -5"),
        ("pe_base", 0.0, "Base must be a positive number, got 0"),
        ("pe_base", -10.0, "Base must be a positive number, got -10"),
    ],
)
def test_bad_controls_are_errors_and_the_last_encoding_stays(at, key, value, message):
    _, _, before = heatmap(at, "PE (")
    set_number(at, key, value)
    assert message in error_text(at)
    assert "last valid encoding" in error_text(at)
    _, _, after = heatmap(at, "PE (100 × 64)")
    np.testing.assert_array_equal(after, before)


def test_repeated_word_rows_identical_without_pe_and_different_with_it(at):
    rows, cols, without = heatmap(at, "weights without PE")
    assert rows == cols == ["0 the", "1 dog", "2 chased", "3 the", "4 cat"]
    _, _, with_pe = heatmap(at, "weights with PE")
    np.testing.assert_array_equal(without[0], without[3])
    gap = np.abs(with_pe[0] - with_pe[3]).max()
    assert gap > 1e-3
    shown = markdown_text(at)
    assert "max |row 0 − row 3| = 0." in shown
    assert f"differ by up to {gap:.3f}" in shown


def test_sentence_without_repeat_and_empty_sentence(at):
    at.text_input(key="pe_sentence").input("a b c").run()
    assert not at.exception
    assert "No token appears twice" in at.info[0].value
    assert heatmap(at, "weights with PE")[2].shape == (3, 3)
    at.text_input(key="pe_sentence").input("   ").run()
    assert not at.exception
    assert "sentence is empty" in error_text(at)
    assert len(at.get("plotly_chart")) == 6  # the encoding and position-pair figures stay


@pytest.mark.parametrize(
    "text", ["<script>alert(1)</script> <script>", "**bold** and **bold**", "٣ שלום שלום", "🙂 x 🙂"]
)
def test_sentence_text_is_never_rendered_as_markup(at, text):
    at.text_input(key="pe_sentence").input(text).run()
    assert not at.exception and not at.error
    rows, _, _ = heatmap(at, "weights with PE")
    assert rows == token_labels(tokenize(text))
    for element in at.markdown:
        assert "<script>" not in element.value
        assert "**bold**" not in element.value


def test_long_sentence_is_cut_with_a_warning(at):
    at.text_input(key="pe_sentence").input(" ".join(["word"] * 100)).run()
    assert "first 64 tokens" in at.warning[0].value
    assert heatmap(at, "weights with PE")[2].shape == (64, 64)


def test_variant_difference_only_in_cos_columns(at):
    set_number(at, "pe_d_model", 9)
    at.toggle(key="pe_variant").set_value(True).run()
    _, _, diff = heatmap(at, "variant − standard")
    expected = seed_odd_variant_encoding(100, 9).numpy() - sinusoidal_encoding(100, 9).numpy()
    np.testing.assert_allclose(diff, expected, atol=1e-6)
    assert np.all(diff[:, 0::2] == 0)
    assert np.abs(diff[:, 1::2]).max() > 0.1
    assert f"Largest difference: {np.abs(expected).max():.3f}" in markdown_text(at)


@pytest.mark.parametrize(("d_model", "dtick"), [(9, 1), (64, 3), (512, 9)])
def test_encoding_labels_alternate_sin_and_cos(at, d_model, dtick):
    set_number(at, "pe_d_model", d_model)
    spec = figure(at, f"PE (100 × {d_model})")
    axis, columns = spec["layout"]["xaxis"], spec["data"][0]["x"]
    labels = axis["tickvals"] if dtick > 1 else columns
    assert axis["tickmode"] == ("array" if dtick > 1 else "auto")
    assert labels == columns[::dtick]  # every dtick-th column, dtick odd
    assert {label.split()[1] for label in labels} == {"sin", "cos"}


def test_default_dims_follow_the_number_of_positions():
    assert default_dims(100, 64, 10000.0) == [0, 1, 10, 20]
    lam = wavelengths(512, 10000.0)
    dims = default_dims(2048, 512, 10000.0)
    assert dims[:2] == [0, 1]
    assert 2048 / 8 < lam[dims[2]] < 2048 / 2  # near a quarter of the positions
    assert 2048 / 2 < lam[dims[3]] < 2048 * 2  # near all of them
    assert default_dims(5, 1, 10000.0) == [0]


# ------------------------------------------------------------------------------------------------ in Chinese


open_zh = partial(open_in_chinese, PAGE)


def rerun_zh(at: AppTest, **state) -> AppTest:
    """Set ``state`` and rerun in Chinese (AppTest calls a widget's ``format_func`` outside the script run, where
    only ``use`` sets the language)."""
    for key, value in state.items():
        at.session_state[key] = value
    with i18n.use("zh"):
        return at.run()


def test_chinese_default_page_and_its_figures():
    at = open_zh()
    assert_chinese(at)
    assert at.title[0].value == "位置编码"
    text = markdown_text(at)
    assert "d_model = 64：32 个 sin 列和 32 个 cos 列，组成 32 对" in text
    assert "PE[0]·PE[0] = 32.00，PE[0]·PE[1] = 30.92" in text
    assert "“the”出现在位置 0 和 3。**不加**位置编码时" in text
    assert re.search(r"：“man” \S+ → \S+；“bites” \S+ → \S+；“dog” ", text)  # sentence B's words, in its order
    rows, _, _ = heatmap(at, "加位置编码的注意力权重")
    assert rows == ["0 the", "1 dog", "2 chased", "3 the", "4 cat"]  # the learner's words stay as typed
    curves = figure(at, "PE 各列随位置的变化")
    assert curves["data"][0]["name"] == "维度 0 sin（波长 6.3）"
    assert curves["layout"]["xaxis"]["title"]["text"] == "位置"
    for name in ("正弦编码", "可学习", "RoPE"):
        assert figure(at, f"{name}：q(m)·k(n)")


def test_chinese_odd_width_variant_and_a_chinese_sentence():
    at = open_zh(
        pe_d_model=9,
        pe_variant=True,
        pe_sentence="我 爱 你 我",
        pe_order_a="the cat sat on the mat",
        pe_order_b="the mat sat on the cat",
    )
    assert_chinese(at)
    text = markdown_text(at)
    assert "d_model = 9 是奇数：5 个 sin 列和 4 个 cos 列，所以最后一列（第 8 列）是没有 cos 配对的 sin。" in text
    assert "（d_model 为奇数时只是近似相同：那一列没有配对的 sin 打破了对称）。" in text
    assert "“我”出现在位置 0 和 3。" in text
    assert "最大差异：" in text and "，在位置 " in text
    assert text.count("；“") == 5  # six words of sentence B, one list


def test_chinese_errors_warnings_and_notes_for_unusual_inputs():
    at = open_zh(pe_base=-10.0)
    assert_chinese(at)
    assert "底数必须是正数，当前为 -10——显示的是最后一次有效的编码。" in error_text(at)
    rerun_zh(at, pe_base=10000.0, pe_d_model=0)
    assert_chinese(at)
    assert error_text(at).startswith("d_model（编码宽度）")
    rerun_zh(at, pe_d_model=1, pe_variant=True, pe_sentence="   ", pe_order_b="cat bites man")
    assert_chinese(at)
    errors = error_text(at)
    assert "句子是空的（或只有空格）：输入几个词，其中一个输入两次。" in errors
    assert "两个句子必须由同样的词按不同顺序组成；只在第一句中的：['dog']，只在第二句中的：['cat']" in errors
    text = markdown_text(at)
    assert "d_model = 1 时只有最快的那条波，波长 6.3 个位置" in text
    assert "d_model = 1 时没有 cos 列，所以两个版本相同。" in text
    rerun_zh(at, pe_sentence=" ".join(f"w{i}" for i in range(100)))
    assert_chinese(at)
    assert at.warning[0].value == "只使用前 64 个词元（截掉了 36 个）。"
    assert at.info[0].value == "没有出现两次的词元：把某个词输入两次，就能看到它对相应行的影响。"
    rerun_zh(at, pe_positions=2048, pe_d_model=512)
    assert_chinese(at)
    captions = " ".join(c.value for c in at.caption)
    assert "这里只显示 2048 个位置中的 256 个（每 8 个取一个），以及 512 个维度中的 256 个" in captions
