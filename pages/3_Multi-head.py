"""Multi-head attention: split into heads, attend per head, concatenate, mix with W_O, check against PyTorch."""

import numpy as np
import streamlit as st

import attnviz.ui.warm  # noqa: F401  (before the app's other imports: plotly.js and torch start loading)
from attnviz.figures import head_blocks_heatmap, heatmap_grid, matrix_heatmap
from attnviz.shapes import MAX_HEADS, divisors, head_problems
from attnviz.tokens import MAX_TOKENS
from attnviz.ui.compute import (
    MH_SOURCES,
    ROW_WINDOW,
    MultiHeadView,
    cached_figure,
    compute_multihead,
    multihead_input,
    multihead_weights,
)
from attnviz.ui.matrix_editor import matrix_editor, set_matrix
from attnviz.ui.render import KEPT, page_nav, show_figure, show_problems, step
from attnviz.ui.sentence import DEFAULT_SENTENCE

st.set_page_config(page_title="Multi-head · attnviz", page_icon="🔎", layout="wide")
page_nav()

EDITABLE_D_MODEL = 8  # up to this width the per-head weight slices are shown as editable tables
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
for key, value in DEFAULTS.items():
    st.session_state.setdefault(key, value)


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


def multihead_controls() -> dict:
    """The sidebar; returns the chosen values (not yet checked)."""
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
    d_model = st.number_input(
        "d_model (width of each token vector)",
        min_value=0,
        max_value=512,
        step=1,
        key="mh_d_model",
        help="Every head gets d_model / heads of the columns, so heads must divide d_model.",
    )
    heads = st.session_state.mh_heads = whole_number(st.session_state.mh_heads, DEFAULTS["mh_heads"])
    offered = [k for k in divisors(int(d_model)) if k <= MAX_HEADS]
    options = sorted(set(offered) | {heads})  # a value that does not fit stays visible, with an error
    # Labels must not depend on d_model: the browser sends the label back, and a label that changed between two
    # runs could no longer be matched to its option.
    heads = st.selectbox(
        "Number of heads",
        options,
        key="mh_heads",
        help=f"Only the divisors of d_model are offered (at most {MAX_HEADS}): each head gets d_model / heads columns.",
    )
    if d_model >= 1 and heads in offered:
        st.caption(f"d_head = d_model / heads = {d_model} / {heads} = {d_model // heads}")
    st.number_input("Seed (embeddings and weights)", 0, 2**31 - 1, step=1, key="mh_seed")
    st.header("Attention")
    st.toggle("Biases b_q, b_k, b_v, b_O", key="mh_bias")
    st.toggle("Causal mask (a token sees only itself and earlier tokens)", key="mh_causal")
    st.number_input(
        "Valid length (keys from here on are padding)",
        min_value=1,
        max_value=MAX_TOKENS,
        step=1,
        key="mh_valid_len",
        placeholder="none: every key is valid",
        help="d2l's valid_lens: keys at positions ≥ this length are padding and get weight 0 in every head. "
        "Clear the box for no padding.",
    )
    return {name.removeprefix("mh_"): st.session_state[name] for name in DEFAULTS}


def weight_editors(d_model: int, heads: int, seed: int) -> dict[str, np.ndarray]:
    """Per-head slices of W_q, W_k, W_v (columns) and W_O (rows) as editable tables; returns the full matrices."""
    base = multihead_weights(d_model, heads, seed)
    d_head = d_model // heads
    names = {"w_q": "W_q", "w_k": "W_k", "w_v": "W_v", "w_o": "W_O"}

    def part(name: str, h: int) -> np.ndarray:
        cut = slice(h * d_head, (h + 1) * d_head)
        return base[name][cut, :] if name == "w_o" else base[name][:, cut]

    def reset() -> None:
        for h in range(heads):
            for name in names:
                set_matrix(f"mh_{name}_h{h}", part(name, h))

    if st.session_state.get("mh_weights_for") != (d_model, heads, seed):
        reset()
        st.session_state.mh_weights_for = (d_model, heads, seed)

    dims = [f"d{i}" for i in range(d_model)]
    full = {name: base[name].astype(np.float64) for name in base}
    problems: list[str] = []
    tabs = st.tabs([f"head {h}" for h in range(heads)])
    for h, tab in enumerate(tabs):
        head_dims = [f"h{h} d{j}" for j in range(d_head)]
        cut = slice(h * d_head, (h + 1) * d_head)
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
            for slot, (name, label) in zip(slots, names.items(), strict=True):
                with slot:
                    shape = f"{d_head}×{d_model}" if name == "w_o" else f"{d_model}×{d_head}"
                    what = "rows" if name == "w_o" else "columns"
                    st.markdown(f"**{label}** of head {h}: {what} {cut.start}…{cut.stop - 1} ({shape})")
                    rows, columns = (head_dims, dims) if name == "w_o" else (dims, head_dims)
                    matrix, bad = matrix_editor(
                        f"mh_{name}_h{h}",
                        part(name, h),
                        name=f"{label} of head {h}",
                        row_labels=rows,
                        col_labels=columns,
                    )
                    problems += bad
                    if name == "w_o":
                        full[name][cut, :] = matrix
                    else:
                        full[name][:, cut] = matrix
    st.button("Reset the weights to the seed's", on_click=reset, key="mh_reset_weights")
    show_problems(problems)
    return {name: w.astype(np.float32) for name, w in full.items()}


def show(view: MultiHeadView, name: str, build) -> None:
    """Draw the figure ``name`` of ``view``, built once per distinct view (reruns reuse it)."""
    show_figure(cached_figure(view.key, name, build), key=f"mh_fig_{name.split(':')[0]}")


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
            "Head shown in detail",
            range(view.num_heads),
            format_func=lambda i: f"head {i}",
            key="mh_focus_head",
        )
        labels = view.focus_labels
        resolution = (
            "every token" if view.focus_block == 1 else f"{view.focus_block}×{view.focus_block} tokens per cell"
        )
        show(
            view,
            f"focus:{h}",
            lambda: matrix_heatmap(
                view.focus[h],
                labels,
                labels,
                title=f"head {h}: weights softmax({qk(str(h))}), {resolution}",
                kind="weights",
                zmax=view.focus_top[h],
                value_title="weight" if view.focus_block == 1 else "share",
                height=760,
            ),
        )
        if view.focus_top[h] < 1.0:
            st.caption(
                f"Colours saturate at {view.focus_top[h]:.3g} (the 99th percentile of this head's weights) so the "
                "many small weights stay visible; hover over a cell for its exact value, drag to zoom in."
            )


@st.fragment
def weights_views(view: MultiHeadView, pooled: bool, query_title: str, key_title: str) -> None:
    """Each head's weights, or their mean: only the open tab is computed and drawn (switching reruns only this)."""
    each, mean = st.tabs(["Each head", "Mean over heads"], key="mh_weights_view", on_change="rerun")
    value_title = "share" if pooled else "weight"
    if each.open:
        with each:
            show(
                view,
                "weights",
                lambda: heatmap_grid(
                    view.weights,
                    view.grid_labels,
                    view.grid_labels,
                    title=f"weights softmax({qk()})" + (" (share per block)" if pooled else ""),
                    kind="weights",
                    zmax=view.weights_top,
                    row_title=query_title,
                    col_title=key_title,
                    value_title=value_title,
                ),
            )
    if mean.open:
        with mean:
            st.markdown(
                "`torch.nn.MultiheadAttention` returns this average of the heads' weights by default "
                "(`average_attn_weights=True`): handy as a summary, but it blurs what each head does."
            )
            show(
                view,
                "mean",
                lambda: matrix_heatmap(
                    view.mean_weights,
                    view.grid_labels,
                    view.grid_labels,
                    title="mean of the heads' weights" + (" (share per block)" if pooled else ""),
                    kind="weights",
                    zmax=view.weights_top,
                    row_title=query_title,
                    col_title=key_title,
                    value_title=value_title,
                ),
            )


@st.fragment
def combined_views(view: MultiHeadView, window_labels: list[str], dims: list[str], bias: bool) -> None:
    """The heads' outputs side by side, or after W_O: only the open tab is computed and drawn."""
    concat, mixed = st.tabs(["Side by side (concat)", "After W_O"], key="mh_combined_view", on_change="rerun")
    if concat.open:
        with concat:
            show(
                view,
                "concat",
                lambda: head_blocks_heatmap(
                    view.concat,
                    view.num_heads,
                    window_labels,
                    title=f"head outputs A<sub>h</sub>·V<sub>h</sub> side by side = concat ({view.t}×{view.d_model})",
                ),
            )
    if mixed.open:
        with mixed:
            st.markdown(
                "**W_O** (d_model × d_model) mixes the heads: every output column reads every head's block. "
                "Without it the heads would stay separate."
            )
            show(
                view,
                "output",
                lambda: matrix_heatmap(
                    view.output,
                    window_labels,
                    dims,
                    title="output = concat·W<sub>O</sub>" + (" + b<sub>O</sub>" if bias else ""),
                    row_title="token",
                    col_title="dim",
                ),
            )


st.title("Multi-head attention")
st.markdown(
    "One attention is one way of comparing tokens. **Multi-head attention** runs several in parallel: the "
    "projections are cut into H heads of d_head = d_model / H columns, each head attends on its own, and their "
    "outputs are put side by side and mixed by **W_O**. Every number below comes from attnviz's "
    "`MultiHeadAttention`, checked at the end against PyTorch's `torch.nn.MultiheadAttention`."
)

with st.sidebar:
    c = multihead_controls()

d_model, heads = int(c["d_model"]), int(c["heads"])
problems = head_problems(d_model, heads, d_model_label="d_model", heads_label="Number of heads")
text = st.session_state.get("tokens_text", DEFAULT_SENTENCE)
inp = None
if not problems:
    try:
        inp = multihead_input(c["source"], text, int(c["num_tokens"]), d_model, int(c["seed"]))
    except ValueError as err:
        problems.append(str(err))
show_problems(problems, kept=KEPT)

input_slot = st.container()
flow_slot = st.container()

step(
    3,
    "Each head's projections",
    "Head *h* uses its own columns of **W_q**, **W_k**, **W_v** (and the matching rows of **W_O**), so every "
    "head projects the tokens into its own small space. One big matrix product computes all heads at once.",
)
weights = None
if inp is not None:
    if d_model <= EDITABLE_D_MODEL:
        st.caption("Edit any cell: every figure below and the PyTorch check use the edited weights.")
        weights = weight_editors(d_model, heads, int(c["seed"]))
    else:
        weights = multihead_weights(d_model, heads, int(c["seed"]))
        st.caption(
            f"With d_model = {d_model} the heads' slices are too large to edit here (choose d_model ≤ "
            f"{EDITABLE_D_MODEL} to edit them). The weights are random, drawn like nn.MultiheadAttention's "
            f"(seed {c['seed']})."
        )

view: MultiHeadView | None = None
if inp is not None and weights is not None:
    valid_len = None if c["valid_len"] is None else int(c["valid_len"])
    try:
        view = compute_multihead(inp.x, inp.labels, weights, heads, bool(c["bias"]), bool(c["causal"]), valid_len)
        st.session_state.mh_last_good = (view, inp.note)
    except ValueError as err:
        show_problems([str(err)], kept=KEPT)
if view is None:
    if "mh_last_good" not in st.session_state:
        st.stop()
    view, note = st.session_state.mh_last_good
    if inp is not None:
        st.warning("The figures below are from the last settings that worked.", icon="↩️")
else:
    note = inp.note

H, T, W = view.num_heads, view.t, view.window
window_labels = list(view.labels[:W])
window_note = f" Only the first {W} of the {T} tokens are shown." if W < T else ""
dims = [f"d{j}" for j in range(view.d_model)]

with input_slot:
    step(1, "Input X", f"{note} Row *i* is token *i*'s vector; every head reads the same X.{window_note}")
    show(
        view,
        "x",
        lambda: matrix_heatmap(
            view.x, window_labels, dims, title=f"X ({T}×{view.d_model})", row_title="token", col_title="dim"
        ),
    )

with flow_slot:
    step(
        2,
        "Split into heads: the shapes",
        "d2l's `transpose_qkv` and `transpose_output` reshape the tensors so one batched matrix product serves "
        f"every head. The sizes of this run: B = 1 sequence, T = {T} tokens, H = {H} heads, d_model = "
        f"{view.d_model}, d_head = {view.d_head}.",
    )
    nb = "\u00a0"  # keeps a shape on one line
    table = ["| | operation | shape | this run | what happens |", "|---|---|---|---|---|"]
    table += [
        f"| {i} | `{s.operation.replace(' ', nb)}` | {s.symbolic.replace(' ', nb)} | "
        f"**{s.numeric.replace(' ', nb)}** | {s.note} |"
        for i, s in enumerate(view.flow, 1)
    ]
    st.markdown("\n".join(table))
    st.caption("K and V go through the same split as Q. (The tutorial's code hard-codes d_head = 20 in its reshape.)")

pooled = view.grid_block > 1
query_title, key_title = ("queries", "keys") if pooled else ("query", "key")
grid_note = (
    f" With {T} tokens each panel is pooled: one cell covers {view.grid_block}×{view.grid_block} tokens, and the "
    "axis ticks give the token ranges."
    if pooled
    else ""
)
step(
    4,
    "Scores per head",
    "Each head compares queries with keys in its own d_head-dimensional space, so the heads score the same "
    f"token pairs differently. Scores are scaled by 1/√d_head = {view.scale:.4f}." + grid_note,
)
show(
    view,
    "scores",
    lambda: heatmap_grid(
        view.scores,
        view.grid_labels,
        view.grid_labels,
        title=f"scaled scores {qk()}" + (" (mean of each block)" if pooled else ""),
        kind="signed",
        row_title=query_title,
        col_title=key_title,
        value_title="score",
    ),
)
masked_note = []
if view.causal:
    masked_note.append("the causal mask hides later tokens")
if view.valid_len is not None:
    masked_note.append(f"keys from position {view.valid_len} on are padding")
if masked_note:
    st.caption("Grey cells are masked (−∞ before softmax, weight 0): " + "; ".join(masked_note) + ".")

weights_note = ""
if pooled:
    even = "" if view.causal or view.valid_len else f"; an even spread gives {1 / len(view.grid_labels):.3f} a cell"
    weights_note = (
        " A pooled cell is the share of attention the block's queries give to the block's keys (rows still sum "
        f"to 1{even}). Colours saturate at {view.weights_top:.3g}; hover for exact values."
    )
step(
    5,
    "Weights per head",
    "Softmax turns each head's rows into weights that sum to 1. Different heads usually look at different "
    "tokens: that is the point of having several." + weights_note,
)
weights_views(view, pooled, query_title, key_title)
if pooled:
    focus_panel(view)

step(
    6,
    "Combine the heads: concatenate, then mix with W_O",
    f"Each head mixes its own value vectors with its own weights, giving a {T}×{view.d_head} matrix per head. "
    f"Put side by side they make the concatenation: {H} × {view.d_head} = {view.d_model} columns again "
    "(d2l's `transpose_output`); **W_O** then mixes them." + window_note,
)
combined_views(view, window_labels, dims, bool(c["bias"]))

step(
    7,
    "Check against PyTorch",
    "The same X goes through `torch.nn.MultiheadAttention` holding the same weights (`to_torch()`), with "
    "`need_weights=True, average_attn_weights=False`, `attn_mask = ~mask` and `key_padding_mask` for the padding.",
)
check = view.check
out_tol = check.tolerance * check.output_scale
if check.passed:
    st.badge("Pass: attnviz matches torch.nn.MultiheadAttention", icon=":material/check_circle:", color="green")
else:
    st.badge("Fail: attnviz differs from torch.nn.MultiheadAttention", icon=":material/error:", color="red")
st.markdown(
    f"- max |output − torch output| = **{check.max_output_diff:.2e}** "
    f"({'≤' if check.output_ok else '>'} tolerance {out_tol:.1e})\n"
    f"- max |weights − torch weights| over {H} heads = **{check.max_weight_diff:.2e}** "
    f"({'≤' if check.weights_ok else '>'} tolerance {check.tolerance:.0e})"
)
st.caption(
    f"float32 arithmetic rounds at about 1e-7, so the tolerance is {check.tolerance:.0e} (times the largest "
    "|output| when that exceeds 1)."
)
if W < T:
    st.caption(f"Per-token matrices show tokens 0 … {W - 1}: at most {ROW_WINDOW} rows of them reach the browser.")
