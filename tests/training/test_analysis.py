"""Answer keys against brute force, answer share and head history against float64 loops."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from attnviz.training.analysis import answer_keys, answer_share, head_history
from attnviz.training.tasks import IT_VOCAB, TASKS, get_task
from attnviz.training.train import Snapshot


def _brute_keys(task: str, xs: list[int], ys: list[int]) -> list[set[int]]:
    t = len(xs)
    out = []
    for i in range(t):
        if task == "reverse":
            out.append({t - 1 - i})
        elif task == "shift":
            out.append({(i - 2) % t})
        elif task == "sort":
            out.append({j for j in range(t) if xs[j] == ys[i]})
        elif task == "follow":
            earlier = [j for j in range(i) if xs[j] == xs[i]]
            out.append({earlier[-1] + 1} if earlier else set())
        else:  # it: the referent noun, seen only from "it"
            out.append({1 if ys[7] == xs[1] else 5} if i == 7 else set())
    return out


@pytest.mark.parametrize("task", list(TASKS))
def test_answer_keys_match_brute_force(task):
    spec = get_task(task)
    x, y = spec.batch(50, spec.default_seq_len, spec.default_vocab, torch.Generator().manual_seed(1))
    keys = answer_keys(task, x, y)
    for b in range(50):
        expected = _brute_keys(task, x[b].tolist(), y[b].tolist())
        got = [set(torch.nonzero(keys[b, i]).flatten().tolist()) for i in range(x.shape[1])]
        assert got == expected
        if task == "it":  # the brute force above reads positions; check the words too
            assert IT_VOCAB[x[b, next(iter(got[7]))]] == IT_VOCAB[y[b, 7]]


def test_answer_share_against_a_loop():
    g = torch.Generator().manual_seed(0)
    weights = torch.rand(3, 2, 2, 5, 5, generator=g, dtype=torch.float64).softmax(-1)
    keys = torch.rand(3, 5, 5, generator=g) < 0.3
    keys[0, 0] = False  # a row with no answer is left out
    share = answer_share(weights, keys)
    for layer in range(2):
        for head in range(2):
            values = [
                sum(float(weights[b, layer, head, i, j]) for j in range(5) if keys[b, i, j])
                for b in range(3)
                for i in range(5)
                if keys[b, i].any()
            ]
            assert float(share[layer, head]) == pytest.approx(sum(values) / len(values), abs=1e-12)


def test_answer_share_rejects_mismatched_shapes_and_empty_keys():
    with pytest.raises(ValueError, match="weights"):
        answer_share(torch.rand(2, 1, 1, 4, 4), torch.ones(2, 3, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="no row has an answer key"):
        answer_share(torch.rand(2, 1, 1, 4, 4), torch.zeros(2, 4, 4, dtype=torch.bool))


def test_head_history_against_float64_numpy():
    g = torch.Generator().manual_seed(2)
    snapshots = [Snapshot(s, torch.rand(2, 3, 4, 4, generator=g).softmax(-1)) for s in (0, 10, 20)]
    steps, entropy, distance = head_history(snapshots)
    assert steps == [0, 10, 20] and entropy.shape == distance.shape == (3, 2, 3)
    for s, snap in enumerate(snapshots):
        w = snap.weights.double().numpy()
        for layer in range(2):
            for head in range(3):
                rows = w[layer, head]
                ent = np.mean([-sum(p * math.log2(p) for p in row if p > 0) for row in rows])
                dist = np.mean([sum(p * abs(i - j) for j, p in enumerate(row)) for i, row in enumerate(rows)])
                assert float(entropy[s, layer, head]) == pytest.approx(ent, abs=1e-5)
                assert float(distance[s, layer, head]) == pytest.approx(dist, abs=1e-5)
    with pytest.raises(ValueError, match="snapshots is empty"):
        head_history([])
