"""The Multi-head page's settings, weight tables and cached views."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from attnviz import i18n
from attnviz.arrays import read_only
from attnviz.cells import CellExplanation, cell_at
from attnviz.figures import head_blocks_heatmap, heatmap_grid, matrix_heatmap
from attnviz.i18n import N_, pgettext
from attnviz.i18n import gettext as _
from attnviz.shapes import MAX_HEADS, divisors, head_problems
from attnviz.sharing import Bool, Choice, Decoded, Int, MatrixField, StateSpec, Text
from attnviz.snippets import multihead_snippet
from attnviz.tokens import MAX_TOKENS
from attnviz.ui.cache import digest, figure
from attnviz.ui.cells import CLICK_HINT, show_cell
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
    multihead_cell,
    multihead_input,
    multihead_view,
)

__all__ = [
    "DEFAULTS",
    "EDITABLE_D_MODEL",
    "SHARE",
    "Settings",
    "apply_shared",
    "combined_tabs",
    "controls",
    "explain",
    "explain_concat",
    "focus_panel",
    "head_titles",
    "inputs",
    "qk",
    "shared_state",
    "view",
    "weight_editors",
    "weights",
    "weights_tabs",
]

EDITABLE_D_MODEL = 8  # up to this width the per-head weight slices are shown as editable tables
WEIGHT_LABELS = {"w_q": "W_q", "w_k": "W_k", "w_v": "W_v", "w_o": "W_O"}
# The input sources are codes (the session state, the address and exports hold them); these are their labels.
SOURCE_LABELS = {
    "Sentence": N_("Sentence"),
    "Worked example": N_("Worked example"),
    "Random tokens": N_("Random tokens"),
}
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


D_MODEL_MAX = 512
# What the address, the JSON export and an upload may set (see attnviz.sharing). The weights travel whole
# (d_model × d_model, up to EDITABLE_D_MODEL) and are cut into the heads' tables on arrival.
SHARE = StateSpec(
    "mh",
    (
        Choice("mh_source", MH_SOURCES[0], options=MH_SOURCES),
        Int("mh_d_model", 8, low=1, high=D_MODEL_MAX),
        Int("mh_heads", 2, low=1, high=MAX_HEADS),
        Int("mh_num_tokens", 512, low=1, high=MAX_TOKENS),
        Int("mh_seed", 0, low=0, high=2**31 - 1),
        Bool("mh_bias", True),
        Bool("mh_causal", False),
        Int("mh_valid_len", None, low=1, high=MAX_TOKENS, optional=True),
        Text("tokens_text", DEFAULT_SENTENCE, max_chars=8000),  # the "Sentence" input is the Tokens page's text
    ),
    matrices=tuple(
        MatrixField(f"mh_{name}", "mh_d_model", "mh_d_model", max_side=EDITABLE_D_MODEL, name=WEIGHT_LABELS[name])
        for name in WEIGHT_NAMES
    ),
)


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
    st.header(_("Input"))
    source = st.radio(
        _("Tokens"),
        MH_SOURCES,
        format_func=lambda code: _(SOURCE_LABELS[code]),
        key="mh_source",
        help=_(
            "Sentence: the text typed on the Tokens page. Worked example: the tutorial's 3×4 X. "
            "Random tokens: many tokens, to see how the page copes with long inputs."
        ),
    )
    if source == "Random tokens":
        st.slider(_("Number of random tokens"), 1, MAX_TOKENS, key="mh_num_tokens")
    d_model = int(
        st.number_input(
            _("d_model (width of each token vector)"),
            min_value=0,
            max_value=D_MODEL_MAX,
            step=1,
            key="mh_d_model",
            help=_("Every head gets d_model / heads of the columns, so heads must divide d_model."),
        )
    )
    heads = st.session_state.mh_heads = whole_number(st.session_state.mh_heads, DEFAULTS["mh_heads"])
    offered = [k for k in divisors(d_model) if k <= MAX_HEADS]
    # A value that does not fit stays visible, with an error. Labels must not depend on d_model: the browser sends
    # the label back, and a label that changed between two runs could no longer be matched to its option.
    heads = st.selectbox(
        _("Number of heads"),
        sorted(set(offered) | {heads}),
        key="mh_heads",
        help=_(
            "Only the divisors of d_model are offered (at most {max_heads}): each head gets d_model / heads columns."
        ).format(max_heads=MAX_HEADS),
    )
    if d_model >= 1 and heads in offered:
        st.caption(
            _("d_head = d_model / heads = {d_model} / {heads} = {d_head}").format(
                d_model=d_model, heads=heads, d_head=d_model // heads
            )
        )
    seed = st.number_input(_("Seed (embeddings and weights)"), 0, 2**31 - 1, step=1, key="mh_seed")
    st.header(_("Attention"))
    bias = st.toggle(_("Biases `b_q`, `b_k`, `b_v`, `b_O`"), key="mh_bias")
    causal = st.toggle(_("Causal mask (a token sees only itself and earlier tokens)"), key="mh_causal")
    valid_len = st.number_input(
        _("Valid length (keys from here on are padding)"),
        min_value=1,
        max_value=MAX_TOKENS,
        step=1,
        key="mh_valid_len",
        placeholder=_("none: every key is valid"),
        help=_(
            "d2l's `valid_lens`: keys at positions ≥ this length are padding and get weight 0 in every head. "
            "Clear the box for no padding."
        ),
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
        problems=tuple(head_problems(d_model, int(heads), d_model_label="d_model", heads_label=_("Number of heads"))),
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
    for h, tab in enumerate(st.tabs([_("head {head}").format(head=h) for h in range(heads)])):
        head_dims = dim_labels(d_head, start=0, prefix=f"h{h} d")
        with tab:
            # Two tables side by side fit up to ~5 columns each; W_O's slice (d_head × d_model) is wider.
            slots = [*st.columns(2), *st.columns(2)]
            if d_model > 5:
                with slots[3]:
                    st.markdown(
                        _(
                            "Head {head} sees the tokens through its {d_head} columns of W_q (what it looks for), W_k "
                            "(what it offers) and W_v (what it passes on). Its rows of **W_O**, below, take its "
                            "output back to d_model = {d_model} columns."
                        ).format(head=h, d_head=d_head, d_model=d_model)
                    )
                slots[3] = st.container()
            for slot, (name, label) in zip(slots, WEIGHT_LABELS.items(), strict=True):
                rows, columns = (head_dims, dims) if name == "w_o" else (dims, head_dims)
                with slot:
                    if name == "w_o":
                        heading = _("**{matrix}** of head {head}: rows {first}…{last} ({rows}×{cols})")
                    else:
                        heading = _("**{matrix}** of head {head}: columns {first}…{last} ({rows}×{cols})")
                    first, last = h * d_head, (h + 1) * d_head - 1
                    size = {"rows": len(rows), "cols": len(columns)}
                    st.markdown(heading.format(matrix=label, head=h, first=first, last=last, **size))
                    slices[name, h], bad = matrix_editor(
                        f"mh_{name}_h{h}",
                        head_slice(base, name, h, heads),
                        name=_("{matrix} of head {head}").format(matrix=label, head=h),
                        row_labels=rows,
                        col_labels=columns,
                    )
                    problems += bad
    st.button(_("Reset the weights to the seed's"), on_click=reset, key="mh_reset_weights")
    show_problems(problems)
    return join_head_slices(slices, base)


def apply_shared(decoded: Decoded, reset: bool) -> None:
    """Cut shared weights into the heads' tables (the seed's weights where a matrix is not given)."""
    s = st.session_state
    d_model, heads, seed = s.get("mh_d_model", 8), s.get("mh_heads", 2), s.get("mh_seed", 0)
    if not decoded.matrices:
        if reset:
            s.pop("mh_weights_for", None)  # the tables go back to the seed's weights
        return
    if d_model > EDITABLE_D_MODEL or head_problems(d_model, heads):
        return  # the controls name the problem; nothing to edit
    full = {n: np.array(w, dtype=np.float32) for n, w in weights(d_model, heads, seed).items()}
    full |= {n: decoded.matrices[f"mh_{n}"].astype(np.float32) for n in WEIGHT_NAMES if f"mh_{n}" in decoded.matrices}
    for h in range(heads):
        for name in WEIGHT_NAMES:
            set_matrix(f"mh_{name}_h{h}", head_slice(full, name, h, heads))
    s.mh_weights_for = (d_model, heads, seed)


def shared_state(inp: MultiHeadInput, full: dict[str, np.ndarray], view: MultiHeadView, s: Settings) -> dict:
    """The keyword arguments of :func:`attnviz.ui.share.panel` for this page."""
    dims = view.dims
    matrices = {f"mh_{n}": (full[n], dims, dims) for n in WEIGHT_NAMES} if s.editable else {}
    base = weights(s.d_model, s.heads, s.seed)
    rows, grid = view.window_labels, view.grid_labels
    head_dims = dim_labels(view.d_head, start=0)
    computed = {
        "x": (view.x, rows, dims),
        "scaled": (view.scaled, grid, grid),
        "weights": (view.weights, grid, grid),
        "mean_weights": (view.mean_weights, grid, grid),
        "head_outputs": (view.head_outputs, rows, head_dims),
        "concat": (view.concat, rows, dims),
        "output": (view.output, rows, dims),
    }
    if not s.editable:  # (editable weights are the tables above)
        computed |= {n: (full[n], dims, dims) for n in WEIGHT_NAMES}
    computed |= {n: (full[n][None, :], (n,), dims) for n in ("b_q", "b_k", "b_v", "b_o")}
    if view.t > view.window or view.pooled:  # the snippet reads these from the file
        computed["x"] = (inp.x, inp.labels, dims)

    def code() -> str:
        options = {"num_heads": s.heads, "bias": s.bias, "causal": s.causal, "valid_len": view.valid_len}
        return multihead_snippet(inp.x, full, **options)

    return {
        "matrices": matrices,
        "computed": computed,
        "code": code,
        "default_matrices": {f"mh_{n}": base[n] for n in WEIGHT_NAMES},
        "apply": apply_shared,
    }


# cache_resource, its arrays read-only: a 512-token view holds ~10 MB (8 heads' focus weights) that st.cache_data
# would pickle when it is made and copy again on every rerun that reads it (a change of the head count and back).
@st.cache_resource(max_entries=8, show_spinner=False)
def _view(
    key: str, _inp: MultiHeadInput, _weights: dict[str, np.ndarray], options: tuple[int, bool, bool, int | None]
) -> MultiHeadView:
    heads, bias, causal, valid_len = options
    view = multihead_view(_inp.x, _inp.labels, _weights, num_heads=heads, bias=bias, causal=causal, valid_len=valid_len)
    return read_only(view)


def view(inp: MultiHeadInput, weights: dict[str, np.ndarray], settings: Settings) -> MultiHeadView:
    """:func:`attnviz.views.multihead_view` of the input and weights, once per distinct input (hashed exactly:
    Streamlit's own hasher samples arrays of this size)."""
    options = (settings.heads, settings.bias, settings.causal, settings.valid_len)
    return _view(digest(inp.x, inp.labels, weights), inp, weights, options)


POOLED_CLICK = N_(
    "This grid is pooled (one cell covers several tokens), so a cell is not one number to write out: choose fewer "
    "tokens to click a single query and key."
)


@st.cache_data(max_entries=64, show_spinner=False)
def _cell(
    key: str,
    _inp: MultiHeadInput,
    _weights: dict[str, np.ndarray],
    options: tuple[int, bool, bool, int | None],
    where: tuple[str, int, int, int],
    lang: str,
) -> CellExplanation:
    """The written-out cell (its text is in ``lang``: the cache keys on it)."""
    heads, bias, causal, valid_len = options
    stage, head, row, col = where
    return multihead_cell(
        _inp.x,
        _inp.labels,
        _weights,
        num_heads=heads,
        bias=bias,
        causal=causal,
        valid_len=valid_len,
        stage=stage,
        head=head,
        row=row,
        col=col,
    )


def explain(
    inp: MultiHeadInput, weights: dict[str, np.ndarray], settings: Settings, view: MultiHeadView, stage: str, point
) -> None:
    """The clicked cell of one head's ``stage`` panel (the panel is the point's curve), written out under the grid."""
    if point is None:
        st.caption(_(CLICK_HINT))
        return
    if view.pooled:
        st.caption(_(POOLED_CLICK))
        return
    cell = cell_at(point, view.grid_labels, view.grid_labels)
    if cell is None or not 0 <= cell[2] < view.num_heads:
        return
    row, col, head = cell
    _show(inp, weights, settings, (stage, head, row, col))


def _show(
    inp: MultiHeadInput, weights: dict[str, np.ndarray], settings: Settings, where: tuple[str, int, int, int]
) -> None:
    options = (settings.heads, settings.bias, settings.causal, settings.valid_len)
    show_cell(_cell(digest(inp.x, inp.labels, weights), inp, weights, options, where, i18n.language()))


def explain_concat(
    inp: MultiHeadInput, weights: dict[str, np.ndarray], settings: Settings, view: MultiHeadView, point
) -> None:
    """The clicked cell of the concatenation: head ``column // d_head``'s output, a weighted sum of its values."""
    cols = [f"h{h} d{j}" for h in range(view.num_heads) for j in range(view.d_head)]  # as head_blocks_heatmap
    cell = cell_at(point, view.window_labels, cols)
    if cell is None:
        st.caption(_(CLICK_HINT))
        return
    row, col, _curve = cell
    _show(inp, weights, settings, ("output", col // view.d_head, row, col % view.d_head))


# ------------------------------------------------------------------- panels that rerun on their own (fragments)


def qk(h: str = "h") -> str:
    """Head ``h``'s scaled scores as a formula (plotly HTML); the subscript "head" is written out per language."""
    return _("Q<sub>{h}</sub>·K<sub>{h}</sub><sup>T</sup>/√d<sub>head</sub>").format(h=h)


def head_titles(num_heads: int) -> list[str]:
    """The per-head panels' names, "head 0", "head 1", …, in the current language."""
    return [_("head {head}").format(head=h) for h in range(num_heads)]


@st.fragment
def focus_panel(view: MultiHeadView) -> None:
    """One head's weights at (nearly) full resolution, drawn only while its expander is open.

    Opening it, closing it or choosing another head reruns only this panel.
    """
    cells = len(view.focus_labels)
    if view.focus_block == 1:
        label = _("One head in detail: all {t}×{t} of its weights").format(t=view.t)
    else:
        label = _("One head in detail: pooled only to {cells} cells a side").format(cells=cells)
    panel = st.expander(label, key="mh_focus_open", on_change="rerun")
    if not panel.open:
        return
    with panel:
        if not 0 <= whole_number(st.session_state.mh_focus_head, 0) < view.num_heads:
            st.session_state.mh_focus_head = 0
        h = st.selectbox(
            _("Head shown in detail"),
            range(view.num_heads),
            format_func=lambda i: _("head {head}").format(head=i),
            key="mh_focus_head",
        )
        block = view.focus_block
        if block == 1:
            title = _("head {head}: weights softmax({qk}), every token").format(head=h, qk=qk(str(h)))
        else:
            title = _("head {head}: weights softmax({qk}), {block}×{block} tokens per cell")
            title = title.format(head=h, qk=qk(str(h)), block=block)
        fig = figure(
            matrix_heatmap,
            view.focus[h],
            view.focus_labels,
            view.focus_labels,
            title=title,
            kind="weights",
            zmax=view.focus_top[h],
            row_title=_("query"),
            col_title=_("key"),
            value_title=_("weight") if block == 1 else _("share"),
            height=760,
        )
        show_figure(fig, key="mh_fig_focus")
        if view.focus_top[h] < 1.0:
            st.caption(
                _(
                    "Colours saturate at {top:.3g} (the 99th percentile of this head's weights) so the many small "
                    "weights stay visible; hover over a cell for its exact value, drag to zoom in."
                ).format(top=view.focus_top[h])
            )


@st.fragment
def weights_tabs(view: MultiHeadView, inp: MultiHeadInput, weights: dict[str, np.ndarray], settings: Settings) -> None:
    """Each head's weights, or their mean: only the open tab is computed and drawn (switching reruns only this).
    A click on a head's cell writes it out (and reruns only this)."""
    each, mean = st.tabs([_("Each head"), _("Mean over heads")], key="mh_weights_view", on_change="rerun")
    axes = {
        "kind": "weights",
        "zmax": view.weights_top,
        "row_title": _("queries") if view.pooled else _("query"),
        "col_title": pgettext("axis", "keys") if view.pooled else _("key"),
        "value_title": _("share") if view.pooled else _("weight"),
    }
    if each.open:
        with each:
            if view.pooled:
                title = _("weights softmax({qk}) (share per block)").format(qk=qk())
            else:
                title = _("weights softmax({qk})").format(qk=qk())
            panels = head_titles(view.num_heads)
            fig = figure(
                heatmap_grid, view.weights, view.grid_labels, view.grid_labels, panel_titles=panels, title=title, **axes
            )
            explain(inp, weights, settings, view, "weights", show_figure(fig, key="mh_fig_weights", on_select=True))
    if mean.open:
        with mean:
            st.markdown(
                _(
                    "`torch.nn.MultiheadAttention` returns this average of the heads' weights by default "
                    "(`average_attn_weights=True`): handy as a summary, but it blurs what each head does."
                )
            )
            if view.pooled:
                title = _("mean of the heads' weights (share per block)")
            else:
                title = _("mean of the heads' weights")
            fig = figure(matrix_heatmap, view.mean_weights, view.grid_labels, view.grid_labels, title=title, **axes)
            show_figure(fig, key="mh_fig_mean")


@st.fragment
def combined_tabs(view: MultiHeadView, inp: MultiHeadInput, weights: dict[str, np.ndarray], settings: Settings) -> None:
    """The heads' outputs side by side, or after W_O: only the open tab is computed and drawn. A click on a cell
    of the concatenation writes it out (and reruns only this)."""
    concat, mixed = st.tabs([_("Side by side (concat)"), _("After W_O")], key="mh_combined_view", on_change="rerun")
    if concat.open:
        with concat:
            title = _("head outputs A<sub>h</sub>·V<sub>h</sub> side by side = concat ({t}×{d_model})").format(
                t=view.t, d_model=view.d_model
            )
            fig = figure(
                head_blocks_heatmap, view.concat, view.num_heads, view.window_labels, title=title, row_title=_("token")
            )
            explain_concat(inp, weights, settings, view, show_figure(fig, key="mh_fig_concat", on_select=True))
    if mixed.open:
        with mixed:
            st.markdown(
                _(
                    "**W_O** (d_model × d_model) mixes the heads: every output column reads every head's block. "
                    "Without it the heads would stay separate."
                )
            )
            if view.bias:
                title = _("output = concat·W<sub>O</sub> + b<sub>O</sub>")
            else:
                title = _("output = concat·W<sub>O</sub>")
            fig = figure(
                matrix_heatmap,
                view.output,
                view.window_labels,
                view.dims,
                title=title,
                row_title=_("token"),
                col_title=_("dim"),
            )
            show_figure(fig, key="mh_fig_output")
