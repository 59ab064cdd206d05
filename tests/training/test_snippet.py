"""The Train page's "copy as code": the torch-only script trains the same model on the same batches as
attnviz.training does and ends with the same loss, accuracy and attention weights, bit for bit (one CPU thread)."""

from __future__ import annotations

import contextlib
import io

import pytest
import torch

from attnviz import snippets
from attnviz.training.tasks import TASKS
from attnviz.training.train import TrainConfig, train_config

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def run(code: str) -> dict:
    """Execute the script with nothing but builtins (no attnviz); return its variables and what it printed."""
    assert "attnviz" not in code
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(compile(code, "<snippet>", "exec"), namespace)  # our own generated code
    namespace["__printed__"] = out.getvalue()
    return namespace


@pytest.mark.parametrize("task", list(TASKS))
def test_the_script_trains_exactly_as_attnviz_does(task):
    config = TrainConfig(task=task, d_model=16, num_heads=4, num_layers=2, steps=12, lr=1e-2, seed=5).resolved()
    reference = train_config(config)
    ns = run(snippets.train_snippet(config, reference.probe.tolist()))
    _, weights = reference.predict(reference.probe.unsqueeze(0))
    assert ns["loss"].item() == reference.losses[-1]
    assert ns["accuracy"].item() == reference.final_accuracy
    assert torch.equal(ns["weights"], weights[0])
    assert f"loss = {reference.losses[-1]!r}\n" in ns["__printed__"]


def test_a_stopped_run_is_retrained_for_its_steps_and_any_example_is_shown():
    config = TrainConfig(task="sort", seq_len=6, vocab=7, d_model=8, num_heads=2, num_layers=3, steps=50, seed=2)
    reference = train_config(config.resolved(), callback=lambda update: update.step == 9)  # stops after step 9
    assert reference.steps_done == 9
    example = torch.tensor([6, 0, 3, 3, 1, 5])
    ns = run(snippets.train_snippet(reference.config, example.tolist(), steps=reference.steps_done))
    assert ns["steps"] == 9 and ns["loss"].item() == reference.losses[-1]
    assert torch.equal(ns["weights"], reference.predict(example.unsqueeze(0))[1][0])
    # A different seed is a different model: the comparison above is not trivially true.
    other = run(
        snippets.train_snippet(TrainConfig(**{**config.__dict__, "seed": 3}).resolved(), example.tolist(), steps=9)
    )
    assert other["loss"].item() != reference.losses[-1]


def test_an_example_of_the_wrong_length_is_named():
    with pytest.raises(ValueError, match="example has 3 tokens; the model reads 8"):
        snippets.train_snippet(TrainConfig().resolved(), [1, 2, 3])
