"""The worked-example page: the tutorial's numbers, live edits, and bad cells that lose nothing."""

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from attnviz import i18n
from attnviz.examples import QKV_INTRO, WORKED_EXAMPLE_PRINTED
from attnviz.ui import worked
from tests.pages.conftest import ROOT, TIMEOUT, array, edit, figure, open_page, step_headings, titles
from tests.support.i18n import MISSING, assert_chinese

PAGE = "pages/1_Worked_example.py"


@pytest.fixture
def at():
    return open_page(PAGE)


def z(at, title_part):
    return array(figure(at, title_part)["data"][0]["z"])


def test_defaults_show_the_tutorials_numbers(at):
    assert not at.exception
    np.testing.assert_array_equal(z(at, "scores ="), WORKED_EXAMPLE_PRINTED["scores"])
    np.testing.assert_allclose(z(at, "weights ="), WORKED_EXAMPLE_PRINTED["weights"], atol=0.005)
    np.testing.assert_allclose(z(at, "output ="), WORKED_EXAMPLE_PRINTED["output"], atol=0.005)
    latex = [item.value for item in at.latex]
    assert any(r"s_{12} &= 1\cdot4 + 0\cdot4 + 2\cdot0 = 4" in item for item in latex)
    assert any(r"= \left[0.06,\ 0.47,\ 0.47\right]" in item for item in latex)  # softmax of row x1
    h1 = [item for item in latex if r"h_{1} &=" in item]
    assert len(h1) == 1 and r"&= \left[1.94,\ 6.68,\ 1.60\right] \end{aligned}" in h1[0]


def test_following_another_query_writes_out_its_row(at):
    at.selectbox(key="worked_query").set_value(1).run()
    latex = [item.value for item in at.latex]
    assert any(r"&= \left[2.00,\ 7.96,\ 0.05\right] \end{aligned}" in item for item in latex)
    assert not any("h_{1}" in item for item in latex)


def test_axes_are_labelled_queries_by_keys(at):
    scores = figure(at, "scores =")
    assert scores["data"][0]["y"] == ["x1", "x2", "x3"]
    assert scores["data"][0]["x"] == ["x1", "x2", "x3"]
    assert scores["layout"]["yaxis"]["title"]["text"] == "query"
    assert scores["layout"]["xaxis"]["title"]["text"] == "key"
    assert "value %{z}" in scores["data"][0]["hovertemplate"]  # exact value on hover
    assert scores["data"][0]["texttemplate"] == "%{z:.2f}"  # 2 decimals on screen


def test_editing_a_cell_of_x_changes_scores_weights_and_outputs(at):
    before = {name: z(at, name) for name in ("scores", "weights =", "output =")}
    edit(at, "worked_x", {0: {"d2": 5.0}})
    assert not at.exception and not at.error
    for name, old in before.items():
        assert not np.allclose(z(at, name), old), f"{name} did not change"
    # x1 = [1, 5, 1, 0]: q1 = x1·W_q = [6, 0, 2]; k2 = [4, 4, 0] → score 24
    assert z(at, "scores =")[0, 1] == 24.0


def test_scaling_by_sqrt_dk_shows_the_scaled_matrix(at):
    at.radio(key="worked_scaling").set_value("1/√d_k (as in Transformers)").run()
    assert not at.exception
    scaled = z(at, "scaled =")
    np.testing.assert_allclose(scaled, np.array(WORKED_EXAMPLE_PRINTED["scores"]) / np.sqrt(3), rtol=1e-6)
    assert any("scaled" in t for t in titles(at))


def test_causal_mask_blanks_the_future(at):
    at.checkbox(key="worked_causal").check().run()
    masked = z(at, "masked")
    assert np.isnan(masked[0, 1]) and np.isnan(masked[0, 2]) and not np.isnan(masked[1, 0])
    weights = z(at, "weights =")
    assert weights[0, 0] == pytest.approx(1.0) and weights[0, 1] == 0.0


def test_learned_variant_uses_seeded_linear_layers(at):
    at.radio(key="worked_variant").set_value("Learned (random nn.Linear with bias)").run()
    assert not at.exception
    first = z(at, "scores =")
    assert any("biases" in t for t in titles(at))
    at.number_input(key="worked_seed").set_value(7).run()
    assert not np.allclose(z(at, "scores ="), first)


def test_shape_change_keeps_edits_and_resizes(at):
    edit(at, "worked_x", {0: {"d1": 9.0}})
    at.number_input(key="worked_t").set_value(4).run()
    assert not at.exception
    assert z(at, "scores =").shape == (4, 4)
    assert figure(at, "scores =")["data"][0]["y"] == ["x1", "x2", "x3", "x4"]
    # the edit survived the resize: q1 = [9, 0, 1]·… so the first query row differs from the tutorial's
    assert z(at, "scores =")[0, 0] != WORKED_EXAMPLE_PRINTED["scores"][0][0]


def test_presets_and_reset(at):
    at.selectbox(key="worked_preset").set_value("Identity-like")
    at.button[0].click().run()
    assert not at.exception
    # one-hot X and W = I: Q = K = V = the identity, each token matches only itself
    qkv = figure(at, "Q, K, V")["data"]
    for panel in qkv:
        np.testing.assert_array_equal(array(panel["z"]), np.eye(3))
    np.testing.assert_array_equal(z(at, "scores ="), np.eye(3))
    at.button[1].click().run()
    np.testing.assert_array_equal(z(at, "scores ="), WORKED_EXAMPLE_PRINTED["scores"])


# --- bad input: a clear message naming the cell, the other edits and the last good result stay ----------------


def errors(at):
    """The error texts as the learner reads them (the markdown escapes removed)."""
    return [e.value.replace("\\", "") for e in at.error]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("abc", "'abc' is not a number"),  # text cells: the text is named, not turned into an empty cell
        (None, "is empty"),
        (float("nan"), "is empty or not a number"),
        (float("inf"), "is +infinity"),
        (float("-inf"), "is -infinity"),
    ],
)
def test_bad_cell_names_the_cell_and_keeps_the_last_result(at, value, problem):
    edit(at, "worked_x", {2: {"d1": 7.0}})  # a good edit first: it must survive the bad one
    good_scores = z(at, "scores =")
    edit(at, "worked_x", {2: {"d1": 7.0}, 0: {"d2": value}})
    assert not at.exception
    assert len(errors(at)) == 1
    message = errors(at)[0]
    assert "X row x1, column d2" in message and problem in message and "last valid" in message
    np.testing.assert_array_equal(z(at, "scores ="), good_scores)


def test_bad_cell_in_a_weight_matrix(at):
    edit(at, "worked_wk", {3: {"d3": None}})
    assert not at.exception
    assert any("W_k row d4, column d3" in e and "is empty" in e for e in errors(at))
    np.testing.assert_array_equal(z(at, "scores ="), WORKED_EXAMPLE_PRINTED["scores"])


def test_huge_values_overflow_with_a_message_not_a_nan_heatmap(at):
    edit(at, "worked_x", {0: {"d2": 1e308}})
    assert not at.exception
    assert any("overflowed" in e and "too large" in e for e in errors(at)), errors(at)
    for name in ("scores =", "weights =", "output ="):
        assert np.isfinite(z(at, name)).all()
    np.testing.assert_array_equal(z(at, "scores ="), WORKED_EXAMPLE_PRINTED["scores"])


def test_negative_zero_is_an_ordinary_zero(at):
    edit(at, "worked_x", {0: {"d1": -0.0}})
    assert not at.exception and not errors(at)
    assert z(at, "scores =")[0, 0] == 0.0  # x1 = [0, 0, 1, 0]: q1 = [0, 0, 1], k1 = [0, 0, 1]


@pytest.mark.parametrize(
    ("key", "name", "shape"), [("worked_x", "X", "3×4 to 2×4"), ("worked_wq", "W_q", "4×3 to 3×3")]
)
def test_a_deleted_row_is_refused_by_name_and_nothing_is_lost(at, key, name, shape):
    edit(at, "worked_wv", {0: {"d1": 2.0}})
    kept = z(at, "output =")
    edit(at, key, deleted_rows=[1])
    assert not at.exception
    assert errors(at) == [
        f"{name} changed shape from {shape}: rows and columns are set by the size controls — "
        "the last valid values are shown."
    ]
    np.testing.assert_array_equal(z(at, "output ="), kept)


# --- issue 9: edge bugs found in review ----------------------------------------------------------------------


def test_a_kept_result_is_drawn_with_its_own_labels_after_a_resize(at):
    edit(at, "worked_x", {0: {"d1": 1e200}})  # overflows: the message shows and the last result stays
    assert any("overflowed" in e for e in errors(at))
    at.number_input(key="worked_t").set_value(4).run()
    assert not at.exception, at.exception
    assert any("overflowed" in e for e in errors(at))
    rows, cols = figure(at, "scores =")["data"][0]["y"], figure(at, "scores =")["data"][0]["x"]
    assert rows == cols == ["x1", "x2", "x3"]  # the kept 3-token result, not 4 labels


def test_scaling_text_follows_the_choice_even_when_d_k_is_1(at):
    at.number_input(key="worked_d_k").set_value(1).run()
    at.radio(key="worked_scaling").set_value("1/√d_k (as in Transformers)").run()
    assert not at.exception
    headings = step_headings(at)
    assert "3. Scaling" in headings and "3. Scaling (none)" not in headings
    assert "Choose 1/√d_k" not in "\n".join(m.value for m in at.markdown)


def test_reset_puts_the_tables_back_and_a_later_edit_does_not_bring_old_values_back(at):
    edit(at, "worked_x", {0: {"d2": 5.0}})
    assert z(at, "scores =")[0, 1] == 24.0
    at.button[1].click().run()  # Reset
    assert not at.exception
    np.testing.assert_array_equal(z(at, "scores ="), WORKED_EXAMPLE_PRINTED["scores"])
    table = at.dataframe[0].value
    assert table.iloc[0].tolist() == ["1", "0", "1", "0"]  # the table on screen is the tutorial's again
    edit(at, "worked_x", {2: {"d4": 1.0}})  # another cell: the old 5 must not come back
    assert z(at, "scores =")[0, 1] == WORKED_EXAMPLE_PRINTED["scores"][0][1]


def test_reset_after_a_bad_cell_clears_the_cell_and_the_error(at):
    edit(at, "worked_x", {0: {"d2": "abc"}})
    assert errors(at)
    at.button[1].click().run()
    assert not errors(at)
    edit(at, "worked_x", {1: {"d1": 0.0}})
    assert not errors(at), errors(at)


@pytest.mark.parametrize(
    ("typed", "expected"), [("1e5", 1e5), ("-2.5e-3", -2.5e-3), ("12345678901234567890", 12345678901234567890.0)]
)
def test_numbers_are_taken_exactly_as_typed(at, typed, expected):
    edit(at, "worked_wq", {0: {"d1": typed}})  # W_q[d1, d1]; x1 = [1, 0, 1, 0] reads it once
    assert not at.exception and not errors(at)
    assert at.session_state["worked_wq__good"][0, 0] == expected


@pytest.mark.parametrize(("typed", "problem"), [("1e308", "overflowed"), ("NaN", "not a number"), ("x", "'x'")])
def test_numbers_that_cannot_be_used_are_named(at, typed, problem):
    edit(at, "worked_x", {0: {"d1": typed}})
    assert not at.exception
    assert any(problem in e for e in errors(at)), errors(at)


def test_the_tables_columns_are_the_labels_shown(at):
    tables = at.dataframe
    assert list(tables[0].value.columns) == ["d1", "d2", "d3", "d4"]  # the CSV download's header
    assert list(tables[0].value.index) == ["x1", "x2", "x3"]
    assert list(tables[1].value.columns) == ["d1", "d2", "d3"]


def test_causal_text_and_weights_title_say_what_was_drawn(at):
    at.checkbox(key="worked_causal").check().run()
    text = "\n".join(m.value for m in at.markdown)
    assert "Grey cells are masked" in text and "Blank cells" not in text
    assert "weights = softmax(masked scores)" in titles(at)
    at.checkbox(key="worked_causal").uncheck().run()
    at.radio(key="worked_scaling").set_value("1/√d_k (as in Transformers)").run()
    assert "weights = softmax(scaled scores)" in titles(at)


def test_rounded_formulas_say_they_are_rounded(at):
    assert any("rounded to 2 decimals" in c.value for c in at.caption)


def test_seed_000_qkv_intro_preset_attends_like_the_seeds_code(at):
    import torch
    import torch.nn.functional as F

    from attnviz.examples import QKV_INTRO

    at.selectbox(key="worked_preset").set_value(QKV_INTRO).run()
    assert any("d_k = d_model = 5" in c.value for c in at.caption)
    at.button[0].click().run()  # Load preset
    assert not at.exception
    assert (at.session_state["worked_t"], at.session_state["worked_d_in"], at.session_state["worked_d_k"]) == (2, 5, 5)
    # the seed's own code, with its global RNG seeded as the page's seed (0)
    torch.manual_seed(0)
    x = torch.tensor([[1, 0, 1, 0, 1], [0, 1, 0, 1, 0]], dtype=torch.float32)
    wq, wk, wv = torch.randn(5, 5), torch.randn(5, 5), torch.randn(5, 5)
    weights = F.softmax((x @ wq) @ (x @ wk).T / np.sqrt(5), dim=-1)
    np.testing.assert_allclose(z(at, "weights ="), weights.numpy(), atol=1e-5)
    np.testing.assert_allclose(z(at, "output ="), (weights @ (x @ wv)).numpy(), atol=1e-4)


# ------------------------------------------------------------------------------------------------ in Chinese


@pytest.fixture
def zh():
    """The page opened with ``?lang=zh``; the test runs in Chinese too, so the options' format_func (called in the
    test's thread when AppTest sends the widgets' values) translates as the page did."""
    MISSING.clear()
    app = AppTest.from_file(str(ROOT / PAGE), default_timeout=TIMEOUT)
    app.query_params["lang"] = "zh"
    with i18n.use("zh"):
        yield app.run()


def test_in_chinese_every_variant_scaling_mask_and_preset_speaks_chinese(zh):
    at = zh
    assert_chinese(at)
    assert at.title[0].value == "示例演算"
    at.radio(key="worked_scaling").set_value(tuple(worked.SCALINGS)[1]).run()
    at.checkbox(key="worked_causal").check().run()
    at.radio(key="worked_variant").set_value(tuple(worked.VARIANTS)[1]).run()
    at.selectbox(key="worked_query").set_value(2).run()
    assert_chinese(at)
    assert at.session_state["worked_scaling"] == "1/√d_k (as in Transformers)"  # the state keeps the code
    assert at.radio(key="worked_scaling").options == ["不缩放（与教程相同）", "1/√d_k（与 Transformer 相同）"]
    assert {"偏置", "掩码后的分数", "注意力权重 = softmax(掩码后的分数)"} <= set(titles(at))
    assert any(t.startswith("缩放后的分数 = 分数 × 0.5774") for t in titles(at))
    text = "\n".join(m.value for m in at.markdown)
    assert "注意力分数乘以 1/√d_k = 1/√3 = 0.5774。" in text
    assert "**x3** 这一行（缩放后的分数）：" in text and "词元 **x3** 的输出 **h3**：" in text
    caption = "\n".join(c.value for c in at.caption)
    assert "来自 `SelfAttention(4, 3, bias=True, seed=0)`，按 nn.Linear 的方式初始化" in caption


def test_in_chinese_the_qkv_intro_preset_is_named_and_explained(zh):
    at = zh
    at.selectbox(key="worked_preset").set_value(QKV_INTRO).run()
    assert "教程 000：qkv 入门" in at.selectbox(key="worked_preset").options
    at.button[0].click().run()  # Load preset
    assert_chinese(at)
    assert at.session_state["worked_preset"] == QKV_INTRO
    assert any(c.value.startswith("教程 000 的 qkv 入门") for c in at.caption)


def test_in_chinese_a_bad_cell_keeps_the_last_result_and_the_page_stays_chinese(zh):
    at = zh
    edit(at, "worked_x", {0: {"d2": float("nan")}})
    assert not at.exception
    # The cell's problem, in Chinese, and that the last values stay.
    assert [e.value.endswith("——显示的是上一次有效的值。") for e in at.error] == [True]
    assert_chinese(at)
    np.testing.assert_array_equal(z(at, "注意力分数 ="), WORKED_EXAMPLE_PRINTED["scores"])


def test_every_key_masked_is_said_in_chinese():
    from attnviz.explain import softmax_latex

    with i18n.use("zh"):
        assert softmax_latex("w_1", [float("-inf")] * 3).endswith(r"\text{（所有键都被掩码）}")
    assert softmax_latex("w_1", [float("-inf")] * 3).endswith(r"\text{(every key is masked)}")
