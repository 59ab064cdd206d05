"""The multi-head page: per-head panels follow the heads chosen, the shapes follow the run, PyTorch agrees."""

import json
import re
from functools import partial

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from attnviz import i18n
from attnviz.examples import WORKED_EXAMPLE
from attnviz.tokens import tokenize
from attnviz.views import DEFAULT_SENTENCE
from tests.pages.conftest import (
    ROOT,
    TIMEOUT,
    array,
    edit,
    figure,
    figures,
    markdown_bodies,
    markdown_text,
    open_in_chinese,
    open_page,
    titles,
)
from tests.support.i18n import MISSING, assert_chinese

PAGE = "pages/3_Multi-head.py"
NB = "\u00a0"  # the shape table keeps each shape on one line with no-break spaces
T0 = len(tokenize(DEFAULT_SENTENCE))  # the default input: the Tokens page's default sentence


@pytest.fixture
def at():
    return open_page(PAGE)


def heatmap_traces(fig: dict) -> list[dict]:
    return [t for t in fig["data"] if t["type"] == "heatmap"]


def shape_table(at) -> str:
    tables = [m.value for m in at.markdown if "\n| | operation" in m.value]  # below step 2's text
    assert len(tables) == 1
    return tables[0][tables[0].index("| | operation") :].replace(NB, " ")


def check_lines(at) -> str:
    lines = [m.value for m in at.markdown if "max |output − torch output|" in m.value]
    assert len(lines) == 1
    return lines[0]


def diffs(at) -> list[float]:
    return [float(x) for x in re.findall(r"\*\*([0-9.e+-]+)\*\*", check_lines(at))]


def badge(at) -> str:
    found = [m.value for m in at.markdown if "-badge[" in m.value]
    assert len(found) == 1
    return found[0]


def show_tabs(at, weights: str = "Each head", combined: str = "Side by side (concat)") -> AppTest:
    """Open these tabs of the weights step and of the combine step (only an open tab is drawn)."""
    at.session_state["mh_weights_view"] = weights
    at.session_state["mh_combined_view"] = combined
    return at.run()


def test_defaults_draw_every_step_and_pass_the_torch_check(at):
    assert not at.exception and not at.error
    scores = "scaled scores Q<sub>h</sub>·K<sub>h</sub><sup>T</sup>/√d<sub>head</sub>"
    assert titles(at) == [
        f"X ({T0}×8)",
        scores,
        "weights softmax(Q<sub>h</sub>·K<sub>h</sub><sup>T</sup>/√d<sub>head</sub>)",
        f"head outputs A<sub>h</sub>·V<sub>h</sub> side by side = concat ({T0}×8)",
    ]
    # The other tabs: only the open one is computed and sent.
    show_tabs(at, "Mean over heads", "After W_O")
    assert not at.exception and not at.error
    assert titles(at) == [
        f"X ({T0}×8)",
        scores,
        "mean of the heads' weights",
        "output = concat·W<sub>O</sub> + b<sub>O</sub>",
    ]
    labels = [tab.label for tab in at.tabs]  # after the weight editors' "head 0", "head 1"
    assert labels[-4:] == ["Each head", "Mean over heads", "Side by side (concat)", "After W_O"]
    # the default sentence's tokens label the rows and columns of every head
    show_tabs(at)
    weights = figure(at, "weights softmax")
    assert heatmap_traces(weights)[0]["y"][:2] == ["0 The", "1 animal"]
    assert len(heatmap_traces(weights)) == 2


@pytest.mark.parametrize("heads", [1, 4, 8])
def test_changing_heads_changes_the_number_of_panels(at, heads):
    at.selectbox(key="mh_heads").set_value(heads).run()
    assert not at.exception and not at.error
    for title in ("scaled scores", "weights softmax"):
        fig = figure(at, title)
        assert len(heatmap_traces(fig)) == heads
        assert [a["text"] for a in fig["layout"]["annotations"]] == [f"head {h}" for h in range(heads)]
    concat = figure(at, "head outputs")
    assert len(concat["layout"].get("shapes", [])) == heads - 1  # a separator between neighbouring heads


def test_only_divisors_of_d_model_are_offered(at):
    at.number_input(key="mh_d_model").set_value(12).run()
    assert at.selectbox(key="mh_heads").options == ["1", "2", "3", "4", "6", "12"]
    assert any(c.value == "d_head = d_model / heads = 12 / 2 = 6" for c in at.sidebar.caption)


def test_verification_badge_shows_pass_and_the_differences(at):
    assert "Pass" in badge(at) and "green" in badge(at)
    out_diff, weight_diff = diffs(at)
    assert 0 <= out_diff <= 1e-5 and 0 <= weight_diff <= 1e-5
    assert "over 2 heads" in check_lines(at)


def test_shape_flow_matches_the_run(at):
    table = shape_table(at)
    for sizes in [(1, T0, 8), (1, T0, 2, 4), (1, 2, T0, 4), (2, T0, 4), (2, T0, T0)]:
        assert f"**({', '.join(map(str, sizes))})**" in table
    at.number_input(key="mh_d_model").set_value(12).run()
    at.selectbox(key="mh_heads").set_value(3).run()
    table = shape_table(at)
    assert f"| `(B, T, H, d_head)` | **(1, {T0}, 3, 4)** |" in table
    assert f"| `(B·H, T_q, T_k)` | **(3, {T0}, {T0})** |" in table
    assert table.count("\n") == 11  # header, rule and ten steps


def test_d_model_not_divisible_by_heads_keeps_the_last_result(at):
    at.number_input(key="mh_d_model").set_value(12).run()
    at.selectbox(key="mh_heads").set_value(3).run()
    before = figures(at)
    at.number_input(key="mh_d_model").set_value(10).run()  # 3 heads no longer fit
    assert not at.exception
    (error,) = at.error
    assert "Number of heads = 3 does not divide d\\_model = 10" in error.value
    assert "1, 2, 5, 10" in error.value
    assert figures(at) == before  # the last good result stays on the page
    # 3 stays selected and visible under the same label (a browser sends the label back), with the error above
    assert at.selectbox(key="mh_heads").options == ["1", "2", "3", "5", "10"]
    assert at.selectbox(key="mh_heads").value == 3


def test_zero_heads_is_an_error_not_a_crash():
    # The selectbox offers only divisors of d_model, so 0 can only arrive through the session state (a test, a
    # bookmark of old state): the page names the control and draws nothing it cannot compute.
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=TIMEOUT)
    at.session_state["mh_heads"] = 0
    at.run()
    assert not at.exception
    assert len(at.error) == 1 and "Number of heads is 0" in at.error[0].value
    assert figures(at) == []
    assert at.selectbox(key="mh_heads").options == ["0", "1", "2", "4", "8"]
    at.selectbox(key="mh_heads").set_value(2).run()
    assert not at.exception and not at.error and len(figures(at)) == 4


def test_zero_d_model_is_an_error_not_a_crash(at):
    at.number_input(key="mh_d_model").set_value(0).run()
    assert not at.exception
    assert len(at.error) == 1 and "d\\_model is 0" in at.error[0].value
    assert len(figures(at)) == 4


def test_editing_a_weight_changes_the_output_and_torch_still_agrees(at):
    def z(title):
        return array(heatmap_traces(figure(at, title))[0]["z"])

    concat_before = z("head outputs")
    show_tabs(at, combined="After W_O")
    out_before = z("output =")
    edit(at, "mh_w_v_h1", {0: {"h1 d2": 3.0}})  # W_v of head 1, row d0, its third column
    assert not at.exception and not at.error
    assert not np.allclose(z("output ="), out_before)
    show_tabs(at)
    concat = z("head outputs")
    np.testing.assert_array_equal(concat[:, :4], concat_before[:, :4])  # head 0's block is untouched
    assert not np.allclose(concat[:, 4:], concat_before[:, 4:])  # head 1's block follows the edit
    assert "Pass" in badge(at) and max(diffs(at)) <= 1e-5  # torch got the edited weights too
    at.button(key="mh_reset_weights").click().run()
    show_tabs(at, combined="After W_O")
    np.testing.assert_allclose(z("output ="), out_before)
    # The table on screen is the seed's again, and a later edit elsewhere does not bring the 3.0 back.
    w_v_h1 = next(t.value for t in at.dataframe if "h1 d2" in t.value.columns and "d0" in t.value.index)
    assert w_v_h1.loc["d0", "h1 d2"] != "3"
    edit(at, "mh_w_q_h0", {7: {"h0 d0": 0.5}})
    show_tabs(at)
    np.testing.assert_array_equal(z("head outputs")[:, 4:], concat_before[:, 4:])  # head 1 untouched: no 3.0


def test_causal_mask_and_padding_blank_the_masked_cells(at):
    at.toggle(key="mh_causal").set_value(True).run()
    at.number_input(key="mh_valid_len").set_value(5).run()
    assert not at.exception and not at.error
    for trace in heatmap_traces(figure(at, "weights softmax")):
        z = array(trace["z"])
        allowed = np.tril(np.ones((T0, T0), dtype=bool)) & (np.arange(T0) < 5)[None, :]
        assert np.isnan(z[~allowed]).all() and not np.isnan(z[allowed]).any()
        np.testing.assert_allclose(np.nansum(z, axis=1), 1.0, rtol=1e-5)
    assert any("Grey cells are masked" in c.value and "position 5" in c.value for c in at.caption)
    assert "Pass" in badge(at)


def test_worked_example_x_is_zero_padded_to_d_model(at):
    at.radio(key="mh_source").set_value("Worked example").run()
    assert not at.exception and not at.error
    x = array(heatmap_traces(figure(at, "X ("))[0]["z"])
    np.testing.assert_array_equal(x[:, :4], WORKED_EXAMPLE.x)
    np.testing.assert_array_equal(x[:, 4:], 0.0)
    assert any("zero-padded from 4 to d_model = 8" in m.value for m in at.markdown)


def test_sentence_comes_from_the_tokens_page(at):
    at.session_state["tokens_text"] = "the cat saw the dog"
    at.run()
    labels = heatmap_traces(figure(at, "weights softmax"))[0]["x"]
    assert labels == ["0 the", "1 cat", "2 saw", "3 the", "4 dog"]


def test_512_random_tokens_stay_small_and_show_one_head_in_detail(at):
    at.radio(key="mh_source").set_value("Random tokens").run()
    at.number_input(key="mh_d_model").set_value(64).run()
    at.selectbox(key="mh_heads").set_value(8).run()
    assert at.slider(key="mh_num_tokens").value == 512
    assert not at.exception and not at.error
    specs = [chart.proto.spec for chart in at.get("plotly_chart")]
    assert sum(len(s) for s in specs) < 2_000_000  # per rerun, everything the browser receives for figures
    grid = figure(at, "weights softmax")
    traces = heatmap_traces(grid)
    assert len(traces) == 8
    z = array(traces[0]["z"])
    assert z.shape[0] <= 64 and z.shape == z.shape[::-1]  # pooled
    assert traces[0]["z"]["dtype"] == "f4" and "texttemplate" not in traces[0]
    np.testing.assert_allclose(np.nansum(z, axis=1), 1.0, rtol=1e-4)  # shares: rows still sum to 1
    assert traces[0]["x"][:2] == ["0–15", "16–31"]  # token ranges on the axes
    # Pooled shares are flat (an even spread is 1/32 a cell): the colours saturate at the 99th percentile, not at 1.
    top = grid["layout"]["coloraxis"]["cmax"]
    every_panel = np.concatenate([array(t["z"]).ravel() for t in traces])
    assert 1 / 32 < top < 0.5 and top == pytest.approx(np.percentile(every_panel, 99), rel=1e-6)
    assert not [t for t in titles(at) if t.startswith("head 0: weights")]  # the detail is drawn only when opened
    at.session_state["mh_focus_open"] = True
    at.run()
    focus = figure(at, "head 0: weights")
    assert array(heatmap_traces(focus)[0]["z"]).shape == (512, 512)  # one head at full resolution
    assert any("only the first 64 of the 512 tokens" in m.value.lower() for m in at.markdown)
    at.toggle(key="mh_causal").set_value(True).run()  # masked cells change the JSON's size (base64 escapes)
    assert sum(len(chart.proto.spec) for chart in at.get("plotly_chart")) < 1_950_000
    at.selectbox(key="mh_focus_head").set_value(5).run()
    assert not at.exception
    assert figure(at, "head 5: weights")
    assert "Pass" in badge(at)


def test_every_figure_is_valid_json_with_typed_float32_arrays(at):
    for chart in at.get("plotly_chart"):
        fig = json.loads(chart.proto.spec)
        for trace in heatmap_traces(fig):
            assert trace["z"]["dtype"] == "f4"


def test_a_heads_label_sent_back_as_text_is_read_as_its_number():
    # Browsers send a selectbox's label; an unmatched label arrives as text and must not crash the page.
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=TIMEOUT)
    at.session_state["mh_heads"] = "4"
    at.run()
    assert not at.exception and not at.error
    assert len(heatmap_traces(figure(at, "weights softmax"))) == 4


def test_tolerances_are_written_one_way(at):
    text = markdown_text(at) + "\n".join(c.value for c in at.caption)
    assert "tolerance 1.0e-05" in text and "1e-05" not in text


# ------------------------------------------------------------------------------------------------ in Chinese


open_zh = partial(open_in_chinese, PAGE)


def rerun_zh(at: AppTest) -> AppTest:
    """Rerun in Chinese. AppTest calls a widget's ``format_func`` outside the script run, where only ``use`` says
    which language the labels it compares with are in."""
    with i18n.use("zh"):
        return at.run()


def test_chinese_page_keeps_codes_in_the_state_and_names_the_heads():
    at = open_zh()
    assert_chinese(at)
    assert at.title[0].value == "多头注意力"
    assert at.radio(key="mh_source").options == ["句子", "示例演算", "随机词元"]
    assert at.session_state["mh_source"] == "Sentence"  # the code, not the label
    scores = figure(at, "缩放后的注意力分数 Q<sub>h</sub>")
    assert [a["text"] for a in scores["layout"]["annotations"]] == ["头 0", "头 1"]
    assert scores["layout"]["yaxis"]["title"]["text"] == "查询" and scores["layout"]["xaxis"]["title"]["text"] == "键"
    assert [m.value for m in at.markdown if "\n| | 操作 | 形状 | 本次运行 | 作用 |" in m.value]
    assert "通过" in badge(at)
    assert any(c.value == "d_head = d_model / 头数 = 8 / 2 = 4" for c in at.sidebar.caption)


def test_chinese_error_names_an_impossible_head_count_and_the_last_result_stays():
    at = open_zh(mh_d_model=12, mh_heads=3)
    before = figures(at)
    at.number_input(key="mh_d_model").set_value(10)
    rerun_zh(at)
    assert_chinese(at)
    (error,) = at.error
    assert "头数 = 3 不能整除 d\\_model = 10" in error.value
    assert "每个头分到 d\\_model / 头数 列" in error.value and "1, 2, 5, 10" in error.value
    assert "上一次" in error.value  # the last result is kept
    assert figures(at) == before
    at.number_input(key="mh_d_model").set_value(0)
    rerun_zh(at)
    assert_chinese(at)
    assert "d\\_model = 0：至少要为 1" in at.error[0].value


def test_chinese_long_masked_input_pooled_with_every_tab_and_the_detail_open():
    at = open_zh(
        mh_source="Random tokens",
        mh_num_tokens=512,
        mh_d_model=16,
        mh_causal=True,
        mh_valid_len=300,
        mh_focus_open=True,
        mh_weights_view="各头的平均",
        mh_combined_view="经过 W_O 之后",
    )
    assert_chinese(at)
    text = markdown_text(at)
    assert "从 100 个词的词表（t0 … t99）中随机抽取的 512 个词元（随机种子 0）" in text
    assert "只显示 512 个词元中的前 64 个。" in text
    assert "一个格子覆盖 8×8 个词元" in text and "每行之和仍为 1）" in text
    captions = " ".join(c.value for c in at.caption)
    assert "：因果掩码遮住了后面的词元；从位置 300 开始的键是填充。" in captions
    assert "d_model = 16 时，各个头的切片太大" in captions
    assert at.expander[0].label == "单个头的细节：它的全部 512×512 个注意力权重"
    assert {"各头注意力权重的平均（每块的份额）", "输出 = 拼接·W<sub>O</sub> + b<sub>O</sub>"} <= set(titles(at))
    assert any(t.startswith("头 0：注意力权重 softmax(Q<sub>0</sub>") for t in titles(at))


@pytest.mark.parametrize(
    ("d_model", "note"),
    [
        (8, "示例演算的 X（3×4），用零从 4 列填充到 d_model = 8 列。"),
        (4, "示例演算的 X（3×4），原样使用（d_model = 4）。"),
        (2, "示例演算的 X（3×4），只保留前 2 列（d_model = 2）。"),
        (1, "示例演算的 X（3×4），只保留第一列（d_model = 1）。"),
    ],
)
def test_chinese_note_on_the_worked_example_follows_d_model(d_model, note):
    at = open_zh(mh_source="Worked example", mh_d_model=d_model, mh_heads=1)
    assert_chinese(at)
    assert any(m.startswith(note) for m in markdown_bodies(at))


def test_chinese_error_when_the_tokens_page_sentence_is_empty():
    at = open_zh(tokens_text="   ")
    assert_chinese(at)
    assert "词元页面的文本里没有词元" in at.error[0].value


def test_switching_to_chinese_keeps_the_settings_and_switching_back_restores_english():
    at = open_page(PAGE)
    at.radio(key="mh_source").set_value("Worked example").run()
    at.number_input(key="mh_d_model").set_value(12).run()
    at.selectbox(key="mh_heads").set_value(3).run()
    english = titles(at)
    MISSING.clear()
    at.radio(key="lang_switch").set_value("zh").run()
    assert_chinese(at)
    assert not at.error
    assert at.title[0].value == "多头注意力"
    assert at.radio(key="mh_source").value == "Worked example" and at.radio(key="mh_source").options[1] == "示例演算"
    assert (at.session_state["mh_d_model"], at.session_state["mh_heads"]) == (12, 3)
    assert len(heatmap_traces(figure(at, "缩放后的注意力分数"))) == 3
    with i18n.use("zh"):  # the switch's own options are the same in both languages; the page's are not
        at.radio(key="lang_switch").set_value("en").run()
    assert not at.exception
    assert titles(at) == english
