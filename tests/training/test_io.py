"""Save → load gives identical outputs; malformed, oversized and mismatched files are rejected with a clear message."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from attnviz.training.io import MAX_FILE_BYTES, load_run, run_from_bytes, run_to_bytes, save_run
from attnviz.training.train import train


@pytest.fixture(scope="module")
def run():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield train(steps=20, snapshot_every=10, seed=2)
    torch.set_num_threads(threads)


def test_save_load_identical_outputs(run, tmp_path):
    weights_path, meta_path = save_run(run, tmp_path / "reverse")
    assert weights_path.name == "reverse.safetensors" and meta_path.name == "reverse.json"
    loaded = load_run(tmp_path / "reverse")
    inputs = torch.randint(0, 10, (32, 8), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a_logits, a_weights = run.model.run(inputs)
        b_logits, b_weights = loaded.model.run(inputs)
    assert torch.equal(a_logits, b_logits) and torch.equal(a_weights, b_weights)
    assert loaded.config == run.config and loaded.losses == run.losses and loaded.accuracies == run.accuracies
    assert loaded.eval_steps == run.eval_steps and torch.equal(loaded.probe, run.probe)
    assert [s.step for s in loaded.snapshots] == [s.step for s in run.snapshots]
    assert all(torch.equal(a.weights, b.weights) for a, b in zip(loaded.snapshots, run.snapshots, strict=True))


def test_the_json_is_plain_and_the_weights_are_safetensors(run):
    weights, meta = run_to_bytes(run)
    assert json.loads(meta)["config"]["task"] == "reverse"
    tensors = load_safetensors(weights)
    assert tensors["snapshots"].shape == (3, 2, 2, 8, 8) and tensors["probe"].dtype == torch.int64


def _meta(run, **changes):
    meta = json.loads(run_to_bytes(run)[1])
    for key, value in changes.items():
        if key.startswith("config_"):
            meta["config"][key.removeprefix("config_")] = value
        else:
            meta[key] = value
    return json.dumps(meta).encode()


def _tensors(run, change):
    tensors = load_safetensors(run_to_bytes(run)[0])
    change(tensors)
    return save_safetensors(tensors)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (lambda r: (b"not a safetensors file", run_to_bytes(r)[1]), "not a valid safetensors file"),
        (lambda r: (run_to_bytes(r)[0], b"{oops"), "not valid JSON"),
        (lambda r: (run_to_bytes(r)[0], b"\xff\xfe"), "not valid JSON"),
        (lambda r: (run_to_bytes(r)[0], b'{"format": "other"}'), "is not a saved training run"),
        (lambda r: (run_to_bytes(r)[0], _meta(r, version=7)), "version 7 is not supported"),
        (lambda r: (b"\0" * (MAX_FILE_BYTES + 1), run_to_bytes(r)[1]), "weights file is 5.2 MB; the limit is 5 MB"),
        (lambda r: (run_to_bytes(r)[0], b" " * (MAX_FILE_BYTES + 1)), "run JSON is 5.2 MB"),
        (
            lambda r: (run_to_bytes(r)[0], _meta(r, config_d_model=64)),
            "embedding is \\(10, 32\\) torch.float32, expected \\(10, 64\\)",
        ),
        (lambda r: (run_to_bytes(r)[0], _meta(r, config_num_layers=3)), "missing \\['layers.2"),
        (lambda r: (run_to_bytes(r)[0], _meta(r, config_seq_len=50)), "seq_len=50 is outside"),
        (lambda r: (run_to_bytes(r)[0], _meta(r, config_task="copy")), "task='copy'"),
        (lambda r: (run_to_bytes(r)[0], _meta(r, config_extra=1)), "unknown \\['extra'\\]"),
        (lambda r: (run_to_bytes(r)[0], _meta(r, losses=["x"])), "'losses' must be a list of numbers"),
        (lambda r: (run_to_bytes(r)[0], _meta(r, accuracies=[0.5])), "1 accuracies but 3 eval_steps"),
        (lambda r: (run_to_bytes(r)[0], _meta(r, snapshot_steps=[0, 10])), "snapshots is \\(3, 2, 2, 8, 8\\)"),
        (
            lambda r: (_tensors(r, lambda t: t.update(extra=torch.zeros(2))), run_to_bytes(r)[1]),
            "unexpected \\['extra'\\]",
        ),
        (
            lambda r: (_tensors(r, lambda t: t.update(embedding=t["embedding"].double())), run_to_bytes(r)[1]),
            "embedding is \\(10, 32\\) torch.float64",
        ),
        (
            lambda r: (_tensors(r, lambda t: t["embedding"].__setitem__((0, 0), float("nan"))), run_to_bytes(r)[1]),
            "embedding holds a value that is not finite",
        ),
        (
            lambda r: (_tensors(r, lambda t: t["probe"].__setitem__(0, 99)), run_to_bytes(r)[1]),
            "probe has a token outside the vocabulary 0–9",
        ),
    ],
)
def test_bad_files_are_rejected_with_a_clear_message(run, files, message):
    weights, meta = files(run)
    with pytest.raises(ValueError, match=message):
        run_from_bytes(weights, meta)


def test_load_run_names_a_missing_or_oversized_file(run, tmp_path):
    with pytest.raises(ValueError, match=r"nothing\.safetensors does not exist"):
        load_run(tmp_path / "nothing")
    save_run(run, tmp_path / "big")
    (tmp_path / "big.json").write_bytes(b" " * (MAX_FILE_BYTES + 10))
    with pytest.raises(ValueError, match=r"big\.json is 5\.2 MB; the limit is 5 MB"):
        load_run(tmp_path / "big")
