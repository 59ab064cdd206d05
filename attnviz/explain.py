"""Numbers written out for learners: formulas with this run's numbers, and sentences computed from the data."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from attnviz.arrays import SCIENTIFIC_FROM, to_numpy
from attnviz.i18n import gettext as _

__all__ = [
    "SCIENTIFIC_FROM",
    "aligned_latex",
    "dot_product_latex",
    "fmt",
    "join_list",
    "join_sentences",
    "softmax_latex",
    "trained_contrast",
    "vector_latex",
    "weighted_sum_latex",
]


def fmt(value: float, decimals: int = 2) -> str:
    """``value`` to ``decimals`` places (a whole number without them), never a negative zero.

    From :data:`SCIENTIFIC_FROM` on, LaTeX scientific notation (``9.01\\times10^{15}``), so a huge entry neither
    runs a formula off the screen nor shows digits float64 does not hold.
    """
    value = float(value)
    if math.isfinite(value) and abs(value) >= SCIENTIFIC_FROM:
        mantissa, exponent = f"{value:.{decimals}e}".split("e")
        return f"{mantissa}\\times10^{{{int(exponent)}}}"
    if math.isfinite(value) and value == round(value):
        return str(int(value))
    text = f"{value:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def vector_latex(vector, decimals: int = 2) -> str:
    """``[a, b, c]`` in LaTeX."""
    return r"\left[" + r",\ ".join(fmt(v, decimals) for v in np.asarray(vector).reshape(-1)) + r"\right]"


def weighted_sum_latex(name: str, weights, values, *, value_names: list[str] | None = None, decimals: int = 2) -> str:
    """``name = w₁·v₁ + … = w₁·[…] + … = […]`` for one query: ``weights`` ``(T_k,)``, ``values`` ``(T_k, d_v)``."""
    w = to_numpy(weights).astype(np.float64).reshape(-1)
    v = to_numpy(values).astype(np.float64)
    if v.ndim != 2 or v.shape[0] != w.shape[0]:
        raise ValueError(f"weights {w.shape} and values {v.shape} do not fit: need (T_k,) and (T_k, d_v)")
    w = np.nan_to_num(w)
    names = value_names or [f"v_{{{j + 1}}}" for j in range(len(w))]
    symbolic = " + ".join(f"{fmt(wj, decimals)}\\,{names[j]}" for j, wj in enumerate(w))
    numeric = r" \\ &\quad + ".join(
        f"{fmt(wj, decimals)}\\cdot{vector_latex(v[j], decimals)}" for j, wj in enumerate(w)
    )
    total = vector_latex(w @ v, decimals)
    return rf"\begin{{aligned}} {name} &= {symbolic} \\ &= {numeric} \\ &= {total} \end{{aligned}}"


def aligned_latex(equations: Sequence[str]) -> str:
    """Equations ``"lhs = rhs"`` one under the other, aligned at their first ``=`` (one formula to typeset)."""
    lines = []
    for equation in equations:
        lhs, sep, rhs = equation.partition(" = ")
        if not sep:
            raise ValueError(f"{equation!r} has no ' = ' to align at")
        lines.append(f"{lhs} &= {rhs}")
    return r"\begin{aligned} " + r" \\ ".join(lines) + r" \end{aligned}"


def dot_product_latex(name: str, a, b, *, decimals: int = 2) -> str:
    """``name = a·b = a₁b₁ + … = total`` for two vectors of the same length (a query and a key)."""
    x = to_numpy(a).astype(np.float64).reshape(-1)
    y = to_numpy(b).astype(np.float64).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"vectors of lengths {x.size} and {y.size} have no dot product")
    terms = " + ".join(f"{fmt(p, decimals)}\\cdot{fmt(q, decimals)}" for p, q in zip(x, y, strict=True))
    return f"{name} = {terms} = {fmt(float(x @ y), decimals)}"


def softmax_latex(name: str, scores, *, decimals: int = 2) -> str:
    """One row of softmax written out: ``name = e^{s_j} / Σ_k e^{s_k}`` for each key, with the numbers.

    Non-finite scores (masked keys) count as ``-∞`` and get weight 0.
    """
    s = to_numpy(scores).astype(np.float64).reshape(-1)
    finite = np.isfinite(s)
    if not finite.any():
        note = _("(every key is masked)")
        return f"{name} = [0, \\ldots, 0] \\quad \\text{{{note}}}"
    shifted = np.where(finite, s - s[finite].max(), -np.inf)
    e = np.exp(shifted)
    total = e.sum()
    parts = [f"e^{{{fmt(v, decimals)}}}" if f else "0" for v, f in zip(s, finite, strict=True)]
    return f"{name} = \\frac{{[{', '.join(parts)}]}}{{{' + '.join(parts)}}} = {vector_latex(e / total, decimals)}"


def trained_contrast(tokens: Sequence[str], labels: Sequence[str], weights) -> str:
    """For a sentence with "it" and "animal": what the tutorials say a trained model does, and what these
    weights ``(T, T)`` actually do with "it" (its top key, from the data). Empty for other sentences."""
    if "it" not in tokens or "animal" not in tokens:
        return ""
    w = to_numpy(weights)
    q = list(tokens).index("it")
    top = int(np.nanargmax(w[q]))
    said = _("In a trained Transformer, “it” in the tutorials' sentence attends mostly to “animal”.")
    if tokens[top] == "animal":
        found = _(
            "Here “it” also gives its largest weight ({weight:.3f}) to “animal”, though by chance: "
            "these random projections have learned nothing."
        ).format(weight=w[q, top])
    else:
        found = _(
            "These random projections have learned nothing: here “it” gives its largest weight ({weight:.3f}) "
            "to “{key}”."
        ).format(weight=w[q, top], key=labels[top])
    return join_sentences([said, found])


def join_sentences(sentences: Iterable[str]) -> str:
    """Sentences one after another, as the language writes them: a space between them in English, none in
    Chinese (whose full stop needs none). Empty ones are skipped."""
    text = ""
    for sentence in sentences:
        if sentence:
            text = _("{sentence} {next_sentence}").format(sentence=text, next_sentence=sentence) if text else sentence
    return text


def join_list(items: Iterable[str]) -> str:
    """Items of an enumeration, as the language separates them: ``a, b, c`` in English, ``a、b、c`` in Chinese."""
    text = ""
    for item in items:
        text = _("{items}, {item}").format(items=text, item=item) if text else item
    return text
