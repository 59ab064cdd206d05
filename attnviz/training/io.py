"""Save and load a training run as two files: ``.safetensors`` (weights, snapshots, probe) and ``.json`` (config,
curves). Never pickle: a user's upload is parsed, checked against the config it claims, and rejected with a
ValueError that says what is wrong.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, fields
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors
from torch import Tensor

from attnviz.i18n import gettext as _
from attnviz.training.train import Snapshot, TrainConfig, TrainingRun

__all__ = ["FORMAT", "MAX_FILE_BYTES", "load_run", "run_from_bytes", "run_to_bytes", "save_run"]

FORMAT = "attnviz-training-run"
VERSION = 1
MAX_FILE_BYTES = 5 * 1024 * 1024
"""Largest file accepted (each of the two); the app's runs are well under 1 MB."""
_SNAPSHOTS = "snapshots"
_PROBE = "probe"
_CONFIG_FIELDS = {f.name: f.type for f in fields(TrainConfig)}


def run_to_bytes(run: TrainingRun) -> tuple[bytes, bytes]:
    """``(safetensors bytes, JSON bytes)`` of ``run``."""
    tensors = {name: t.detach().contiguous().clone() for name, t in run.model.state_dict().items()}
    tensors[_SNAPSHOTS] = torch.stack([s.weights for s in run.snapshots]).contiguous()  # (S, L, H, T, T)
    tensors[_PROBE] = run.probe.to(torch.int64).contiguous()
    weights = save_safetensors(tensors, metadata={"format": FORMAT, "version": str(VERSION)})
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "config": asdict(run.config),
        "losses": run.losses,
        "accuracies": run.accuracies,
        "eval_steps": run.eval_steps,
        "snapshot_steps": [s.step for s in run.snapshots],
        "seconds": run.seconds,
        "stopped": run.stopped,
    }
    return weights, json.dumps(meta).encode()


def save_run(run: TrainingRun, path: str | Path) -> tuple[Path, Path]:
    """Write ``<path>.safetensors`` and ``<path>.json``; returns both paths."""
    base = Path(path)
    weights, meta = run_to_bytes(run)
    weights_path, meta_path = base.with_suffix(".safetensors"), base.with_suffix(".json")
    weights_path.write_bytes(weights)
    meta_path.write_bytes(meta)
    return weights_path, meta_path


def load_run(path: str | Path) -> TrainingRun:
    """Read ``<path>.safetensors`` and ``<path>.json`` written by :func:`save_run`."""
    base = Path(path)
    files = {}
    for suffix in (".safetensors", ".json"):
        file = base.with_suffix(suffix)
        if not file.is_file():
            raise ValueError(_("{name} does not exist").format(name=file.name))
        if file.stat().st_size > MAX_FILE_BYTES:
            raise ValueError(_too_big(file.name, file.stat().st_size))
        files[suffix] = file.read_bytes()
    return run_from_bytes(files[".safetensors"], files[".json"])


def _too_big(name: str, size: int) -> str:
    return _("{name} is {size:.1f} MB; the limit is {limit:.0f} MB").format(
        name=name, size=size / 1e6, limit=MAX_FILE_BYTES / 1e6
    )


def _number_list(meta: dict, name: str, *, integer: bool = False) -> list:
    values = meta.get(name)
    kind = int if integer else (int, float)
    if not isinstance(values, list) or not all(isinstance(v, kind) and not isinstance(v, bool) for v in values):
        message = (
            _("run JSON: {name} must be a list of integers")
            if integer
            else _("run JSON: {name} must be a list of numbers")
        )
        raise ValueError(message.format(name=repr(name)))
    if not all(math.isfinite(v) for v in values):
        raise ValueError(_("run JSON: {name} holds a value that is not finite").format(name=repr(name)))
    return [int(v) for v in values] if integer else [float(v) for v in values]


def _parse_meta(meta_bytes: bytes) -> dict:
    if len(meta_bytes) > MAX_FILE_BYTES:
        raise ValueError(_too_big(_("the run JSON"), len(meta_bytes)))
    try:
        meta = json.loads(meta_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(_("the run JSON is not valid JSON: {error}").format(error=error)) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(
            _("the JSON is not a saved training run (its `format` must be `{format}`)").format(format=FORMAT)
        )
    if meta.get("version") != VERSION:
        raise ValueError(
            _("run JSON version {version} is not supported (expected {expected})").format(
                version=repr(meta.get("version")), expected=VERSION
            )
        )
    return meta


def _parse_config(meta: dict) -> TrainConfig:
    raw = meta.get("config")
    if not isinstance(raw, dict):
        raise ValueError(_("run JSON: `config` must be an object"))
    missing, unknown = set(_CONFIG_FIELDS) - set(raw), set(raw) - set(_CONFIG_FIELDS)
    if missing or unknown:
        parts = [
            _("missing {keys}").format(keys=sorted(missing)) if missing else "",
            _("unknown {keys}").format(keys=sorted(unknown)) if unknown else "",
        ]
        raise ValueError(_("run JSON: config keys {problems}").format(problems="; ".join(p for p in parts if p)))
    if not isinstance(raw["task"], str):
        raise ValueError(_("run JSON: config task={task} must be a string").format(task=repr(raw["task"])))
    try:
        config = TrainConfig(**raw).resolved()
    except (TypeError, ValueError) as error:
        raise ValueError(_("run JSON: config is invalid: {error}").format(error=error)) from None
    if TrainConfig(**raw) != config:
        raise ValueError(_("run JSON: config must give every size explicitly (`seq_len`, `vocab`, `d_ff`)"))
    return config


def _parse_tensors(weights_bytes: bytes) -> dict[str, Tensor]:
    if len(weights_bytes) > MAX_FILE_BYTES:
        raise ValueError(_too_big(_("the weights file"), len(weights_bytes)))
    try:
        return load_safetensors(bytes(weights_bytes))
    except (SafetensorError, ValueError, RuntimeError) as error:
        raise ValueError(_("the weights file is not a valid safetensors file: {error}").format(error=error)) from None


def run_from_bytes(weights_bytes: bytes, meta_bytes: bytes) -> TrainingRun:
    """The :class:`TrainingRun` saved as ``(safetensors bytes, JSON bytes)``, every tensor checked against the config.

    ValueError when either file is over 5 MB, not parseable, not a saved run, or when a tensor's name, shape or dtype
    differs from what the config's model has, or a value is not finite.
    """
    meta = _parse_meta(meta_bytes)
    tensors = _parse_tensors(weights_bytes)
    config = _parse_config(meta)
    losses = _number_list(meta, "losses")
    accuracies = _number_list(meta, "accuracies")
    eval_steps = _number_list(meta, "eval_steps", integer=True)
    snapshot_steps = _number_list(meta, "snapshot_steps", integer=True)
    if len(eval_steps) != len(accuracies):
        raise ValueError(
            _("run JSON: {accuracies} accuracies but {evals} eval_steps").format(
                accuracies=len(accuracies), evals=len(eval_steps)
            )
        )
    if len(losses) > config.steps or any(not 0 <= s <= len(losses) for s in eval_steps + snapshot_steps):
        raise ValueError(
            _("run JSON: steps disagree ({losses} losses, config steps={steps})").format(
                losses=len(losses), steps=config.steps
            )
        )
    if not snapshot_steps:
        raise ValueError(_("run JSON: `snapshot_steps` is empty"))
    if not all(0 <= a <= 1 for a in accuracies):
        raise ValueError(_("run JSON: accuracies must lie in 0–1"))

    model = config.build_model()
    expected = {name: (tuple(t.shape), t.dtype) for name, t in model.state_dict().items()}
    layers, heads, t = config.num_layers, config.num_heads, config.seq_len
    expected[_SNAPSHOTS] = ((len(snapshot_steps), layers, heads, t, t), torch.float32)
    expected[_PROBE] = ((t,), torch.int64)
    missing, unknown = sorted(set(expected) - set(tensors)), sorted(set(tensors) - set(expected))
    if missing or unknown:
        parts = [
            _("missing {keys}").format(keys=missing) if missing else "",
            _("unexpected {keys}").format(keys=unknown) if unknown else "",
        ]
        raise ValueError(
            _("the weights do not match the run's config: {problems}").format(problems="; ".join(p for p in parts if p))
        )
    for name, (shape, dtype) in expected.items():
        tensor = tensors[name]
        if tuple(tensor.shape) != shape or tensor.dtype != dtype:
            raise ValueError(
                _("the weights do not match the run's config: {name} is {shape} {dtype}, expected {expected}").format(
                    name=name, shape=tuple(tensor.shape), dtype=tensor.dtype, expected=f"{shape} {dtype}"
                )
            )
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise ValueError(_("the weights file: {name} holds a value that is not finite").format(name=name))
    probe = tensors.pop(_PROBE)
    if int(probe.min()) < 0 or int(probe.max()) >= config.vocab:
        raise ValueError(
            _("the weights file: the probe has a token outside the vocabulary 0–{last}").format(last=config.vocab - 1)
        )
    snapshots = tensors.pop(_SNAPSHOTS)
    model.load_state_dict(tensors)
    model.eval()
    return TrainingRun(
        config=config,
        model=model,
        probe=probe,
        losses=losses,
        accuracies=accuracies,
        eval_steps=eval_steps,
        snapshots=[Snapshot(step, w.clone()) for step, w in zip(snapshot_steps, snapshots, strict=True)],
        seconds=float(meta.get("seconds", 0.0)) if isinstance(meta.get("seconds"), (int, float)) else 0.0,
        stopped=str(meta.get("stopped", "")),
    )
