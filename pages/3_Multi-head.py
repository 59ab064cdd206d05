"""Multi-head attention: split into heads, attend per head, concatenate, mix with W_O, check against PyTorch."""

import streamlit as st

from attnviz.figures import heatmap_grid, matrix_heatmap
from attnviz.ui import multihead as page
from attnviz.ui.cache import figure
from attnviz.ui.render import KEPT, last_good, page_nav, show_figure, show_problems, step
from attnviz.views import ROW_WINDOW

st.set_page_config(page_title="Multi-head · attnviz", page_icon="🔎", layout="wide")
page_nav()


st.title("Multi-head attention")
st.markdown(
    "One attention is one way of comparing tokens. **Multi-head attention** runs several in parallel: the "
    "projections are cut into H heads of d_head = d_model / H columns, each head attends on its own, and their "
    "outputs are put side by side and mixed by **W_O**. Every number below comes from attnviz's "
    "`MultiHeadAttention`, checked at the end against PyTorch's `torch.nn.MultiheadAttention`."
)
with st.sidebar:
    settings = page.controls()
show_problems(settings.problems, kept=KEPT)
inp = last_good("mh_last_input", None if settings.problems else lambda: page.inputs(settings))
input_slot, flow_slot = st.container(), st.container()

step(
    3,
    "Each head's projections",
    "Head *h* uses its own columns of **W_q**, **W_k**, **W_v** (and the matching rows of **W_O**), so every "
    "head projects the tokens into its own small space. One big matrix product computes all heads at once.",
)
weights = None
if inp is not None and not settings.problems:
    if settings.editable:
        st.caption("Edit any cell: every figure below and the PyTorch check use the edited weights.")
        weights = page.weight_editors(settings)
    else:
        weights = page.weights(settings.d_model, settings.heads, settings.seed)
        st.caption(
            f"With d_model = {settings.d_model} the heads' slices are too large to edit here (choose d_model ≤ "
            f"{page.EDITABLE_D_MODEL} to edit them). The weights are random, drawn like nn.MultiheadAttention's "
            f"(seed {settings.seed})."
        )
kept = last_good("mh_last_good", None if weights is None else lambda: (page.view(inp, weights, settings), inp.note))
if kept is None:
    st.stop()
view, note = kept
T, W = view.t, view.window
window_note = f" Only the first {W} of the {T} tokens are shown." if W < T else ""

with input_slot:
    step(1, "Input X", f"{note} Row *i* is token *i*'s vector; every head reads the same X.{window_note}")
    title = f"X ({T}×{view.d_model})"
    fig = figure(matrix_heatmap, view.x, view.window_labels, view.dims, title=title, row_title="token", col_title="dim")
    show_figure(fig, key="mh_fig_x")

with flow_slot:
    step(
        2,
        "Split into heads: the shapes",
        "d2l's `transpose_qkv` and `transpose_output` reshape the tensors so one batched matrix product serves "
        f"every head. The sizes of this run: B = 1 sequence, T = {T} tokens, H = {view.num_heads} heads, d_model = "
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

grid_note = (
    f" With {T} tokens each panel is pooled: one cell covers {view.grid_block}×{view.grid_block} tokens, and the "
    "axis ticks give the token ranges."
    if view.pooled
    else ""
)
step(
    4,
    "Scores per head",
    "Each head compares queries with keys in its own d_head-dimensional space, so the heads score the same "
    f"token pairs differently. Scores are scaled by 1/√d_head = {view.scale:.4f}." + grid_note,
)
fig = figure(
    heatmap_grid,
    view.scaled,
    view.grid_labels,
    view.grid_labels,
    title=f"scaled scores {page.qk()}" + (" (mean of each block)" if view.pooled else ""),
    kind="signed",
    row_title="queries" if view.pooled else "query",
    col_title="keys" if view.pooled else "key",
    value_title="score",
)
show_figure(fig, key="mh_fig_scores")
masked = ["the causal mask hides later tokens"] if view.causal else []
masked += [f"keys from position {view.valid_len} on are padding"] if view.valid_len is not None else []
if masked:
    st.caption("Grey cells are masked (−∞ before softmax, weight 0): " + "; ".join(masked) + ".")

weights_note = ""
if view.pooled:
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
page.weights_tabs(view)
if view.pooled:
    page.focus_panel(view)

step(
    6,
    "Combine the heads: concatenate, then mix with W_O",
    f"Each head mixes its own value vectors with its own weights, giving a {T}×{view.d_head} matrix per head. "
    f"Put side by side they make the concatenation: {view.num_heads} × {view.d_head} = {view.d_model} columns "
    "again (d2l's `transpose_output`); **W_O** then mixes them." + window_note,
)
page.combined_tabs(view)

step(
    7,
    "Check against PyTorch",
    "The same X goes through `torch.nn.MultiheadAttention` holding the same weights (`to_torch()`), with "
    "`need_weights=True, average_attn_weights=False`, `attn_mask = ~mask` and `key_padding_mask` for the padding.",
)
check = view.check
if check.passed:
    st.badge("Pass: attnviz matches torch.nn.MultiheadAttention", icon=":material/check_circle:", color="green")
else:
    st.badge("Fail: attnviz differs from torch.nn.MultiheadAttention", icon=":material/error:", color="red")
st.markdown(
    f"- max |output − torch output| = **{check.max_output_diff:.2e}** "
    f"({'≤' if check.output_ok else '>'} tolerance {check.tolerance * check.output_scale:.1e})\n"
    f"- max |weights − torch weights| over {view.num_heads} heads = **{check.max_weight_diff:.2e}** "
    f"({'≤' if check.weights_ok else '>'} tolerance {check.tolerance:.1e})"
)
st.caption(
    f"float32 arithmetic rounds at about 1e-7, so the tolerance is {check.tolerance:.1e} (times the largest "
    "|output| when that exceeds 1)."
)
if W < T:
    st.caption(f"Per-token matrices show tokens 0 … {W - 1}: at most {ROW_WINDOW} rows of them reach the browser.")
