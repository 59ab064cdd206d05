"""The Encoder page: the model view follows layers × heads, its numbers are torch's, bad input keeps the last view."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from attnviz import i18n
from attnviz.encoder import Encoder, TimeSeriesTransformer
from attnviz.encoder_views import sentence_input, series_input
from attnviz.series import synthetic_series
from tests.pages.conftest import ROOT, TIMEOUT, array, figure, figures, open_page, titles
from tests.support.i18n import MISSING, assert_chinese

PAGE = "pages/5_Encoder.py"
DEFAULT_SENTENCE = "The animal didn't cross the street because it was too tired"


@pytest.fixture
def at():
    return open_page(PAGE)


def model_view(at) -> dict:
    found = [f for f in figures(at) if "cells" in f["layout"].get("meta", {})]
    assert len(found) == 1
    return found[0]


def panels(fig: dict) -> dict[str, np.ndarray]:
    """Every panel of the model view's image, as weights (to 1/254 of the colour scale's top; NaN = blank)."""
    meta = fig["layout"]["meta"]
    g, gap, top = meta["cells"], meta["gap"], meta["top"]
    z = array(fig["data"][0]["z"]).astype(float)
    out = {}
    for layer in range(meta["layers"]):
        for head in range(meta["heads"]):
            r, c = layer * (g + gap), head * (g + gap)
            block = z[r : r + g, c : c + g]
            levels = (block - meta["offset"]) / meta["levels"] * top
            out[f"layer {layer} head {head}"] = np.where(block == meta["blank"], np.nan, levels)
    return out


TOL = 1 / 254 / 2 + 1e-6  # the model view's uint8 levels


def torch_weights(encoder: Encoder, x: np.ndarray) -> list[np.ndarray]:
    """Each layer's per-head weights (H, T, T) from nn.TransformerEncoder's own layers, on that layer's input."""
    reference = encoder.to_torch()
    h = torch.from_numpy(x).unsqueeze(0)
    out = []
    with torch.no_grad():
        for layer in reference.layers:
            _, w = layer.self_attn(h, h, h, need_weights=True, average_attn_weights=False)
            out.append(w[0].numpy())
            h = layer(h)
    return out


def errors(at) -> list[str]:
    """The error messages as the learner reads them (the page escapes markdown)."""
    return [e.value.replace("\\", "") for e in at.error]


def test_defaults_show_a_two_layer_model_view_of_the_sentence_with_torchs_weights(at):
    assert not at.exception and not errors(at)
    grid = panels(model_view(at))
    assert len(grid) == 2 * 4
    source = sentence_input(DEFAULT_SENTENCE, 32, 0)
    expected = torch_weights(Encoder(2, 32, 4, 128, seed=0), source.x)
    for layer in range(2):
        for head in range(4):
            np.testing.assert_allclose(grid[f"layer {layer} head {head}"], expected[layer][head], atol=TOL)
    (badge,) = at.success
    assert "Verified against PyTorch" in badge.value
    texts = " ".join(m.value for m in at.markdown)
    assert "Most focused: layer" in texts and "**1. Input**" not in texts  # the steps are drawn when opened
    assert len(figures(at)) == 3  # model view, entropy, distance: the closed sections draw nothing


def test_steps_open_on_request(at):
    at.session_state["encoder_open_steps"] = True
    at.run()
    assert not at.exception
    texts = [m.value for m in at.markdown]
    assert any(t.startswith("**1. Input** · `T × d_model = 11 × 32`") for t in texts)
    assert any("hidden activations are exactly 0" in t for t in texts)


def test_seed_000_preset_shows_its_10_by_3_model(at):
    at.sidebar.button(key="encoder_preset_seed000").click().run()
    assert not at.exception and not errors(at)
    grid = panels(model_view(at))
    assert len(grid) == 30
    values = synthetic_series(64, 9, seed=0).values
    model = TimeSeriesTransformer(9, 10, 3, 2048, seed=0)
    expected = torch_weights(model.encoder, series_input(values, "").x)
    top = model_view(at)["layout"]["meta"]["top"]
    np.testing.assert_allclose(grid["layer 9 head 2"], np.minimum(expected[9][2], top), atol=top * TOL)
    assert "Verified against PyTorch" in at.success[0].value
    at.session_state["encoder_open_steps"] = True
    at.run()
    assert any("T × d_ff = 64 × 2048" in m.value for m in at.markdown)


def test_seed_bug_tab_explains_with_numbers(at):
    at.sidebar.button(key="encoder_preset_seed000").click().run()
    at.session_state["encoder_layers"] = 2
    at.session_state["encoder_open_seed_bug"] = True
    at.run()
    assert not at.exception
    paragraph = [m.value for m in at.markdown if m.value.startswith("Seed 000 builds a batch")]
    assert len(paragraph) == 1 and "(32, 3, 16, 16)" in paragraph[0] and "(16, 288)" in paragraph[0]
    titles = [f["layout"].get("title", {}).get("text", "") for f in figures(at)]
    assert "samples attending to samples" in titles and "time steps attending to time steps" in titles


@pytest.mark.parametrize(
    ("source", "cells"),
    [("Worked example", 3), ("Random tokens", 50)],  # 100 tokens: blocks of 2 to stay within 64 cells
)
def test_other_sources(at, source, cells):
    at.sidebar.radio(key="encoder_source").set_value(source).run()
    if source == "Random tokens":
        at.sidebar.slider(key="encoder_num_tokens").set_value(100).run()
    assert not at.exception and not errors(at)
    fig = model_view(at)
    z = panels(fig)["layer 0 head 0"]
    assert z.shape == (cells, cells)
    if fig["layout"]["meta"]["top"] == 1:
        np.testing.assert_allclose(np.nansum(z, -1), 1, atol=z.shape[1] * TOL)
    assert "Verified against PyTorch" in at.success[0].value


def test_pasted_csv_runs_and_a_bad_cell_is_named_keeping_the_last_view(at):
    at.sidebar.radio(key="encoder_source").set_value("Time series").run()
    at.sidebar.radio(key="encoder_series_kind").set_value("Your CSV").run()
    rows = "\n".join(f"{i},{np.sin(i):.3f},{np.cos(i):.3f},{i % 5}" for i in range(20))
    at.sidebar.text_area(key="encoder_pasted_csv").set_value("t,sin,cos,mod\n" + rows).run()
    at.sidebar.selectbox(key="encoder_heads").set_value(2).run()
    assert not at.exception and not errors(at)
    good = panels(model_view(at))
    assert len(good) == 2 * 2 and good["layer 0 head 0"].shape == (20, 20)
    at.sidebar.text_area(key="encoder_pasted_csv").set_value("t,sin,cos,mod\n1,2,3,4\n5,x,7,8\n").run()
    assert not at.exception
    assert any("line 3, column 2 ('sin'): 'x' is not a number" in e for e in errors(at))
    kept = panels(model_view(at))  # the last good view is still drawn
    np.testing.assert_array_equal(kept["layer 0 head 0"], good["layer 0 head 0"])
    assert "Verified against PyTorch" in at.success[0].value


def test_heads_that_do_not_divide_d_model_are_refused(at):
    at.sidebar.radio(key="encoder_source").set_value("Time series").run()
    at.sidebar.radio(key="encoder_series_kind").set_value("Your CSV").run()
    at.sidebar.text_area(key="encoder_pasted_csv").set_value("\n".join(f"{i},{i * 2},{i % 3}" for i in range(8))).run()
    assert not at.exception
    assert any("d_model=3 is not divisible by num_heads=4" in e for e in errors(at))
    assert model_view(at)  # the default view is kept


def test_layers_and_heads_change_the_grid(at):
    at.sidebar.slider(key="encoder_layers").set_value(3).run()
    at.sidebar.selectbox(key="encoder_heads").set_value(8).run()
    assert not at.exception and not errors(at)
    assert len(panels(model_view(at))) == 3 * 8


def test_layers_out_of_range_are_named_and_clamped():
    """A value from outside the widget (an old session, another page) is named, clamped, and nothing breaks."""
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=TIMEOUT)
    at.session_state["encoder_layers"] = 13
    at.run()
    assert not at.exception
    assert any("Layers must be a whole number from 1 to 12, got 13" in e for e in errors(at))
    at.run()
    assert not errors(at) and len(panels(model_view(at))) == 12 * 4


def test_opened_head_at_full_size(at):
    at.session_state["encoder_open_layer"] = 1
    at.session_state["encoder_open_head"] = 2
    at.session_state["encoder_open_panel"] = True
    at.run()
    assert not at.exception
    fig = [f for f in figures(at) if f["layout"].get("title", {}).get("text", "").startswith("layer 1 head 2")]
    assert len(fig) == 1
    opened = array(fig[0]["data"][0]["z"])
    np.testing.assert_allclose(panels(model_view(at))["layer 1 head 2"], opened, atol=TOL)


def test_similarity_and_head_view_sections_open(at):
    at.session_state["encoder_open_similarity"] = True
    at.session_state["encoder_open_head_view"] = True
    at.run()
    assert not at.exception and not errors(at)
    trend = [
        f for f in figures(at) if f["layout"].get("title", {}).get("text", "").startswith("mean cosine similarity")
    ]
    assert len(trend) == 1
    source = sentence_input(DEFAULT_SENTENCE, 32, 0)
    encoder = Encoder(2, 32, 4, 128, seed=0).to_torch()
    h = torch.from_numpy(source.x).unsqueeze(0)
    means = []
    with torch.no_grad():
        for stage in range(3):
            unit = torch.nn.functional.normalize(h[0].double(), dim=-1)
            sim = unit @ unit.T
            means.append(float(sim[~torch.eye(len(sim), dtype=torch.bool)].mean()))
            if stage < 2:
                h = encoder.layers[stage](h)
    np.testing.assert_allclose(array(trend[0]["data"][0]["y"]), means, atol=1e-5)


def test_pre_norm_gelu_causal_and_padding(at):
    at.sidebar.radio(key="encoder_norm").set_value("Pre-norm (norm_first=True)").run()
    at.sidebar.radio(key="encoder_activation").set_value("gelu").run()
    at.sidebar.toggle(key="encoder_causal").set_value(True).run()
    at.sidebar.number_input(key="encoder_valid_len").set_value(8).run()
    at.session_state["encoder_open_steps"] = True
    at.run()
    assert not at.exception and not errors(at)
    assert "Verified against PyTorch" in at.success[0].value
    grid = panels(model_view(at))["layer 1 head 3"]
    assert np.isnan(grid[0, 1]) and np.isnan(grid[9, 8]) and not np.isnan(grid[9, 7])  # causal; keys 8+ padding
    steps = [m.value for m in at.markdown if m.value.startswith("**")]
    assert steps[1].startswith("**2. LayerNorm 1**") and steps[2].startswith("**3. Multi-head self-attention**")
    assert any("GELU" in m for m in steps)


# --- the page in Chinese: the states the default render does not show -----------------------------------------------


def open_zh() -> AppTest:
    """The page with ``?lang=zh``, not run yet (a later run must be inside ``i18n.use("zh")``)."""
    MISSING.clear()
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=TIMEOUT)
    at.query_params["lang"] = "zh"
    return at


def test_chinese_opened_head_sections_and_steps():
    at = open_zh().run()
    with i18n.use("zh"):  # a rerun formats the options in this thread: as the page drew them
        at.session_state["encoder_open_layer"] = 1
        at.session_state["encoder_open_head"] = 2
        at.session_state["encoder_open_panel"] = True
        for name in ("steps", "similarity", "head_view"):
            at.session_state[f"encoder_open_{name}"] = True
        at.run()
        assert_chinese(at)
        assert not at.error
        assert "第 1 层第 2 个头（完整尺寸）" in [e.label for e in at.expander]
        opened = figure(at, "第 1 层第 2 个头：注意力权重")
        np.testing.assert_allclose(panels(model_view(at))["layer 1 head 2"], array(opened["data"][0]["z"]), atol=TOL)
        steps = [m.value for m in at.markdown if m.value.startswith("**")]
        assert steps[0].startswith("**1. 输入** · `T × d_model = 11 × 32`")
        assert any(s.startswith("**4. 相加（残差连接）**") for s in steps)
        assert any(s.startswith("**5. 层归一化 1**") for s in steps)
        assert any("前馈网络" in s for s in steps)
        hover = model_view(at)["data"][1]
        assert hover["text"][0] == "第 0 层第 0 个头" and "点击展开" in hover["hovertemplate"]
        assert at.session_state["encoder_source"] == "Sentence"  # the option's code, not its label


def test_chinese_seed_000_model_and_its_batch_axis_bug():
    at = open_zh().run()
    with i18n.use("zh"):  # a rerun formats the options in this thread: as the page drew them
        at.sidebar.button(key="encoder_preset_seed000").click().run()
        at.session_state["encoder_layers"] = 2
        at.session_state["encoder_open_seed_bug"] = True
        at.session_state["encoder_open_steps"] = True
        at.run()
        assert_chinese(at)
        assert not at.error
        assert at.session_state["encoder_source"] == "Time series" and at.sidebar.radio(key="encoder_source").index == 3
        assert "时间序列" in at.sidebar.radio(key="encoder_source").options
        paragraph = [m.value for m in at.markdown if m.value.startswith("教程 000 构造了一个形状为 (16, 32, 9) 的批次")]
        assert len(paragraph) == 1 and "(32, 3, 16, 16)" in paragraph[0] and "(16, 288)" in paragraph[0]
        assert {"样本关注样本", "时间步关注时间步"} <= set(titles(at))
        assert any("T × d_ff = 64 × 2048" in m.value for m in at.markdown)


def test_chinese_pre_norm_gelu_with_masks():
    at = open_zh().run()
    with i18n.use("zh"):  # a rerun formats the options in this thread: as the page drew them
        at.sidebar.radio(key="encoder_norm").set_value("Pre-norm (norm_first=True)").run()
        at.sidebar.radio(key="encoder_activation").set_value("gelu").run()
        at.sidebar.toggle(key="encoder_causal").set_value(True).run()
        at.sidebar.number_input(key="encoder_valid_len").set_value(8).run()
        at.session_state["encoder_open_steps"] = True
        at.run()
        assert_chinese(at)
        assert not at.error
        steps = [m.value for m in at.markdown if m.value.startswith("**")]
        assert steps[1].startswith("**2. 层归一化 1**") and "前置归一化" in steps[2] and any("GELU" in s for s in steps)


@pytest.mark.parametrize(
    ("setup", "error"),
    [
        ("heads", "头数：d_model=3 不能被 num_heads=4 整除；请从 [1, 3] 中选择一个"),
        ("no_csv", "你的 CSV：还没有文件，请上传或粘贴一个，或者选择合成序列"),
        ("bad_cell", "第 3 行第 2 列（'sin'）：'x' 不是数字"),
        ("valid_len", "有效长度=40 必须在 1 到 T=11 之间"),
        ("layers", "层数：必须是 1 到 12 之间的整数，实际为 13；改用 12"),
    ],
)
def test_chinese_errors_name_the_problem(setup, error):
    at = open_zh()
    with i18n.use("zh"):  # a rerun formats the options in this thread: as the page drew them
        if setup == "layers":
            at.session_state["encoder_layers"] = 13
        at.run()
        if setup in ("heads", "no_csv", "bad_cell"):
            at.sidebar.radio(key="encoder_source").set_value("Time series").run()
            at.sidebar.radio(key="encoder_series_kind").set_value("Your CSV").run()
        if setup in ("heads", "bad_cell"):
            at.sidebar.text_area(key="encoder_pasted_csv").set_value(
                "\n".join(f"{i},{i * 2},{i % 3}" for i in range(8))
            )
            at.run()
        if setup == "bad_cell":
            at.sidebar.selectbox(key="encoder_heads").set_value(3).run()
            at.sidebar.text_area(key="encoder_pasted_csv").set_value("t,sin,cos\n1,2,3\n5,x,7\n").run()
        if setup == "valid_len":
            at.sidebar.number_input(key="encoder_valid_len").set_value(40).run()
        assert_chinese(at)
        assert any(e.startswith(error) and e.endswith("——显示的是上一次能算出的结果。") for e in errors(at)), errors(at)
        if setup != "layers":  # refused on the first run: there is no view to keep yet
            assert model_view(at)  # the last good view stays


def test_switching_language_rebuilds_the_sentences():
    """The cached view holds sentences: switching the language must not serve the other language's."""
    at = open_page(PAGE)
    at.session_state["encoder_open_steps"] = True
    at.run()
    english = [m.value for m in at.markdown if m.value.startswith("**1. ")]
    assert english and "The layer reads 11 rows" in english[0]
    MISSING.clear()
    at.radio(key="lang_switch").set_value("zh").run()
    chinese = [m.value for m in at.markdown if m.value.startswith("**1. ")]
    assert chinese and "这一层读入 11 行" in chinese[0]
    assert_chinese(at)
    at.radio(key="lang_switch").set_value("en").run()
    assert [m.value for m in at.markdown if m.value.startswith("**1. ")] == english
