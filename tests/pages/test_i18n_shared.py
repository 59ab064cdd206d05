"""The layer every page shares, in Chinese: figure defaults, the explanation of a clicked cell, the "Share, export,
import" panel with its problems, the matrix editor's and the library's messages, and plotly.js's own words.

Each page test here reads the whole page (as tests/pages/test_i18n_pages.py does for the default render) in the
states only the shared layer reaches: a clicked cell, a hostile address, uploads and imports."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from attnviz import i18n, sharing
from attnviz.cells import explain_cell, explain_head
from attnviz.figures import bar_chart, head_blocks_heatmap, heatmap_grid, line_chart, matrix_heatmap
from attnviz.modules import MultiHeadAttention
from attnviz.ui import chart, worked
from attnviz.ui.render import code_span
from attnviz.validation import InputError, parse_matrix
from tests.pages.conftest import ROOT, TIMEOUT, share_open
from tests.support.i18n import MISSING, assert_chinese

WORKED = "pages/1_Worked_example.py"
CJK = re.compile(r"[\u4e00-\u9fff]")
SHARE_KEYS = ("share_worked_upload_target", "share_worked_show_code")


@pytest.fixture
def in_chinese():
    """AppTest formats a widget's options in the test's own thread when it sends a value: in Chinese, as the page."""
    with i18n.use("zh"):
        yield


def open_zh(path: str = WORKED, params: dict[str, str] | None = None) -> AppTest:
    MISSING.clear()
    at = AppTest.from_file(str(ROOT / path), default_timeout=TIMEOUT)
    at.query_params["lang"] = "zh"
    for key, value in (params or {}).items():
        at.query_params[key] = value
    for key, value in share_open().items():  # the share panel is built only while open
        at.session_state[key] = value
    return at.run()


def share_texts(at: AppTest) -> set[str]:
    """The texts the share panel draws: its expander, prose, buttons, uploader, toggle and select box."""
    texts = {e.label for e in at.expander}  # (the page-wide detector reads at.get("expandable"), always empty)
    texts |= {m.value for m in at.markdown if "分享" in m.value or "Share" in m.value}
    texts |= {b.proto.label for b in at.get("download_button")}
    texts |= {u.proto.label for u in at.get("file_uploader")}
    for kind in ("toggle", "selectbox"):
        texts |= {w.label for w in at.get(kind) if w.key in SHARE_KEYS}
        texts |= {w.help for w in at.get(kind) if w.key in SHARE_KEYS and w.help}
    return texts


def plain(elements) -> list[str]:
    """Element values with markdown escapes removed (``x\\.csv`` -> ``x.csv``)."""
    return [re.sub(r"\\(.)", r"\1", e.value) for e in elements]


def chinese(text: str) -> bool:
    return bool(CJK.search(text))


# ------------------------------------------------------------------------------------------------------ figures


def test_figure_defaults_speak_the_interface_language():
    z = np.array([[0.1, 0.9], [0.5, 0.5]])
    with i18n.use("zh"):
        fig = matrix_heatmap(z, ["a", "b"], ["a", "b"]).to_plotly_json()
        grid = heatmap_grid(np.stack([z, z]), ["a", "b"], ["a", "b"]).to_plotly_json()
        blocks = head_blocks_heatmap(np.ones((2, 4)), 2).to_plotly_json()
        bars = bar_chart([0.2, 0.8], ["a", "b"]).to_plotly_json()
        lines = line_chart([0, 1], {"sin 0": [0.0, 0.8]}).to_plotly_json()
    assert (fig["layout"]["yaxis"]["title"]["text"], fig["layout"]["xaxis"]["title"]["text"]) == ("查询", "键")
    assert fig["data"][0]["hovertemplate"] == "查询 %{y}<br>键 %{x}<br>数值 %{z}<extra></extra>"
    assert [a["text"] for a in grid["layout"]["annotations"]] == ["头 0", "头 1"]
    assert grid["layout"]["coloraxis"]["colorbar"]["title"]["text"] == "数值"
    assert [a["text"] for a in blocks["layout"]["annotations"]] == ["头 0", "头 1"]
    assert blocks["layout"]["xaxis"]["title"]["text"] == "列" and blocks["layout"]["yaxis"]["title"]["text"] == "词元"
    assert bars["layout"]["yaxis"]["title"]["text"] == "权重" and bars["layout"]["xaxis"]["title"]["text"] == "键"
    assert lines["layout"]["xaxis"]["title"]["text"] == "位置" and lines["layout"]["yaxis"]["title"]["text"] == "数值"


def test_figure_defaults_stay_english_and_a_given_title_is_kept():
    z = np.eye(2)
    fig = matrix_heatmap(z, ["a", "b"], ["a", "b"]).to_plotly_json()
    assert fig["data"][0]["hovertemplate"] == "query %{y}<br>key %{x}<br>value %{z}<extra></extra>"
    assert "colorbar" not in fig["data"][0]  # the default value title names no colour bar
    with i18n.use("zh"):
        named = matrix_heatmap(z, ["a", "b"], ["a", "b"], row_title="行", value_title="得分").to_plotly_json()
    assert named["data"][0]["colorbar"]["title"]["text"] == "得分"
    assert named["data"][0]["hovertemplate"].startswith("行 %{y}<br>键 %{x}<br>得分 %{z}")


# -------------------------------------------------------------------------------------------- explain any cell


def _cell_inputs() -> dict:
    q = np.array([[1.0, 0.0], [0.0, 1.0]])
    masked = np.array([[0.5, -np.inf], [0.2, 0.1]])
    e = np.exp(masked - masked.max(axis=1, keepdims=True))
    return {"query": q, "key": q, "value": q, "scale": 0.5, "masked": masked, "weights": e / e.sum(1, keepdims=True)}


def test_a_cells_explanation_in_chinese_keeps_its_numbers():
    arrays = _cell_inputs()
    english = explain_cell("weights", 0, 1, labels=["a", "b"], **arrays)
    with i18n.use("zh"):
        cell = explain_cell("weights", 0, 1, labels=["a", "b"], **arrays)
        scaled = explain_cell("scaled", 1, 0, labels=["a", "b"], **arrays)
        output = explain_cell("output", 0, 1, labels=["a", "b"], **arrays)
    assert cell.title == "查询 a 对键 b 的注意力权重"
    assert cell.text == english.text and cell.terms == english.terms
    assert r"\text{b：被掩码遮住，已排除}" in cell.latex and r"\text{(键 b 被掩码遮住)}" in cell.latex
    assert scaled.title == "查询 b 与键 a 的缩放后注意力分数" and r"\times\text{缩放系数}" in scaled.latex
    assert output.title == "查询 a 的输出，第 d2 列" and "被掩码遮住的键已排除（权重为 0）：b" in output.latex
    assert english.title == "weight of query a on key b" and r"\text{b: masked, excluded}" in english.latex


def test_a_heads_note_in_chinese_names_its_slices():
    import torch

    module = MultiHeadAttention(4, 2, seed=0)
    trace = module(torch.randn(3, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64).float())
    with i18n.use("zh"):
        cell = explain_head(trace, "weights", 1, 0, 2)
    assert cell.note.startswith("头 1（共 2 个头）") and "W_O 的第 2–3 行" in cell.note


# ------------------------------------------------------------------------------------------------ share panel


@pytest.mark.usefixtures("in_chinese")
def test_the_share_panel_and_a_clicked_cell_leave_no_english_word():
    at = open_zh()
    assert not at.exception
    texts = share_texts(at)
    assert "分享、导出、导入" in texts and any("**分享**" in t for t in texts)
    assert {"`X.csv`", "`scores.csv`", "状态（JSON）"} <= texts
    assert_chinese(at)
    at.session_state["worked_fig_weights"] = {"selection": {"x": "x2", "y": "x1", "z": None, "curve": 0, "click": 1}}
    at.run()
    explained = [m.value for m in at.markdown if "热力图的悬停提示显示" in m.value]
    assert "**查询 x1 对键 x2 的注意力权重** · 热力图的悬停提示显示 0.4683。" in explained  # softmax([2, 4, 4])[1]
    assert_chinese(at)


def test_a_hostile_address_is_named_in_chinese():
    at = open_zh(params={"worked_t": "400", "worked_nope": "1", "worked_x": "3x4.f4.AAAA"})
    warning = next(w.value for w in at.warning if "地址中有一部分无法使用" in w.value)
    assert "已忽略网址参数 `worked_t`：400 不在 1 … 12 之内" in warning
    assert "已忽略网址参数 `worked_nope`：本页没有这项设置" in warning
    assert "已忽略网址参数 `worked_x`：该矩阵含 3 字节；3×4 的 f4 矩阵需要 48 字节（被截断了？）" in warning
    assert at.session_state["worked_t"] == 3
    assert_chinese(at)  # the names are code, the rest Chinese


@pytest.mark.usefixtures("in_chinese")
def test_uploads_answer_in_chinese():
    at = open_zh()
    settings = {f.key: at.session_state[f.key] for f in worked.SHARE.fields}
    settings["worked_t"] = 400
    doc = sharing.export_json(worked.SHARE, settings, {}, {})
    at.file_uploader(key="share_worked_upload").upload("bad.json", doc.encode()).run()
    errors = [e.value for e in at.error]
    assert any(e.startswith("设置 `worked_t`：400 不在 1 … 12 之内") and "什么都没有改变" in e for e in errors), errors
    assert_chinese(at)
    good = sharing.matrix_csv(np.ones((3, 4)), ["x1", "x2", "x3"], ["d1", "d2", "d3", "d4"])
    at.selectbox(key="share_worked_upload_target").set_value("worked_x").run()
    at.file_uploader(key="share_worked_upload").upload("x.csv", good.encode()).run()
    assert plain(at.success) == ["`x.csv` 已载入 X"]  # a file's name as code
    assert_chinese(at)
    at.file_uploader(key="share_worked_upload").upload("x.csv", b"a,b\n").run()
    assert any(e.startswith("X：表头必须是一个空单元格加上各列 d1, d2, d3, d4") for e in (e.value for e in at.error))
    assert_chinese(at)


@pytest.mark.parametrize(
    ("name", "span"),
    [
        ("state.json", "`state.json`"),
        ("a`b.csv", "``a`b.csv``"),  # CommonMark: a fence longer than any backtick run inside
        ("a``b", "```a``b```"),
        ("`x`", "`` `x` ``"),  # a backtick at an end is padded by one space, which the renderer strips
    ],
)
def test_a_name_shown_as_code_renders_as_typed(name, span):
    assert code_span(name) == span


@pytest.mark.usefixtures("in_chinese")
def test_the_json_import_counts_its_parts_in_chinese():
    at = open_zh()
    settings = {f.key: at.session_state[f.key] for f in worked.SHARE.fields}
    doc = sharing.export_json(worked.SHARE, settings, {}, {})
    at.file_uploader(key="share_worked_upload").upload("state.json", doc.encode()).run()
    n = len(settings)
    assert plain(at.success) == [f"`state.json` 已载入：{n} 项设置，0 个矩阵"]
    assert_chinese(at)


# ------------------------------------------------------------------------------------------- library messages


def test_library_errors_are_english_by_default_and_chinese_in_zh():
    with pytest.raises(ValueError, match="d_model=10 is not divisible by num_heads=3"):
        MultiHeadAttention(10, 3)
    with i18n.use("zh"), pytest.raises(ValueError, match="d_model=10 不能被 num_heads=3 整除"):
        MultiHeadAttention(10, 3)
    with i18n.use("zh"), pytest.raises(InputError) as caught:
        parse_matrix("X", [["1", "abc"], ["", "inf"]], ["x1", "x2"], ["d1", "d2"])
    assert caught.value.problems == [
        "X 第 x1 行、第 d2 列：'abc' 不是数",
        "X 第 x2 行、第 d1 列：是空的",
        "X 第 x2 行、第 d2 列：是正无穷",
    ]


# ----------------------------------------------------------------------------------------- plotly.js's words


def test_plotly_js_gets_its_own_words_in_the_interface_language(monkeypatch):
    assert chart.locale_config() == {}
    with i18n.use("zh"):
        config = chart.locale_config()
    assert config["locale"] == "zh-CN"
    words = config["locales"]["zh-CN"]["dictionary"]
    assert words["Download plot as a PNG"] == "下载图表（PNG）" and words["Reset axes"] == "重置坐标轴"
    assert all(chinese(text) for text in words.values())

    monkeypatch.setattr(chart, "FORCE_COMPONENT", True)
    at = open_zh()
    assert_chinese(at)
    payloads = [json.loads(e.proto.bytes.decode()) for e in at.get("bidi_component") if e.proto.bytes]
    metas = [p["meta"] for p in payloads if p.get("figure")]
    assert metas and all(m["config"]["locale"] == "zh-CN" and m["svgTitle"] == "下载图表（SVG）" for m in metas)


def test_a_chinese_titles_download_is_named_by_the_charts_key():
    assert chart._filename({"layout": {"title": {"text": "注意力分数 = Q·Kᵀ"}}}, "worked_fig_scores") == (
        "attnviz_worked_fig_scores"
    )
    assert (
        chart._filename({"layout": {"title": {"text": "scores = Q·Kᵀ"}}}, "worked_fig_scores") == "attnviz_scores_Q_K"
    )
