"""The Train page's "Share, export, import" panel: its downloads, its JSON state, an upload restoring the settings
(a bad one changing nothing) and "copy as code" run alone, its printed numbers those of the page's own run."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import streamlit as st
import torch

from attnviz import sharing
from attnviz.training.train import TrainConfig, train_config
from attnviz.ui import train
from tests.pages.conftest import error_text, figure, open_page, train_run

PAGE = "pages/8_Train.py"


def _labels(at) -> set[str]:
    return {b.proto.label.strip("`") for b in at.get("download_button")}  # file names are shown as code


def _panels(fig: dict) -> np.ndarray:
    from tests.pages.conftest import array

    return np.stack([array(t["z"]).reshape(len(t["y"]), len(t["x"])) for t in fig["data"]])


def _run_code(at, tmp_path) -> dict[str, np.ndarray | str]:
    """Show the code, run it alone (no attnviz on the path); each printed name -> its numbers (and the raw text)."""
    at.toggle(key="share_train_show_code").set_value(True).run()
    code = [c.value for c in at.code if c.language == "python"]
    assert len(code) == 1 and "attnviz" not in code[0]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-I", "-c", code[0]], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    blocks = re.split(r"^(\w+) = ", done.stdout, flags=re.M)
    printed: dict = {"__text__": done.stdout}
    for name, body in zip(blocks[1::2], blocks[2::2], strict=True):
        printed[name] = np.array([float(v) for v in re.findall(r"[-+]?\d+(?:\.\d*)?(?:e[-+]?\d+)?", body)])
    return printed


def test_before_training_the_panel_exports_the_untrained_maps():
    at = open_page(PAGE, share=True)
    assert not at.exception
    assert {"State (JSON)", "weights_layer1_head1.csv", "weights_layer2_head2.csv"} <= _labels(at)
    assert "losses.csv" not in _labels(at)  # nothing trained yet
    at.toggle(key="share_train_show_code").set_value(True).run()
    code = next(c.value for c in at.code if c.language == "python")
    assert "steps, lr, seed, batch_size, eval_size = 400, 0.003, 0, 64, 512" in code  # what Train would run


@pytest.mark.parametrize("edited", [False, True])
def test_the_code_prints_the_pages_own_run(edited, tmp_path):
    """The page trains in its worker process; the script, run alone, must end with the same final loss and
    accuracy to the last bit (both train on one CPU thread with the same operations in the same order) and draw
    the attention the page shows on its example (printed at 7 significant digits)."""
    at = open_page(PAGE, share=True)
    if edited:
        at.sidebar.selectbox(key="train_task").set_value("follow").run()
        at.sidebar.number_input(key="train_seq_len").set_value(6).run()
        at.sidebar.selectbox(key="train_d_model").set_value(16).run()
        at.sidebar.selectbox(key="train_heads").set_value(4).run()
        at.sidebar.number_input(key="train_layers").set_value(1).run()
        at.sidebar.selectbox(key="train_lr").set_value(1e-2).run()
        at.sidebar.number_input(key="train_seed").set_value(3).run()
    at = train_run(at, 60 if edited else 400)
    assert not at.exception
    run = at.session_state["train_run"]
    if edited:
        at.text_input(key="train_probe").set_value("4 1 4 0 1 4").run()
        shown = _panels(figure(at, "Attention on your input"))
        assert shown.shape == (4, 6, 6)
    else:
        shown = _panels(figure(at, "Attention on your input"))
    assert {"losses.csv", "accuracies.csv", "weights_layer1_head1.csv"} <= _labels(at)
    printed = _run_code(at, tmp_path)
    assert f"loss = {run.losses[-1]!r}\n" in printed["__text__"]
    assert f"accuracy = {run.final_accuracy!r}\n" in printed["__text__"]
    np.testing.assert_allclose(printed["weights"], shown.ravel(), rtol=0, atol=5e-7)


@pytest.fixture
def session():
    """A bare session state with the page's defaults (outside a script run, as a notebook would)."""
    st.session_state.clear()
    st.session_state.update(train.DEFAULTS)
    yield st.session_state
    st.session_state.clear()


def test_the_json_state_holds_settings_curves_and_maps_named_as_the_trace(session):
    torch.set_num_threads(1)
    run = train_config(TrainConfig(task="shift", d_model=16, num_heads=2, steps=30, snapshot_every=10).resolved())
    session["train_probe"] = "9 8 7 6 5 4 3 2"
    state = train.shared_state(run.config, run)
    text = sharing.export_json(train.SHARE, dict(session), {}, {**state["computed"], **state["json_only"]})
    doc = json.loads(text)
    assert doc["settings"]["train_task"] == "reverse"  # the sidebar's, as the address holds them
    computed = doc["computed"]
    assert set(computed) == {"weights", "losses", "accuracies", "tokens"}
    assert computed["weights"]["shape"] == [2, 2, 8, 8]  # (L, H, T, T), as TinyTransformer.run returns them
    weights = np.array(computed["weights"]["values"], dtype=np.float32).reshape(2, 2, 8, 8)
    example = torch.arange(9, 1, -1)
    np.testing.assert_array_equal(weights, run.predict(example.unsqueeze(0))[1][0].numpy())  # exact float32
    assert computed["tokens"]["values"] == [[9, 8, 7, 6, 5, 4, 3, 2]]
    assert [v for (v,) in computed["losses"]["values"]] == run.losses
    assert computed["losses"]["rows"] == [str(i) for i in range(1, 31)]
    assert computed["accuracies"]["rows"] == ["0", "10", "20", "30"]
    assert [v for (v,) in computed["accuracies"]["values"]] == run.accuracies
    csv = sharing.matrix_csv(*state["computed"]["losses"])
    assert csv.splitlines()[:2] == [",loss", f"1,{run.losses[0]!r}"]
    assert state["slices"]["weights"] == ["layer1_head1", "layer1_head2", "layer2_head1", "layer2_head2"]


def test_the_largest_models_json_uploads_back(session):
    """4 layers × 8 heads on 32 tokens and 5,000 losses: the export stays under the upload cap."""
    torch.set_num_threads(1)
    config = TrainConfig(seq_len=32, vocab=64, d_model=128, num_heads=8, num_layers=4, steps=2, eval_size=8)
    run = train_config(config.resolved())
    run.losses = [float(v) for v in torch.rand(5000, generator=torch.Generator().manual_seed(0))]
    state = train.shared_state(run.config, run)
    text = sharing.export_json(train.SHARE, dict(session), {}, {**state["computed"], **state["json_only"]})
    assert len(text.encode()) < sharing.MAX_FILE_BYTES
    assert sharing.import_json(train.SHARE, text).problems == []


def _state_json(settings: dict) -> bytes:
    return sharing.export_json(train.SHARE, settings, {}, {}).encode()


def test_a_json_upload_restores_the_settings():
    at = open_page(PAGE, share=True)
    settings = {**train.DEFAULTS, "train_task": "shift", "train_seq_len": 12, "train_heads": 4, "train_seed": 7}
    at.file_uploader(key="share_train_upload").upload("attnviz_train.json", _state_json(settings)).run()
    assert not at.exception
    assert "was loaded: 9 settings" in re.sub(r"\\(.)", r"\1", "\n".join(s.value for s in at.success))
    assert all(at.session_state[k] == v for k, v in settings.items())
    assert at.query_params["train_task"] == "shift" and at.query_params["train_seed"] == "7"
    assert figure(at, "Attention on the probe before training")["data"][0]["x"][11].startswith("11 ")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"train_task": "it", "train_seq_len": 8}, "setting `train_seq_len`: 8 is outside 11 … 11 for the task"),
        ({"train_steps": 9000}, "setting `train_steps`: 9000 is outside 1 … 5000 for the task “Reverse”"),
        ({"train_d_model": 48}, "setting `train_d_model`: 48 is not one of 8, 16, 32, 64, 128"),
        ({"train_lr": "fast"}, "setting `train_lr`: `fast` is not a number"),
    ],
)
def test_a_bad_json_upload_changes_nothing(change, message):
    at = open_page(PAGE, share=True)
    at.sidebar.number_input(key="train_seed").set_value(4).run()
    before = {f.key: at.session_state[f.key] for f in train.SHARE.fields}
    at.file_uploader(key="share_train_upload").upload("bad.json", _state_json({**before, **change})).run()
    assert not at.exception
    assert f"{message}" in error_text(at) and "nothing was changed" in error_text(at)
    assert not at.success
    assert {f.key: at.session_state[f.key] for f in train.SHARE.fields} == before
    assert at.query_params == {"train_seed": "4"}
