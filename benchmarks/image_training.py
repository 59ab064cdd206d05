"""Image attention: does the default setting reach ≥ 90 % held-out accuracy in ≤ 2 minutes on one CPU core, and
how much of the attention falls on the object before and after training?

    python benchmarks/image_training.py [--out benchmarks/results/image_training.json] [--widths 8,16,32,32,64]

One torch thread (``torch.set_num_threads(1)``). Time is the training thread's CPU time (what one core spends,
however busy the machine) and the wall clock. Attention on the object is measured on the held-out images: for each
query position whose cell is at least half object, the attention mass on the object (Σ weight · cell's object
fraction, mean over heads); the received attention (mean over all queries) the same way; chance is uniform
attention, i.e. the mean object fraction of the cells. The untrained model is the same seed with its BatchNorm
statistics calibrated on the training images (see ``calibrate_batchnorm``).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import torch

from attnviz.image import (
    CLASSES,
    DEFAULT_TEST_IMAGES,
    DEFAULT_TRAIN_IMAGES,
    DEFAULT_WIDTHS,
    CNNWithAttention,
    TrainConfig,
    calibrate_batchnorm,
    evaluate,
    object_attention_over,
    shape_splits,
    train,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/image_training.json")
    parser.add_argument("--widths", default=",".join(map(str, DEFAULT_WIDTHS)))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    widths = tuple(int(w) for w in args.widths.split(","))
    config = TrainConfig(seed=args.seed)
    start = time.perf_counter()
    train_set, test_set = shape_splits(DEFAULT_TRAIN_IMAGES, DEFAULT_TEST_IMAGES, seed=args.seed)
    generate_seconds = time.perf_counter() - start

    untrained = calibrate_batchnorm(
        CNNWithAttention(len(CLASSES), widths=widths, seed=args.seed), train_set.images[:200]
    )
    before = object_attention_over(untrained, test_set.images, test_set.masks)
    untrained_accuracy = evaluate(untrained, test_set)

    model = CNNWithAttention(len(CLASSES), widths=widths, seed=args.seed)
    result = train(
        model,
        train_set,
        test_set,
        config,
        progress=lambda p: (
            print(
                f"step {p.step}/{p.total_steps}  loss {p.loss:.3f}  cpu {p.cpu_seconds:.0f}s  wall {p.seconds:.0f}s  "
                f"test acc {p.test_accuracy:.3f}",
                flush=True,
            )
            if p.test_accuracy is not None
            else None
        ),
    )
    after = object_attention_over(model, test_set.images, test_set.masks)
    first_90 = next((s for s, a in zip(result.eval_steps, result.test_accuracies, strict=True) if a >= 0.9), None)
    report = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": platform.processor() or platform.machine(),
        "torch_threads": torch.get_num_threads(),
        "widths": list(widths),
        "config": asdict(config),
        "train_images": DEFAULT_TRAIN_IMAGES,
        "test_images": DEFAULT_TEST_IMAGES,
        "generate_seconds": round(generate_seconds, 2),
        "train_cpu_seconds": round(result.cpu_seconds, 1),
        "train_wall_seconds": round(result.seconds, 1),
        "steps": len(result.losses),
        "eval_steps": list(result.eval_steps),
        "test_accuracies": [round(a, 4) for a in result.test_accuracies],
        "first_step_at_90": first_90,
        "final_test_accuracy": result.final_accuracy,
        "untrained_test_accuracy": untrained_accuracy,
        "attention_on_object": {
            "chance": round(after.chance, 4),
            "untrained_from_object_queries": round(before.from_object_queries, 4),
            "trained_from_object_queries": round(after.from_object_queries, 4),
            "untrained_received": round(before.received, 4),
            "trained_received": round(after.received, 4),
            "images": after.images,
        },
    }
    print(json.dumps(report, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
