"""Small rendering helpers shared by the pages: figures, step headings, problems."""

from __future__ import annotations

from collections.abc import Iterable

import plotly.graph_objects as go
import streamlit as st

__all__ = ["PLOTLY_CONFIG", "escape_markdown", "show_figure", "show_problems", "step"]

_MARKDOWN_SPECIAL = set("\\`*_{}[]()<>#+-.!|~$:")


def escape_markdown(text: str) -> str:
    """``text`` with every markdown/HTML-significant character backslash-escaped, so it renders as typed."""
    return "".join("\\" + ch if ch in _MARKDOWN_SPECIAL else ch for ch in str(text))


PLOTLY_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}


def show_figure(fig: go.Figure, key: str) -> None:
    """Draw a figure full width with the project's plotly config; ``key`` keeps it stable across reruns."""
    st.plotly_chart(fig, key=key, width="stretch", config=PLOTLY_CONFIG, theme=None)


def step(number: int | str, title: str, explanation: str) -> None:
    """A numbered step heading with a sentence or two of explanation (markdown, project text only)."""
    st.subheader(f"{number}. {title}")
    st.markdown(explanation)


def show_problems(problems: Iterable[str], *, kept: str = "the last valid values are shown") -> bool:
    """Show each problem as ``st.error``; return True when there were any. Text is shown as text, not markdown."""
    problems = list(problems)
    for problem in problems:
        st.error(f"{escape_markdown(problem)} — {kept}.", icon="⚠️")
    return bool(problems)
