"""The attention lab's one set of inputs: X, the projections, and Q = X W_q, K = X W_k, V = X W_v.

Three sources: the seed worked example (3 tokens, hand-set weights), a typed sentence (deterministic toy
embeddings) or random rows. For the sentence and random sources X has unit-variance entries and the weights are
drawn from N(0, 1/d_in), so Q and K have unit-variance entries too: the setting the √d_k argument assumes.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from attnviz.examples import WORKED_EXAMPLE
from attnviz.i18n import gettext as _
from attnviz.tokens import embed, token_labels, tokenize

__all__ = ["LAB_MAX_D_K", "LAB_MAX_TOKENS", "LAB_SOURCES", "LabInputs", "lab_inputs"]

LAB_SOURCES = ("worked example", "sentence", "random")
LAB_MAX_TOKENS = 64
"""Most tokens the lab draws: it shows up to a dozen (T, T) heatmaps side by side."""
LAB_MAX_D_K = 1024


@dataclass(frozen=True)
class LabInputs:
    """X and the weights; Q, K, V follow from them. Rows are tokens; float64."""

    source: str
    tokens: tuple[str, ...]  # T labels
    x: Tensor  # (T, d_in)
    w_q: Tensor  # (d_in, d_k)
    w_k: Tensor  # (d_in, d_k)
    w_v: Tensor  # (d_in, d_k)

    @property
    def labels(self) -> tuple[str, ...]:
        """Unique axis labels, "3 it" (position and token)."""
        return tuple(token_labels(list(self.tokens)))

    @property
    def query(self) -> Tensor:
        return self.x @ self.w_q  # (T, d_k)

    @property
    def key(self) -> Tensor:
        return self.x @ self.w_k  # (T, d_k)

    @property
    def value(self) -> Tensor:
        return self.x @ self.w_v  # (T, d_k)

    @property
    def d_k(self) -> int:
        return self.w_q.shape[1]


def _int_in(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= value <= high:
        raise ValueError(
            _("{name}={value} must be a whole number between {low} and {high}").format(
                name=name, value=repr(value), low=low, high=high
            )
        )
    return int(value)


def _weights(d_in: int, d_k: int, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
    std = 1.0 / math.sqrt(d_in)
    return tuple(torch.randn(d_in, d_k, generator=generator, dtype=torch.float64) * std for _ in range(3))


def lab_inputs(
    source: str, *, sentence: str = "", t: int = 6, d_k: int = 8, seed: int = 0, max_tokens: int = LAB_MAX_TOKENS
) -> LabInputs:
    """The lab's inputs from one of :data:`LAB_SOURCES`.

    ``"worked example"``: the seed's X (3×4) and hand-set W (4×3), ``t``/``d_k`` ignored. ``"sentence"``: the
    tokens of ``sentence`` embedded with width d_k (seeded), weights (d_k, d_k) from ``seed``. ``"random"``: X of
    ``t`` rows and width d_k, weights as for a sentence.
    """
    if source not in LAB_SOURCES:
        raise ValueError(f"source must be one of {LAB_SOURCES}, got {source!r}")
    if source == "worked example":
        ex = WORKED_EXAMPLE
        as_t = (torch.from_numpy(np.array(a)) for a in (ex.x, ex.w_q, ex.w_k, ex.w_v))
        x, w_q, w_k, w_v = as_t
        return LabInputs(source, tuple(f"x{i + 1}" for i in range(x.shape[0])), x, w_q, w_k, w_v)
    d_k = _int_in("d_k", d_k, 1, LAB_MAX_D_K)
    generator = torch.Generator().manual_seed(int(seed))
    if source == "sentence":
        tokens = tokenize(sentence)
        if not tokens:
            raise ValueError(_("the sentence has no tokens: type at least one word"))
        if len(tokens) > max_tokens:
            raise ValueError(
                _("the sentence has {count} tokens; the lab shows at most {most}").format(
                    count=len(tokens), most=max_tokens
                )
            )
        x = embed(tokens, d_k, seed=int(seed), dtype=torch.float64)  # (T, d_k)
    else:
        t = _int_in("t", t, 1, max_tokens)
        tokens = [f"t{i}" for i in range(t)]
        x = torch.randn(t, d_k, generator=generator, dtype=torch.float64)  # (T, d_k)
    w_q, w_k, w_v = _weights(d_k, d_k, generator)
    return LabInputs(source, tuple(tokens), x, w_q, w_k, w_v)
