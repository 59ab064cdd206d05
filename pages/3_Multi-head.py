"""Multi-head attention: split into heads, attend per head, concatenate, mix with W_O, check against PyTorch."""

import streamlit as st

import attnviz.ui.warm  # noqa: F401  (before the app's other imports: plotly.js and torch start loading)
from attnviz.figures import heatmap_grid, matrix_heatmap
from attnviz.i18n import gettext as _
from attnviz.i18n import pgettext
from attnviz.ui import multihead as page
from attnviz.ui import share
from attnviz.ui.cache import figure
from attnviz.ui.it_model import it_model_panel
from attnviz.ui.render import KEPT, last_good, page_nav, show_figure, show_problems, step
from attnviz.views import ROW_WINDOW

st.set_page_config(page_title=_("Multi-head · attnviz"), page_icon="🔎", layout="wide")
page_nav()


st.title(_("Multi-head attention"))
st.markdown(
    _(
        "One attention is one way of comparing tokens. **Multi-head attention** runs several in parallel: the "
        "projections are cut into H heads of d_head = d_model / H columns, each head attends on its own, and their "
        "outputs are put side by side and mixed by **W_O**. Every number below comes from attnviz's "
        "`MultiHeadAttention`, checked at the end against PyTorch's `torch.nn.MultiheadAttention`."
    )
)
share.restore(page.SHARE, apply=page.apply_shared)
with st.sidebar:
    settings = page.controls()
show_problems(settings.problems, kept=KEPT)
inp = last_good("mh_last_input", None if settings.problems else lambda: page.inputs(settings))
input_slot, flow_slot = st.container(), st.container()

step(
    3,
    _("Each head's projections"),
    _(
        "Head *h* uses its own columns of **W_q**, **W_k**, **W_v** (and the matching rows of **W_O**), so every "
        "head projects the tokens into its own small space. One big matrix product computes all heads at once."
    ),
)
weights = None
if inp is not None and not settings.problems:
    if settings.editable:
        st.caption(_("Edit any cell: every figure below and the PyTorch check use the edited weights."))
        weights = page.weight_editors(settings)
    else:
        weights = page.weights(settings.d_model, settings.heads, settings.seed)
        st.caption(
            _(
                "With d_model = {d_model} the heads' slices are too large to edit here (choose d_model ≤ "
                "{editable} to edit them). The weights are random, drawn like nn.MultiheadAttention's (seed {seed})."
            ).format(d_model=settings.d_model, editable=page.EDITABLE_D_MODEL, seed=settings.seed)
        )
compute = None if weights is None else lambda: (page.view(inp, weights, settings), inp, weights, settings)
kept = last_good("mh_last_good", compute)
if kept is None:
    st.stop()
view, inp, weights, settings = kept
note = inp.note
T, W = view.t, view.window
window_note = _(" Only the first {window} of the {t} tokens are shown.").format(window=W, t=T) if W < T else ""

with input_slot:
    step(
        1,
        _("Input X"),
        _("{note} Row *i* is token *i*'s vector; every head reads the same X.{window_note}").format(
            note=note, window_note=window_note
        ),
    )
    title = f"X ({T}×{view.d_model})"
    fig = figure(
        matrix_heatmap, view.x, view.window_labels, view.dims, title=title, row_title=_("token"), col_title=_("dim")
    )
    show_figure(fig, key="mh_fig_x")

with flow_slot:
    nb = "\u00a0"  # keeps a shape on one line
    header = (_("operation"), _("shape"), _("this run"), _("what happens"))
    table = ["| | " + " | ".join(header) + " |", "|---|---|---|---|---|"]
    table += [
        f"| {i} | `{s.operation.replace(' ', nb)}` | `{s.symbolic.replace(' ', nb)}` | "
        f"**{s.numeric.replace(' ', nb)}** | {_(s.note)} |"
        for i, s in enumerate(view.flow, 1)
    ]
    step(  # the table is part of the step's one markdown element: every element adds to each rerun's time
        2,
        _("Split into heads: the shapes"),
        _(
            "d2l's `transpose_qkv` and `transpose_output` reshape the tensors so one batched matrix product serves "
            "every head. The sizes of this run: B = 1 sequence, T = {t} tokens, H = {heads} heads, d_model = "
            "{d_model}, d_head = {d_head}."
        ).format(t=T, heads=view.num_heads, d_model=view.d_model, d_head=view.d_head)
        + "\n\n"
        + "\n".join(table),
    )
    st.caption(
        _("K and V go through the same split as Q. (The tutorial's code hard-codes d_head = 20 in its `reshape`.)")
    )

grid_note = ""
if view.pooled:
    grid_note = _(
        " With {t} tokens each panel is pooled: one cell covers {block}×{block} tokens, and the axis ticks give the "
        "token ranges."
    ).format(t=T, block=view.grid_block)
step(
    4,
    _("Scores per head"),
    _(
        "Each head compares queries with keys in its own d_head-dimensional space, so the heads score the same "
        "token pairs differently. Scores are scaled by 1/√d_head = {scale:.4f}.{grid_note}"
    ).format(scale=view.scale, grid_note=grid_note),
)
if view.pooled:
    scores_title = _("scaled scores {qk} (mean of each block)").format(qk=page.qk())
else:
    scores_title = _("scaled scores {qk}").format(qk=page.qk())
fig = figure(
    heatmap_grid,
    view.scaled,
    view.grid_labels,
    view.grid_labels,
    panel_titles=page.head_titles(view.num_heads),
    title=scores_title,
    kind="signed",
    row_title=_("queries") if view.pooled else _("query"),
    col_title=pgettext("axis", "keys") if view.pooled else _("key"),
    value_title=_("score"),
)
page.explain(inp, weights, settings, view, "scaled", show_figure(fig, key="mh_fig_scores", on_select=True))
masked = [_("the causal mask hides later tokens")] if view.causal else []
if view.valid_len is not None:
    masked.append(_("keys from position {position} on are padding").format(position=view.valid_len))
if masked:
    reasons = masked[0] if len(masked) == 1 else _("{first}; {second}").format(first=masked[0], second=masked[1])
    st.caption(_("Grey cells are masked (−∞ before softmax, weight 0): {reasons}.").format(reasons=reasons))

weights_note = ""
if view.pooled and (view.causal or view.valid_len):
    weights_note = _(
        " A pooled cell is the share of attention the block's queries give to the block's keys (rows still sum "
        "to 1). Colours saturate at {top:.3g}; hover for exact values."
    ).format(top=view.weights_top)
elif view.pooled:
    weights_note = _(
        " A pooled cell is the share of attention the block's queries give to the block's keys (rows still sum "
        "to 1; an even spread gives {even:.3f} a cell). Colours saturate at {top:.3g}; hover for exact values."
    ).format(even=1 / len(view.grid_labels), top=view.weights_top)
step(
    5,
    _("Weights per head"),
    _(
        "Softmax turns each head's rows into weights that sum to 1. Different heads usually look at different "
        "tokens: that is the point of having several.{weights_note}"
    ).format(weights_note=weights_note),
)
page.weights_tabs(view, inp, weights, settings)
if view.pooled:
    page.focus_panel(view)

step(
    6,
    _("Combine the heads: concatenate, then mix with W_O"),
    _(
        "Each head mixes its own value vectors with its own weights, giving a {t}×{d_head} matrix per head. "
        "Put side by side they make the concatenation: {heads} × {d_head} = {d_model} columns "
        "again (d2l's `transpose_output`); **W_O** then mixes them.{window_note}"
    ).format(t=T, d_head=view.d_head, heads=view.num_heads, d_model=view.d_model, window_note=window_note),
)
page.combined_tabs(view, inp, weights, settings)

step(
    7,
    _("Check against PyTorch"),
    _(
        "The same X goes through `torch.nn.MultiheadAttention` holding the same weights (`to_torch()`), with "
        "`need_weights=True, average_attn_weights=False`, `attn_mask = ~mask` and `key_padding_mask` for the "
        "padding."
    ),
)
check = view.check
if check.passed:
    verdict = _("Pass: attnviz matches torch.nn.MultiheadAttention")
    badge = f":green-badge[:material/check_circle: {verdict}]"
else:
    verdict = _("Fail: attnviz differs from torch.nn.MultiheadAttention")
    badge = f":red-badge[:material/error: {verdict}]"
output_line = _("- max |output − torch output| = **{diff:.2e}** ({cmp} tolerance {tolerance:.1e})").format(
    diff=check.max_output_diff,
    cmp="≤" if check.output_ok else ">",
    tolerance=check.tolerance * check.output_scale,
)
weights_line = _(
    "- max |weights − torch weights| over {heads} heads = **{diff:.2e}** ({cmp} tolerance {tolerance:.1e})"
).format(
    heads=view.num_heads, diff=check.max_weight_diff, cmp="≤" if check.weights_ok else ">", tolerance=check.tolerance
)
st.markdown(f"{badge}\n\n{output_line}\n{weights_line}")  # the verdict and its numbers: one element
notes = [
    _(
        "`float32` arithmetic rounds at about 1e-7, so the tolerance is {tolerance:.1e} (times the largest "
        "|output| when that exceeds 1)."
    ).format(tolerance=check.tolerance)
]
if W < T:
    notes.append(
        _("Per-token matrices show tokens 0 … {last}: at most {rows} rows of them reach the browser.").format(
            last=W - 1, rows=ROW_WINDOW
        )
    )
st.caption("\n\n".join(notes))

step(
    8,
    _("Trained heads"),
    _(
        "The heads above have random weights. The Tokens page's sentence through a small model "
        "trained on what *it* refers to: every layer × head of a real learned pattern."
    ),
)
it_model_panel(settings.text, "mh")
share.panel(page.SHARE, **page.shared_state(inp, weights, view, settings))
