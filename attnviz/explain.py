"""Numbers written out for learners: an output row as the weighted sum of value rows."""

from __future__ import annotations

import numpy as np

from attnviz.figures import to_numpy

__all__ = ["fmt", "vector_latex", "weighted_sum_latex"]


def fmt(value: float, decimals: int = 2) -> str:
    """``value`` to ``decimals`` places, without a negative zero."""
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
    numeric = " + ".join(f"{fmt(wj, decimals)}\\cdot{vector_latex(v[j], decimals)}" for j, wj in enumerate(w))
    total = vector_latex(w @ v, decimals)
    return f"{name} = {symbolic} = {numeric} = {total}"
