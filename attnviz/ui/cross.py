"""The Cross-attention page's settings and cached view."""

from __future__ import annotations

import math
from dataclasses import dataclass

import streamlit as st

from attnviz.cells import cell_at
from attnviz.cross import CROSS_PRESETS
from attnviz.cross_views import CrossView, cross_view
from attnviz.i18n import gettext as _
from attnviz.sharing import Int, StateSpec, Text
from attnviz.snippets import cross_snippet
from attnviz.ui.cells import show_cell
from attnviz.ui.state import set_defaults
from attnviz.ui.tokens import int_problem

__all__ = ["DEFAULTS", "PRESETS", "SHARE", "Settings", "controls", "explain", "load_preset", "shared_state", "view"]

PRESETS = CROSS_PRESETS
_FIRST = next(iter(PRESETS.values()))
D_MODEL_MAX = 256
HEADS_MAX = 16
DEFAULTS = {
    "cross_target": _FIRST[0],
    "cross_source": _FIRST[1],
    "cross_source2": _FIRST[2],
    "cross_d_model": 16,
    "cross_heads": 4,
    "cross_seed": 0,
}

TEXT_MAX_CHARS = 2000  # the address's cap on each sentence
SHARE = StateSpec(
    "cross",
    (
        Text("cross_target", DEFAULTS["cross_target"], max_chars=TEXT_MAX_CHARS),
        Text("cross_source", DEFAULTS["cross_source"], max_chars=TEXT_MAX_CHARS),
        Text("cross_source2", DEFAULTS["cross_source2"], max_chars=TEXT_MAX_CHARS),
        Int("cross_d_model", 16, low=1, high=D_MODEL_MAX),
        Int("cross_heads", 4, low=1, high=HEADS_MAX),
        Int("cross_seed", 0, low=0, high=2**31 - 1),
    ),
)


@dataclass(frozen=True)
class Settings:
    target: str
    source: str
    source2: str
    d_model: int
    heads: int
    seed: int
    problems: tuple[str, ...] = ()  # each names its control; non-empty: the settings cannot be used


def load_preset(name: str) -> None:
    target, source, source2 = PRESETS[name]
    st.session_state.cross_target = target
    st.session_state.cross_source = source
    st.session_state.cross_source2 = source2


def controls() -> Settings:
    """The sidebar: the model's width, heads and seed (the texts are on the page)."""
    set_defaults(DEFAULTS)
    st.header(_("Model"))
    d_model = st.number_input(
        "d_model",
        step=1,
        key="cross_d_model",
        help=_("1 to {most}, divisible by heads.").format(most=D_MODEL_MAX),
    )
    heads_label = _("Heads")
    heads = st.number_input(heads_label, step=1, key="cross_heads", help=_("1 to {most}.").format(most=HEADS_MAX))
    st.number_input(_("Seed"), min_value=0, max_value=2**31 - 1, step=1, key="cross_seed", help=_("Embeddings and W."))
    problems = [int_problem("d_model", d_model, 1, D_MODEL_MAX), int_problem(heads_label, heads, 1, HEADS_MAX)]
    ok = math.isfinite(d_model) and math.isfinite(heads)
    if not any(problems) and int(d_model) % int(heads):
        problems.append(
            _("d_model = {d_model} is not divisible by heads = {heads}").format(d_model=int(d_model), heads=int(heads))
        )
    s = st.session_state
    return Settings(
        target=str(s.cross_target),
        source=str(s.cross_source),
        source2=str(s.cross_source2),
        d_model=int(d_model) if ok else 0,
        heads=int(heads) if ok else 0,
        seed=int(s.cross_seed),
        problems=tuple(p for p in problems if p),
    )


@st.cache_data(max_entries=16, show_spinner=False)
def view(settings: Settings) -> CrossView:
    """:func:`attnviz.cross_views.cross_view` of the two sources in one padded batch."""
    return cross_view(
        settings.target,
        (settings.source, settings.source2),
        d_model=settings.d_model,
        num_heads=settings.heads,
        seed=settings.seed,
    )


def shared_state(v: CrossView) -> dict[str, object]:
    """The keyword arguments of :func:`attnviz.ui.share.panel`: the target and padded source embeddings, the
    weights (x @ W), and per batch row its per-head ``weights`` ``(H, T_q, T_k)`` and ``output``."""
    dims = tuple(f"d{j}" for j in range(v.query.shape[1]))  # the view's own width (a kept view keeps its own)
    positions = tuple(str(j) for j in range(v.source.shape[1]))
    rows = tuple(f"b{b}" for b in range(len(v.valid_lens)))
    computed: dict[str, object] = {
        "query": (v.query, v.target_labels, dims),
        "source": (v.source, positions, dims),  # (B, T_k, d_model), one table per batch row
    }
    for name, w in v.parameters.items():
        computed[name] = (w, dims, dims) if w.ndim == 2 else (w[None, :], (name,), dims)
    for b, labels in enumerate(v.source_labels):
        computed[f"weights_b{b}"] = (v.weights[b], v.target_labels, labels)
        computed[f"output_b{b}"] = (v.output[b], v.target_labels, dims)
    return {
        "matrices": {},
        "computed": computed,
        "code": lambda: cross_snippet(v.query, v.source, v.valid_lens, v.parameters, num_heads=v.num_heads),
        "slices": {"source": rows},
    }


def explain(v: CrossView, point: dict | None) -> None:
    """The clicked cell of the per-head weights (batch row 0) written out under the figure: nothing before a
    click, nor for a click kept from other texts."""
    cell = cell_at(point, v.target_labels, v.real_labels(0))
    if cell is not None:
        row, col, head = cell
        if head < v.num_heads:
            show_cell(v.explain(head, row, col))
