"""The training loop: seeded batches, Adam, held-out accuracy and attention snapshots on a fixed probe.

``train(...)`` returns a :class:`TrainingRun` with one loss per step, the held-out token accuracy at each
evaluation, the model, and snapshots of every layer × head's attention on the task's probe input.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

from attnviz.i18n import N_
from attnviz.i18n import gettext as _
from attnviz.training.model import TinyTransformer
from attnviz.training.tasks import IGNORE, get_task

__all__ = ["LIMITS", "Snapshot", "TrainConfig", "TrainingRun", "TrainingUpdate", "evaluate", "train"]

LIMITS = {
    "d_model": (4, 128),
    "num_heads": (1, 8),
    "num_layers": (1, 4),
    "steps": (1, 20000),
    "snapshot_every": (1, 20000),
    "batch_size": (1, 512),
    "eval_size": (1, 4096),
    "seed": (0, 2**31 - 1),
}
"""Inclusive ranges of the integer options (sequence length and vocabulary are per task)."""
LR_RANGE = (1e-5, 0.1)
MAX_SNAPSHOTS = 200
STOPPED = N_("stopped")
"""Why a run ended early when its callback asked (English, as saved; :func:`attnviz.training.jobs.shown_message`
translates it)."""
TIME_CAP = N_("time cap of {seconds} s reached")
"""Why a run ended early at ``max_seconds`` (formatted English, as saved)."""


@dataclass(frozen=True)
class TrainConfig:
    """Every option of a run. ``seq_len``/``vocab`` of 0 mean "the task's default"; ``d_ff`` 0 means 4·d_model."""

    task: str = "reverse"
    seq_len: int = 0
    vocab: int = 0
    d_model: int = 32
    num_heads: int = 2
    num_layers: int = 2
    d_ff: int = 0
    steps: int = 400
    lr: float = 3e-3
    seed: int = 0
    snapshot_every: int = 20
    batch_size: int = 64
    eval_size: int = 512

    def resolved(self) -> TrainConfig:
        """The same config with defaults filled in and every value checked (ValueError naming the option)."""
        task = get_task(self.task)
        seq_len = self.seq_len or task.default_seq_len
        vocab = self.vocab or task.default_vocab
        task.check_sizes(seq_len, vocab)
        for name, (low, high) in LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= value <= high:
                raise ValueError(
                    _("{name}={value} must be an integer in {low}–{high}").format(
                        name=name, value=repr(value), low=low, high=high
                    )
                )
        if self.d_model % self.num_heads:
            raise ValueError(
                _("d_model={d_model} is not divisible by num_heads={num_heads}").format(
                    d_model=self.d_model, num_heads=self.num_heads
                )
            )
        d_ff = self.d_ff or 4 * self.d_model
        if isinstance(d_ff, bool) or not isinstance(d_ff, numbers.Integral) or not 1 <= d_ff <= 1024:
            raise ValueError(
                _("d_ff={d_ff} must be an integer in 1–1024 (or 0 for 4·d_model)").format(d_ff=repr(self.d_ff))
            )
        lr = self.lr
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not LR_RANGE[0] <= lr <= LR_RANGE[1]:
            raise ValueError(
                _("lr={lr} must be a number in {low:g}–{high:g}").format(lr=repr(lr), low=LR_RANGE[0], high=LR_RANGE[1])
            )
        return TrainConfig(**{**asdict(self), "seq_len": int(seq_len), "vocab": int(vocab), "d_ff": int(d_ff)})

    def build_model(self) -> TinyTransformer:
        """A fresh model for this (resolved) config, initialised from its seed."""
        c = self.resolved()
        return TinyTransformer(
            vocab=c.vocab,
            num_classes=get_task(c.task).num_classes(c.vocab),
            seq_len=c.seq_len,
            d_model=c.d_model,
            num_heads=c.num_heads,
            num_layers=c.num_layers,
            d_ff=c.d_ff,
            seed=c.seed,
        )


@dataclass(frozen=True)
class Snapshot:
    """The attention of every layer × head on the probe input after ``step`` optimisation steps."""

    step: int
    weights: Tensor  # (L, H, T, T)


@dataclass(frozen=True)
class TrainingUpdate:
    """What the callback sees after each step (tensors are copies; safe to keep)."""

    step: int
    steps: int
    loss: float
    accuracy: float | None  # held-out token accuracy if this step was evaluated
    snapshot: Snapshot | None  # if this step took one
    elapsed: float  # seconds since training started


@dataclass
class TrainingRun:
    """A finished (or stopped) run: curves, snapshots and the trained model."""

    config: TrainConfig
    model: TinyTransformer
    probe: Tensor  # (T,)
    losses: list[float] = field(default_factory=list)  # one per step
    accuracies: list[float] = field(default_factory=list)  # held-out token accuracy at each evaluation
    eval_steps: list[int] = field(default_factory=list)  # the step of each accuracy
    snapshots: list[Snapshot] = field(default_factory=list)
    seconds: float = 0.0
    stopped: str = ""  # why the run ended before config.steps ("" when it ran to the end)

    @property
    def steps_done(self) -> int:
        return len(self.losses)

    @property
    def final_accuracy(self) -> float:
        return self.accuracies[-1] if self.accuracies else float("nan")

    def predict(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """``(predicted class (B, T), attention (B, L, H, T, T))`` of the trained model on token ids ``(B, T)``."""
        with torch.no_grad():
            logits, weights = self.model.run(tokens)
        return logits.argmax(-1), weights


def _probe_weights(model: TinyTransformer, probe: Tensor) -> Tensor:
    with torch.no_grad():
        return model.run(probe.unsqueeze(0))[1][0].clone()  # (L, H, T, T)


def evaluate(model: TinyTransformer, inputs: Tensor, targets: Tensor) -> float:
    """Token accuracy (0–1) of ``model`` on ``inputs``/``targets`` ``(B, T)``, counting positions with a target."""
    with torch.no_grad():
        predicted = model(inputs).argmax(-1)  # (B, T)
    scored = targets != IGNORE
    return float((predicted == targets)[scored].float().mean()) if scored.any() else float("nan")


def held_out(config: TrainConfig) -> tuple[Tensor, Tensor]:
    """The run's evaluation set ``(eval_size, T)``, drawn from its own stream (seed + 1) on the task's eval split."""
    c = config.resolved()
    generator = torch.Generator().manual_seed(c.seed + 1)
    return get_task(c.task).batch(c.eval_size, c.seq_len, c.vocab, generator, "eval")


def train(
    task: str = "reverse",
    *,
    seq_len: int = 0,
    vocab: int = 0,
    d_model: int = 32,
    num_heads: int = 2,
    num_layers: int = 2,
    d_ff: int = 0,
    steps: int = 400,
    lr: float = 3e-3,
    seed: int = 0,
    snapshot_every: int = 20,
    batch_size: int = 64,
    eval_size: int = 512,
    callback: Callable[[TrainingUpdate], bool | None] | None = None,
    max_seconds: float | None = None,
) -> TrainingRun:
    """Train a :class:`TinyTransformer` on ``task``; every option has a default that learns.

    Evaluates held-out token accuracy and records the probe's attention every ``snapshot_every`` steps (and at
    steps 0 and the last). ``callback(update)`` runs after every step; returning True stops the run early, keeping
    what was learned; so does ``max_seconds``. Same arguments → same curves (one CPU thread gives bit-identical runs).
    """
    config = TrainConfig(
        task=task,
        seq_len=seq_len,
        vocab=vocab,
        d_model=d_model,
        num_heads=num_heads,
        num_layers=num_layers,
        d_ff=d_ff,
        steps=steps,
        lr=lr,
        seed=seed,
        snapshot_every=snapshot_every,
        batch_size=batch_size,
        eval_size=eval_size,
    ).resolved()
    return train_config(config, callback=callback, max_seconds=max_seconds)


def train_config(
    config: TrainConfig,
    *,
    callback: Callable[[TrainingUpdate], bool | None] | None = None,
    max_seconds: float | None = None,
) -> TrainingRun:
    """:func:`train` for a :class:`TrainConfig`."""
    c = config.resolved()
    task = get_task(c.task)
    model = c.build_model()
    probe = task.probe(c.seq_len, c.vocab)
    eval_inputs, eval_targets = held_out(c)
    generator = torch.Generator().manual_seed(c.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=c.lr)
    # Snapshots at most MAX_SNAPSHOTS apart evenly; evaluation on the same steps, so each snapshot has an accuracy.
    every = max(c.snapshot_every, math.ceil(c.steps / MAX_SNAPSHOTS))
    run = TrainingRun(config=c, model=model, probe=probe)
    run.snapshots.append(Snapshot(0, _probe_weights(model, probe)))
    run.accuracies.append(evaluate(model, eval_inputs, eval_targets))
    run.eval_steps.append(0)
    start = time.perf_counter()
    model.train()
    for step in range(1, c.steps + 1):
        inputs, targets = task.batch(c.batch_size, c.seq_len, c.vocab, generator)
        logits = model(inputs)  # (B, T, C)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=IGNORE)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        run.losses.append(float(loss.detach()))
        elapsed = time.perf_counter() - start
        stop_reason = ""
        if max_seconds is not None and elapsed >= max_seconds:
            stop_reason = TIME_CAP.format(seconds=f"{max_seconds:g}")
        last = step == c.steps
        accuracy = snapshot = None
        if step % every == 0 or last:
            accuracy = evaluate(model, eval_inputs, eval_targets)
            snapshot = Snapshot(step, _probe_weights(model, probe))
            run.accuracies.append(accuracy)
            run.eval_steps.append(step)
            run.snapshots.append(snapshot)
        if callback is not None and callback(
            TrainingUpdate(step, c.steps, run.losses[-1], accuracy, snapshot, elapsed)
        ):
            stop_reason = stop_reason or STOPPED
        if stop_reason and not last:
            if snapshot is None:  # end on an evaluated step, so the final accuracy is the model's
                run.accuracies.append(evaluate(model, eval_inputs, eval_targets))
                run.eval_steps.append(step)
                run.snapshots.append(Snapshot(step, _probe_weights(model, probe)))
            run.stopped = stop_reason
            break
    model.eval()
    run.seconds = time.perf_counter() - start
    return run
