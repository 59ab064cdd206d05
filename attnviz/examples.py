"""The seed worked example and the other matrix presets of the worked-example page."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attnviz.arrays import resize  # re-exported: presets crop/pad with it


@dataclass(frozen=True)
class WorkedExample:
    """Input ``x`` ``(T, d_in)`` and weights ``w_q, w_k, w_v`` ``(d_in, d_k)``, with ``Q = X @ W_q``."""

    x: np.ndarray
    w_q: np.ndarray
    w_k: np.ndarray
    w_v: np.ndarray

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(T, d_in, d_k)``."""
        return self.x.shape[0], self.x.shape[1], self.w_q.shape[1]


def _frozen(rows: list[list[float]]) -> np.ndarray:
    array = np.array(rows, dtype=np.float64)
    array.flags.writeable = False
    return array


# Three tokens of width 4 and hand-set 4×3 projections, as in the source tutorial's self-attention walk-through.
WORKED_EXAMPLE = WorkedExample(
    x=_frozen([[1, 0, 1, 0], [0, 2, 0, 2], [1, 1, 1, 1]]),
    w_q=_frozen([[1, 0, 1], [1, 0, 0], [0, 0, 1], [0, 1, 1]]),
    w_k=_frozen([[0, 0, 1], [1, 1, 0], [0, 1, 0], [1, 1, 0]]),
    w_v=_frozen([[0, 2, 0], [0, 3, 0], [1, 0, 3], [1, 1, 0]]),
)

# The numbers the tutorial prints for it (unscaled scores), to 2 decimals where it rounds.
WORKED_EXAMPLE_PRINTED = {
    "query": [[1, 0, 2], [2, 2, 2], [2, 1, 3]],
    "key": [[0, 1, 1], [4, 4, 0], [2, 3, 1]],
    "value": [[1, 2, 3], [2, 8, 0], [2, 6, 3]],
    "scores": [[2, 4, 4], [4, 16, 12], [4, 12, 10]],
    "weights": [[0.06, 0.47, 0.47], [0.00, 0.98, 0.02], [0.00, 0.88, 0.12]],
    "output": [[1.94, 6.68, 1.60], [2.00, 7.96, 0.05], [2.00, 7.76, 0.36]],
}

PRESETS = ("The tutorial's example", "Random (seeded)", "Identity-like")


def random_example(t: int, d_in: int, d_k: int, seed: int) -> WorkedExample:
    """Small integers in [-2, 2] for X and the weights, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)

    def draw(shape: tuple[int, int]) -> np.ndarray:
        return rng.integers(-2, 3, size=shape).astype(np.float64)

    return WorkedExample(draw((t, d_in)), draw((d_in, d_k)), draw((d_in, d_k)), draw((d_in, d_k)))


def identity_example(t: int, d_in: int, d_k: int) -> WorkedExample:
    """X one-hot per token and W = I (padded): Q = K = V = X, so each token attends most to itself."""
    x = np.zeros((t, d_in))
    x[np.arange(t), np.arange(t) % d_in] = 1.0
    eye = np.eye(d_in, d_k)
    return WorkedExample(x, eye.copy(), eye.copy(), eye.copy())


def preset(name: str, t: int, d_in: int, d_k: int, seed: int = 0) -> WorkedExample:
    """The matrices of preset ``name`` (one of :data:`PRESETS`) at the given shape.

    The tutorial's example keeps its own 3×4 / 4×3 shape, cropped or zero-padded to fit the requested one.
    """
    if name == PRESETS[0]:
        return WorkedExample(
            resize(WORKED_EXAMPLE.x, (t, d_in)),
            resize(WORKED_EXAMPLE.w_q, (d_in, d_k)),
            resize(WORKED_EXAMPLE.w_k, (d_in, d_k)),
            resize(WORKED_EXAMPLE.w_v, (d_in, d_k)),
        )
    if name == PRESETS[1]:
        return random_example(t, d_in, d_k, seed)
    if name == PRESETS[2]:
        return identity_example(t, d_in, d_k)
    raise ValueError(f"unknown preset {name!r}; choose one of {PRESETS}")
