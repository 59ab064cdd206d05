"""The Train page: start, live view, stop keeping what was learned, replay, the editable probe, bad input."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.pages.conftest import (
    ROOT,
    TIMEOUT,
    array,
    error_text,
    figure,
    finish_training,
    markdown_text,
    open_page,
    share_open,
    step_headings,
    titles,
    train_run,
)
from tests.support.i18n import MISSING, english_left

PAGE = "pages/8_Train.py"


def _warnings(at) -> str:
    """Every st.warning, markdown escapes taken out."""
    return re.sub(r"\\(.)", r"\1", "\n".join(w.value for w in at.warning))


def _job(at):
    job = at.session_state["train_job"]
    assert job is not None
    return job


def _anti_diagonal(panel: np.ndarray) -> float:
    t = panel.shape[0]
    return float(np.mean([panel[i, t - 1 - i] for i in range(t)]))


def _panels(fig: dict) -> list[np.ndarray]:
    return [array(trace["z"]).reshape(len(trace["y"]), len(trace["x"])) for trace in fig["data"]]


def test_opens_with_the_default_task_and_what_to_look_for():
    at = open_page(PAGE)
    assert not at.exception
    assert "anti-diagonal" in markdown_text(at)
    assert at.session_state["train_task"] == "reverse" and at.session_state["train_steps"] == 400
    assert not at.button(key="train_act_start").disabled and at.button(key="train_act_stop").disabled
    # Before training: the seeded, untrained model's attention on the probe, computed here independently.
    from attnviz.training.tasks import get_task
    from attnviz.training.train import TrainConfig

    config = TrainConfig(seq_len=8, vocab=10, d_model=32, num_heads=2, num_layers=2, steps=400, seed=0)
    model = config.build_model()
    _, weights = model.run(get_task("reverse").probe(8, 10).unsqueeze(0))
    panels = _panels(figure(at, "Attention on the probe before training"))
    expected = weights[0].detach().reshape(4, 8, 8).numpy()
    np.testing.assert_allclose(np.stack(panels), expected, atol=1e-6)


def test_train_shows_live_progress_then_the_trained_run_and_replay():
    at = open_page(PAGE)
    at.button(key="train_act_start").click().run()
    assert not at.exception
    assert at.button(key="train_act_stop").disabled is False
    assert "Training" in [h.split(". ", 1)[-1] for h in step_headings(at)]
    at = finish_training(at)
    assert not at.exception
    text = markdown_text(at)
    assert "400 steps" in text
    accuracy = at.session_state["train_run"].final_accuracy
    assert accuracy >= 0.95 and f"{accuracy:.1%}" in text
    # Replay: the last snapshot shows the anti-diagonal in some head, the first does not.
    last = _panels(figure(at, "Attention on the probe after step 400"))
    assert max(_anti_diagonal(p) for p in last) >= 0.5
    at.select_slider(key="train_replay").set_value(0).run()
    first = _panels(figure(at, "Attention on the probe after step 0"))
    assert max(_anti_diagonal(p) for p in first) < 0.5
    assert len(first) == 4  # 2 layers × 2 heads
    assert any(t.startswith("Entropy of each head") for t in titles(at))


def test_stop_keeps_what_was_learned():
    at = open_page(PAGE)
    at.number_input(key="train_steps").set_value(5000).run()
    at.button(key="train_act_start").click().run()
    job = _job(at)
    deadline = time.monotonic() + 120
    while job.progress().step < 30:  # progress() also tells the runner the tab is still open
        assert time.monotonic() < deadline
        time.sleep(0.2)
    at.button(key="train_act_stop").click().run()
    at = finish_training(at)
    assert not at.exception
    run = at.session_state["train_run"]
    assert 30 <= run.steps_done < 5000
    assert "ended early (stopped with the Stop button); what it learned is kept below" in _warnings(at)
    assert f"stopped after {run.steps_done} of 5000 steps" in markdown_text(at)
    assert figure(at, f"Attention on the probe after step {run.steps_done}")


def test_pressing_train_twice_says_so():
    at = open_page(PAGE)
    at.number_input(key="train_steps").set_value(5000).run()
    at.button(key="train_act_start").click().run()
    first = _job(at)
    at.button(key="train_act_start").click().run()  # a second press while it trains
    assert _job(at) is first
    assert "A training is already running: press Stop first" in _warnings(at)
    at.button(key="train_act_stop").click().run()
    finish_training(at)


@pytest.fixture(scope="module")
def trained():
    at = open_page(PAGE)
    at.number_input(key="train_steps").set_value(60).run()
    at.button(key="train_act_start").click().run()
    return finish_training(at)


def test_probe_edit_scores_each_position(trained):
    at = trained
    at.text_input(key="train_probe").set_value("0 1 2 3 4 5 6 7").run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert list(table["input"]) == [str(i) for i in range(8)]
    assert list(table["right answer"]) == [str(i) for i in range(7, -1, -1)]
    marks = ["✓" if a == b else "✗" for a, b in zip(table["model says"], table["right answer"], strict=True)]
    assert list(table["right?"]) == marks
    assert f"gets **{marks.count('✓')} of 8**" in markdown_text(at)
    assert figure(at, "Attention on your input")


@pytest.mark.parametrize(
    ("text", "message"),
    [("1 2 3", "Type exactly 8 numbers"), ("1 2 3 4 5 6 7 12", "not: 12"), ("a b c d e f g h", "not: a, b")],
)
def test_bad_probe_is_named_and_the_rest_stays(trained, text, message):
    at = trained
    at.text_input(key="train_probe").set_value(text).run()
    assert not at.exception
    assert message in error_text(at)
    assert figure(at, "Attention on the probe after step")  # the replay is still there


def test_it_task_fixes_its_sizes_and_names_unknown_words():
    at = open_page(PAGE)
    at.selectbox(key="train_task").set_value("it").run()
    assert at.number_input(key="train_seq_len").disabled and at.session_state["train_seq_len"] == 11
    assert "“it”" in markdown_text(at)
    at.number_input(key="train_steps").set_value(20).run()
    at.button(key="train_act_start").click().run()
    at = finish_training(at)
    at.text_input(key="train_probe").set_value("the zebra didn't cross the street because it was too tired").run()
    assert not at.exception
    assert "“zebra”" in _warnings(at)
    at.text_input(key="train_probe").set_value("the animal was tired").run()
    assert "exactly 11 words; this one has 4" in error_text(at)


def test_a_full_server_queues_the_training_and_says_so():
    from attnviz.training.jobs import shared_runner
    from attnviz.training.train import TrainConfig

    runner = shared_runner()
    others = [runner.submit(TrainConfig(steps=5000)) for _ in range(runner.max_running)]  # other learners
    try:
        at = open_page(PAGE)
        at.button(key="train_act_start").click().run()
        job = _job(at)
        assert job.progress().state == "queued"
        assert any("Waiting for a free slot (1 in line)" in p.text for p in at.get("progress"))
        at.button(key="train_act_stop").click().run()
        assert job.wait(10) and job.progress().state == "stopped"
        at.run()
        assert "cancelled before it started (stopped with the Stop button): nothing was trained" in _warnings(at)
        assert not at.exception
    finally:
        for job in others:
            job.cancel()
        for job in others:
            job.wait(60)


def test_load_files_takes_the_two_files_in_any_order_and_names_bad_ones():
    import torch as _torch

    from attnviz.training.io import run_to_bytes
    from attnviz.training.train import train
    from attnviz.ui.train import load_files

    run = train(steps=5, snapshot_every=5)
    weights, meta = run_to_bytes(run)
    loaded = load_files([("b.json", meta), ("a.safetensors", weights)])
    x = _torch.randint(0, 10, (3, 8))
    assert _torch.equal(loaded.model(x), run.model(x))
    with pytest.raises(ValueError, match="exactly two files"):
        load_files([("a.safetensors", weights)])
    with pytest.raises(ValueError, match="exactly two files"):
        load_files([("a.safetensors", weights), ("b.safetensors", weights)])
    with pytest.raises(ValueError, match="not a valid safetensors file"):
        load_files([("a.safetensors", b"garbage"), ("b.json", meta)])
    with pytest.raises(ValueError, match=r"big\.json is 6\.0 MB; the limit is 5 MB"):
        load_files([("a.safetensors", weights), ("big.json", b" " * 6_000_000)])


# -- in Chinese (the default page is checked by tests/pages/test_i18n_pages.py) --------------------------------------


def test_a_trained_run_and_upload_errors_in_chinese():
    from attnviz import i18n

    MISSING.clear()
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=TIMEOUT)
    at.query_params["lang"] = "zh"
    for key, value in share_open().items():  # its share panel (built only while open) takes an upload below
        at.session_state[key] = value
    at.run()
    with i18n.use("zh"):  # the selectbox's translated options, as the test reads them
        at.sidebar.selectbox(key="train_task").set_value("it").run()
        assert "“it”指的是什么？" in markdown_text(at) and english_left(at) == []
        at.sidebar.selectbox(key="train_task").set_value("reverse").run()
        at = train_run(at, 20)
        assert not at.exception
        text = markdown_text(at)
        assert "反转序列：20 步，用时" in text and "模型：2 层 × 每层 2 个头" in text
        names = [trace["name"] for trace in figure(at, "第 20 步之后探针输入上的注意力")["data"]]
        assert names == ["第 1 层 · 头 1", "第 1 层 · 头 2", "第 2 层 · 头 1", "第 2 层 · 头 2"]
        assert figure(at, "训练损失与留出集准确率")["layout"]["yaxis"]["title"]["text"] == "损失"
        at.text_input(key="train_probe").set_value("1 2 3").run()
        assert "请恰好输入 8 个数字（模型的序列长度），用空格分隔；现在是 3 个。" in error_text(at)
        assert english_left(at) == [], english_left(at)
        # A saved run that does not load (io.py's error), then a state JSON the task does not allow (the panel's).
        at.file_uploader(key="train_act_upload").upload("a.safetensors", b"\0" * 16).upload("b.json", b'{"format": 1}')
        at.run()
        assert (
            "无法加载这次训练：这个 JSON 不是保存的训练（它的 `format` 必须是 `attnviz-training-run`）"
            in error_text(at)
        )
        from attnviz import sharing
        from attnviz.ui import train as page

        bad = {**{f.key: at.session_state[f.key] for f in page.SHARE.fields}, "train_steps": 9000}
        at.file_uploader(key="share_train_upload").upload(
            "bad.json", sharing.export_json(page.SHARE, bad, {}, {}).encode()
        )
        at.run()
        assert "设置 `train_steps`：对任务“反转序列”来说，9000 超出了 1 … 5000 的范围" in error_text(at)
        assert at.session_state["train_steps"] == 20
        assert english_left(at) == [], english_left(at)
    assert not MISSING, sorted(MISSING)


def test_progress_and_stop_reasons_in_chinese():
    from attnviz import i18n
    from attnviz.training.jobs import JobRunner, Progress, shown_message
    from attnviz.ui.train import STOP_BUTTON, _progress_text

    runner = JobRunner(max_running=2, heartbeat_timeout=None, mode="thread")
    try:
        common = {"losses": (), "accuracies": (), "eval_steps": (), "snapshot": None, "message": ""}
        queued = Progress(state="queued", step=0, steps=400, elapsed=0.0, queue_position=3, **common)
        running = Progress(state="running", step=100, steps=400, elapsed=2.0, queue_position=0, **common)
        with i18n.use("zh"):
            assert _progress_text(queued, runner) == "正在等待空闲名额（排在第 3 位）：本服务器最多同时训练 2 个模型。"
            assert _progress_text(running, runner) == "第 100 步，共 400 步 · 每秒 50 步，大约还剩 6 秒"
            assert shown_message("time cap of 120 s reached") == "达到了 120 秒的时间上限"
            assert shown_message(STOP_BUTTON, (STOP_BUTTON,)) == "按“停止”按钮停止"
            assert shown_message("the training process exited with code -9") == "训练进程以退出码 -9 结束"
            assert shown_message("KeyError: 'x'") == "KeyError: 'x'"  # an exception's own text stays
        assert shown_message("time cap of 120 s reached") == "time cap of 120 s reached"
    finally:
        runner.shutdown()
