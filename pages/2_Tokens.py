"""Type your own sentence: its tokens, their vectors, and self-attention over them with random projections."""

import streamlit as st

from attnviz.explain import trained_contrast
from attnviz.figures import bar_chart
from attnviz.tokens import MAX_TOKENS, embedding_scale
from attnviz.ui import tokens as page
from attnviz.ui.cache import heatmap_figure
from attnviz.ui.render import KEPT, escape_markdown, isolated, last_good, page_nav, show_figure, show_problems, step
from attnviz.views import SentenceAttention, default_query, dim_labels, top_keys

st.set_page_config(page_title="Tokens · attnviz", page_icon="🔎", layout="wide")
page_nav()
TICKS = 40  # at most this many labels per axis (hover names every cell)


def quoted(label: str) -> str:
    """A token label for markdown text: escaped, so the learner's text is shown exactly as typed."""
    return f"“{escape_markdown(label)}”"


st.title("Your own sentence")
st.markdown(
    "Type any text: it is split into tokens, every token becomes a vector, and self-attention compares each "
    "token with every other. The projections W_q, W_k, W_v are **random, not trained**: the patterns show how "
    "attention computes, not what a trained model has learned."
)
with st.sidebar:
    settings = page.controls()

st.text_area("Your text", key="tokens_text", height=90, placeholder="Type a sentence, in any language.")
with st.container(horizontal=True, vertical_alignment="center"):
    st.caption("Examples:", width="content")
    for i, name in enumerate(page.PRESETS):
        st.button(name, key=f"tokens_preset_{i}", on_click=page.load_preset, args=(name,), type="tertiary")

tokens, cut = page.tokenize_text(st.session_state.tokens_text, settings.mode)
problems = list(settings.problems)
if not tokens:
    problems.insert(0, "The text box is empty (or holds only spaces): type a sentence to tokenize")
if cut:
    st.warning(
        f"The text has {len(tokens) + cut:,} tokens; only the first {MAX_TOKENS:,} are used ({cut:,} cut). "
        "An attention matrix grows with the square of the length.",
        icon="✂️",
    )
refused = show_problems(problems, kept=KEPT)
kept = last_good("tokens_last_good", None if refused else lambda: (page.attention(tokens, settings), settings))
if kept is None:
    st.stop()
result, settings = kept
labels, t = result.labels, len(result.labels)

step(
    1,
    "Tokens",
    f"{t} tokens ({settings.mode_name}). Each label starts with the token's position, so a repeated token "
    "stays distinct on every axis below.",
)
st.code("   ".join(map(isolated, labels)), language=None, wrap_lines=True, height=200 if t > 60 else "content")

sentences = [
    f"Each row is one token's vector of d_model = {settings.d_model} numbers, drawn at random but seeded by "
    "the token's text: the same token always gets the same vector, in every run."
]
if settings.scale_embed:
    sentences.append(
        f"The vectors are multiplied by √d_model = {embedding_scale(settings.d_model):.2f}, as in the Transformer "
        "paper, so the token's identity is not drowned out by the positional encoding (entries between −1 and 1)."
    )
if settings.positional:
    sentences.append("The positional encoding of each position is added, so a repeated token differs by place.")
elif result.repeats:
    token, where = next(iter(result.repeats.items()))
    sentences.append(
        f"No positional encoding: {quoted(token)} at positions {where[0]} and {where[1]} gets identical rows, "
        "so attention cannot tell its copies apart."
    )
title = "X = embedding" + (" × √d_model" if settings.scale_embed else "") + (" + PE" if settings.positional else "")
step(2, "Token vectors", " ".join(sentences))
dims = dim_labels(settings.d_model, start=0, prefix="")
x_fig = heatmap_figure(result.x, labels, dims, title=title, row_title="token", col_title="dimension", max_ticks=TICKS)
show_figure(x_fig, key="tokens_fig_x")

step(
    3,
    "Scores Q·Kᵀ",
    f"Q = X·W_q and K = X·W_k, with random W of shape {settings.d_model}×{settings.d_k}. Row *i*, column *j* "
    "is how well key *j* matches what query *i* looks for.",
)
show_figure(
    heatmap_figure(result.scores, labels, labels, title="scores = Q·Kᵀ", max_ticks=TICKS), key="tokens_fig_scores"
)

top = result.top_weight
notes = " The causal mask gives every later key weight 0 (upper triangle)." if settings.causal else ""
if top < 0.5:
    notes += " Random projections give flat weights: a temperature below 1 sharpens them."
step(
    4,
    "Weights",
    f"Scores × scale = 1/(√d_k · temperature) = 1/(√{settings.d_k} · {settings.temperature:g}) = "
    f"{result.scale:.4f}, then softmax: every row is positive and sums to 1. Colours run from 0 to this run's "
    f"largest weight, {top:.3f} (not to 1), so flat weights stay visible.{notes}",
)
weights_fig = heatmap_figure(
    result.weights,
    labels,
    labels,
    title="weights = softmax(scale · scores" + (", masked)" if settings.causal else ")"),
    kind="weights",
    zmax=top,
    value_title=f"weight (0 … {top:.3f})",
    max_ticks=TICKS,
)
show_figure(weights_fig, key="tokens_fig_weights")
if t * t > 400:
    st.caption(
        "Large matrices have no numbers in the cells: hover for a value, drag a box to zoom, double-click to reset."
    )


@st.fragment
def one_query(result: SentenceAttention) -> None:
    """Only this part reruns when the learner picks another query: the heatmaps above are not redrawn."""
    if st.session_state.get("tokens_query_for") != result.tokens:
        st.session_state.tokens_query = default_query(result.tokens)
        st.session_state.tokens_query_for = result.tokens
    note = trained_contrast(result.tokens, result.labels, result.weights)
    step(
        5, "One query's attention", f"Pick a token: its row of the weights, as bars over every key it attends to.{note}"
    )
    q = st.selectbox(
        "Query token", range(len(result.labels)), format_func=lambda i: result.labels[i], key="tokens_query"
    )
    row = result.weights[q]
    best = ", ".join(f"{quoted(result.labels[j])} ({row[j]:.3f})" for j in top_keys(row))
    st.markdown(
        f"Query {quoted(result.labels[q])} gives the most weight to {best}; its weights sum to {row.sum():.3f}."
    )
    bars = bar_chart(row, result.labels, title=f"weights of query {result.labels[q]}", highlight=q)
    show_figure(bars, key="tokens_fig_query")


one_query(result)
