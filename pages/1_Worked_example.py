"""The tutorial's worked example, live: edit X and the weights, watch every step of self-attention."""

import numpy as np
import streamlit as st

import attnviz.ui.warm  # noqa: F401  (before the app's other imports: plotly.js and torch start loading)
from attnviz.examples import PRESETS, WORKED_EXAMPLE, preset
from attnviz.explain import dot_product_latex, softmax_latex, weighted_sum_latex
from attnviz.figures import heatmap_grid, matrix_heatmap
from attnviz.ui.matrix_editor import matrix_editor, resize_matrix, set_matrix
from attnviz.ui.render import computed_or_last_good, page_nav, show_figure, show_problems, step

st.set_page_config(page_title="Worked example · attnviz", page_icon="🔎", layout="wide")
page_nav()

MATRICES = ("worked_x", "worked_wq", "worked_wk", "worked_wv")
# The scaling radio's labels → the ``scale`` argument of attend (1.0: unscaled, None: 1/√d_k).
SCALINGS = {"None (as in the tutorial)": 1.0, "1/√d_k (as in Transformers)": None}
T0, D_IN0, D_K0 = WORKED_EXAMPLE.shape
for key, value in (("worked_t", T0), ("worked_d_in", D_IN0), ("worked_d_k", D_K0), ("worked_seed", 0)):
    st.session_state.setdefault(key, value)


def load_preset() -> None:
    t, d_in, d_k = st.session_state.worked_t, st.session_state.worked_d_in, st.session_state.worked_d_k
    ex = preset(st.session_state.worked_preset, t, d_in, d_k, seed=st.session_state.worked_seed)
    for key, matrix in zip(MATRICES, (ex.x, ex.w_q, ex.w_k, ex.w_v), strict=True):
        set_matrix(key, matrix)


def reset() -> None:
    st.session_state.worked_t, st.session_state.worked_d_in, st.session_state.worked_d_k = T0, D_IN0, D_K0
    st.session_state.worked_preset = PRESETS[0]
    load_preset()


def resize_all() -> None:
    t, d_in, d_k = st.session_state.worked_t, st.session_state.worked_d_in, st.session_state.worked_d_k
    resize_matrix("worked_x", (t, d_in))
    for key in MATRICES[1:]:
        resize_matrix(key, (d_in, d_k))


st.title("The worked example")
st.markdown(
    "Three tokens, each a row of **X**, and three hand-set weight matrices, as in the tutorial this app grew "
    "from. Every number below is computed live from the tables: change a cell and every step follows."
)

with st.sidebar:
    st.header("Example")
    variant = st.radio(
        "Weights",
        ("Hand-set (edit the tables)", "Learned (random nn.Linear with bias)"),
        key="worked_variant",
        help="The tutorial's part 2 replaces the hand-set matrices by randomly initialised linear layers.",
    )
    scaling = st.radio("Scaling of the scores", tuple(SCALINGS), key="worked_scaling")
    causal = st.checkbox("Causal mask (a token sees only itself and earlier tokens)", key="worked_causal")
    st.divider()
    st.selectbox("Preset", PRESETS, key="worked_preset")
    st.number_input("Seed (random preset, learned weights)", 0, 2**31 - 1, step=1, key="worked_seed")
    left, right = st.columns(2)
    left.button("Load preset", on_click=load_preset, width="stretch")
    right.button("Reset", on_click=reset, width="stretch", help="Back to the tutorial's matrices and sizes.")
    st.divider()
    st.number_input("Tokens (rows of X)", 1, 12, step=1, key="worked_t", on_change=resize_all)
    st.number_input("d_in (columns of X)", 1, 8, step=1, key="worked_d_in", on_change=resize_all)
    st.number_input("d_k (columns of W)", 1, 8, step=1, key="worked_d_k", on_change=resize_all)

t, d_in, d_k = st.session_state.worked_t, st.session_state.worked_d_in, st.session_state.worked_d_k
if st.session_state.get("worked_query", 0) >= t:
    st.session_state.worked_query = 0
with st.sidebar:
    st.divider()
    st.selectbox(
        "Follow one query token",
        range(t),
        format_func=lambda i: f"x{i + 1}",
        key="worked_query",
        help="Its dot products, softmax and weighted sum are written out next to the heatmaps.",
    )
learned = variant.startswith("Learned")


@st.fragment
def steps(t: int, d_in: int, d_k: int, learned: bool, scaling: str, causal: bool) -> None:
    """The tables and every step below them. Editing a table reruns only this part, not the sidebar."""
    ex = preset(PRESETS[0], t, d_in, d_k)
    tokens = [f"x{i + 1}" for i in range(t)]
    dims_in = [f"d{j + 1}" for j in range(d_in)]
    dims_k = [f"d{j + 1}" for j in range(d_k)]

    step(0, "Inputs", "Each row of **X** is one token's vector. **Q = X·W_q**, **K = X·W_k**, **V = X·W_v**.")
    x, problems = matrix_editor("worked_x", ex.x, name="X", row_labels=tokens, col_labels=dims_in)
    # Imported here rather than at the top: on a first visit the table above reaches the browser while torch loads.
    from attnviz.ui.compute import compute_handset, compute_learned, learned_weights

    if learned:
        st.caption(
            f"Learned variant: W_q, W_k, W_v and the biases b_q, b_k, b_v come from `SelfAttention({d_in}, {d_k}, "
            f"bias=True, seed={st.session_state.worked_seed})`, initialised like nn.Linear. Change the seed in the "
            "sidebar to draw others."
        )
        weights = learned_weights(d_in, d_k, st.session_state.worked_seed)
        cols = st.columns(4)
        for col, name in zip(cols, ("w_q", "w_k", "w_v"), strict=False):
            with col:
                title = f"W_{name[-1]} (learned)"
                show_figure(
                    matrix_heatmap(weights[name], dims_in, dims_k, title=title, row_title="in", col_title="out"),
                    key=f"worked_fig_{name}",
                )
        with cols[3]:
            biases = np.stack([weights["b_q"], weights["b_k"], weights["b_v"]])
            show_figure(
                matrix_heatmap(biases, ["b_q", "b_k", "b_v"], dims_k, title="biases", row_title="", col_title="out"),
                key="worked_fig_biases",
            )
    else:
        cols = st.columns(3)
        ws = []
        for col, key, name, default in zip(
            cols, MATRICES[1:], ("W_q", "W_k", "W_v"), (ex.w_q, ex.w_k, ex.w_v), strict=True
        ):
            with col:
                st.markdown(f"**{name}** ({d_in}×{d_k})")
                w, bad = matrix_editor(key, default, name=name, row_labels=dims_in, col_labels=dims_k)
                ws.append(w)
                problems += bad
    show_problems(problems)

    trace = computed_or_last_good(
        "worked_last_good",
        (lambda: compute_learned(x, st.session_state.worked_seed, d_k, SCALINGS[scaling], causal))
        if learned
        else (lambda: compute_handset(x, *ws, SCALINGS[scaling], causal)),
    )
    if trace is None:
        return

    step(
        1,
        "Queries, keys and values",
        "Each token's row is projected three ways: what it looks for (**Q**), "
        "what it offers to be found by (**K**) and what it passes on when found (**V**).",
    )
    bias = " + b" if learned else ""
    show_figure(
        heatmap_grid(
            np.stack([trace.query.numpy(), trace.key.numpy(), trace.value.numpy()]),  # (3, T, d_k): one figure
            tokens,
            dims_k,
            panel_titles=[f"Q = X·W_q{bias}", f"K = X·W_k{bias}", f"V = X·W_v{bias}"],
            title="Q, K, V",
            kind="signed",
            row_title="token",
            col_title="dim",
            max_cols=3,
            show_text=True,
        ),
        key="worked_fig_qkv",
    )

    q = st.session_state.worked_query
    qn = q + 1
    step(
        2,
        "Scores Q·Kᵀ",
        "Row *i*, column *j* is the dot product of token *i*'s query with token *j*'s key: "
        "how well *j* matches what *i* is looking for. Rows are queries, columns are keys.",
    )
    left, right = st.columns([3, 2])
    with left:
        show_figure(matrix_heatmap(trace.scores, tokens, tokens, title="scores = Q·Kᵀ"), key="worked_fig_scores")
    with right:
        st.markdown(f"Row **{tokens[q]}**, key by key (q{qn} · k*j*):")
        for j in range(t):
            st.latex(dot_product_latex(f"s_{{{qn}{j + 1}}}", trace.query[q], trace.key[j]))

    if trace.scale != 1.0:
        step(
            3,
            "Scaling",
            f"The scores are multiplied by 1/√d_k = 1/√{d_k} = {trace.scale:.4f}. Without it, large dot products "
            "push softmax towards a one-hot choice whose gradients vanish; compare the weights with and without.",
        )
    else:
        step(
            3,
            "Scaling (none)",
            "As in the tutorial, the scores are used unscaled. Choose 1/√d_k in the sidebar "
            "to see how scaling softens the weights below.",
        )
    left, right = st.columns(2)
    if trace.scale != 1.0:
        with left:
            show_figure(
                matrix_heatmap(trace.scaled, tokens, tokens, title=f"scaled = scores × {trace.scale:.4f}"),
                key="worked_fig_scaled",
            )
    if causal:
        with right if trace.scale != 1.0 else left:
            st.markdown(
                "**Causal mask.** Blank cells are masked (−∞ before softmax): a token may not see later tokens."
            )
            show_figure(matrix_heatmap(trace.masked, tokens, tokens, title="masked scores"), key="worked_fig_masked")

    step(
        4,
        "Softmax weights",
        "Each row is turned into positive weights that sum to 1: "
        r"$w_{ij} = e^{s_{ij}} / \sum_k e^{s_{ik}}$. A large score gap becomes an almost one-hot row.",
    )
    left, right = st.columns([3, 2])
    with left:
        show_figure(
            matrix_heatmap(trace.weights, tokens, tokens, title="weights = softmax(scores)", kind="weights"),
            key="worked_fig_weights",
        )
    with right:
        st.markdown(f"Row **{tokens[q]}**" + (" (scaled scores)" if trace.scale != 1.0 else "") + ":")
        st.latex(softmax_latex(f"w_{{{qn}}}", trace.masked[q]))

    step(5, "Outputs", "Each output row is the weighted sum of the value rows, using that query's weights.")
    left, right = st.columns([3, 2])
    with left:
        show_figure(
            matrix_heatmap(
                trace.output,
                tokens,
                [f"d{j + 1}" for j in range(trace.output.shape[-1])],
                title="output = weights · V",
                row_title="token",
                col_title="dim",
            ),
            key="worked_fig_output",
        )
    with right:
        st.markdown(f"Output **h{qn}** of token **{tokens[q]}**:")
        value_names = [f"v_{{{j + 1}}}" for j in range(t)]
        st.latex(weighted_sum_latex(f"h_{{{qn}}}", trace.weights[q], trace.value, value_names=value_names))


steps(t, d_in, d_k, learned, scaling, causal)
