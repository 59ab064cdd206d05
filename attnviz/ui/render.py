"""Small rendering helpers shared by the pages: figures, step headings, problems."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Literal, TypeVar

import plotly.graph_objects as go
import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from attnviz.i18n import N_
from attnviz.i18n import gettext as _
from attnviz.ui import lang
from attnviz.ui.chart import plotly_chart
from attnviz.ui.state import keep_settings, track_page

__all__ = [
    "KEPT",
    "PAGES",
    "PLOTLY_CONFIG",
    "code_span",
    "escape_markdown",
    "isolated",
    "last_good",
    "page_nav",
    "show_figure",
    "show_problems",
    "step",
]

T = TypeVar("T")
KEPT = N_("the last result that could be computed is shown")

# (script, label, what it teaches) of every page, in order; the sidebar and the home page list them.
PAGES = (
    ("app.py", N_("Home"), N_("What attention is and where to start.")),
    (
        "pages/1_Worked_example.py",
        N_("Worked example"),
        N_("The tutorial's 3 tokens and hand-set W_q, W_k, W_v, step by step, each output a weighted sum of values."),
    ),
    (
        "pages/2_Tokens.py",
        N_("Tokens"),
        N_(
            "Type your own sentence: self-attention over its tokens, one query's distribution, causal mask, temperature."
        ),
    ),
    (
        "pages/3_Multi-head.py",
        N_("Multi-head"),
        N_(
            "Split into heads: per-head scores and weights, concatenation and W_O, checked against torch.nn.MultiheadAttention."
        ),
    ),
    (
        "pages/4_Positional_encoding.py",
        N_("Positional encoding"),
        N_("The sinusoidal encoding, its frequencies, and why a repeated word needs it."),
    ),
    (
        "pages/5_Encoder.py",
        N_("Encoder"),
        N_(
            "Stack encoder layers: the model view of every layer × head, add & norm, the feed-forward network, seed 000's time-series model, checked against nn.TransformerEncoder."
        ),
    ),
    (
        "pages/6_Attention_lab.py",
        N_("Attention lab"),
        N_("Score functions side by side, why √d_k, temperature, dropout, masks and fill values, a tutorial's bug."),
    ),
    (
        "pages/7_Cross-attention.py",
        N_("Cross-attention"),
        N_("Queries from a target sentence, keys and values from a source (Chinese → English), a padded batch."),
    ),
    (
        "pages/8_Train.py",
        N_("Train"),
        N_(
            "Train a tiny transformer live on a toy task and watch its heads find the answer (reverse → anti-diagonal)."
        ),
    ),
    (
        "pages/9_Image_attention.py",
        N_("Image attention"),
        N_(
            "A CNN's 20 × 20 feature map as 400 tokens: click a patch of the image to see where it looks, before and after training the model live."
        ),
    ),
    (
        "pages/10_Practice.py",
        N_("Practice"),
        N_("Compute one hidden stage by hand, graded cell by cell, with hints, the solution and a link for a class."),
    ),
)

_MARKDOWN_SPECIAL = set("\\`*_{}[]()<>#+-.!|~$:")


def escape_markdown(text: str) -> str:
    """``text`` with every markdown/HTML-significant character backslash-escaped, so it renders as typed."""
    return "".join("\\" + ch if ch in _MARKDOWN_SPECIAL else ch for ch in str(text))


def code_span(text: str) -> str:
    """``text`` as an inline code span that renders as typed (a name, a file's or a code's, is not words to translate):
    fenced by one more backtick than its longest run of backticks."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{'`' * (longest + 1)}{pad}{text}{pad}{'`' * (longest + 1)}"


# No box/lasso select (a click is the selection), no plotly logo, and no "Share chart..." button: plotly.js 3 shows
# it by default and it would upload the learner's chart to Plotly's cloud (here it has nowhere to go).
PLOTLY_CONFIG = {"displaylogo": False, "showSendToCloud": False, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}


def isolated(label: str) -> str:
    """A label kept on one line and left-to-right on its own, so a right-to-left token cannot reorder its
    neighbours (nor its own position number)."""
    return "\u2066" + label.replace(" ", "\u00a0", 1) + "\u2069"


def page_nav() -> None:
    """The sidebar's page list (Streamlit's own is hidden in the config so the home page reads "Home").

    Every page calls it first, so it also keeps the learner's settings across page visits.
    """
    keep_settings()
    track_page()
    lang.setup()
    with st.sidebar:
        lang.switch()
        try:
            for path, label, _teaches in PAGES:
                st.page_link(path, label=_(label))
        except StreamlitPageNotFoundError:
            # This page was started as the entry point itself (`streamlit run pages/…`, AppTest): there are no
            # other pages to link to.
            return
        st.divider()


def show_figure(
    fig: go.Figure,
    key: str,
    *,
    width: Literal["stretch", "content"] = "stretch",
    on_select: bool = False,
    config: dict | None = None,
) -> dict | None:
    """Draw a figure (full width unless ``width="content"``) with the project's plotly config, in place; ``key``
    keeps it stable across reruns.

    ``on_select=True``: a click on a point reruns the script, and this returns the point last clicked as
    ``{"x", "y", "z", "curve", "point"}`` (None before any click, and always under AppTest unless the test draws
    the in-place chart: it then sets ``at.session_state[key] = {"selection": {...}}`` as the browser would).
    """
    return plotly_chart(
        fig,
        key=key,
        width=width,
        config={**PLOTLY_CONFIG, **(config or {})},
        theme=None,
        on_select="rerun" if on_select else "ignore",
    )


def step(number: int | str, title: str, explanation: str) -> None:
    """A numbered step: its ``###`` heading and a sentence or two of explanation (markdown, project text only), as
    one element. Every element a rerun sends costs the browser time, changed or not (the README's performance
    section measures it)."""
    heading = _("{number}. {title}").format(number=number, title=title)
    st.markdown(f"### {heading}\n\n{explanation}")


def show_problems(
    problems: Iterable[str], *, kept: str = N_("the last valid values are shown"), markdown: bool = False
) -> bool:
    """Show each problem as ``st.error``; return True when there were any. Text is shown as text, not markdown,
    unless ``markdown`` says the problems are markdown already (their names as code, the rest escaped).

    ``kept`` is an English catalog message (translated here); the problems come translated.
    """
    problems = list(problems)
    for problem in problems:
        shown = problem if markdown else escape_markdown(problem)
        st.error(_("{problem} — {kept}.").format(problem=shown, kept=_(kept)), icon="⚠️")
    return bool(problems)


def last_good(key: str, compute: Callable[[], T] | None) -> T | None:
    """The page's one way to keep the last good result: ``compute()``, remembered under ``key``.

    When ``compute`` raises ``ValueError`` (or is None because the inputs were already refused and shown), the
    error is shown and the result remembered last comes back, None before any. A result must carry everything
    it is drawn with (its labels too), so a kept one never meets labels of another shape.
    """
    if compute is not None:
        try:
            value = compute()
        except ValueError as err:
            show_problems([str(err)], kept=KEPT)
        else:
            st.session_state[key] = value
            return value
    return st.session_state.get(key)
