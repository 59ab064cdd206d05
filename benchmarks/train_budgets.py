"""Training budgets: how long each task takes to learn on one CPU thread, and whether its attention shows the pattern.

    python benchmarks/train_budgets.py [--seeds 0 1 2] [--out benchmarks/results/train_budgets.json]

For every task, with the Train page's defaults for it (2 layers × 2 heads, d_model 32, lr 3e-3, batch 64, the
task's sequence length, vocabulary and step count), it trains once per seed with ``torch.set_num_threads(1)``
and reports: the step and wall time at which held-out token accuracy first reached 95 % (evaluated every 20 steps),
the final held-out accuracy and total time, and the best head's share of attention on the key that holds each
position's answer (anti-diagonal for reverse, the shifted diagonal for shift, the token of rank i for sort, the
token after the previous copy for follow, the referent noun from "it"), measured on 512 fresh sequences.
Prints a markdown table (medians over seeds) and writes every run as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from attnviz.training.analysis import answer_keys, answer_share
from attnviz.training.tasks import TASKS
from attnviz.training.train import TrainConfig, train_config

REPO_ROOT = Path(__file__).resolve().parents[1]


def measure(task: str, seed: int) -> dict:
    spec = TASKS[task]
    config = TrainConfig(task=task, steps=spec.default_steps, seed=seed, snapshot_every=20).resolved()
    times: dict[int, float] = {}

    def callback(update):
        times[update.step] = update.elapsed

    start = time.perf_counter()
    run = train_config(config, callback=callback)
    total = time.perf_counter() - start
    reached = next((s for s, a in zip(run.eval_steps, run.accuracies, strict=True) if a >= 0.95), None)
    inputs, targets = spec.batch(
        512, config.seq_len, config.vocab, torch.Generator().manual_seed(10_000 + seed), "eval"
    )
    _, weights = run.predict(inputs)
    share = answer_share(weights, answer_keys(task, inputs, targets))  # (L, H)
    best = int(share.flatten().argmax())
    return {
        "task": task,
        "seed": seed,
        "config": config.__dict__,
        "steps_to_95": reached,
        "seconds_to_95": times.get(reached) if reached else None,
        "final_accuracy": run.final_accuracy,
        "seconds": total,
        "best_head": {"layer": best // config.num_heads + 1, "head": best % config.num_heads + 1},
        "best_head_answer_share": float(share.flatten()[best]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS))
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "train_budgets.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    runs = []
    for task in args.tasks:
        for seed in args.seeds:
            runs.append(measure(task, seed))
            print(json.dumps({k: v for k, v in runs[-1].items() if k != "config"}), file=sys.stderr, flush=True)
    lines = [
        "| task | T, vocab | steps | 95 % at step (s) | final accuracy | total s | best head: share on answer |",
        "|---|---|---|---|---|---|---|",
    ]
    for task in args.tasks:
        mine = [r for r in runs if r["task"] == task]
        c = mine[0]["config"]
        reached = [r for r in mine if r["steps_to_95"] is not None]
        when = (
            f"{statistics.median(r['steps_to_95'] for r in reached):.0f} "
            f"({statistics.median(r['seconds_to_95'] for r in reached):.1f} s), {len(reached)}/{len(mine)} seeds"
            if reached
            else f"not reached (0/{len(mine)} seeds)"
        )
        lines.append(
            f"| {task} | {c['seq_len']}, {c['vocab']} | {c['steps']} | {when} | "
            f"{statistics.median(r['final_accuracy'] for r in mine):.3f} | "
            f"{statistics.median(r['seconds'] for r in mine):.1f} | "
            f"{statistics.median(r['best_head_answer_share'] for r in mine):.2f} |"
        )
    table = "\n".join(lines)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"threads": 1, "runs": runs, "table": table}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
