"""attnviz home page: what attention is and where to start."""

import streamlit as st

from attnviz.ui.render import page_nav

st.set_page_config(page_title="attnviz", page_icon="🔎", layout="wide")
page_nav()

st.title("attnviz — attention, every step, on your own numbers")
st.markdown(
    "**Attention** lets every token look at every other token: it compares a *query* with all *keys*, "
    "turns the scores into weights with softmax, and returns the weighted sum of the *values*. "
    "Here you type the tokens or edit the matrices yourself and see each intermediate as a heatmap, "
    "computed live and checked against PyTorch's own kernels."
)

st.subheader("Pages")
st.page_link(
    "pages/1_Worked_example.py",
    label="**Worked example** — the tutorial's 3 tokens and hand-set "
    "W_q, W_k, W_v: Q, K, V, scores, scaling, softmax and each output as a weighted sum of values.",
    icon="1️⃣",
)
st.page_link(
    "pages/2_Tokens.py",
    label="**Tokens** — type your own sentence: self-attention over its tokens, "
    "one query's distribution, causal mask, temperature.",
    icon="2️⃣",
)
st.page_link(
    "pages/3_Multi-head.py",
    label="**Multi-head** — split into heads, per-head scores and weights, "
    "concatenation and W_O, verified against torch.nn.MultiheadAttention.",
    icon="3️⃣",
)
st.page_link(
    "pages/4_Positional_encoding.py",
    label="**Positional encoding** — the sinusoidal encoding, its frequencies, and why a repeated word needs it.",
    icon="4️⃣",
)

st.subheader("Where to start")
st.markdown(
    "New to attention? Open the **Worked example** and change one cell of **X**: every matrix below it "
    "follows. Rows are always queries and columns are always keys; hover over a cell for its exact value."
)
