"""Clicks on heatmaps: which cell was clicked (the in-place chart's selection) and its arithmetic under the figure."""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st

from attnviz.cells import CellExplanation
from attnviz.i18n import N_
from attnviz.i18n import gettext as _
from attnviz.ui.render import escape_markdown

__all__ = ["CLICK_HINT", "new_click", "selection", "show_cell"]

# Shown with ``st.caption(_(CLICK_HINT))`` (translated where shown).
CLICK_HINT = N_("Click any cell of this heatmap to see where its number comes from.")
HOVER_SAYS = N_("**{title}** · The heatmap's hover shows {text}.")


def selection(key: str) -> dict | None:
    """The point last clicked on the chart drawn under ``key`` (its component state), or None."""
    state = st.session_state.get(key)
    point = state.get("selection") if hasattr(state, "get") else None
    return dict(point) if point else None


def new_click(keys: Iterable[str], seen: str, *, remember: bool = True) -> tuple[str, dict] | None:
    """The chart among ``keys`` clicked since the last call that remembered under ``seen``, and its point.

    A chart keeps its last point across reruns, so only a point that differs from the one seen is new; every real
    click differs (the chart stamps it with its time), so clicking the same cell again counts too.
    ``remember=False`` only looks (a fragment that must rerun the whole page for the sidebar to follow).
    """
    last = dict(st.session_state.get(seen, {}))
    found = None
    for key in keys:
        point = selection(key)
        if point is not None and last.get(key) != point:
            found = (key, point)
        last[key] = point
    if remember:
        st.session_state[seen] = last
    return found


def show_cell(cell: CellExplanation) -> None:
    """One cell's arithmetic: what it is, the formula with this run's numbers, and (multi-head) its slices."""
    with st.container(border=True):
        st.markdown(_(HOVER_SAYS).format(title=escape_markdown(cell.title), text=cell.text))
        if cell.note:
            st.caption(cell.note)
        st.latex(cell.latex)
