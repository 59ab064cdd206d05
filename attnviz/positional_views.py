"""What the Positional-encoding page draws to make its case: the shuffle demo, "dog bites man", and RoPE.

Pure display models (no streamlit, no plotly), each carrying its own axis labels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from attnviz.cells import CellExplanation, hover_text, latex_number
from attnviz.figures import hover_format
from attnviz.i18n import N_
from attnviz.i18n import gettext as _
from attnviz.modules import SelfAttention
from attnviz.positional import POSITION_SCHEMES, diagonal_spread, position_pair_scores
from attnviz.tokens import embed, token_labels, tokenize
from attnviz.validation import check_at_least_one
from attnviz.word_order import shuffle_demo, word_order_demo

__all__ = [
    "RopeView",
    "ShuffleView",
    "WordOrderView",
    "explain_encoding_cell",
    "explain_similarity_cell",
    "rope_view",
    "shuffle_perm",
    "shuffle_view",
    "word_order_view",
]

D_K = 8  # the projections' width in these demos


def shuffle_perm(t: int, seed: int) -> tuple[int, ...]:
    """A seeded permutation of 0…T−1 that moves something whenever T > 1 (an identity draw is rotated by one)."""
    perm = torch.randperm(t, generator=torch.Generator().manual_seed(int(seed))).tolist()
    if t > 1 and perm == list(range(t)):
        perm = perm[1:] + perm[:1]
    return tuple(perm)


@dataclass(frozen=True)
class ShuffleView:
    labels: tuple[str, ...]  # the sentence in its order
    shuffled_labels: tuple[str, ...]  # the shuffled sentence: shuffled_labels[i] is token perm[i]
    perm: tuple[int, ...]
    shuffled_output: np.ndarray  # (T, d_k)  attention outputs of the shuffled sentence, no PE
    expected: np.ndarray  # (T, d_k)  the original outputs, rows reordered by perm
    max_diff_without: float  # max |shuffled_output − expected|: ~0 (permutation-equivariant)
    max_diff_with: float  # the same with PE added after shuffling: clearly > 0


def shuffle_view(tokens: tuple[str, ...], *, d_model: int, seed: int = 0, shuffle_seed: int = 1) -> ShuffleView:
    """Self-attention (``SelfAttention(d_model, 8, seed)``, float64) of the sentence and of a shuffle of it."""
    if not tokens:
        raise ValueError(_("the sentence is empty: type a few words"))
    module = SelfAttention(d_model, D_K, seed=seed).double()
    x = embed(list(tokens), d_model, seed=seed, dtype=torch.float64)  # (T, d_model)
    perm = shuffle_perm(len(tokens), shuffle_seed)
    without = shuffle_demo(module, x, perm)
    with_pe = shuffle_demo(module, x, perm, positional=True)
    labels = tuple(token_labels(list(tokens)))
    shuffled = tuple(token_labels([tokens[j] for j in perm]))
    return ShuffleView(
        labels=labels,
        shuffled_labels=shuffled,
        perm=perm,
        shuffled_output=without.shuffled_output.numpy(),
        expected=without.expected.numpy(),
        max_diff_without=without.max_diff,
        max_diff_with=with_pe.max_diff,
    )


@dataclass(frozen=True)
class WordOrderView:
    tokens_a: tuple[str, ...]
    tokens_b: tuple[str, ...]
    words: tuple[str, ...]  # labels of sentence B's words, "0 man"
    diff_without: tuple[float, ...]  # per word of B: max |output in B − output in A|, no PE
    diff_with: tuple[float, ...]  # the same with PE
    pooled_without: float  # max |mean output of A − mean output of B|
    pooled_with: float


def word_order_view(text_a: str, text_b: str, *, d_model: int, seed: int = 0) -> WordOrderView:
    """Each word's attention output in two orderings of the same words, without and with PE."""
    tokens_a, tokens_b = tokenize(text_a), tokenize(text_b)
    if not tokens_a or not tokens_b:
        raise ValueError(_("both sentences need at least one word"))
    module = SelfAttention(d_model, D_K, seed=seed).double()
    without = word_order_demo(module, tokens_a, tokens_b, seed=seed)
    with_pe = word_order_demo(module, tokens_a, tokens_b, seed=seed, positional=True)
    return WordOrderView(
        tokens_a=tuple(tokens_a),
        tokens_b=tuple(tokens_b),
        words=tuple(token_labels(tokens_b)),
        diff_without=without.per_word_diff,
        diff_with=with_pe.per_word_diff,
        pooled_without=without.pooled_diff,
        pooled_with=with_pe.pooled_diff,
    )


@dataclass(frozen=True)
class RopeView:
    positions: tuple[str, ...]  # axis labels "0" … "T−1"
    width: int  # d of the fixed q and k
    grids: dict[str, np.ndarray]  # scheme -> (T, T) scores of q at position m (row) and k at position n (column)
    spread: dict[str, float]  # scheme -> largest max − min along a diagonal (0: depends only on m − n)


def rope_view(num_positions: int, d_model: int, *, seed: int = 0) -> RopeView:
    """One seeded q and k placed at every pair of positions under each of :data:`POSITION_SCHEMES`.

    RoPE pairs dimensions, so the width is d_model rounded down to even (at least 2), capped at 64.
    """
    width = max(2, min(64, d_model - d_model % 2))
    generator = torch.Generator().manual_seed(int(seed))
    q = torch.randn(width, generator=generator, dtype=torch.float64)
    k = torch.randn(width, generator=generator, dtype=torch.float64)
    grids = {s: position_pair_scores(q, k, num_positions, s, seed=seed) for s in POSITION_SCHEMES}
    return RopeView(
        positions=tuple(str(p) for p in range(num_positions)),
        width=width,
        grids={s: g.numpy() for s, g in grids.items()},
        spread={s: diagonal_spread(g) for s, g in grids.items()},
    )


# A click on the encoding or on PE·PEᵀ: where the cell's number comes from (translated when a cell is explained).
ENCODING_TITLE = N_("PE[{pos}, {column}]: position {pos}, column {column}, the {function} of pair i = {pair}")
ENCODING_PAIR = N_(
    "Columns {sin} and {cos} form pair i = {pair}: both use the frequency `ω_{pair} = 1 / base^(2i/d_model)`, "
    "column {sin} takes the sin and column {cos} the cos of the same angle `pos·ω_{pair}`."
)
ENCODING_UNPAIRED = N_(
    "d_model = {d} is odd: column {column} is the last sin, pair i = {pair} has no cos partner; its frequency is "
    "still `ω_{pair} = 1 / base^(2i/d_model)` and its value the sin of the angle `pos·ω_{pair}`."
)
SIMILARITY_TITLE = N_("PE[{p}]·PE[{q}]: the similarity of positions {p} and {q}")
SIMILARITY_EVEN = N_(
    "Each sin/cos pair adds `sin(p·ω_i)·sin(q·ω_i) + cos(p·ω_i)·cos(q·ω_i) = cos((p−q)·ω_i)`, so the dot product "
    "depends only on the distance p − q = {diff}."
)
SIMILARITY_ODD = N_(
    "d_model = {d} is odd: the {pairs} sin/cos pairs add `cos((p−q)·ω_i)` each, and the unpaired last sin column "
    "{last} adds `sin(p·ω_{pair})·sin(q·ω_{pair})`, which depends on p and q themselves, not only on p − q = {diff}."
)
MINUS_SIGN = "\u2212"
WRITTEN_TERMS = 6  # longer sums are written with their first 3 and last 2 terms, "…" between


def _sig(value: float) -> str:
    """A frequency or an angle in LaTeX: 6 significant digits, ``\\times10^{n}`` for an exponent."""
    text = f"{value:.6g}"
    if "e" in text:
        mantissa, power = text.split("e")
        text = f"{mantissa}\\times10^{{{int(power)}}}"
    return text


def _number(value: float) -> str:
    """A whole number as an integer (a base of 10000), else :func:`_sig`."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else _sig(value)


def _frequency(pair: int, d_model: int, base: float) -> float:
    """ω_i = 1 / base^(2i/d_model), in float64."""
    return float(base ** (-(2 * pair) / d_model))


def _omega_line(pair: int, d_model: int, base: float) -> str:
    omega = _frequency(pair, d_model, base)
    return (
        f"\\omega_{{{pair}}} &= \\frac{{1}}{{{_number(base)}^{{2\\cdot{pair}/{d_model}}}}} = "
        f"\\frac{{1}}{{{_number(base)}^{{{_sig(2 * pair / d_model)}}}}} = {_sig(omega)}"
    )


def _checked(name: str, index: int, size: int) -> int:
    if isinstance(index, bool) or not isinstance(index, int | np.integer) or not 0 <= int(index) < size:
        raise ValueError(
            _("{name}={index} is out of range for {size} entries").format(name=name, index=repr(index), size=size)
        )
    return int(index)


def _base(base: float) -> float:
    if not (np.isfinite(base) and base > 0):
        raise ValueError(_("base={base} must be positive and finite").format(base=repr(base)))
    return float(base)


def explain_encoding_cell(
    pos: int, column: int, *, d_model: int, base: float, drawn: float | None = None, spec: str | None = None
) -> CellExplanation:
    """The arithmetic of ``PE[pos, column]`` of the sinusoidal encoding (:func:`~attnviz.positional.sinusoidal_encoding`):
    the column's pair ``i = column // 2``, sin (even column) or cos (odd), ω_i = 1 / base^(2i/d_model), the angle
    pos·ω_i and the value, all in float64. ``drawn``: the cell as the heatmap holds it (default: recomputed);
    ``spec``: the heatmap's hover format (default: :func:`~attnviz.figures.hover_format` of the value). An odd
    d_model's last column is a sin without a cos partner (the same formula, said in the note)."""
    d_model = check_at_least_one("d_model", d_model)
    pos = _checked("pos", pos, 1 << 62)
    column = _checked("column", column, d_model)
    base = _base(base)
    pair, function = column // 2, "sin" if column % 2 == 0 else "cos"
    omega = _frequency(pair, d_model, base)
    angle = pos * omega
    recomputed = math.sin(angle) if function == "sin" else math.cos(angle)
    shown = recomputed if drawn is None else float(drawn)
    spec = spec or hover_format(np.array([[shown]]))
    lines = (
        f"i &= \\lfloor {column}/2 \\rfloor = {pair}",
        _omega_line(pair, d_model, base),
        f"\\theta &= {pos}\\cdot\\omega_{{{pair}}} = {pos}\\cdot{_sig(omega)} = {_sig(angle)}",
        f"\\mathrm{{PE}}_{{{pos},{column}}} &= \\{function}(\\theta) = \\{function}({_sig(angle)}) = "
        f"{latex_number(shown, spec, bracket=False)}",
    )
    if function == "sin" and column == d_model - 1:
        note = _(ENCODING_UNPAIRED).format(d=d_model, column=column, pair=pair)
    else:
        note = _(ENCODING_PAIR).format(sin=2 * pair, cos=2 * pair + 1, pair=pair)
    title = _(ENCODING_TITLE).format(pos=pos, column=column, function=function, pair=pair)
    return CellExplanation(
        "encoding", pos, column, shown, hover_text(shown, spec), recomputed, (recomputed,), (), lines, title, note=note
    )


def explain_similarity_cell(
    p: int, q: int, *, d_model: int, base: float, drawn: float | None = None, spec: str | None = None
) -> CellExplanation:
    """The arithmetic of ``(PE·PEᵀ)[p, q] = PE[p]·PE[q]``, in float64: each sin/cos pair i adds
    ``sin(pω_i)sin(qω_i) + cos(pω_i)cos(qω_i) = cos((p−q)ω_i)``; an odd d_model's unpaired last sin column adds
    ``sin(pω)·sin(qω)``. ``terms`` are those addends (pairs first); ``drawn`` and ``spec`` as in
    :func:`explain_encoding_cell`."""
    d_model = check_at_least_one("d_model", d_model)
    p, q = _checked("p", p, 1 << 62), _checked("q", q, 1 << 62)
    base = _base(base)
    pairs, diff = d_model // 2, p - q
    difference = f"({diff})" if diff < 0 else str(diff)
    omegas = [_frequency(i, d_model, base) for i in range((d_model + 1) // 2)]
    terms = [math.cos(diff * omegas[i]) for i in range(pairs)]
    if d_model % 2:
        last = omegas[pairs]
        terms.append(math.sin(p * last) * math.sin(q * last))
    recomputed = math.fsum(terms)
    shown = recomputed if drawn is None else float(drawn)
    spec = spec or hover_format(np.array([[shown]]))
    n = lambda x: latex_number(x, spec)  # noqa: E731  (a term: negatives in brackets)

    def written(write) -> list[str]:
        count = len(terms)
        if count <= WRITTEN_TERMS:
            return [write(m) for m in range(count)]
        return [*(write(m) for m in range(3)), r"\ldots", *(write(m) for m in range(count - 2, count))]

    def symbol(m: int) -> str:
        if m < pairs:
            return f"\\cos({difference}\\cdot{_sig(omegas[m])})"
        return f"\\sin({p}\\cdot{_sig(omegas[m])})\\,\\sin({q}\\cdot{_sig(omegas[m])})"

    total = f"\\textstyle\\sum_{{i=0}}^{{{pairs - 1}}}\\cos(({p}-{q})\\,\\omega_i)" if pairs else ""
    if d_model % 2:
        tail = f"\\sin({p}\\,\\omega_{{{pairs}}})\\,\\sin({q}\\,\\omega_{{{pairs}}})"
        total = f"{total} + {tail}" if total else tail
    sum_of = f"{' + '.join(written(lambda m: n(terms[m])))} = " if len(terms) > 1 else ""
    symbols = written(symbol)  # three a line: the cosines with their frequencies are wide
    rows = [" + ".join(symbols[start : start + 3]) for start in range(0, len(symbols), 3)]
    lines = (
        f"\\mathrm{{PE}}_{{{p}}}\\cdot \\mathrm{{PE}}_{{{q}}} &= {total}",
        f"&= {rows[0]}",
        *(f"&\\quad + {row}" for row in rows[1:]),
        f"&= {sum_of}{latex_number(shown, spec, bracket=False)}",
    )
    if d_model % 2:
        note = _(SIMILARITY_ODD).format(
            d=d_model, pairs=pairs, last=d_model - 1, pair=pairs, diff=MINUS_SIGN.join(str(diff).split("-"))
        )
    else:
        note = _(SIMILARITY_EVEN).format(diff=MINUS_SIGN.join(str(diff).split("-")))
    title = _(SIMILARITY_TITLE).format(p=p, q=q)
    return CellExplanation(
        "similarity", p, q, shown, hover_text(shown, spec), recomputed, tuple(terms), (), lines, title, note=note
    )
