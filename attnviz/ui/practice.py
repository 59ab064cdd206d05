"""The Practice page's settings, the teacher's link, the learner's score and the cached problem.

Settings come from the sidebar, or from the URL (``?seed=7&level=hard&stage=weights&source=random``) when a
teacher shared one: the URL is read once per distinct link, before the widgets are drawn. What the learner asked
for (checks, hints, the solution) is kept per exercise in the session; the hidden answer stays on the server and
reaches the page only when the solution is asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from attnviz import i18n
from attnviz.explain import join_list
from attnviz.i18n import N_
from attnviz.i18n import gettext as _
from attnviz.practice import LEVELS, SOURCES, STAGES, Grade, Problem, grade, hint, make_problem
from attnviz.ui import lang
from attnviz.ui.render import code_span
from attnviz.ui.state import set_defaults

__all__ = [
    "CELLS_RIGHT",
    "CHECKS",
    "DEFAULTS",
    "EXACT",
    "KEPT",
    "LEVEL_LABELS",
    "SOURCE_LABELS",
    "STAGE_LABELS",
    "URL_KEYS",
    "WITHIN",
    "Settings",
    "check",
    "controls",
    "given_table",
    "hints",
    "last_grade",
    "next_hint",
    "problem",
    "score",
    "share_link",
    "share_params",
    "show_solution",
    "solution_shown",
    "text_table",
]

# code -> label (English catalog messages, shown translated): the widgets, the session state and the address hold
# the codes, so switching the language keeps the choice and a teacher's link is the same in every language.
LEVEL_LABELS = {
    "easy": N_("Easy: Q, K, V or scores (random: 2 tokens, 2 dimensions)"),
    "medium": N_("Medium: scores to outputs (random: 3 tokens)"),
    "hard": N_("Hard: softmax, outputs, two heads (random: 3–4 tokens)"),
}
STAGE_LABELS = {
    "any": N_("Any stage of the level (drawn from the seed)"),
    "query": N_("Q = X·W_q"),
    "key": N_("K = X·W_k"),
    "value": N_("V = X·W_v"),
    "scores": N_("Scores Q·Kᵀ"),
    "scaled": N_("Scaled scores Q·Kᵀ/√d_k"),
    "weights": N_("Weights (softmax, 2 decimals)"),
    "output": N_("Outputs weights·V"),
    "concat": N_("Two heads' concatenation"),
}
SOURCE_LABELS = {"random": N_("Small random integers"), "worked": N_("The worked example's matrices")}
URL_KEYS = ("seed", "level", "stage", "source")
DEFAULTS = {
    "practice_level": "medium",
    "practice_stage": "any",
    "practice_source": "random",
    "practice_seed": 0,
    "practice_teacher": False,
}
MAX_SEED = 2**32 - 1
URL_PROBLEM = N_("The link's {setting} is not valid ({why})")
SEED_RANGE = N_("a whole number from 0 to {high}")
ONE_OF = N_("one of {values}")
KEPT = N_("the page's own settings are used")
EXACT = N_("Answers must be exact.")
WITHIN = N_("A cell is right within {tolerance} of the exact value.")
CELLS_RIGHT = N_("{right} of {total} cells right. The ✗ cells need another look.")
CHECKS = N_("Checks so far: {checks}.")


@dataclass(frozen=True)
class Settings:
    seed: int
    level: str  # a key of attnviz.practice.LEVELS
    stage: str  # "any" or one of attnviz.practice.STAGES
    source: str  # one of attnviz.practice.SOURCES
    teacher: bool
    problems: tuple[str, ...] = ()  # the link's bad values, as markdown (each value as code)


def _from_url() -> list[str]:
    """Apply a shared link's settings (once per distinct link) before the widgets are drawn; name bad values."""
    params = {name: st.query_params.get(name) for name in URL_KEYS}
    link = tuple(params.values())
    if not any(link) or st.session_state.get("practice_link") == link:
        return []
    st.session_state.practice_link = link
    problems = []
    seed = params["seed"]
    if seed is not None:
        if seed.strip().isdigit() and int(seed) <= MAX_SEED:
            st.session_state.practice_seed = int(seed)
        else:
            problems.append(
                _(URL_PROBLEM).format(setting=code_span(f"seed={seed!r}"), why=_(SEED_RANGE).format(high=MAX_SEED))
            )
    for name, allowed in (("level", tuple(LEVELS)), ("stage", ("any", *STAGES)), ("source", SOURCES)):
        value = params[name]
        if value is None:
            continue
        if value in allowed:
            st.session_state[f"practice_{name}"] = value
        else:
            why = _(ONE_OF).format(values=join_list(f"`{code}`" for code in allowed))
            problems.append(_(URL_PROBLEM).format(setting=code_span(f"{name}={value!r}"), why=why))
    return problems


def _shown(labels: dict[str, str]) -> Callable[[str], str]:
    """A widget's ``format_func``: a code's label in the language the widget is drawn in (fixed now, so the
    function gives the same label wherever it is called, a test harness outside the script run included)."""
    lang = i18n.language()

    def shown(code: str) -> str:
        with i18n.use(lang):
            return _(labels[code])

    return shown


def _new_problem() -> None:
    st.session_state.practice_seed = (int(st.session_state.practice_seed) + 1) % (MAX_SEED + 1)


def controls() -> Settings:
    """The sidebar: level, stage, source, seed, a new problem, and the teacher's link."""
    set_defaults(DEFAULTS)
    problems = _from_url()
    st.header(_("Exercise"))
    level = st.radio(_("Difficulty"), tuple(LEVEL_LABELS), format_func=_shown(LEVEL_LABELS), key="practice_level")
    stage = st.selectbox(_("Hidden stage"), tuple(STAGE_LABELS), format_func=_shown(STAGE_LABELS), key="practice_stage")
    source = st.radio(_("Numbers"), tuple(SOURCE_LABELS), format_func=_shown(SOURCE_LABELS), key="practice_source")
    seed = st.number_input(
        _("Seed"), 0, MAX_SEED, step=1, key="practice_seed", help=_("The same seed gives the same exercise.")
    )
    st.button(_("New problem"), on_click=_new_problem, width="stretch", type="primary")
    st.divider()
    teacher = st.checkbox(
        _("Teacher: share this exercise"),
        key="practice_teacher",
        help=_("Puts the seed and level in the page's address: everyone who opens it gets the same exercise."),
    )
    settings = Settings(int(seed), str(level), str(stage), str(source), bool(teacher), tuple(problems))
    shared = share_params(settings)
    if teacher:
        st.query_params.from_dict({**shared, **lang.url_params()})
        st.session_state.practice_link = tuple(shared.values())
    elif any(name in st.query_params for name in URL_KEYS) and {k: st.query_params.get(k) for k in URL_KEYS} != shared:
        for name in URL_KEYS:  # the learner moved on from the shared exercise: the address no longer describes it
            st.query_params.pop(name, None)
    return settings


def share_params(settings: Settings) -> dict[str, str]:
    """The URL query parameters that give a class this exercise."""
    return {"seed": str(settings.seed), "level": settings.level, "stage": settings.stage, "source": settings.source}


def share_link(settings: Settings) -> str:
    """The page address's query part for this exercise (``?seed=…&level=…&stage=…&source=…``)."""
    return "?" + "&".join(f"{k}={v}" for k, v in share_params(settings).items())


@st.cache_data(max_entries=64, show_spinner=False)
def problem(seed: int, level: str, stage: str, source: str) -> Problem:
    """:func:`attnviz.practice.make_problem`, once per exercise."""
    return make_problem(seed, level, stage, source)


def text_table(texts, rows: tuple[str, ...], cols: tuple[str, ...]) -> pd.DataFrame:
    """Cells of text as a table labelled like the answer grid (marks ✓/✗, numbers as written)."""
    return pd.DataFrame([list(row) for row in texts], index=list(rows), columns=list(cols))


def given_table(matrix: np.ndarray, rows: tuple[str, ...], cols: tuple[str, ...]) -> pd.DataFrame:
    """A given matrix as a labelled table of its numbers as written (``2``, ``-1``, ``0.47``)."""
    return text_table([[f"{v:g}" for v in row] for row in matrix], rows, cols)


def _state(p: Problem) -> dict:
    """What the learner asked for on exercise ``p``: its last grade, hints so far, whether the solution is shown."""
    book = st.session_state.setdefault("practice_book", {})
    return book.setdefault(p.id, {"grade": None, "hints": [], "solution": False})


def score() -> tuple[int, int, int]:
    """(exercises solved, exercises checked, checks made) in this session."""
    book = st.session_state.get("practice_book", {})
    checked = [s for s in book.values() if s.get("checks", 0)]
    return sum(bool(s.get("solved")) for s in checked), len(checked), sum(s.get("checks", 0) for s in checked)


def check(p: Problem, entered: np.ndarray) -> Grade:
    """Grade ``entered`` and count it in the session's score (an exercise counts as solved once)."""
    state = _state(p)
    result = grade(p, entered)
    state["grade"] = result.right.tolist()
    state["checks"] = state.get("checks", 0) + 1
    state["solved"] = state.get("solved", False) or result.solved
    return result


def last_grade(p: Problem) -> np.ndarray | None:
    """The cells right at the last check of ``p`` (None before a check)."""
    right = _state(p)["grade"]
    return None if right is None else np.array(right, dtype=bool)


def next_hint(p: Problem) -> None:
    """Reveal one more term: of the first cell wrong at the last check (the first cell before any check)."""
    state = _state(p)
    right = last_grade(p)
    wrong = np.argwhere(~right) if right is not None else np.argwhere(np.ones(p.answer.shape, dtype=bool))
    row, col = (int(v) for v in (wrong[0] if len(wrong) else (0, 0)))
    asked = sum(1 for r, c, _term in state["hints"] if (r, c) == (row, col))
    state["hints"].append((row, col, asked))


def hints(p: Problem) -> list[str]:
    """The hints revealed so far on ``p``, in order."""
    return [hint(p, r, c, t) for r, c, t in _state(p)["hints"]]


def show_solution(p: Problem) -> None:
    _state(p)["solution"] = True


def solution_shown(p: Problem) -> bool:
    return bool(_state(p)["solution"])
