"""The tutorial's worked example, live: edit X and the weights, watch every step of self-attention."""

import numpy as np
import streamlit as st

import attnviz.ui.warm  # noqa: F401  (before the app's other imports: plotly.js and torch start loading)
from attnviz.explain import aligned_latex, dot_product_latex, softmax_latex, weighted_sum_latex
from attnviz.figures import heatmap_grid, matrix_heatmap
from attnviz.i18n import gettext as _
from attnviz.ui import share, worked
from attnviz.ui.cells import CLICK_HINT
from attnviz.ui.matrix_editor import matrix_editor
from attnviz.ui.render import last_good, page_nav, show_figure, show_problems, step

st.set_page_config(page_title=_("Worked example · attnviz"), page_icon="🔎", layout="wide")
page_nav()

st.title(_("The worked example"))
st.markdown(
    _(
        "Three tokens, each a row of **X**, and three hand-set weight matrices, as in the tutorial this app grew "
        "from. Every number below is computed live from the tables: change a cell and every step follows."
    )
)
share.restore(worked.SHARE)
with st.sidebar:
    settings = worked.controls()


@st.fragment
def steps(s: worked.Settings, ws: list[np.ndarray] | None, w_problems: list[str], slots: worked.Slots) -> None:
    """The X table and every number below the tables. Editing X reruns only this, not the page around it."""
    if worked.clicked():  # a heatmap cell was clicked: the sidebar's followed query and key follow it
        st.rerun()
    x0 = worked.default_matrices(s)[0]
    x, problems = matrix_editor("worked_x", x0, name="X", row_labels=s.tokens, col_labels=s.dims_in)
    with slots.problems:
        show_problems(problems + w_problems)
    if ws is None:
        compute = lambda: worked.learned_view(x, s.seed, s.d_k, s.scaled, s.causal)  # noqa: E731
    else:
        compute = lambda: worked.handset_view(x, *ws, s.scaled, s.causal)  # noqa: E731
    view = last_good("worked_last_good", compute)
    if view is None:
        return
    bias = " + b" if view.learned else ""
    qkv = heatmap_grid(
        (view.query, view.key, view.value),
        view.tokens,
        view.dims_k,
        panel_titles=[f"Q = X·W_q{bias}", f"K = X·W_k{bias}", f"V = X·W_v{bias}"],
        title="Q, K, V",
        kind="signed",
        row_title=_("token"),
        col_title=_("dim"),
        max_cols=3,
        show_text=True,
    )
    with slots.qkv:
        show_figure(qkv, key="worked_fig_qkv")
    q = view.row(s.query)
    with slots.scores:
        fig = matrix_heatmap(view.scores, view.tokens, view.tokens, title=_("scores = Q·Kᵀ"))
        show_figure(fig, key="worked_fig_scores", on_select=True)
    with slots.scores_cell:
        worked.explain(view, "scores", s)
    with slots.dot_products:  # one formula, one line per key: one element to typeset on every edit, not T
        rows = [dot_product_latex(f"s_{{{q + 1}{j + 1}}}", view.query[q], k) for j, k in enumerate(view.key)]
        st.latex(aligned_latex(rows))
    if view.scaled_by_choice:
        with slots.scaled:
            step(
                3,
                _("Scaling"),
                _(
                    "The scores are multiplied by 1/√d_k = 1/√{d_k} = {scale:.4f}. Without it, large dot products "
                    "push softmax towards a one-hot choice whose gradients vanish; compare the weights with and "
                    "without."
                ).format(d_k=s.d_k, scale=view.scale),
            )
            title = _("scaled = scores × {scale:.4f}").format(scale=view.scale)
            show_figure(
                matrix_heatmap(view.scaled, view.tokens, view.tokens, title=title),
                key="worked_fig_scaled",
                on_select=True,
            )
            worked.explain(view, "scaled", s)
    if view.causal:
        with slots.masked:
            fig = matrix_heatmap(view.masked, view.tokens, view.tokens, title=_("masked scores"))
            show_figure(fig, key="worked_fig_masked", on_select=True)
    with slots.weights:
        fig = matrix_heatmap(view.weights, view.tokens, view.tokens, title=view.weights_title, kind="weights")
        show_figure(fig, key="worked_fig_weights", on_select=True)
        worked.explain(view, "weights", s)
    with slots.softmax:
        st.latex(softmax_latex(f"w_{{{q + 1}}}", view.masked[q]))
    with slots.output:
        fig = matrix_heatmap(
            view.output,
            view.tokens,
            view.dims_out,
            title=_("output = weights · V"),
            row_title=_("token"),
            col_title=_("dim"),
        )
        show_figure(fig, key="worked_fig_output", on_select=True)
        worked.explain(view, "output", s)
    with slots.weighted_sum:
        st.latex(weighted_sum_latex(f"h_{{{q + 1}}}", view.weights[q], view.value))
    with slots.share:
        share.panel(worked.SHARE, **worked.shared_state(s, x, view))


s = settings
step(0, _("Inputs"), _("Each row of **X** is one token's vector. **Q = X·W_q**, **K = X·W_k**, **V = X·W_v**."))
x_area = st.container()
ws: list[np.ndarray] | None = None
w_problems: list[str] = []
if s.learned:
    st.caption(
        _(
            "Learned variant: W_q, W_k, W_v and the biases b_q, b_k, b_v come from {code}, initialised like "
            "nn.Linear. Change the seed in the sidebar."
        ).format(code=f"`SelfAttention({s.d_in}, {s.d_k}, bias=True, seed={s.seed})`")
    )
    learned = worked.learned_weights(s.d_in, s.d_k, s.seed)
    for col, name in zip(st.columns(4), ("w_q", "w_k", "w_v", "biases"), strict=True):
        with col:
            rows, title = (("b_q", "b_k", "b_v"), _("biases")) if name == "biases" else (s.dims_in, f"W_{name[-1]}")
            fig = matrix_heatmap(learned[name], rows, s.dims_k, title=title, row_title=_("in"), col_title=_("out"))
            show_figure(fig, key=f"worked_fig_{name}")
else:
    _x0, *w_defaults = worked.default_matrices(s)
    ws = []
    row = st.container(horizontal=True, gap="large")  # side by side when they fit, else wrapped: never cut
    for key, name, w0 in zip(worked.MATRICES[1:], ("W_q", "W_k", "W_v"), w_defaults, strict=True):
        with row.container(width="content"):
            st.markdown(f"**{name}** ({s.d_in}×{s.d_k})")
            w, bad = matrix_editor(key, w0, name=name, row_labels=s.dims_in, col_labels=s.dims_k)
            ws.append(w)
            w_problems += bad
problems = st.container()

step(
    1,
    _("Queries, keys and values"),
    _(
        "Each token's row is projected three ways: what it looks for (**Q**), "
        "what it offers to be found by (**K**) and what it passes on when found (**V**)."
    ),
)
qkv = st.container()

q = s.query if 0 <= s.query < s.t else 0
name = s.tokens[q]
step(
    2,
    _("Scores Q·Kᵀ"),
    _(
        "Row *i*, column *j* is the dot product of token *i*'s query with token *j*'s key: "
        "how well *j* matches what *i* is looking for. Rows are queries, columns are keys."
    ),
)
scores = st.container()
st.caption(_(CLICK_HINT))
scores_cell = st.container()
st.markdown(_("Row **{token}**, key by key ({formula}):").format(token=name, formula=f"q{q + 1} · k*j*"))
dot_products = st.container()

if not s.scaled:  # scaled, its text says the factor: the fragment writes it, from the view, above its chart
    step(
        3,
        _("Scaling (none)"),
        _(
            "As in the tutorial, the scores are used unscaled. Choose 1/√d_k in the sidebar "
            "to see how scaling softens the weights below."
        ),
    )
scaled = st.container()
if s.causal:
    st.markdown(_("**Causal mask.** Grey cells are masked (−∞ before softmax): a token may not see later tokens."))
masked = st.container()

step(
    4,
    _("Softmax weights"),
    _(
        "Each row is turned into positive weights that sum to 1: {formula}. "
        "A large score gap becomes an almost one-hot row."
    ).format(formula=r"$w_{ij} = e^{s_{ij}} / \sum_k e^{s_{ik}}$"),
)
weights = st.container()
if s.scaled:
    st.markdown(_("Row **{token}** (scaled scores):").format(token=name))
else:
    st.markdown(_("Row **{token}**:").format(token=name))
softmax = st.container()

step(
    5,
    _("Outputs"),
    _("Each output row is the weighted sum of the value rows, using that query's weights."),
)
output = st.container()
st.markdown(_("Output **{output}** of token **{token}**:").format(output=f"h{q + 1}", token=name))
weighted_sum = st.container()
st.caption(_("The numbers in the formulas are rounded to 2 decimals; each result is computed from the exact values."))
slots = worked.Slots(
    problems, qkv, scores, scores_cell, dot_products, scaled, masked, weights, softmax, output, weighted_sum,
    st.container(),
)  # fmt: skip
with x_area:
    steps(s, ws, w_problems, slots)
