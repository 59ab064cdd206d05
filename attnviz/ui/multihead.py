"""The Multi-head page's settings, weight tables and cached views."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from attnviz.figures import head_blocks_heatmap, heatmap_grid, matrix_heatmap
from attnviz.shapes import MAX_HEADS, divisors, head_problems
from attnviz.tokens import MAX_TOKENS
from attnviz.ui.cache import digest, figure
from attnviz.ui.matrix_editor import matrix_editor, set_matrix
from attnviz.ui.render import show_figure, show_problems
from attnviz.ui.state import set_defaults
from attnviz.views import (
    DEFAULT_SENTENCE,
    MH_SOURCES,
    WEIGHT_NAMES,
    MultiHeadInput,
    MultiHeadView,
    dim_labels,
    head_slice,
    join_head_slices,
    multihead_input,
    multihead_view,
)

__all__ = [
    "DEFAULTS",
    "EDITABLE_D_MODEL",
    "Settings",
    "combined_tabs",
    "controls",
    "focus_panel",
    "inputs",
    "qk",
    "view",
    "weight_editors",
    "weights",
    "weights_tabs",
]

EDITABLE_D_MODEL = 8  # up to this width the per-head weight slices are shown as editable tables
WEIGHT_LABELS = {"w_q": "W_q", "w_k": "W_k", "w_v": "W_v", "w_o": "W_O"}
DEFAULTS = {
    "mh_source": MH_SOURCES[0],
    "mh_d_model": 8,
    "mh_heads": 2,
    "mh_num_tokens": 512,
    "mh_seed": 0,
    "mh_bias": True,
    "mh_causal": False,
    "mh_valid_len": None,
    "mh_focus_head": 0,
}


@dataclass(frozen=True)
class Settings:
    source: str
    d_model: int
    heads: int
    num_tokens: int
    seed: int
    bias: bool
    causal: bool
    valid_len: int | None
    text: str  # the Tokens page's sentence (the "Sentence" source)
    problems: tuple[str, ...] = ()  # each names its control; non-empty: nothing can be computed

    @property
    def editable(self) -> bool:
        return self.d_model <= EDITABLE_D_MODEL


def whole_number(value: object, default: int) -> int:
    """A widget value as an int; anything else (a browser can send an option's label) becomes ``default``."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    try:
        return int(str(value).split()[0])
    except (ValueError, IndexError):
        return default


def controls() -> Settings:
    """The sidebar: input, sizes, seed, biases and masks."""
    set_defaults(DEFAULTS)
    st.header("Input")
    source = st.radio(
        "Tokens",
        MH_SOURCES,
        key="mh_source",
        help="Sentence: the text typed on the Tokens page. Worked example: the tutorial's 3×4 X. "
        "Random tokens: many tokens, to see how the page copes with long inputs.",
    )
    if source == "Random tokens":
        st.slider("Number of random tokens", 1, MAX_TOKENS, key="mh_num_tokens")
    d_model = int(
        st.number_input(
            "d_model (width of each token vector)",
            min_value=0,
            max_value=512,
            step=1,
            key="mh_d_model",
            help="Every head gets d_model / heads of the columns, so heads must divide d_model.",
        )
    )
    heads = st.session_state.mh_heads = whole_number(st.session_state.mh_heads, DEFAULTS["mh_heads"])
    offered = [k for k in divisors(d_model) if k <= MAX_HEADS]
    # A value that does not fit stays visible, with an error. Labels must not depend on d_model: the browser sends
    # the label back, and a label that changed between two runs could no longer be matched to its option.
    heads = st.selectbox(
        "Number of heads",
        sorted(set(offered) | {heads}),
        key="mh_heads",
        help=f"Only the divisors of d_model are offered (at most {MAX_HEADS}): each head gets d_model / heads columns.",
    )
    if d_model >= 1 and heads in offered:
        st.caption(f"d_head = d_model / heads = {d_model} / {heads} = {d_model // heads}")
    seed = st.number_input("Seed (embeddings and weights)", 0, 2**31 - 1, step=1, key="mh_seed")
    st.header("Attention")
    bias = st.toggle("Biases b_q, b_k, b_v, b_O", key="mh_bias")
    causal = st.toggle("Causal mask (a token sees only itself and earlier tokens)", key="mh_causal")
    valid_len = st.number_input(
        "Valid length (keys from here on are padding)",
        min_value=1,
        max_value=MAX_TOKENS,
        step=1,
        key="mh_valid_len",
        placeholder="none: every key is valid",
        help="d2l's valid_lens: keys at positions ≥ this length are padding and get weight 0 in every head. "
        "Clear the box for no padding.",
    )
    return Settings(
        source=source,
        d_model=d_model,
        heads=int(heads),
        num_tokens=int(st.session_state.mh_num_tokens),
        seed=int(seed),
        bias=bool(bias),
        causal=bool(causal),
        valid_len=None if valid_len is None else int(valid_len),
        text=st.session_state.get("tokens_text", DEFAULT_SENTENCE),
        problems=tuple(head_problems(d_model, int(heads), d_model_label="d_model", heads_label="Number of heads")),
    )


@st.cache_data(max_entries=32, show_spinner=False)
def inputs(settings: Settings) -> MultiHeadInput:
    """X for the settings (:func:`attnviz.views.multihead_input`); raises ``ValueError`` naming the problem."""
    s = settings
    return multihead_input(s.source, s.text, s.num_tokens, s.d_model, s.seed)


@st.cache_data(max_entries=32, show_spinner=False)
def weights(d_model: int, num_heads: int, seed: int) -> dict[str, np.ndarray]:
    """``MultiHeadAttention(d_model, num_heads, seed=seed)``'s ``w_q, w_k, w_v, w_o`` ``(d_model, d_model)`` and
    ``b_q, b_k, b_v, b_o`` ``(d_model,)``, float32 (the W's are drawn before the biases: the same with or without)."""
    from attnviz.modules import MultiHeadAttention, weights_as_numpy

    return weights_as_numpy(MultiHeadAttention(d_model, num_heads, bias=True, seed=seed))


def weight_editors(settings: Settings) -> dict[str, np.ndarray]:
    """Each head's slices of W_q, W_k, W_v (columns) and W_O (rows) as editable tables, one tab per head, and
    a reset button; returns the full float32 weights with the edits."""
    d_model, heads, seed = settings.d_model, settings.heads, settings.seed
    base = weights(d_model, heads, seed)
    d_head = d_model // heads

    def reset() -> None:
        for h in range(heads):
            for name in WEIGHT_NAMES:
                set_matrix(f"mh_{name}_h{h}", head_slice(base, name, h, heads))

    if st.session_state.get("mh_weights_for") != (d_model, heads, seed):
        reset()
        st.session_state.mh_weights_for = (d_model, heads, seed)

    dims = dim_labels(d_model, start=0)
    slices: dict[tuple[str, int], np.ndarray] = {}
    problems: list[str] = []
    for h, tab in enumerate(st.tabs([f"head {h}" for h in range(heads)])):
        head_dims = dim_labels(d_head, start=0, prefix=f"h{h} d")
        with tab:
            # Two tables side by side fit up to ~5 columns each; W_O's slice (d_head × d_model) is wider.
            slots = [*st.columns(2), *st.columns(2)]
            if d_model > 5:
                with slots[3]:
                    st.markdown(
                        f"Head {h} sees the tokens through its {d_head} columns of W_q (what it looks for), W_k "
                        "(what it offers) and W_v (what it passes on). Its rows of **W_O**, below, take its "
                        f"output back to d_model = {d_model} columns."
                    )
                slots[3] = st.container()
            for slot, (name, label) in zip(slots, WEIGHT_LABELS.items(), strict=True):
                rows, columns = (head_dims, dims) if name == "w_o" else (dims, head_dims)
                with slot:
                    what = "rows" if name == "w_o" else "columns"
                    first, last = h * d_head, (h + 1) * d_head - 1
                    st.markdown(f"**{label}** of head {h}: {what} {first}…{last} ({len(rows)}×{len(columns)})")
                    slices[name, h], bad = matrix_editor(
                        f"mh_{name}_h{h}",
                        head_slice(base, name, h, heads),
                        name=f"{label} of head {h}",
                        row_labels=rows,
                        col_labels=columns,
                    )
                    problems += bad
    st.button("Reset the weights to the seed's", on_click=reset, key="mh_reset_weights")
    show_problems(problems)
    return join_head_slices(slices, base)


@st.cache_data(max_entries=8, show_spinner=False)
def _view(
    key: str, _inp: MultiHeadInput, _weights: dict[str, np.ndarray], options: tuple[int, bool, bool, int | None]
) -> MultiHeadView:
    heads, bias, causal, valid_len = options
    return multihead_view(_inp.x, _inp.labels, _weights, num_heads=heads, bias=bias, causal=causal, valid_len=valid_len)


def view(inp: MultiHeadInput, weights: dict[str, np.ndarray], settings: Settings) -> MultiHeadView:
    """:func:`attnviz.views.multihead_view` of the input and weights, once per distinct input (hashed exactly:
    Streamlit's own hasher samples arrays of this size)."""
    options = (settings.heads, settings.bias, settings.causal, settings.valid_len)
    return _view(digest(inp.x, inp.labels, weights), inp, weights, options)


# ------------------------------------------------------------------- panels that rerun on their own (fragments)


def qk(h: str = "h") -> str:
    return f"Q<sub>{h}</sub>·K<sub>{h}</sub><sup>T</sup>/√d<sub>head</sub>"


@st.fragment
def focus_panel(view: MultiHeadView) -> None:
    """One head's weights at (nearly) full resolution, drawn only while its expander is open.

    Opening it, closing it or choosing another head reruns only this panel.
    """
    cells = len(view.focus_labels)
    what = f"all {view.t}×{view.t} of its weights" if view.focus_block == 1 else f"pooled only to {cells} cells a side"
    panel = st.expander(f"One head in detail: {what}", key="mh_focus_open", on_change="rerun")
    if not panel.open:
        return
    with panel:
        if not 0 <= whole_number(st.session_state.mh_focus_head, 0) < view.num_heads:
            st.session_state.mh_focus_head = 0
        h = st.selectbox(
            "Head shown in detail", range(view.num_heads), format_func=lambda i: f"head {i}", key="mh_focus_head"
        )
        block = view.focus_block
        resolution = "every token" if block == 1 else f"{block}×{block} tokens per cell"
        fig = figure(
            matrix_heatmap,
            view.focus[h],
            view.focus_labels,
            view.focus_labels,
            title=f"head {h}: weights softmax({qk(str(h))}), {resolution}",
            kind="weights",
            zmax=view.focus_top[h],
            value_title="weight" if block == 1 else "share",
            height=760,
        )
        show_figure(fig, key="mh_fig_focus")
        if view.focus_top[h] < 1.0:
            st.caption(
                f"Colours saturate at {view.focus_top[h]:.3g} (the 99th percentile of this head's weights) so the "
                "many small weights stay visible; hover over a cell for its exact value, drag to zoom in."
            )


@st.fragment
def weights_tabs(view: MultiHeadView) -> None:
    """Each head's weights, or their mean: only the open tab is computed and drawn (switching reruns only this)."""
    each, mean = st.tabs(["Each head", "Mean over heads"], key="mh_weights_view", on_change="rerun")
    pooled = " (share per block)" if view.pooled else ""
    axes = {
        "kind": "weights",
        "zmax": view.weights_top,
        "row_title": "queries" if view.pooled else "query",
        "col_title": "keys" if view.pooled else "key",
        "value_title": "share" if view.pooled else "weight",
    }
    if each.open:
        with each:
            title = f"weights softmax({qk()})" + pooled
            fig = figure(heatmap_grid, view.weights, view.grid_labels, view.grid_labels, title=title, **axes)
            show_figure(fig, key="mh_fig_weights")
    if mean.open:
        with mean:
            st.markdown(
                "`torch.nn.MultiheadAttention` returns this average of the heads' weights by default "
                "(`average_attn_weights=True`): handy as a summary, but it blurs what each head does."
            )
            title = "mean of the heads' weights" + pooled
            fig = figure(matrix_heatmap, view.mean_weights, view.grid_labels, view.grid_labels, title=title, **axes)
            show_figure(fig, key="mh_fig_mean")


@st.fragment
def combined_tabs(view: MultiHeadView) -> None:
    """The heads' outputs side by side, or after W_O: only the open tab is computed and drawn."""
    concat, mixed = st.tabs(["Side by side (concat)", "After W_O"], key="mh_combined_view", on_change="rerun")
    if concat.open:
        with concat:
            title = f"head outputs A<sub>h</sub>·V<sub>h</sub> side by side = concat ({view.t}×{view.d_model})"
            fig = figure(head_blocks_heatmap, view.concat, view.num_heads, view.window_labels, title=title)
            show_figure(fig, key="mh_fig_concat")
    if mixed.open:
        with mixed:
            st.markdown(
                "**W_O** (d_model × d_model) mixes the heads: every output column reads every head's block. "
                "Without it the heads would stay separate."
            )
            title = "output = concat·W<sub>O</sub>" + (" + b<sub>O</sub>" if view.bias else "")
            fig = figure(
                matrix_heatmap,
                view.output,
                view.window_labels,
                view.dims,
                title=title,
                row_title="token",
                col_title="dim",
            )
            show_figure(fig, key="mh_fig_output")
