"""The tutorial's worked example, live: edit X and the weights, watch every step of self-attention."""

import streamlit as st

from attnviz.explain import dot_product_latex, softmax_latex, weighted_sum_latex
from attnviz.figures import heatmap_grid, matrix_heatmap
from attnviz.ui import worked
from attnviz.ui.matrix_editor import matrix_editor
from attnviz.ui.render import last_good, page_nav, show_figure, show_problems, step

st.set_page_config(page_title="Worked example · attnviz", page_icon="🔎", layout="wide")
page_nav()

st.title("The worked example")
st.markdown(
    "Three tokens, each a row of **X**, and three hand-set weight matrices, as in the tutorial this app grew "
    "from. Every number below is computed live from the tables: change a cell and every step follows."
)
with st.sidebar:
    settings = worked.controls()


@st.fragment
def steps(s: worked.Settings) -> None:
    """The tables and every step below them. Editing a table reruns only this part, not the sidebar."""
    x0, wq0, wk0, wv0 = worked.default_matrices(s)
    dims_in, dims_k = s.dims_in, s.dims_k
    step(0, "Inputs", "Each row of **X** is one token's vector. **Q = X·W_q**, **K = X·W_k**, **V = X·W_v**.")
    x, problems = matrix_editor("worked_x", x0, name="X", row_labels=s.tokens, col_labels=dims_in)
    if s.learned:
        st.caption(
            f"Learned variant: W_q, W_k, W_v and the biases b_q, b_k, b_v come from `SelfAttention({s.d_in}, "
            f"{s.d_k}, bias=True, seed={s.seed})`, initialised like nn.Linear. Change the seed in the sidebar."
        )
        learned = worked.learned_weights(s.d_in, s.d_k, s.seed)
        for col, name in zip(st.columns(4), ("w_q", "w_k", "w_v", "biases"), strict=True):
            with col:
                rows, title = (("b_q", "b_k", "b_v"), "biases") if name == "biases" else (dims_in, f"W_{name[-1]}")
                fig = matrix_heatmap(learned[name], rows, dims_k, title=title, row_title="in", col_title="out")
                show_figure(fig, key=f"worked_fig_{name}")
        compute = lambda: worked.learned_view(x, s.seed, s.d_k, s.scaled, s.causal)  # noqa: E731
    else:
        ws = []
        row = st.container(horizontal=True, gap="large")  # side by side when they fit, else wrapped: never cut
        for key, name, w0 in zip(worked.MATRICES[1:], ("W_q", "W_k", "W_v"), (wq0, wk0, wv0), strict=True):
            with row.container(width="content"):
                st.markdown(f"**{name}** ({s.d_in}×{s.d_k})")
                w, bad = matrix_editor(key, w0, name=name, row_labels=dims_in, col_labels=dims_k)
                ws.append(w)
                problems += bad
        compute = lambda: worked.handset_view(x, *ws, s.scaled, s.causal)  # noqa: E731
    show_problems(problems)
    view = last_good("worked_last_good", compute)
    if view is None:
        return

    step(
        1,
        "Queries, keys and values",
        "Each token's row is projected three ways: what it looks for (**Q**), "
        "what it offers to be found by (**K**) and what it passes on when found (**V**).",
    )
    bias = " + b" if view.learned else ""
    qkv = heatmap_grid(
        (view.query, view.key, view.value),
        view.tokens,
        view.dims_k,
        panel_titles=[f"Q = X·W_q{bias}", f"K = X·W_k{bias}", f"V = X·W_v{bias}"],
        title="Q, K, V",
        kind="signed",
        row_title="token",
        col_title="dim",
        max_cols=3,
        show_text=True,
    )
    show_figure(qkv, key="worked_fig_qkv")

    q = view.row(s.query)
    name = view.tokens[q]
    step(
        2,
        "Scores Q·Kᵀ",
        "Row *i*, column *j* is the dot product of token *i*'s query with token *j*'s key: "
        "how well *j* matches what *i* is looking for. Rows are queries, columns are keys.",
    )
    show_figure(matrix_heatmap(view.scores, view.tokens, view.tokens, title="scores = Q·Kᵀ"), key="worked_fig_scores")
    st.markdown(f"Row **{name}**, key by key (q{q + 1} · k*j*):")
    for j, key_row in enumerate(view.key):
        st.latex(dot_product_latex(f"s_{{{q + 1}{j + 1}}}", view.query[q], key_row))

    if view.scaled_by_choice:
        step(
            3,
            "Scaling",
            f"The scores are multiplied by 1/√d_k = 1/√{s.d_k} = {view.scale:.4f}. Without it, large dot products "
            "push softmax towards a one-hot choice whose gradients vanish; compare the weights with and without.",
        )
        fig = matrix_heatmap(view.scaled, view.tokens, view.tokens, title=f"scaled = scores × {view.scale:.4f}")
        show_figure(fig, key="worked_fig_scaled")
    else:
        step(
            3,
            "Scaling (none)",
            "As in the tutorial, the scores are used unscaled. Choose 1/√d_k in the sidebar "
            "to see how scaling softens the weights below.",
        )
    if view.causal:
        st.markdown("**Causal mask.** Grey cells are masked (−∞ before softmax): a token may not see later tokens.")
        fig = matrix_heatmap(view.masked, view.tokens, view.tokens, title="masked scores")
        show_figure(fig, key="worked_fig_masked")

    step(
        4,
        "Softmax weights",
        "Each row is turned into positive weights that sum to 1: "
        r"$w_{ij} = e^{s_{ij}} / \sum_k e^{s_{ik}}$. A large score gap becomes an almost one-hot row.",
    )
    fig = matrix_heatmap(view.weights, view.tokens, view.tokens, title=view.weights_title, kind="weights")
    show_figure(fig, key="worked_fig_weights")
    st.markdown(f"Row **{name}**" + (" (scaled scores)" if view.scaled_by_choice else "") + ":")
    st.latex(softmax_latex(f"w_{{{q + 1}}}", view.masked[q]))

    step(5, "Outputs", "Each output row is the weighted sum of the value rows, using that query's weights.")
    fig = matrix_heatmap(
        view.output, view.tokens, view.dims_out, title="output = weights · V", row_title="token", col_title="dim"
    )
    show_figure(fig, key="worked_fig_output")
    st.markdown(f"Output **h{q + 1}** of token **{name}**:")
    st.latex(weighted_sum_latex(f"h_{{{q + 1}}}", view.weights[q], view.value))
    st.caption("The numbers in the formulas are rounded to 2 decimals; each result is computed from the exact values.")


steps(settings)
