"""A panel the Tokens and Multi-head pages share: the learner's sentence through weights trained on the
"what does *it* refer to?" task, beside the page's random ones."""

from __future__ import annotations

import numpy as np
import streamlit as st

from attnviz.figures import bar_chart, heatmap_grid
from attnviz.training.it_task import load_it_run
from attnviz.training.tasks import IT_VOCAB
from attnviz.training.train import TrainingRun
from attnviz.training.views import ItView, it_view
from attnviz.ui.cache import figure
from attnviz.ui.render import escape_markdown, last_good, show_figure

__all__ = ["it_model_panel", "shipped_run"]


@st.cache_resource(max_entries=1, show_spinner=False)
def shipped_run() -> TrainingRun:
    """The shipped it-task model, loaded once per server."""
    return load_it_run()


@st.cache_data(max_entries=16, show_spinner=False)
def _view(text: str) -> ItView:
    return it_view(text, shipped_run())


def it_model_panel(text: str, prefix: str) -> None:
    """A toggle (off by default) that shows ``text`` through the trained it-task model: every layer × head, and the
    row of "it" as bars. A fragment: toggling it reruns only this part of the page."""

    @st.fragment
    def panel() -> None:
        st.toggle(
            "Show this sentence through weights trained on the “what does *it* refer to?” task",
            key=f"{prefix}_it_model",
            help="A 2-layer transformer trained on the Train page's “it” task (seed 003's sentence as a grammar).",
        )
        if not st.session_state[f"{prefix}_it_model"]:
            return
        view = last_good(f"{prefix}_it_last_good", lambda: _view(text))
        if view is None:
            return
        vocabulary = ", ".join(w for w in IT_VOCAB[1:])
        st.markdown(
            "These weights were **trained**, not drawn at random: on 11-word sentences like “the dog didn't chase "
            "the cat because it was too fast”, to name the noun *it* refers to. In the last layer the row of *it* "
            "lights up the subject after tired/lazy/slow/sleepy/scared and the object after fast/quick/clever/"
            f"wide/long/busy (on held-out sentences its largest weight is on the right noun {214 / 268:.0%} of the "
            "time). The model reads lower-case words of its own vocabulary only: "
            f"{escape_markdown(vocabulary)}."
        )
        if view.unknown:
            st.warning(
                "Not in the trained model's vocabulary, read as <unk>: "
                + escape_markdown(", ".join(f"“{w}”" for w in view.unknown)),
                icon="🔤",
            )
        if len(view.words) != view.trained_length:
            st.info(
                f"The model was trained on {view.trained_length}-word sentences; this one has {len(view.words)}, "
                "so expect less clear patterns."
            )
        fig = figure(
            heatmap_grid,
            np.ascontiguousarray(view.stack),
            tuple(view.labels),
            tuple(view.labels),
            panel_titles=tuple(view.titles),
            title="Trained on the “it” task: every layer × head",
            max_cols=max(2, view.num_heads),
        )
        show_figure(fig, key=f"{prefix}_fig_it_grid")
        for position, answer in list(view.answers.items())[:3]:
            row = view.stack[-1, position]
            st.markdown(
                f"At {escape_markdown(view.labels[position])} the model answers **{escape_markdown(answer)}**; the "
                f"last layer's head gives most weight to {escape_markdown(view.labels[int(row.argmax())])} "
                f"({row.max():.2f})."
            )
            show_figure(
                figure(
                    bar_chart,
                    np.ascontiguousarray(row),
                    tuple(view.labels),
                    title=f"last layer: weights of query {view.labels[position]}",
                    highlight=position,
                ),
                key=f"{prefix}_fig_it_row_{position}",
            )

    panel()
