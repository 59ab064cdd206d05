"""The seed worked example and the other matrix presets of the worked-example page."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attnviz.arrays import resize  # re-exported: presets crop/pad with it
from attnviz.i18n import N_
from attnviz.i18n import gettext as _


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

# Shown translated (N_ marks them for the catalog); the English names are what the state and the address hold.
PRESETS = (N_("The tutorial's example"), N_("Random (seeded)"), N_("Identity-like"))

# Seed 000's "qkv intro": two 5-wide tokens, W_q, W_k, W_v drawn with torch.randn(5, 5), scores / √d_model.
QKV_INTRO = N_("Seed 000: qkv intro")
QKV_INTRO_X = _frozen([[1, 0, 1, 0, 1], [0, 1, 0, 1, 0]])
QKV_INTRO_NOTE = N_(
    "Seed 000's qkv intro: two tokens of width 5 and random 5 × 5 W_q, W_k, W_v (torch.randn after "
    "torch.manual_seed(seed)). It divides the scores by √d_model; each projection keeps the full width, so here "
    "d_k = d_model = 5 and the page's 1/√d_k is the same 1/√5 (chosen for you when the preset loads)."
)


def qkv_intro_example(seed: int = 0) -> WorkedExample:
    """Seed 000's qkv intro: ``x`` (2×5) and ``W_q, W_k, W_v`` (5×5) drawn in that order by ``torch.randn(5, 5)``
    after ``torch.manual_seed(seed)`` (a private generator, so the global one is left alone)."""
    import torch  # only this preset needs torch; the rest of the module stays light

    generator = torch.Generator().manual_seed(int(seed))
    w_q, w_k, w_v = (torch.randn(5, 5, generator=generator).double().numpy() for _draw in range(3))
    return WorkedExample(QKV_INTRO_X.copy(), w_q, w_k, w_v)


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
    if name == QKV_INTRO:
        ex = qkv_intro_example(seed)
        shapes = ((t, d_in), (d_in, d_k), (d_in, d_k), (d_in, d_k))
        return WorkedExample(*(resize(m, s) for m, s in zip((ex.x, ex.w_q, ex.w_k, ex.w_v), shapes, strict=True)))
    raise ValueError(
        _("unknown preset {name}; choose one of {presets}").format(name=repr(name), presets=(*PRESETS, QKV_INTRO))
    )
