"""A panel the Tokens and Multi-head pages share: the learner's sentence through weights trained on the
"what does *it* refer to?" task, beside the page's random ones."""

from __future__ import annotations

import numpy as np
import streamlit as st

from attnviz import i18n
from attnviz.explain import join_list
from attnviz.figures import bar_chart, heatmap_grid
from attnviz.i18n import gettext as _
from attnviz.training.it_task import load_it_run
from attnviz.training.tasks import IT_VOCAB
from attnviz.training.train import TrainingRun
from attnviz.training.views import ItView, it_view
from attnviz.ui.cache import figure
from attnviz.ui.render import escape_markdown, last_good, show_figure

__all__ = ["it_model_panel", "panel_titles", "shipped_run"]


@st.cache_resource(max_entries=1, show_spinner=False)
def shipped_run() -> TrainingRun:
    """The shipped it-task model, loaded once per server."""
    return load_it_run()


@st.cache_data(max_entries=16, show_spinner=False)
def _view(text: str, lang: str) -> ItView:
    # ``lang`` keys the cache: the view's titles and a refused text's error are in the session's language.
    return it_view(text, shipped_run())


def panel_titles(num_panels: int, num_heads: int) -> tuple[str, ...]:
    """``layer 1 · head 1``, ``layer 1 · head 2``, …: the grid's panel titles, layer by layer, in the session's
    language (the stack is ``(L·H, T, T)``, layer-major)."""
    return tuple(
        _("layer {layer} · head {head}").format(layer=i // num_heads + 1, head=i % num_heads + 1)
        for i in range(num_panels)
    )


def it_model_panel(text: str, prefix: str) -> None:
    """A toggle (off by default) that shows ``text`` through the trained it-task model: every layer × head, and the
    row of "it" as bars. A fragment: toggling it reruns only this part of the page."""

    @st.fragment
    def panel() -> None:
        st.toggle(
            _("Show this sentence through weights trained on the “what does *it* refer to?” task"),
            key=f"{prefix}_it_model",
            help=_("A 2-layer transformer trained on the Train page's “it” task (seed 003's sentence as a grammar)."),
        )
        if not st.session_state[f"{prefix}_it_model"]:
            return
        view = last_good(f"{prefix}_it_last_good", lambda: _view(text, i18n.language()))
        if view is None:
            return
        # The model's own words (its vocabulary, an example sentence) are shown as code: they are what it reads.
        vocabulary = ", ".join(w for w in IT_VOCAB[1:])
        st.markdown(
            _(
                "These weights were **trained**, not drawn at random: on 11-word sentences like {example}, to name "
                "the noun *it* refers to. In the last layer the row of *it* lights up the subject after {subject} and "
                "the object after {object} (on held-out sentences its largest weight is on the right noun "
                "{share:.0%} of the time). The model reads lower-case words of its own vocabulary only: {vocabulary}."
            ).format(
                example="`the dog didn't chase the cat because it was too fast`",
                subject="`tired/lazy/slow/sleepy/scared`",
                object="`fast/quick/clever/wide/long/busy`",
                share=214 / 268,
                vocabulary=f"`{vocabulary}`",
            )
        )
        if view.unknown:
            st.warning(
                _("Not in the trained model's vocabulary, read as <unk>: {words}").format(
                    words=escape_markdown(join_list(f"“{w}”" for w in view.unknown))
                ),
                icon="🔤",
            )
        if len(view.words) != view.trained_length:
            st.info(
                _(
                    "The model was trained on {trained}-word sentences; this one has {count}, "
                    "so expect less clear patterns."
                ).format(trained=view.trained_length, count=len(view.words))
            )
        fig = figure(
            heatmap_grid,
            np.ascontiguousarray(view.stack),
            tuple(view.labels),
            tuple(view.labels),
            panel_titles=panel_titles(len(view.stack), view.num_heads),
            title=_("Trained on the “it” task: every layer × head"),
            max_cols=max(2, view.num_heads),
        )
        show_figure(fig, key=f"{prefix}_fig_it_grid")
        for position, answer in list(view.answers.items())[:3]:
            row = view.stack[-1, position]
            st.markdown(
                _(
                    "At {query} the model answers **{answer}**; the last layer's head gives most weight to "
                    "{key} ({weight:.2f})."
                ).format(
                    query=escape_markdown(view.labels[position]),
                    answer=escape_markdown(answer),
                    key=escape_markdown(view.labels[int(row.argmax())]),
                    weight=row.max(),
                )
            )
            show_figure(
                figure(
                    bar_chart,
                    np.ascontiguousarray(row),
                    tuple(view.labels),
                    title=_("last layer: weights of query {query}").format(query=view.labels[position]),
                    highlight=position,
                ),
                key=f"{prefix}_fig_it_row_{position}",
            )

    panel()
