"""Classification training for :class:`CNNWithAttention` (seed 003's loop: Adam, cross-entropy, mini-batches),
with a progress callback, a stop flag, snapshots, determinism and safetensors + JSON save/load.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn

from attnviz.image.data import ShapeSet
from attnviz.image.model import SEED_WIDTHS, CNNWithAttention

__all__ = [
    "DEFAULT_TEST_IMAGES",
    "DEFAULT_TRAIN_IMAGES",
    "DEFAULT_WIDTHS",
    "MAX_MODEL_BYTES",
    "Progress",
    "Snapshot",
    "TrainConfig",
    "TrainResult",
    "calibrate_batchnorm",
    "evaluate",
    "load_model",
    "model_from_bytes",
    "model_to_bytes",
    "save_model",
    "train",
]

# Small enough to reach ≥ 90 % held-out accuracy in under two minutes on one CPU core (see the README);
# the seed's full widths (16, 32, 64, 128, 256) remain available.
DEFAULT_WIDTHS: tuple[int, ...] = (8, 16, 32, 32, 64)
DEFAULT_TRAIN_IMAGES = 2000
DEFAULT_TEST_IMAGES = 300
MAX_MODEL_BYTES = 64 * 1024 * 1024  # the seed's full model is ~4.3 MB
MAX_CONFIG_BYTES = 4096


@dataclass(frozen=True)
class TrainConfig:
    """How to train: Adam and cross-entropy as in the seed. ``snapshot_every`` in steps (0 = first and last).

    ``classifier_lr_scale`` multiplies the learning rate of the final linear layer. That layer reads 400 × C
    numbers, and Adam moves every weight by about ``lr`` per step whatever its gradient's size, so with the seed's
    single learning rate a step can move a logit by ~``lr · 400 · C`` — the loss jumps around ln 4 instead of
    falling. Scaling the classifier's rate down (0.1) lets it learn.
    """

    epochs: int = 4
    batch_size: int = 8
    lr: float = 2e-3
    classifier_lr_scale: float = 0.1
    seed: int = 0
    snapshot_every: int = 0
    eval_every: int = 0  # steps between held-out evaluations; 0 = after every epoch
    # Before every evaluation (and at the end) BatchNorm's running statistics are recomputed on this many training
    # images: with batches of 8 the running averages lag behind fast-changing weights and the held-out score
    # swings (25 % one evaluation, 93 % fifty steps later); 0 keeps the running averages.
    calibration_images: int = 256

    def __post_init__(self) -> None:
        if not 1 <= int(self.epochs) <= 1000:
            raise ValueError(f"epochs={self.epochs} must be between 1 and 1000")
        if not 1 <= int(self.batch_size) <= 1024:
            raise ValueError(f"batch_size={self.batch_size} must be between 1 and 1024")
        if not (math.isfinite(self.lr) and 0 < self.lr <= 1):
            raise ValueError(f"lr={self.lr} must be in (0, 1]")
        if not (math.isfinite(self.classifier_lr_scale) and 0 < self.classifier_lr_scale <= 1):
            raise ValueError(f"classifier_lr_scale={self.classifier_lr_scale} must be in (0, 1]")
        for name in ("snapshot_every", "eval_every", "calibration_images"):
            if int(getattr(self, name)) < 0:
                raise ValueError(f"{name}={getattr(self, name)} must be >= 0")


@dataclass(frozen=True)
class Progress:
    """Sent to the progress callback after every step."""

    step: int  # steps done (1-based)
    total_steps: int
    epoch: int  # 0-based epoch of this step
    loss: float  # this step's mini-batch loss
    batch_accuracy: float  # the share of this step's mini-batch classified correctly (before the update)
    seconds: float  # wall-clock seconds since training began
    cpu_seconds: float  # CPU seconds of the training thread (what "one core" costs, however busy the machine)
    test_accuracy: float | None  # set on the steps that evaluated the held-out set


@dataclass(frozen=True)
class Snapshot:
    step: int
    state: dict[str, Tensor]  # a copy of the model's state_dict at that step


@dataclass(frozen=True)
class TrainResult:
    losses: tuple[float, ...]  # one per step
    eval_steps: tuple[int, ...]  # steps after which the held-out set was scored
    test_accuracies: tuple[float, ...]  # one per eval step
    snapshots: tuple[Snapshot, ...] = field(repr=False)
    stopped: bool  # True when the stop flag ended training early
    seconds: float  # wall clock
    cpu_seconds: float  # CPU time of the training thread

    @property
    def final_accuracy(self) -> float | None:
        return self.test_accuracies[-1] if self.test_accuracies else None


@torch.no_grad()
def evaluate(model: CNNWithAttention, data: ShapeSet, *, batch_size: int = 100) -> float:
    """Held-out accuracy in eval mode (BatchNorm uses its running statistics); restores the model's mode."""
    was_training = model.training
    model.eval()
    correct = 0
    for start in range(0, len(data), batch_size):
        logits = model(data.images[start : start + batch_size]).logits
        correct += int((logits.argmax(dim=-1) == data.labels[start : start + batch_size]).sum())
    model.train(was_training)
    return correct / len(data)


@torch.no_grad()
def calibrate_batchnorm(model: CNNWithAttention, images: Tensor, *, batch_size: int = 50) -> CNNWithAttention:
    """Set every BatchNorm's running mean/variance to the statistics of ``images`` (a cumulative average over
    batches), leaving the weights alone; returns the model in eval mode.

    An untrained model's running statistics are 0 and 1, so in eval mode its deep features shrink towards 0 and
    its attention is exactly uniform; calibrated, it shows what random weights really do with these images.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average: every batch counts equally
    model.train()
    try:
        for start in range(0, len(images), batch_size):
            model.conv_layers(images[start : start + batch_size])
    finally:
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum
    return model.eval()


def _calibrate(model: CNNWithAttention, train_set: ShapeSet, config: TrainConfig) -> None:
    if config.calibration_images:
        calibrate_batchnorm(model, train_set.images[: config.calibration_images])
        model.train()


def _copy_state(model: nn.Module) -> dict[str, Tensor]:
    return {name: t.detach().clone() for name, t in model.state_dict().items()}


def train(
    model: CNNWithAttention,
    train_set: ShapeSet,
    test_set: ShapeSet | None = None,
    config: TrainConfig | None = None,
    *,
    progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    """Train ``model`` in place on ``train_set``; the same model seed, data and config give the same numbers
    (with the same torch thread count). ``should_stop`` is polled before every step."""
    config = config or TrainConfig()
    if len(train_set) < 1:
        raise ValueError("train_set is empty")
    if int(train_set.labels.max()) >= model.num_classes:
        raise ValueError(
            f"train_set has label {int(train_set.labels.max())} but the model has {model.num_classes} classes"
        )
    generator = torch.Generator().manual_seed(int(config.seed))
    classifier = {id(p) for p in model.fc.parameters()}
    optimizer = torch.optim.Adam(
        [
            {"params": [p for p in model.parameters() if id(p) not in classifier], "lr": config.lr},
            {"params": list(model.fc.parameters()), "lr": config.lr * config.classifier_lr_scale},
        ]
    )
    loss_fn = nn.CrossEntropyLoss()
    n = len(train_set)
    steps_per_epoch = math.ceil(n / config.batch_size)
    total = steps_per_epoch * config.epochs
    losses: list[float] = []
    eval_steps: list[int] = []
    accuracies: list[float] = []
    snapshots = [Snapshot(0, _copy_state(model))]
    stopped = False
    start, cpu_start = time.perf_counter(), time.thread_time()
    step = 0
    model.train()
    for epoch in range(config.epochs):
        order = torch.randperm(n, generator=generator)
        for b in range(steps_per_epoch):
            if should_stop is not None and should_stop():
                stopped = True
                break
            index = order[b * config.batch_size : (b + 1) * config.batch_size]
            logits = model(train_set.images[index]).logits
            loss = loss_fn(logits, train_set.labels[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            losses.append(float(loss.detach()))
            accuracy = None
            end_of_epoch = b == steps_per_epoch - 1
            due = step % config.eval_every == 0 if config.eval_every else end_of_epoch
            if test_set is not None and (due or step == total):
                _calibrate(model, train_set, config)
                accuracy = evaluate(model, test_set)
                model.train()
                eval_steps.append(step)
                accuracies.append(accuracy)
            if config.snapshot_every and step % config.snapshot_every == 0 and step != total:
                snapshots.append(Snapshot(step, _copy_state(model)))
            if progress is not None:
                progress(
                    Progress(
                        step,
                        total,
                        epoch,
                        losses[-1],
                        float((logits.detach().argmax(dim=-1) == train_set.labels[index]).float().mean()),
                        time.perf_counter() - start,
                        time.thread_time() - cpu_start,
                        accuracy,
                    )
                )
        if stopped:
            break
    if step > 0 and (not eval_steps or eval_steps[-1] != step):
        _calibrate(model, train_set, config)
    if test_set is not None and (not eval_steps or eval_steps[-1] != step) and step > 0:
        eval_steps.append(step)
        accuracies.append(evaluate(model, test_set))
    if snapshots[-1].step != step:
        snapshots.append(Snapshot(step, _copy_state(model)))
    model.eval()
    return TrainResult(
        losses=tuple(losses),
        eval_steps=tuple(eval_steps),
        test_accuracies=tuple(accuracies),
        snapshots=tuple(snapshots),
        stopped=stopped,
        seconds=time.perf_counter() - start,
        cpu_seconds=time.thread_time() - cpu_start,
    )


# --- save / load: safetensors for the weights, JSON for the config; never pickle ---------------------------------


def model_to_bytes(model: CNNWithAttention) -> tuple[bytes, str]:
    """``(weights, config)``: the state_dict as safetensors bytes and the model's config as JSON."""
    from safetensors.torch import save

    return save({name: t.contiguous() for name, t in _copy_state(model).items()}), json.dumps(model.config)


def _parse_config(config: str | bytes) -> dict:
    if len(config) > MAX_CONFIG_BYTES:
        raise ValueError(f"config is {len(config)} bytes; at most {MAX_CONFIG_BYTES} are accepted")
    try:
        parsed = json.loads(config)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"config is not valid JSON: {error}") from None
    expected = {"num_classes", "widths", "num_heads", "seed"}
    if not isinstance(parsed, dict) or set(parsed) != expected:
        keys = sorted(parsed) if isinstance(parsed, dict) else type(parsed).__name__
        raise ValueError(f"config must be an object with keys {sorted(expected)}, got {keys}")
    widths = parsed["widths"]
    ints = [parsed["num_classes"], parsed["num_heads"], parsed["seed"]]
    if not isinstance(widths, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in [*widths, *ints]
    ):
        raise ValueError(f"config values must be whole numbers (widths a list of them), got {parsed}")
    if any(w > 4 * max(SEED_WIDTHS) for w in widths) or parsed["num_classes"] > 1000:
        raise ValueError(f"config asks for a model larger than this app builds: {parsed}")
    return parsed


def model_from_bytes(weights: bytes, config: str | bytes) -> CNNWithAttention:
    """Rebuild a model from :func:`model_to_bytes` output, rejecting anything malformed, oversized or mismatched."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    if len(weights) > MAX_MODEL_BYTES:
        raise ValueError(f"weights file is {len(weights):,} bytes; at most {MAX_MODEL_BYTES:,} are accepted")
    parsed = _parse_config(config)
    model = CNNWithAttention(
        parsed["num_classes"], widths=tuple(parsed["widths"]), num_heads=parsed["num_heads"], seed=parsed["seed"]
    )
    try:
        state = load(bytes(weights))
    except (SafetensorError, ValueError, RuntimeError) as error:
        raise ValueError(f"weights are not a valid safetensors file: {error}") from None
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        raise ValueError(f"weights do not match the config: missing {missing[:5]}, unexpected {extra[:5]}")
    for name, tensor in state.items():
        want = expected[name]
        if tensor.shape != want.shape or tensor.dtype != want.dtype:
            raise ValueError(
                f"weight {name!r} has shape {tuple(tensor.shape)} {tensor.dtype}, "
                f"the config needs {tuple(want.shape)} {want.dtype}"
            )
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"weight {name!r} has non-finite values")
    model.load_state_dict(state)
    return model.eval()


def save_model(model: CNNWithAttention, path: str | Path) -> tuple[Path, Path]:
    """Write ``<path>.safetensors`` and ``<path>.json``; returns both paths."""
    path = Path(path)
    weights, config = model_to_bytes(model)
    weights_path, config_path = path.with_suffix(".safetensors"), path.with_suffix(".json")
    weights_path.write_bytes(weights)
    config_path.write_text(config)
    return weights_path, config_path


def load_model(path: str | Path) -> CNNWithAttention:
    """Read what :func:`save_model` wrote at ``path`` (either file's name, or the name without a suffix)."""
    path = Path(path)
    weights_path, config_path = path.with_suffix(".safetensors"), path.with_suffix(".json")
    for p in (weights_path, config_path):
        if not p.is_file():
            raise ValueError(f"no such file: {p.name}")
    if weights_path.stat().st_size > MAX_MODEL_BYTES:
        raise ValueError(f"{weights_path.name} is {weights_path.stat().st_size:,} bytes; at most {MAX_MODEL_BYTES:,}")
    return model_from_bytes(weights_path.read_bytes(), config_path.read_bytes()[: MAX_CONFIG_BYTES + 1])
