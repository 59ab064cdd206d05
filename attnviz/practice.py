"""Practice problems: a small attention computed from a seed, one stage hidden, the learner's grid graded.

:func:`make_problem` draws a problem from ``(seed, level, stage, source)`` alone, so the same four values give
every learner the same exercise (a teacher shares them in a link). A :class:`Problem` holds what the learner is
shown (``given``), the hidden ``answer`` and its ``tolerance``; :func:`grade` marks a typed grid cell by cell,
:func:`hint` reveals one term of one cell and :func:`solution` writes every cell out. No streamlit here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from attnviz.cells import hover_text, latex_number
from attnviz.examples import WORKED_EXAMPLE
from attnviz.i18n import N_
from attnviz.i18n import gettext as _

__all__ = [
    "LEVELS",
    "NAME_LABELS",
    "SOURCES",
    "STAGES",
    "Grade",
    "Problem",
    "display_name",
    "grade",
    "hint",
    "make_problem",
    "solution",
]

STAGES = ("query", "key", "value", "scores", "scaled", "weights", "output", "concat")
"""The stages a problem can hide (``concat``: two heads' outputs side by side)."""

SOURCES = ("random", "worked")
"""Where the numbers come from: small random integers, or the tutorial's worked example."""


@dataclass(frozen=True)
class Level:
    """What a difficulty level draws: sizes, the integers' range and the stages it may hide."""

    tokens: tuple[int, int]  # T from … to (inclusive)
    dims: tuple[int, int]  # d (d_in = d_k = d_v) from … to
    x_range: tuple[int, int]  # X's integers, inclusive
    w_range: tuple[int, int]  # W_q, W_k, W_v's integers, inclusive (small, so softmax stays readable)
    stages: tuple[str, ...]


LEVELS = {
    "easy": Level((2, 2), (2, 2), (0, 2), (0, 2), ("query", "key", "value", "scores")),
    "medium": Level((3, 3), (2, 3), (0, 1), (-1, 1), ("scores", "scaled", "weights", "output")),
    "hard": Level((3, 4), (2, 3), (-1, 2), (-1, 1), ("scaled", "weights", "output", "concat")),
}

# What the learner computes, per hidden stage (whole sentences, English catalog messages: shown with ``_(task)``).
TASKS = {
    "query": N_("Compute the queries Q = X·W_q."),
    "key": N_("Compute the keys K = X·W_k."),
    "value": N_("Compute the values V = X·W_v."),
    "scores": N_("Compute the scores Q·Kᵀ (row i, column j: query i · key j)."),
    "scaled": N_("Compute the scaled scores Q·Kᵀ / √d_k (to 2 decimals)."),
    "weights": N_("Compute the weights: the softmax of each row of the given scores (to 2 decimals)."),
    "output": N_("Compute the outputs: the weights times V (to 2 decimals)."),
    "concat": N_(
        "Two heads of d_head = 1: head 0 has the weights A₀ and reads column d1 of V, head 1 has A₁ and reads d2. "
        "Compute their outputs side by side, the concatenation [A₀·V₀ | A₁·V₁] (to 2 decimals)."
    ),
}
TOLERANCE = {"query": 1e-9, "key": 1e-9, "value": 1e-9, "scores": 1e-9}  # integer answers: exact
ROUNDED_TOLERANCE = 0.01  # answers asked "to 2 decimals": within 0.01 of the exact value
ANSWER_NAMES = {
    "query": "Q",
    "key": "K",
    "value": "V",
    "scores": "scores",
    "scaled": "scaled",
    "weights": "weights",
    "output": "output",
    "concat": "concat",
}
# How a matrix's name reads on the page (names that are words; symbols such as X, W_q, Q, A₀ stay as they are).
NAME_LABELS = {
    "scores": N_("scores"),
    "scaled": N_("scaled"),
    "scaled scores": N_("scaled scores"),
    "weights": N_("weights"),
    "output": N_("output"),
    "concat": N_("concat"),
}


def display_name(name: str) -> str:
    """A given or hidden matrix's name as the page shows it, in the current language."""
    return _(NAME_LABELS[name]) if name in NAME_LABELS else name


@dataclass(frozen=True)
class Problem:
    """One exercise. ``given`` maps a name (``"X"``, ``"W_q"``, ``"Q"``, …) to ``(matrix, row labels, col labels)``
    in the order shown; ``answer`` is the hidden matrix with its labels."""

    seed: int
    level: str
    stage: str
    source: str
    given: dict[str, tuple[np.ndarray, tuple[str, ...], tuple[str, ...]]]
    answer: np.ndarray = field(repr=False)
    row_labels: tuple[str, ...]
    col_labels: tuple[str, ...]
    tolerance: float
    task: str
    d_k: int

    @property
    def name(self) -> str:
        """The hidden matrix's name (the answer grid's)."""
        return ANSWER_NAMES[self.stage]

    @property
    def id(self) -> str:
        """A short identity of the exercise (the answer grid's widget key carries it)."""
        return f"{self.source}-{self.level}-{self.stage}-{self.seed}"


def _check(seed: int, level: str, stage: str, source: str) -> None:
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or not 0 <= int(seed) < 2**32:
        raise ValueError(f"seed={seed!r} must be a whole number from 0 to 2³² − 1")
    if level not in LEVELS:
        raise ValueError(f"level={level!r} is not one of {tuple(LEVELS)}")
    if stage != "any" and stage not in STAGES:
        raise ValueError(f"stage={stage!r} is not 'any' or one of {STAGES}")
    if source not in SOURCES:
        raise ValueError(f"source={source!r} is not one of {SOURCES}")


def make_problem(seed: int, level: str = "medium", stage: str = "any", source: str = "random") -> Problem:
    """The exercise of ``seed`` at ``level`` hiding ``stage`` (``"any"``: one of the level's, drawn from the seed).

    ``source="random"``: T tokens and d dimensions in the level's ranges, integer entries in its range;
    ``"worked"``: the tutorial's X, W_q, W_k, W_v (T = 3, d_in = 4, d_k = 3). A ``"concat"`` problem has two heads
    (d_model = 2 × the level's d, d_head = d).
    """
    _check(seed, level, stage, source)
    spec = LEVELS[level]
    rng = np.random.default_rng(int(seed))
    if stage == "any":
        stage = str(spec.stages[rng.integers(len(spec.stages))])
    if source == "worked":
        ex = WORKED_EXAMPLE
        x, w_q, w_k, w_v = (np.array(m, dtype=np.float64) for m in (ex.x, ex.w_q, ex.w_k, ex.w_v))
    else:
        t = int(rng.integers(spec.tokens[0], spec.tokens[1] + 1))
        d = int(rng.integers(spec.dims[0], spec.dims[1] + 1))
        x = rng.integers(spec.x_range[0], spec.x_range[1] + 1, size=(t, d)).astype(np.float64)
        w_q, w_k, w_v = rng.integers(spec.w_range[0], spec.w_range[1] + 1, size=(3, d, d)).astype(np.float64)
    if stage == "concat":  # two heads of d_head = 1: head h projects with column h of W_q, W_k, W_v
        w_q, w_k, w_v = w_q[:, :2], w_k[:, :2], w_v[:, :2]
    q, k, v = x @ w_q, x @ w_k, x @ w_v
    t, d_k = q.shape
    tokens = tuple(f"x{i + 1}" for i in range(t))
    dims_in = tuple(f"d{j + 1}" for j in range(x.shape[1]))
    dims_k = tuple(f"d{j + 1}" for j in range(d_k))
    dims_v = tuple(f"d{j + 1}" for j in range(v.shape[1]))
    scores = q @ k.T
    scaled = scores / math.sqrt(d_k)
    use = scaled if level != "easy" else scores

    def softmax(z: np.ndarray) -> np.ndarray:
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    given: dict[str, tuple[np.ndarray, tuple[str, ...], tuple[str, ...]]]
    if stage in ("query", "key", "value"):
        w = {"query": w_q, "key": w_k, "value": w_v}[stage]
        given = {"X": (x, tokens, dims_in), f"W_{stage[0]}": (w, dims_in, dims_k if stage != "value" else dims_v)}
        answer, cols = x @ w, dims_k if stage != "value" else dims_v
    elif stage == "scores":
        given = {"Q": (q, tokens, dims_k), "K": (k, tokens, dims_k)}
        answer, cols = scores, tokens
    elif stage == "scaled":
        given = {"Q": (q, tokens, dims_k), "K": (k, tokens, dims_k)}
        answer, cols = scaled, tokens
    elif stage == "weights":
        given = {"scaled scores" if level != "easy" else "scores": (np.round(use, 2), tokens, tokens)}
        answer, cols = softmax(np.round(use, 2)), tokens
    elif stage == "output":
        weights = np.round(softmax(use), 2)
        given = {"weights": (weights, tokens, tokens), "V": (v, tokens, dims_v)}
        answer, cols = weights @ v, dims_v
    else:  # concat: head h attends with column h of Q and K (d_head = 1, scale 1/√1) and reads column h of V
        a0, a1 = (np.round(softmax(np.outer(q[:, h], k[:, h])), 2) for h in (0, 1))
        given = {"A₀": (a0, tokens, tokens), "A₁": (a1, tokens, tokens), "V": (v, tokens, dims_v)}
        answer = np.concatenate([a0 @ v[:, :1], a1 @ v[:, 1:]], axis=1)
        cols = dims_v
    tolerance = TOLERANCE.get(stage, ROUNDED_TOLERANCE)
    return Problem(int(seed), level, stage, source, given, answer, tokens, cols, tolerance, TASKS[stage], d_k)


@dataclass(frozen=True)
class Grade:
    """A typed grid marked cell by cell: ``right`` ``(rows, cols)`` bool."""

    right: np.ndarray
    tolerance: float

    @property
    def correct(self) -> int:
        return int(self.right.sum())

    @property
    def total(self) -> int:
        return int(self.right.size)

    @property
    def solved(self) -> bool:
        return bool(self.right.all())


def grade(problem: Problem, entered) -> Grade:
    """Mark ``entered`` against the hidden answer: a cell is right within the problem's tolerance (a blank or
    non-finite cell is wrong)."""
    typed = np.asarray(entered, dtype=np.float64)
    if typed.shape != problem.answer.shape:
        raise ValueError(f"entered has shape {typed.shape}; the answer grid is {problem.answer.shape}")
    right = np.isfinite(typed) & (np.abs(typed - problem.answer) <= problem.tolerance + 1e-12)
    return Grade(right, problem.tolerance)


def _given(problem: Problem, name: str) -> np.ndarray:
    return next(m for key, (m, _rows, _cols) in problem.given.items() if key.startswith(name))


def _terms(problem: Problem, row: int, col: int) -> list[tuple[str, float, tuple[float, float]]]:
    """The terms whose sum is cell ``(row, col)``: (what it is, its value, its two numbers), in order. The two
    numbers are multiplied, except for the weights: ``(z, max)`` of ``e^{z - max}``."""
    s = problem.stage
    i, j = row + 1, col + 1
    if s in ("query", "key", "value"):
        left, right = _given(problem, "X")[row], _given(problem, "W_")[:, col]
        name = f"x{i}[{{d}}]·W[{{d}},{j}]"
    elif s in ("scores", "scaled"):
        left, right = _given(problem, "Q")[row], _given(problem, "K")[col]
        name = f"q{i}[{{d}}]·k{j}[{{d}}]"
    elif s == "weights":
        z = next(iter(problem.given.values()))[0][row]
        top = float(z.max())
        return [
            (f"e^(z{m + 1} − max) = e^({_n(z[m])} − {_factor(top)})", float(np.exp(z[m] - top)), (float(z[m]), top))
            for m in range(len(z))
        ]
    elif s == "output":
        left, right = _given(problem, "weights")[row], _given(problem, "V")[:, col]
        name = f"w{i},{{d}}·v{{d}}[{j}]"
    else:  # concat: column h is head h's output
        left, right = _given(problem, "A₀" if col == 0 else "A₁")[row], _given(problem, "V")[:, col]
        name = _(HEAD_TERM).format(head=col) + f"a{i},{{d}}·v{{d}}[{j}]"
    return [
        (f"{name.format(d=d + 1)} = {_factor(a)}·{_factor(b)}", float(a * b), (float(a), float(b)))
        for d, (a, b) in enumerate(zip(left, right, strict=True))
    ]


def _n(value: float) -> str:
    return hover_text(value)


def _factor(value: float) -> str:
    """A number inside a product: negatives in brackets."""
    text = _n(value)
    return f"({text})" if text.startswith("\u2212") else text


HINT = N_("Cell ({row}, {col}), term {term} of {terms}: {what} = {value}")
HEAD_TERM = N_("head {head}: ")


def hint(problem: Problem, row: int, col: int, term: int = 0) -> str:
    """One term of cell ``(row, col)`` (0-based ``term``, cycling): what is multiplied (or exponentiated) and the
    result, never the cell's value itself (a one-term cell says only what to multiply)."""
    if not (0 <= row < problem.answer.shape[0] and 0 <= col < problem.answer.shape[1]):
        raise ValueError(f"cell ({row}, {col}) is outside the {problem.answer.shape} answer grid")
    terms = _terms(problem, row, col)
    what, value, _numbers = terms[term % len(terms)]
    if len(terms) == 1:
        return _(HINT).format(
            row=problem.row_labels[row], col=problem.col_labels[col], term=1, terms=1, what=what, value="?"
        )
    return _(HINT).format(
        row=problem.row_labels[row],
        col=problem.col_labels[col],
        term=term % len(terms) + 1,
        terms=len(terms),
        what=what,
        value=_n(value),
    )


def solution(problem: Problem) -> list[str]:
    """The worked solution: one LaTeX line per cell with the given numbers, ending in the answer (printed like
    the heatmaps' hover)."""
    n = latex_number
    lines = []
    for r in range(problem.answer.shape[0]):
        for c in range(problem.answer.shape[1]):
            terms = _terms(problem, r, c)
            value = problem.answer[r, c]
            if problem.stage == "weights":
                exps = [f"e^{{{n(z)} - {n(top)}}}" for _what, _value, (z, top) in terms]
                total = sum(t for _what, t, _numbers in terms)
                body = (
                    f"\\frac{{{exps[c]}}}{{{' + '.join(exps)}}} = "
                    f"\\frac{{{n(terms[c][1], bracket=False)}}}{{{n(total, bracket=False)}}}"
                )
            else:
                body = " + ".join(f"{n(a)}\\cdot{n(b)}" for _what, _value, (a, b) in terms)
                if problem.stage == "scaled":
                    body = f"({body}) / \\sqrt{{{problem.d_k}}}"
            cell = f"\\text{{{problem.row_labels[r]}, {problem.col_labels[c]}}}"
            lines.append(f"{cell}: \\quad {body} = {n(value, bracket=False)}")
    return lines
