"""Practice: compute one hidden stage of a small attention by hand, graded cell by cell."""

import numpy as np
import streamlit as st

import attnviz.ui.warm  # noqa: F401  (before the app's other imports: plotly.js and torch start loading)
from attnviz.cells import hover_text
from attnviz.i18n import gettext as _
from attnviz.practice import display_name, solution
from attnviz.ui import practice
from attnviz.ui.matrix_editor import matrix_editor
from attnviz.ui.render import page_nav, show_problems, step

st.set_page_config(page_title=_("Practice · attnviz"), page_icon="🔎", layout="wide")
page_nav()

st.title(_("Practice"))
st.markdown(
    _(
        "A small attention with one stage hidden: compute it by hand from what is given, type it into the grid and "
        "check. Ask for a hint (one term of one cell) or the whole solution when you are stuck."
    )
)
with st.sidebar:
    settings = practice.controls()
show_problems(settings.problems, kept=practice.KEPT, markdown=True)
p = practice.problem(settings.seed, settings.level, settings.stage, settings.source)

if settings.teacher:
    st.info(
        _(
            "Teacher: the page's address now carries this exercise. Share it, and every learner who opens it gets "
            "the same numbers. The part to add to the page's address:"
        ),
        icon=":material/school:",
    )
    st.code(practice.share_link(settings), language=None)

step(
    1,
    _("Given"),
    _("Rows are tokens; Q, K and V have one column per dimension, the scores and weights one per key."),
)
columns = st.columns(len(p.given))
for column, (name, (matrix, rows, cols)) in zip(columns, p.given.items(), strict=True):
    with column:
        st.markdown(f"**{display_name(name)}**")
        st.dataframe(practice.given_table(matrix, rows, cols), width="content")

tolerance = _(practice.EXACT) if p.tolerance < 1e-6 else _(practice.WITHIN).format(tolerance=f"{p.tolerance:g}")
step(2, _("Your answer"), _("{task} {tolerance}").format(task=_(p.task), tolerance=tolerance))
blank = np.full(p.answer.shape, np.nan)
entered, bad = matrix_editor(
    f"practice_answer_{p.id}",
    blank,
    name=display_name(p.name),
    row_labels=p.row_labels,
    col_labels=p.col_labels,
    blanks=True,
)
show_problems(bad)
with st.container(horizontal=True):
    checked = st.button(_("Check"), type="primary", key="practice_check")
    st.button(_("Hint"), on_click=practice.next_hint, args=(p,), key="practice_hint")
    st.button(_("Show the solution"), on_click=practice.show_solution, args=(p,), key="practice_show")
if checked and not bad:
    practice.check(p, entered)

right = practice.last_grade(p)
if right is not None:
    marks = np.where(right, "✓", "✗")
    st.dataframe(practice.text_table(marks, p.row_labels, p.col_labels), width="content")
    if right.all():
        st.success(_("All right!"), icon=":material/check_circle:")
    else:
        st.warning(_(practice.CELLS_RIGHT).format(right=int(right.sum()), total=right.size), icon=":material/edit:")
for text in practice.hints(p):
    st.info(text, icon=":material/lightbulb:")

if practice.solution_shown(p):
    step(3, _("Solution"), _("Every cell written out with the numbers given above."))
    answer = [[hover_text(v) for v in row] for row in p.answer]
    st.dataframe(practice.text_table(answer, p.row_labels, p.col_labels), width="content")
    for line in solution(p):
        st.latex(line)

solved, tried, checks = practice.score()
st.sidebar.metric(_("Score"), f"{solved} / {tried}", help=_("Exercises solved / exercises checked in this session."))
st.sidebar.caption(_(practice.CHECKS).format(checks=checks))
