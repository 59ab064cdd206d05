"""Pure display models for the Train page: what the live view, the replay and the probe show (no streamlit)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from attnviz.i18n import gettext as _
from attnviz.training.analysis import answer_keys, answer_share, head_history
from attnviz.training.it_task import encode_words
from attnviz.training.model import MAX_LENGTH
from attnviz.training.tasks import IGNORE, IT_VOCAB, get_task
from attnviz.training.train import Snapshot, TrainConfig, TrainingRun

__all__ = [
    "CurveView",
    "GridView",
    "HistoryView",
    "ItView",
    "ProbeView",
    "curve_view",
    "grid_view",
    "history_view",
    "it_view",
    "parse_probe",
    "probe_text",
    "probe_view",
]

MAX_CURVE_POINTS = 400


@dataclass(frozen=True)
class CurveView:
    """Loss per step (thinned to at most 400 points, each the mean of its stretch) and held-out accuracy."""

    loss_steps: np.ndarray
    losses: np.ndarray
    eval_steps: np.ndarray
    accuracies: np.ndarray


def curve_view(losses, eval_steps, accuracies) -> CurveView:
    """Thin a long loss curve by averaging consecutive stretches (steps count from 1)."""
    y = np.asarray(losses, dtype=np.float64)
    n = len(y)
    if n > MAX_CURVE_POINTS:
        size = math.ceil(n / MAX_CURVE_POINTS)
        full = n // size * size
        means = y[:full].reshape(-1, size).mean(1)
        ends = np.arange(size, full + 1, size)
        if full < n:
            means, ends = np.append(means, y[full:].mean()), np.append(ends, n)
        x, y = ends, means
    else:
        x = np.arange(1, n + 1)
    return CurveView(x, y, np.asarray(eval_steps, dtype=np.int64), np.asarray(accuracies, dtype=np.float64))


@dataclass(frozen=True)
class GridView:
    """Every layer × head of one snapshot as a stack ``(L·H, T, T)`` with panel titles and token labels."""

    step: int
    stack: np.ndarray
    titles: list[str]
    labels: list[str]
    num_heads: int


def panel_titles(layers: int, heads: int) -> list[str]:
    """``"layer 1 · head 1"``, … : one title per layer × head, in the interface's language."""
    title = _("layer {layer} · head {head}")
    return [title.format(layer=layer + 1, head=head + 1) for layer in range(layers) for head in range(heads)]


def token_labels(names: list[str]) -> list[str]:
    """Unique axis labels "0 tok", "1 tok", ... (rows are queries, columns keys)."""
    return [f"{i} {name}" for i, name in enumerate(names)]


def grid_view(snapshot: Snapshot, config: TrainConfig, tokens: Tensor) -> GridView:
    """The attention of every layer × head on ``tokens`` (the probe), one panel per head."""
    layers, heads, t = snapshot.weights.shape[:3]
    names = get_task(config.task).token_names(config.vocab)
    stack = snapshot.weights.reshape(layers * heads, t, t).numpy()
    titles = panel_titles(layers, heads)
    return GridView(snapshot.step, stack, titles, token_labels([names[i] for i in tokens.tolist()]), heads)


@dataclass(frozen=True)
class HistoryView:
    """Per head, over training on the probe: mean row entropy (bits), mean |i − j|, and the share of attention on
    the key that holds the answer."""

    steps: list[int]
    entropy: dict[str, np.ndarray]
    distance: dict[str, np.ndarray]
    answer: dict[str, np.ndarray]


def history_view(run: TrainingRun) -> HistoryView:
    """Each head's summaries at every snapshot (answer share measured on the probe and its targets)."""
    steps, entropy, distance = head_history(run.snapshots)
    c = run.config
    heads = entropy.shape[2]
    names = [f"L{layer + 1} H{head + 1}" for layer in range(c.num_layers) for head in range(heads)]
    probe = run.probe.unsqueeze(0)
    targets = probe_targets(c, run.probe).unsqueeze(0)
    keys = answer_keys(c.task, probe, targets)  # (1, T, T)
    weights = torch.stack([s.weights for s in run.snapshots])  # (S, L, H, T, T)
    answer = torch.stack([answer_share(w.unsqueeze(0), keys) for w in weights])  # (S, L, H)
    flat = lambda t: t.reshape(len(steps), -1).numpy().T  # noqa: E731  (S, L, H) -> (L·H, S)
    return HistoryView(
        steps,
        dict(zip(names, flat(entropy), strict=True)),
        dict(zip(names, flat(distance), strict=True)),
        dict(zip(names, flat(answer), strict=True)),
    )


def probe_targets(config: TrainConfig, tokens: Tensor) -> Tensor:
    """The right answer per position for ``tokens`` ``(T,)`` (IGNORE where none is expected)."""
    return get_task(config.task).targets(tokens, config.vocab)


def probe_text(config: TrainConfig, tokens: Tensor) -> str:
    """``tokens`` as the text a learner edits: words for the "it" task, numbers separated by spaces otherwise."""
    return " ".join(get_task(config.task).token_names(config.vocab)[i] for i in tokens.tolist())


def parse_probe(text: str, config: TrainConfig) -> tuple[Tensor | None, str]:
    """The learner's probe as token ids ``(T,)``, or ``(None, message)`` saying what is wrong with it."""
    t, vocab = config.seq_len, config.vocab
    if config.task == "it":
        ids, unknown = encode_words(text)
        note = ""
        if unknown:
            note = _("Not in the vocabulary, read as <unk>: {words}").format(
                words=", ".join(f"“{w}”" for w in dict.fromkeys(unknown))
            )
        if len(ids) != t:
            return None, _("The model reads sentences of exactly {t} words; this one has {n}. {note}").format(
                t=t, n=len(ids), note=note
            )
        return torch.tensor(ids), note
    parts = [p for p in re.split(r"[\s,;]+", text.strip()) if p]
    if len(parts) != t:
        return None, _("Type exactly {t} numbers (the model's sequence length), separated by spaces; got {n}.").format(
            t=t, n=len(parts)
        )
    bad = [p for p in parts if not p.isdigit() or int(p) >= vocab]
    if bad:
        return None, _("Tokens must be whole numbers 0–{last}; not: {bad}.").format(
            last=vocab - 1, bad=", ".join(bad[:5])
        )
    return torch.tensor([int(p) for p in parts]), ""


@dataclass(frozen=True)
class ProbeView:
    """The trained model on one input: per position the token, the model's output, the right answer, right/wrong,
    and every layer × head's attention that produced it."""

    inputs: list[str]
    outputs: list[str]
    expected: list[str]  # "" where nothing is expected
    correct: list[bool | None]  # None where nothing is expected
    grid: GridView

    @property
    def score(self) -> tuple[int, int]:
        """(right, scored) positions."""
        scored = [c for c in self.correct if c is not None]
        return sum(scored), len(scored)


def probe_view(run: TrainingRun, tokens: Tensor) -> ProbeView:
    """Run the trained model on ``tokens`` ``(T,)`` and compare its output with the task's rule."""
    c = run.config
    task = get_task(c.task)
    predicted, weights = run.predict(tokens.unsqueeze(0))  # (1, T), (1, L, H, T, T)
    targets = task.targets(tokens, c.vocab)
    names, classes = task.token_names(c.vocab), task.class_names(c.vocab)
    outputs = [classes[i] for i in predicted[0].tolist()]
    expected = ["" if y == IGNORE else classes[y] for y in targets.tolist()]
    correct = [None if y == IGNORE else p == y for p, y in zip(predicted[0].tolist(), targets.tolist(), strict=True)]
    grid = grid_view(Snapshot(run.steps_done, weights[0]), c, tokens)
    return ProbeView([names[i] for i in tokens.tolist()], outputs, expected, correct, grid)


@dataclass(frozen=True)
class ItView:
    """The shipped "it" model on a learner's text: every layer × head's attention, labelled, and its answers."""

    words: list[str]  # as the model read them (<unk> for words outside its vocabulary)
    labels: list[str]  # "0 the", "1 animal", ... (unique)
    unknown: list[str]  # the learner's words that became <unk>, each once
    stack: np.ndarray  # (L·H, T, T)
    titles: list[str]
    num_heads: int
    answers: dict[int, str]  # position of each "it" -> the noun the model says it refers to
    trained_length: int  # the sentence length the model was trained on


def it_view(text: str, run: TrainingRun) -> ItView:
    """Run the trained "it" model ``run`` on ``text`` (1–256 words); ValueError for a text with no words."""
    ids, unknown = encode_words(text)
    if not ids:
        raise ValueError(
            _(
                "the text holds no words the it-task model can read: type a sentence such as "
                "“the animal didn't cross the street because it was too tired”"
            )
        )
    if len(ids) > MAX_LENGTH:
        raise ValueError(
            _("the text has {n} words; the it-task model reads at most {limit}").format(n=len(ids), limit=MAX_LENGTH)
        )
    with torch.no_grad():
        logits, traces = run.model.traces(torch.tensor([ids]), any_length=True)
    weights = torch.stack([t.attention.weights[0] for t in traces])  # (L, H, T, T)
    layers, heads, t = weights.shape[:3]
    words = [IT_VOCAB[i] for i in ids]
    predicted = logits[0].argmax(-1).tolist()
    answers = {i: IT_VOCAB[predicted[i]] for i, w in enumerate(words) if w == "it"}
    titles = panel_titles(layers, heads)
    return ItView(
        words,
        token_labels(words),
        list(dict.fromkeys(unknown)),
        weights.reshape(layers * heads, t, t).numpy(),
        titles,
        heads,
        answers,
        run.config.seq_len,
    )
