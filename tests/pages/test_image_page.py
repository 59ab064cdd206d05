"""The Image-attention page under AppTest: image grid, overlays, probabilities, training from the page."""

from __future__ import annotations

import io
import time

import numpy as np
import torch
from streamlit.testing.v1 import AppTest

from attnviz import i18n
from attnviz.image import DEFAULT_WIDTHS, CNNWithAttention, calibrate_batchnorm, make_shapes
from attnviz.ui import image as image_ui
from tests.pages.conftest import ROOT, TIMEOUT, array, error_text, figures, markdown_text, open_page, step_headings
from tests.support.i18n import MISSING, assert_chinese, english_left

PAGE = "pages/9_Image_attention.py"


def _grid(at) -> dict:
    return next(f for f in figures(at) if f["layout"].get("title", {}).get("text") == "Click a cell")


def _overlay(at) -> dict:
    return next(f for f in figures(at) if any(t["type"] == "heatmap" for t in f["data"]))


def _query_box(fig: dict) -> tuple[float, float, float, float]:
    rect = next(s for s in fig["layout"]["shapes"] if s["type"] == "rect")
    return rect["x0"], rect["x1"], rect["y0"], rect["y1"]


def test_page_draws_image_overlays_and_prediction():
    at = open_page(PAGE)
    assert not at.exception and not at.error
    grid = _grid(at)
    assert len(array(grid["data"][1]["x"])) == 400  # one clickable marker per position
    assert _query_box(grid) == (54.5, 58.5, 54.5, 58.5)  # default query (10, 10): pixels 55 … 58
    overlay = _overlay(at)
    heatmaps = [t for t in overlay["data"] if t["type"] == "heatmap"]
    assert len(heatmaps) == 5  # 4 heads and their mean, untrained only
    titles = [a["text"] for a in overlay["layout"]["annotations"]]
    assert titles == [f"head {h}" for h in (1, 2, 3, 4)] + ["mean of heads"]
    assert overlay["layout"]["yaxis"]["title"]["text"] == "untrained"
    text = markdown_text(at)
    assert "The **untrained** model says" in text and "chance (uniform attention)" in text
    assert "25,600 inputs for every class" in text  # 400 × 64 for the default widths
    assert f"{400 * 256 * 6 + 6:,} in the classifier" in text  # the seed's nn.Linear(400*256, 6)
    table = at.table[0].value
    assert list(table["output size"]) == [
        "3 × 112 × 112", "8 × 110 × 110", "8 × 55 × 55", "16 × 53 × 53", "16 × 26 × 26", "32 × 24 × 24",
        "32 × 22 × 22", "64 × 20 × 20", "400 × 64", "400 × 64", "25600", "4",
    ]  # fmt: skip


def test_row_and_column_move_the_query_and_the_map_matches_torch():
    at = open_page(PAGE)
    before = array(_overlay(at)["data"][9]["z"]).reshape(56, 56)
    at.number_input(key="img_row").set_value(3)
    at.number_input(key="img_col").set_value(15).run()
    assert not at.exception
    assert _query_box(_grid(at)) == (74.5, 78.5, 26.5, 30.5)
    assert "Where position (row 3, col 15) looks" in step_headings(at)[1]
    mean_panel = array(_overlay(at)["data"][9]["z"]).reshape(56, 56)
    assert not np.allclose(mean_panel, before)
    # reference: torch's own nn.MultiheadAttention on the same conv features, query token 3·20 + 15
    model = calibrate_batchnorm(CNNWithAttention(4, widths=DEFAULT_WIDTHS, seed=0), make_shapes(64, seed=2025).images)
    image = make_shapes(48, seed=2024).images[0:1]
    with torch.no_grad():
        fmap = model.conv_layers(image)
        seq = fmap.permute(0, 2, 3, 1).reshape(1, 400, -1)
        _, weights = model.attention.to_torch()(seq, seq, seq, average_attn_weights=True)
    row = weights[0, 3 * 20 + 15].reshape(20, 20).numpy()
    r, c = np.unravel_index(np.argmax(row), row.shape)
    # 2-pixel block 2r + 8 is centred on pixel 4r + 16.5, position r's window centre: it holds that position's weight
    for rr, cc in [(r, c), (0, 0), (19, 19), (7, 11)]:
        np.testing.assert_allclose(mean_panel[2 * rr + 8, 2 * cc + 8], row[rr, cc], rtol=1e-4)


def test_received_map_and_own_image_without_a_file():
    at = open_page(PAGE)
    at.radio(key="img_map").set_value("received").run()
    assert "Which positions receive attention" in step_headings(at)[1]
    at.radio(key="img_source").set_value("generated")
    at.radio(key="img_source").set_value("upload").run()
    assert not at.exception
    assert any("Upload a PNG or JPEG" in i.value for i in at.info)
    assert _grid(at)  # a generated image stays on screen until a file comes


def test_training_from_the_page_adds_the_trained_model(monkeypatch):
    monkeypatch.setattr(image_ui, "TRAIN_IMAGES", 16)
    monkeypatch.setattr(image_ui, "TEST_IMAGES", 8)
    at = open_page(PAGE)
    at.slider(key="img_epochs").set_value(1).run()
    at.button(key="img_train_start").click().run()
    assert not at.exception
    deadline = time.monotonic() + 60
    while st_job(at) is not None and not st_job(at).status().finished and time.monotonic() < deadline:
        time.sleep(0.5)
    assert st_job(at).status().state == "done"
    at.run()
    at.run()
    assert not at.exception
    layout = _overlay(at)["layout"]
    assert layout["yaxis6"]["title"]["text"] == "trained (2 steps)"  # the second row's first panel
    assert len([t for t in _overlay(at)["data"] if t["type"] == "heatmap"]) == 10
    probabilities = next(f for f in figures(at) if f["layout"]["title"]["text"] == "Predicted class")
    assert [t["name"] for t in probabilities["data"]] == ["untrained", "trained (2 steps)"]


def st_job(at):
    return at.session_state["img_job"] if "img_job" in at.session_state else None  # noqa: SIM401 (no .get)


# ------------------------------------------------------------------------------------------------ in Chinese


def open_in(lang: str) -> AppTest:
    MISSING.clear()
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=TIMEOUT)
    at.query_params["lang"] = lang
    return at.run()


def test_in_chinese_a_clicked_patch_its_maps_and_the_received_map():
    at = open_in("zh")
    assert not at.exception and not at.error
    assert at.title[0].value == "图像上的注意力"
    at.session_state["img_fig_grid"] = {"selection": {"x": 70.0, "y": 30.0, "z": None, "curve": 1, "point": None}}
    with i18n.use("zh"):
        at.run()
    assert not at.exception
    assert (at.session_state.img_row, at.session_state.img_col) == (3, 13)  # pixel (70, 30): cell (3, 13)
    assert step_headings(at)[1] == "2. 位置（第 3 行，第 13 列）关注哪里"
    grid = next(f for f in figures(at) if f["layout"].get("title", {}).get("text") == "点击一个格子")
    assert grid["data"][1]["hovertemplate"].startswith("位置（第 %{customdata[0]} 行，第 %{customdata[1]} 列）")
    overlay = _overlay(at)
    assert [a["text"] for a in overlay["layout"]["annotations"]] == ["头 1", "头 2", "头 3", "头 4", "各头平均"]
    assert overlay["layout"]["yaxis"]["title"]["text"] == "未训练"
    assert "权重 %{z:.4f}" in overlay["data"][1]["hovertemplate"]
    probabilities = next(f for f in figures(at) if f["layout"]["title"]["text"] == "预测类别")
    assert probabilities["data"][0]["y"] == ["圆形", "正方形", "三角形", "十字"]
    text = markdown_text(at)
    assert "**未训练**的模型判断为**" in text and "生成的图像 0，一个**" in text
    assert "均匀注意力会给每个格子 0.0025。" in text
    assert english_left(at) == [], english_left(at)
    with i18n.use("zh"):
        at.radio(key="img_map").set_value("received").run()
    assert step_headings(at)[1] == "2. 哪些位置收到注意力"
    assert_chinese(at)
    zh_address = dict(at.query_params)
    at.radio(key="lang_switch").set_value("en").run()  # the choice and the address stay, in words of the other language
    assert (at.session_state.img_map, at.session_state.img_row, at.session_state.img_col) == ("received", 3, 13)
    assert step_headings(at)[1] == "2. Which positions receive attention"
    assert dict(at.query_params) == {name: value for name, value in zh_address.items() if name != "lang"}
    assert "img_map" in zh_address and "lang" in zh_address


def _gif() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="GIF")
    return buffer.getvalue()


def test_in_chinese_an_upload_error_and_an_uploaded_image():
    from PIL import Image

    at = open_in("zh")
    with i18n.use("zh"):
        at.radio(key="img_source").set_value("upload").run()
    assert any(i.value.startswith("请在侧边栏上传一张 PNG 或 JPEG 图像（最大 1 MB）") for i in at.info)
    at.file_uploader(key="img_upload").upload("猫.png", _gif(), "image/png")
    with i18n.use("zh"):
        at.run()
    assert not at.exception
    assert len(at.error) == 1 and error_text(at).startswith("猫.png 是 GIF 图像；只接受 PNG 和 JPEG")
    assert english_left(at) == [], english_left(at)
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (0, 90, 200)).save(buffer, format="PNG")
    at.file_uploader(key="img_upload").upload("猫.png", buffer.getvalue(), "image/png")
    with i18n.use("zh"):
        at.run()
    assert not at.exception and not at.error
    assert "你的图像 `猫.png`。" in markdown_text(at)
    assert_chinese(at)


def test_in_chinese_training_its_progress_curves_and_the_trained_model(monkeypatch):
    monkeypatch.setattr(image_ui, "TRAIN_IMAGES", 16)
    monkeypatch.setattr(image_ui, "TEST_IMAGES", 8)
    at = open_in("zh")
    assert at.caption and "本次会话还没有训练过模型。" in [c.value for c in at.caption]
    with i18n.use("zh"):
        at.slider(key="img_epochs").set_value(1).run()
        at.button(key="img_train_start").click().run()
    deadline = time.monotonic() + 60
    while not st_job(at).status().finished and time.monotonic() < deadline:
        time.sleep(0.5)
    with i18n.use("zh"):
        at.run()
        at.run()
    assert not at.exception and st_job(at).status().state == "done"
    assert _overlay(at)["layout"]["yaxis6"]["title"]["text"] == "已训练（2 步）"
    curves = next(f for f in figures(at) if f["layout"]["xaxis"].get("title", {}).get("text") == "步")
    assert [a["text"] for a in curves["layout"]["annotations"]] == ["训练损失（交叉熵）", "留出集准确率"]
    progress = at.get("progress")[0].proto.text
    assert progress.startswith("2 步后完成：留出集准确率 ")
    assert "**已训练（2 步）**的模型判断为" in markdown_text(at)
    assert_chinese(at)
