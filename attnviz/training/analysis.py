"""What a trained model's attention does: per-head summaries over training and the share of attention on the key
that holds each position's answer."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from attnviz.stats import mean_distance, row_entropy
from attnviz.training.tasks import IGNORE, IT_OBJECT_POSITION, IT_POSITION, IT_SUBJECT_POSITION, SHIFT, get_task
from attnviz.training.train import Snapshot

__all__ = ["answer_keys", "answer_share", "head_history"]


def head_history(snapshots: Sequence[Snapshot]) -> tuple[list[int], Tensor, Tensor]:
    """``(steps, entropy (S, L, H), distance (S, L, H))``: each head's mean row entropy (bits) and mean |i − j|
    on the probe, at every snapshot."""
    if not snapshots:
        raise ValueError("snapshots is empty: a run records at least the untrained model")
    weights = torch.stack([s.weights for s in snapshots])  # (S, L, H, T, T)
    return [s.step for s in snapshots], row_entropy(weights).mean(-1), mean_distance(weights).mean(-1)


def answer_keys(task: str, inputs: Tensor, targets: Tensor) -> Tensor:
    """``(B, T_q, T_k)`` bool: the keys whose token is query i's answer, for a solution that copies it by attention.

    reverse → j = T−1−i; shift → j = (i − 2) mod T; sort → every j holding the token of rank i; follow → the
    position right after the latest earlier copy of token i (no key when it has none); it → at "it", the referent
    noun. Rows with no answer to copy are all False.
    """
    get_task(task)
    if inputs.shape != targets.shape or inputs.dim() != 2:
        raise ValueError(f"inputs and targets must both be (B, T), got {tuple(inputs.shape)}, {tuple(targets.shape)}")
    b, t = inputs.shape
    i = torch.arange(t).unsqueeze(-1)  # (T, 1)
    j = torch.arange(t).unsqueeze(0)  # (1, T)
    if task == "reverse":
        return (j == t - 1 - i).expand(b, t, t)
    if task == "shift":
        return (j == (i - SHIFT) % t).expand(b, t, t)
    if task == "sort":
        return inputs.unsqueeze(1) == targets.unsqueeze(-1)  # (B, T_q, T_k): key j holds query i's answer
    if task == "follow":
        same = (inputs.unsqueeze(-1) == inputs.unsqueeze(-2)) & (j < i)  # (B, T, T): earlier copies of token i
        last = torch.where(same, j, -1).amax(-1)  # (B, T)
        return (j == (last + 1).unsqueeze(-1)) & (last >= 0).unsqueeze(-1)
    keys = torch.zeros(b, t, t, dtype=torch.bool)  # "it"
    scored = targets[:, IT_POSITION] != IGNORE
    subject = inputs[:, IT_SUBJECT_POSITION] == targets[:, IT_POSITION]
    keys[:, IT_POSITION, IT_SUBJECT_POSITION] = scored & subject
    keys[:, IT_POSITION, IT_OBJECT_POSITION] = scored & ~subject
    return keys


def answer_share(weights: Tensor, keys: Tensor) -> Tensor:
    """Mean attention on the answer keys, over rows that have one: weights ``(B, L, H, T, T)``, keys ``(B, T, T)``
    → ``(L, H)``. 1 means the head reads exactly the answer; 1/T is a uniform head."""
    if weights.dim() != 5 or keys.shape != (weights.shape[0], *weights.shape[-2:]):
        raise ValueError(f"weights (B, L, H, T, T) {tuple(weights.shape)} and keys (B, T, T) {tuple(keys.shape)}")
    rows = keys.any(-1)  # (B, T)
    if not rows.any():
        raise ValueError("no row has an answer key")
    on_answer = (weights * keys[:, None, None].to(weights.dtype)).sum(-1)  # (B, L, H, T)
    return on_answer.permute(1, 2, 0, 3)[:, :, rows].mean(-1)  # (L, H)
