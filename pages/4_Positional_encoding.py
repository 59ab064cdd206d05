"""The sinusoidal positional encoding: its waves, how positions relate, and why attention needs it."""

import streamlit as st

from attnviz.figures import line_chart
from attnviz.ui import positional as page
from attnviz.ui.cache import heatmap_figure
from attnviz.ui.render import escape_markdown, last_good, page_nav, show_figure, show_problems, step
from attnviz.ui.tokens import tokenize_text

st.set_page_config(page_title="Positional encoding · attnviz", page_icon="🔎", layout="wide")
page_nav()
PE_AXES = {"row_title": "position", "col_title": "dimension", "max_ticks": 32, "odd_ticks": True}  # sin/cos labels

st.title("Positional encoding")
st.markdown(
    "Attention by itself ignores order: shuffle the tokens and every token gets the same weights, only "
    "shuffled. The Transformer therefore adds to each token's vector a pattern that depends only on its "
    "position: sines and cosines of many wavelengths."
)
with st.sidebar:
    settings = page.controls()
refused = show_problems(settings.problems, kept="the last valid encoding is shown")
settings = last_good("pe_last_good", None if refused else lambda: settings)
if settings is None:
    st.stop()
n, d, functions, lam = settings.num_positions, settings.d_model, settings.functions, settings.wavelengths

view = page.encoding(settings)
position_labels, dim_labels = view.position_labels, view.dim_labels
step(
    1,
    "The encoding: positions × dimensions",
    "Row = position, column = dimension. Column 2i holds sin(pos / base^(2i/d_model)) and column 2i+1 the cos "
    f"of the same angle: the left columns change fast, the right ones slowly. {settings.odd_note}",
)
encoding_fig = heatmap_figure(
    view.pe,
    position_labels,
    dim_labels,
    title=f"PE ({n} × {d})",
    **PE_AXES,
)
show_figure(encoding_fig, key="pe_fig_encoding")
if len(view.positions) < n or len(view.dims) < d:
    st.caption(
        f"To keep the browser fast this shows {len(view.positions)} of {n} positions (one in every "
        f"{view.position_step}) and {len(view.dims)} of {d} dimensions (whole sin/cos pairs); hover shows each "
        "cell's true position and dimension. Skipping positions makes the fastest columns look irregular: lower "
        "the number of positions to see them as smooth waves."
    )

if st.session_state.get("pe_dims_for") != d:
    st.session_state.pe_dims = page.default_dims(n, d, settings.base)
    st.session_state.pe_dims_for = d
step(
    2,
    "Each dimension is a wave",
    f"Dimension 2i and 2i+1 repeat every 2π·base^(2i/d_model) positions: from {lam[0]:.1f} positions for "
    f"dimension 0 to {lam[-1]:,.0f} for dimension {d - 1}. Together they give every position its own pattern.",
)
dims = st.multiselect(
    "Dimensions to plot", range(d), format_func=lambda j: f"{j} ({functions[j]})", key="pe_dims", max_selections=8
)
if dims:
    curves = page.columns(settings, tuple(dims))
    series = {f"dim {j} {functions[j]} (wavelength {lam[j]:,.1f})": curves[:, k] for k, j in enumerate(dims)}
    chart = line_chart(list(range(n)), series, title="PE columns over positions", y_title="PE value")
    show_figure(chart, key="pe_fig_curves")
else:
    st.info("Pick one or more dimensions above to draw them.")

ex = view.examples
similarity = (
    f" PE[0]·PE[0] = {ex['self']:.2f}, PE[0]·PE[1] = {ex['near']:.2f} and PE[{ex['far_pos']}]·"
    f"PE[{ex['far_pos'] + 1}] = {ex['far']:.2f}: the same distance gives the same similarity wherever it is"
    + (" (nearly, for odd d_model: the unpaired sin column breaks the symmetry)." if d % 2 else ".")
    if ex
    else ""
)
step(
    3,
    "Similarity between positions PE·PEᵀ",
    "Entry (p, q) is the dot product of the encodings of positions p and q: largest on the diagonal, smaller "
    f"for positions far apart.{similarity}",
)
similarity_fig = heatmap_figure(
    view.similarity,
    position_labels,
    position_labels,
    title="PE·PEᵀ",
    kind=view.similarity_kind,
    row_title="position",
    col_title="position",
)
show_figure(similarity_fig, key="pe_fig_similarity")

step(
    4,
    "Why attention needs it",
    "The same sentence with random, seeded projections (d_model from the sidebar, d_k = 8), attention "
    "weights without and with the encoding added to the token vectors. Type a word twice.",
)
st.text_input("Sentence with a repeated word", key="pe_sentence")
tokens, cut = tokenize_text(st.session_state.pe_sentence, "words", page.SENTENCE_MAX_TOKENS)
if cut:
    st.warning(f"Only the first {page.SENTENCE_MAX_TOKENS} tokens are used ({cut:,} cut).", icon="✂️")
if not tokens:
    st.error("The sentence is empty (or holds only spaces): type a few words, one of them twice.", icon="⚠️")
else:
    cmp = page.comparison(tokens, settings)
    if cmp.pair is None:
        st.info("No token appears twice: type a word twice to see the effect on its rows.")
    else:
        i, j = cmp.pair
        st.markdown(
            f"“{escape_markdown(cmp.tokens[i])}” is at positions {i} and {j}. **Without** the encoding its two copies "
            f"have the same vector, so their rows of weights are identical: max |row {i} − row {j}| = "
            f"{cmp.gap_without:.3g}. **With** it, the rows differ by up to {cmp.gap_with:.3f}. The difference is "
            "small because these projections are random; a trained model learns projections that make use of position."
        )
    st.caption(f"Both heatmaps share one colour scale, from 0 to the largest weight ({cmp.top:.3f}).")
    for column, weights, name in zip(
        st.columns(2, gap="medium"), (cmp.without, cmp.with_pe), ("without", "with"), strict=True
    ):
        with column:
            fig = heatmap_figure(
                weights, cmp.labels, cmp.labels, title=f"weights {name} PE", kind="weights", zmax=cmp.top
            )
            show_figure(fig, key=f"pe_fig_{name}")

step(
    5,
    "A variant you may meet",
    "The tutorial this app follows gives each cos column its own exponent (2i+1)/d_model instead of sharing "
    "its sin partner's 2i/d_model. The sin columns are the same; the cos columns are not.",
)
if st.toggle("Show the difference from the tutorial's variant", key="pe_variant"):
    diff, biggest, (where_pos, where_dim) = page.difference(settings)
    if d == 1:
        st.markdown("With d_model = 1 there is no cos column, so both versions are the same.")
    else:
        st.markdown(
            f"Largest difference: {biggest:.3f} at position {where_pos}, dimension {where_dim}. With the shared "
            "exponent, moving by k positions rotates each sin/cos pair by a fixed angle; the variant loses that."
        )
    variant_fig = heatmap_figure(
        diff,
        position_labels,
        dim_labels,
        title="variant − standard",
        **PE_AXES,
    )
    show_figure(variant_fig, key="pe_fig_variant")
