"""The model trained on the "what does *it* refer to?" task, shipped with the package, and the script that made it.

``python -m attnviz.training.it_task`` retrains it with its fixed seed (one CPU thread, about a minute), writes
``weights/it_task.safetensors`` + ``weights/it_task.json`` next to this file, and prints how often each last-layer
head sends "it" to the right noun on the held-out sentences.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch
from torch import Tensor

from attnviz.attention import AttentionTrace
from attnviz.i18n import gettext as _
from attnviz.training import tasks
from attnviz.training.io import run_from_bytes, save_run
from attnviz.training.tasks import IT_VOCAB
from attnviz.training.train import TrainConfig, TrainingRun, train_config

__all__ = [
    "IT_CONFIG",
    "ItAttention",
    "encode_words",
    "heldout_sentences",
    "it_attention",
    "load_it_run",
    "referent_hits",
]

IT_CONFIG = TrainConfig(
    task="it", d_model=16, num_heads=1, num_layers=2, steps=2000, lr=3e-3, seed=3, snapshot_every=100
)
"""The shipped model's recipe: 2 layers × 1 head, d_model 16 (a small model has to pick one noun; a wider one
learns to carry both and decide later, with blurrier attention). Every seed 0–6 answers ≥ 97 % of the held-out
sentences, but how cleanly the last head points at the noun varies: its largest weight is on the right noun in
80, 43, 43, 80, 41, 76 and 53 % of them for seeds 0–6. Seed 3 is shipped: 80 %, and on seed 003's own sentence
"it" looks at "animal" after "tired" and at "street" after "wide"."""
WEIGHTS_NAME = "it_task"


def heldout_sentences() -> tuple[Tensor, Tensor]:
    """Every held-out sentence of the grammar ``(N, 11)`` and the position of its referent ``(N,)`` (1 or 5)."""
    rows, positions = [], []
    for index, (subject, verb, obj, adjective) in enumerate(tasks._it_grammar()):
        if index % tasks.IT_HELDOUT_EVERY == tasks.IT_HELDOUT_EVERY - 1:
            rows.append([IT_VOCAB.index(w) for w in tasks.it_sentence(subject, verb, obj, adjective)])
            subject_side = adjective in tasks.IT_ADJECTIVES_SUBJECT
            positions.append(tasks.IT_SUBJECT_POSITION if subject_side else tasks.IT_OBJECT_POSITION)
    return torch.tensor(rows), torch.tensor(positions)


def referent_hits(run: TrainingRun) -> dict[str, Tensor | float]:
    """How the trained model treats "it" on every held-out sentence.

    ``hits (L, H)``: share of sentences where the head's largest weight from "it" is on the referent noun;
    ``weight (L, H)``: mean weight from "it" on the referent; ``accuracy``: share answered right.
    """
    inputs, positions = heldout_sentences()
    predicted, weights = run.predict(inputs)  # (N, T), (N, L, H, T, T)
    it_rows = weights[:, :, :, tasks.IT_POSITION]  # (N, L, H, T_k)
    rows = torch.arange(len(inputs))
    referent = inputs[rows, positions]
    hits = (it_rows.argmax(-1) == positions[:, None, None]).float().mean(0)  # (L, H)
    weight = it_rows[rows, :, :, positions].mean(0)  # (L, H)
    accuracy = float((predicted[:, tasks.IT_POSITION] == referent).float().mean())
    return {"hits": hits, "weight": weight, "accuracy": accuracy}


def load_it_run() -> TrainingRun:
    """The shipped trained run (ValueError if its files are missing or damaged)."""
    folder = resources.files("attnviz.training") / "weights"
    try:
        weights = (folder / f"{WEIGHTS_NAME}.safetensors").read_bytes()
        meta = (folder / f"{WEIGHTS_NAME}.json").read_bytes()
    except FileNotFoundError as error:
        raise ValueError(_("the shipped it-task weights are missing: {error}").format(error=error)) from None
    return run_from_bytes(weights, meta)


def encode_words(text: str) -> tuple[list[int], list[str]]:
    """Token ids of ``text`` in the it-task vocabulary (lower-cased words, punctuation dropped) and the words that
    were not in it (each becomes ``<unk>``, id 0)."""
    words = re.findall(r"[a-z]+(?:'[a-z]+)?", text.lower())
    ids = [IT_VOCAB.index(w) if w in IT_VOCAB else 0 for w in words]
    unknown = [w for w in words if w not in IT_VOCAB]
    return ids, unknown


@dataclass(frozen=True)
class ItAttention:
    """The shipped model on a learner's sentence: words as read (``<unk>`` for unknown ones), the unknown words,
    the last layer's attention trace (one head), and the model's answer at every "it"."""

    words: list[str]
    unknown: list[str]
    trace: AttentionTrace  # weights (T, T): the last layer's head
    answers: dict[int, str]  # position of each "it" -> the noun the model says it refers to


def it_attention(text: str, *, run: TrainingRun | None = None, layer: int = -1, head: int = 0) -> ItAttention:
    """Run the trained "it" model on ``text`` (any length from 1 to 256 words; it was trained on 11) and return
    one head's attention. ValueError for an empty text or a layer/head the model does not have."""
    run = run or load_it_run()
    ids, unknown = encode_words(text)
    if not ids:
        raise ValueError(_("the text holds no words: type a sentence such as “the animal didn't cross the street”"))
    layers, heads = run.config.num_layers, run.config.num_heads
    if not -layers <= layer < layers or not 0 <= head < heads:
        raise ValueError(
            _("layer={layer}, head={head} is outside the model's {layers} layers × {heads} heads").format(
                layer=layer, head=head, layers=layers, heads=heads
            )
        )
    with torch.no_grad():
        logits, traces = run.model.traces(torch.tensor([ids]), any_length=True)
    attention = traces[layer].attention
    trace = attention.head(head, batch=0)
    predicted = logits[0].argmax(-1).tolist()
    it_id = IT_VOCAB.index("it")
    answers = {i: IT_VOCAB[predicted[i]] for i, token in enumerate(ids) if token == it_id}
    return ItAttention([IT_VOCAB[i] for i in ids], unknown, trace, answers)


def main(argv: list[str] | None = None) -> None:
    """Retrain the shipped model with its fixed seed and write it (default: into the package)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "weights" / WEIGHTS_NAME)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    run = train_config(IT_CONFIG)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    weights_path, meta_path = save_run(run, args.out)
    result = referent_hits(run)
    print(
        f"trained {run.steps_done} steps in {run.seconds:.1f} s on one thread; held-out accuracy {run.final_accuracy:.3f}"
    )
    print(f"wrote {weights_path} ({weights_path.stat().st_size} bytes) and {meta_path}")
    print(f"all {len(heldout_sentences()[0])} held-out sentences: answered right {result['accuracy']:.3f}")
    for layer, (hits, weight) in enumerate(zip(result["hits"], result["weight"], strict=True)):
        for head in range(len(hits)):
            print(
                f"layer {layer} head {head}: largest weight on the right noun {hits[head]:.3f}, mean weight {weight[head]:.3f}"
            )


if __name__ == "__main__":
    main()
