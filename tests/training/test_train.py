"""Training: determinism by seed, a short run lowers the loss, the default reverse run reaches its target, the
model is built from the project's EncoderLayer, and bad options are rejected by name."""

from __future__ import annotations

import time

import pytest
import torch

from attnviz.encoder import EncoderLayer
from attnviz.training.tasks import get_task
from attnviz.training.train import TrainConfig, held_out, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def test_same_seed_same_curves_and_weights():
    a = train(steps=15, snapshot_every=5, seed=3)
    b = train(steps=15, snapshot_every=5, seed=3)
    c = train(steps=15, snapshot_every=5, seed=4)
    assert a.losses == b.losses and a.accuracies == b.accuracies
    assert all(torch.equal(x.weights, y.weights) for x, y in zip(a.snapshots, b.snapshots, strict=True))
    assert a.losses != c.losses


def test_short_run_lowers_loss_and_records_everything():
    run = train(steps=60, snapshot_every=20)
    assert len(run.losses) == 60 and run.steps_done == 60 and not run.stopped
    assert sum(run.losses[-10:]) / 10 < 0.8 * sum(run.losses[:10]) / 10
    assert run.eval_steps == [0, 20, 40, 60] and len(run.accuracies) == 4
    assert [s.step for s in run.snapshots] == [0, 20, 40, 60]
    layers, heads, t = run.config.num_layers, run.config.num_heads, run.config.seq_len
    for snapshot in run.snapshots:
        assert snapshot.weights.shape == (layers, heads, t, t)
        torch.testing.assert_close(snapshot.weights.sum(-1), torch.ones(layers, heads, t))
    assert run.accuracies[-1] > run.accuracies[0]


def test_model_layers_are_encoder_layers_and_weights_come_from_their_traces():
    run = train(steps=5, snapshot_every=5)
    model = run.model
    assert all(isinstance(layer, EncoderLayer) for layer in model.layers)
    # The recorded snapshot equals running the layers by hand on the probe.
    x = model.embedding[run.probe] + model.positions  # (T, d_model)
    expected = []
    with torch.no_grad():
        for layer in model.layers:
            trace = layer(x)
            expected.append(trace.attention.weights)
            x = trace.output
    torch.testing.assert_close(run.snapshots[-1].weights, torch.stack(expected))


def test_callback_stops_early_and_keeps_what_was_learned():
    seen = []

    def callback(update):
        seen.append(update.step)
        return update.step >= 30

    run = train(steps=400, snapshot_every=20, callback=callback)
    assert seen[-1] == 30 and run.steps_done == 30 and run.stopped == "stopped"
    assert run.eval_steps[-1] == 30 and run.snapshots[-1].step == 30
    inputs, targets = held_out(run.config)
    predicted, _ = run.predict(inputs)
    assert run.accuracies[-1] == pytest.approx(float((predicted == targets).float().mean()))


def test_time_cap_stops_the_run():
    run = train(steps=20000, snapshot_every=1000, max_seconds=0.5)
    assert run.stopped.startswith("time cap") and 0 < run.steps_done < 20000


def _anti_diagonal_share(weights: torch.Tensor) -> torch.Tensor:
    """Mean weight each head puts on j = T−1−i, per (layer, head)."""
    t = weights.shape[-1]
    return torch.stack([weights[..., i, t - 1 - i] for i in range(t)], dim=-1).mean(-1)


def test_default_reverse_run_reaches_target_within_budget():
    start = time.perf_counter()
    run = train()  # every default: reverse, T=8, vocab 10, 2 layers × 2 heads, d_model 32, 400 steps
    seconds = time.perf_counter() - start
    assert run.config.task == "reverse" and not run.stopped
    assert run.final_accuracy >= 0.95, run.accuracies
    assert seconds <= 60, f"{seconds:.1f} s"
    # Independent check of the accuracy on fresh sequences (another seed than training and evaluation).
    inputs, _ = get_task("reverse").batch(1000, 8, 10, torch.Generator().manual_seed(999))
    predicted, weights = run.predict(inputs)
    assert float((predicted == inputs.flip(-1)).float().mean()) >= 0.95
    # Some head puts at least half its weight on the anti-diagonal, on fresh inputs and on the probe.
    assert float(_anti_diagonal_share(weights.mean(0)).max()) >= 0.5
    assert float(_anti_diagonal_share(run.snapshots[-1].weights).max()) >= 0.5
    assert float(_anti_diagonal_share(run.snapshots[0].weights).max()) < 0.5  # it was learned, not built in


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"task": "copy"}, "task='copy' is not one of"),
        ({"seq_len": 40}, "seq_len=40 is outside 2–32"),
        ({"vocab": 1}, "vocab=1 is outside 2–64"),
        ({"steps": 0}, "steps=0 must be an integer in 1–20000"),
        ({"lr": 2.0}, "lr=2.0 must be a number in"),
        ({"lr": float("nan")}, "lr=nan"),
        ({"d_model": 30, "num_heads": 4}, "d_model=30 is not divisible by num_heads=4"),
        ({"num_layers": 9}, "num_layers=9 must be an integer in 1–4"),
        ({"seed": -1}, "seed=-1"),
        ({"task": "it", "seq_len": 8}, "seq_len=8 is outside 11–11"),
    ],
)
def test_bad_options_name_the_option(options, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**options).resolved()
    with pytest.raises(ValueError, match=message):
        train(**{"steps": 1, **options})


def test_predict_rejects_tokens_outside_the_vocabulary():
    run = train(steps=1)
    with pytest.raises(ValueError, match="token id 10 is outside the vocabulary 0–9"):
        run.predict(torch.tensor([[0, 1, 2, 3, 4, 5, 6, 10]]))
    with pytest.raises(ValueError, match=r"tokens must have shape \(B, 8\), got \(1, 3\)"):
        run.predict(torch.tensor([[0, 1, 2]]))
