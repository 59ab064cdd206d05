"""Turning what a learner typed into numbers, with errors that name the cell or control."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from attnviz.i18n import gettext as _

__all__ = ["InputError", "check_at_least_one", "parse_matrix"]


def check_at_least_one(name: str, value: object) -> int:
    """``value`` as an int: ``TypeError`` unless it is an integer (not a bool), ``ValueError`` below 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}={value!r} must be an int")
    if value < 1:
        raise ValueError(_("{name}={value} must be at least 1").format(name=name, value=repr(value)))
    return int(value)


class InputError(ValueError):
    """A learner's input that cannot be used; ``problems`` lists each bad cell or control."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


def _cell_problem(raw: object) -> str | None:
    if raw is None:
        return _("is empty")
    if isinstance(raw, bool):
        return _("{value} is not a number").format(value=repr(raw))
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            return _("is empty")
        try:
            value = float(text)
        except ValueError:
            shown = text if len(text) <= 20 else text[:20] + "…"
            return _("{value} is not a number").format(value=repr(shown))
    else:
        try:
            value = float(raw)  # numpy scalars, ints, floats
        except (TypeError, ValueError):
            return _("{value} is not a number").format(value=repr(raw))
    if math.isnan(value):
        return _("is empty or not a number")
    if math.isinf(value):
        return _("is +infinity") if value > 0 else _("is -infinity")
    return None


def parse_matrix(
    name: str,
    cells: Sequence[Sequence[object]],
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    max_problems: int = 5,
) -> np.ndarray:
    """A float64 matrix from raw cells, or :class:`InputError` naming every bad cell (up to ``max_problems``).

    Accepts numbers, numeric strings ("2", " -0.5 ", "1e3"); rejects text, empty cells, NaN and ±inf.
    """
    rows = [list(row) for row in cells]
    if not rows or not rows[0]:
        raise InputError([_("{name} has no cells: it needs at least one row and one column").format(name=name)])
    width = len(rows[0])
    row_labels = list(row_labels) if row_labels is not None else [str(i) for i in range(len(rows))]
    col_labels = list(col_labels) if col_labels is not None else [str(j) for j in range(width)]
    problems = []
    out = np.zeros((len(rows), width), dtype=np.float64)
    for i, row in enumerate(rows):
        if len(row) != width:
            raise InputError(
                [
                    _("{name} row {row} has {cells} cells, expected {width}").format(
                        name=name, row=row_labels[i], cells=len(row), width=width
                    )
                ]
            )
        for j, raw in enumerate(row):
            problem = _cell_problem(raw)
            if problem is None:
                out[i, j] = float(raw.strip() if isinstance(raw, str) else raw)
            else:
                problems.append(
                    _("{name} row {row}, column {col}: {problem}").format(
                        name=name, row=row_labels[i], col=col_labels[j], problem=problem
                    )
                )
    if problems:
        more = len(problems) - max_problems
        shown = problems[:max_problems] + ([_("… and {more} more").format(more=more)] if more > 0 else [])
        raise InputError(shown)
    return out
