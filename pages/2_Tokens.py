"""Type your own sentence: its tokens, their vectors, and self-attention over them with random projections."""

import streamlit as st

import attnviz.ui.warm  # noqa: F401  (before the app's other imports: plotly.js and torch start loading)
from attnviz.explain import join_list, join_sentences, trained_contrast
from attnviz.figures import bar_chart
from attnviz.i18n import gettext as _
from attnviz.tokens import MAX_TOKENS, embedding_scale
from attnviz.ui import share
from attnviz.ui import tokens as page
from attnviz.ui.cache import heatmap_figure
from attnviz.ui.cells import CLICK_HINT
from attnviz.ui.it_model import it_model_panel
from attnviz.ui.render import KEPT, escape_markdown, isolated, last_good, page_nav, show_figure, show_problems, step
from attnviz.views import SentenceAttention, dim_labels, top_keys

st.set_page_config(page_title=_("Tokens · attnviz"), page_icon="🔎", layout="wide")
page_nav()
TICKS = 40  # at most this many labels per axis (hover names every cell)


def quoted(label: str) -> str:
    """A token label for markdown text: escaped, so the learner's text is shown exactly as typed."""
    return f"“{escape_markdown(label)}”"


st.title(_("Your own sentence"))
st.markdown(
    _(
        "Type any text: it is split into tokens, every token becomes a vector, and self-attention compares each "
        "token with every other. The projections W_q, W_k, W_v are **random, not trained**: the patterns show how "
        "attention computes, not what a trained model has learned."
    )
)
share.restore(page.SHARE, apply=page.apply_shared)
with st.sidebar:
    settings = page.controls()

st.text_area(_("Your text"), key="tokens_text", height=90, placeholder=_("Type a sentence, in any language."))
with st.container(horizontal=True, vertical_alignment="center"):
    st.caption(_("Examples:"), width="content")
    for i, name in enumerate(page.PRESETS):
        st.button(_(name), key=f"tokens_preset_{i}", on_click=page.load_preset, args=(name,), type="tertiary")

tokens, cut = page.tokenize_text(st.session_state.tokens_text, settings.mode)
problems = list(settings.problems)
if not tokens:
    problems.insert(0, _("The text box is empty (or holds only spaces): type a sentence to tokenize"))
if cut:
    st.warning(
        _(
            "The text has {total:,} tokens; only the first {kept:,} are used ({cut:,} cut). "
            "An attention matrix grows with the square of the length."
        ).format(total=len(tokens) + cut, kept=MAX_TOKENS, cut=cut),
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
    _("Tokens"),
    _(
        "{count} tokens ({mode}). Each label starts with the token's position, so a repeated token "
        "stays distinct on every axis below."
    ).format(count=t, mode=settings.mode_name),
)
st.code("   ".join(map(isolated, labels)), language=None, wrap_lines=True, height=200 if t > 60 else "content")

sentences = [
    _(
        "Each row is one token's vector of d_model = {d_model} numbers, drawn at random but seeded by "
        "the token's text: the same token always gets the same vector, in every run."
    ).format(d_model=settings.d_model)
]
if settings.scale_embed:
    sentences.append(
        _(
            "The vectors are multiplied by √d_model = {factor:.2f}, as in the Transformer paper, so the token's "
            "identity is not drowned out by the positional encoding (entries between −1 and 1)."
        ).format(factor=embedding_scale(settings.d_model))
    )
if settings.positional:
    sentences.append(_("The positional encoding of each position is added, so a repeated token differs by place."))
elif result.repeats:
    token, where = next(iter(result.repeats.items()))
    sentences.append(
        _(
            "No positional encoding: {token} at positions {first} and {second} gets identical rows, "
            "so attention cannot tell its copies apart."
        ).format(token=quoted(token), first=where[0], second=where[1])
    )
title = _("X = embedding{scale}{pe}").format(
    scale=" × √d_model" if settings.scale_embed else "", pe=" + PE" if settings.positional else ""
)
step(2, _("Token vectors"), join_sentences(sentences))
dims = dim_labels(settings.d_model, start=0, prefix="")
x_fig = heatmap_figure(
    result.x, labels, dims, title=title, row_title=_("token"), col_title=_("dimension"), max_ticks=TICKS
)
show_figure(x_fig, key="tokens_fig_x")

step(
    3,
    _("Scores Q·Kᵀ"),
    _(
        "Q = X·W_q and K = X·W_k, with random W of shape {shape}. Row *i*, column *j* "
        "is how well key *j* matches what query *i* looks for."
    ).format(shape=f"{settings.d_model}×{settings.d_k}"),
)
page.follow_click(result)
scores_fig = heatmap_figure(result.scores, labels, labels, title=_("scores = Q·Kᵀ"), max_ticks=TICKS)
page.explain(result, "scores", show_figure(scores_fig, key="tokens_fig_scores", on_select=True))
st.caption(_(CLICK_HINT))

top = result.top_weight
weights_text = [
    _(
        "Scores × scale = 1/(√d_k · temperature) = 1/(√{d_k} · {temperature:g}) = {scale:.4f}, then softmax: "
        "every row is positive and sums to 1. Colours run from 0 to this run's largest weight, {top:.3f} "
        "(not to 1), so flat weights stay visible."
    ).format(d_k=settings.d_k, temperature=settings.temperature, scale=result.scale, top=top)
]
if settings.causal:
    weights_text.append(_("The causal mask gives every later key weight 0 (upper triangle)."))
if top < 0.5:
    weights_text.append(_("Random projections give flat weights: a temperature below 1 sharpens them."))
step(4, _("Weights"), join_sentences(weights_text))
weights_fig = heatmap_figure(
    result.weights,
    labels,
    labels,
    title=_("weights = softmax(scale · scores, masked)") if settings.causal else _("weights = softmax(scale · scores)"),
    kind="weights",
    zmax=top,
    value_title=_("weight (0 … {top:.3f})").format(top=top),
    max_ticks=TICKS,
)
page.explain(result, "weights", show_figure(weights_fig, key="tokens_fig_weights", on_select=True))
if t * t > 400:
    st.caption(
        _("Large matrices have no numbers in the cells: hover for a value, drag a box to zoom, double-click to reset.")
    )
spread = page.readout(result)
st.markdown(
    _(
        "How spread out is each row? Its entropy H in bits, and 2^H, the effective number of keys it attends to "
        "(1 = one key, {t} = all equally): from {low:.2f} to {high:.2f}, {mean:.2f} on average at temperature "
        "{temperature:g}. Lower the temperature and it falls toward 1; raise it and it climbs toward the number of "
        "tokens."
    ).format(
        t=t,
        low=spread.effective_keys.min(),
        high=spread.effective_keys.max(),
        mean=spread.mean_effective_keys,
        temperature=settings.temperature,
    )
)
keys_fig = bar_chart(
    spread.effective_keys,
    labels,
    title=_("effective keys 2^H per query"),
    value_title=_("keys"),
    label_title=_("query"),
)
show_figure(keys_fig, key="tokens_fig_effective")


@st.fragment
def one_query(result: SentenceAttention, settings: page.Settings) -> None:
    """Only this part reruns when the learner picks another query: the heatmaps above are not redrawn."""
    page.query_row(result)
    note = trained_contrast(result.tokens, result.labels, result.weights)
    pick = _("Pick a token: its row of the weights, as bars over every key it attends to.")
    step(5, _("One query's attention"), join_sentences([pick, note]))
    q = st.selectbox(
        _("Query token"), range(len(result.labels)), format_func=lambda i: result.labels[i], key="tokens_query"
    )
    row = result.weights[q]
    best = join_list(
        _("{token} ({weight:.3f})").format(token=quoted(result.labels[j]), weight=row[j]) for j in top_keys(row)
    )
    st.markdown(
        _("Query {query} gives the most weight to {keys}; its weights sum to {total:.3f}.").format(
            query=quoted(result.labels[q]), keys=best, total=row.sum()
        )
    )
    bars = bar_chart(
        row, result.labels, title=_("weights of query {query}").format(query=result.labels[q]), highlight=q
    )
    show_figure(bars, key="tokens_fig_query")
    share.panel(page.SHARE, **page.shared_state(result, settings))


one_query(result, settings)

step(
    6,
    _("Trained weights"),
    _(
        "Everything above uses random projections. The same sentence through a small model "
        "trained on one question, what *it* refers to, shows what learning puts into attention."
    ),
)
it_model_panel(st.session_state.tokens_text, "tokens")
