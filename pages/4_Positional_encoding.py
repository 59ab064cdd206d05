"""The sinusoidal positional encoding: its waves, how positions relate, and why attention needs it."""

from functools import reduce

import streamlit as st

import attnviz.ui.warm  # noqa: F401  (before the app's other imports: plotly.js and torch start loading)
from attnviz.figures import line_chart
from attnviz.i18n import N_
from attnviz.i18n import gettext as _
from attnviz.ui import positional as page
from attnviz.ui import share
from attnviz.ui.cache import heatmap_figure
from attnviz.ui.cells import CLICK_HINT
from attnviz.ui.render import escape_markdown, last_good, page_nav, show_figure, show_problems, step
from attnviz.ui.tokens import tokenize_text

st.set_page_config(page_title=_("Positional encoding · attnviz"), page_icon="🔎", layout="wide")
page_nav()
PE_AXES = {"row_title": _("position"), "col_title": _("dimension"), "max_ticks": 32, "odd_ticks": True}  # sin/cos


def join(items: list[str], separator: str) -> str:
    """``items`` as one list in the current language (``separator``: a catalog message joining two parts)."""
    return reduce(lambda text, item: _(separator).format(items=text, item=item), items) if items else ""


st.title(_("Positional encoding"))
st.markdown(
    _(
        "Attention by itself ignores order: shuffle the tokens and every token gets the same weights, only "
        "shuffled. The Transformer therefore adds to each token's vector a pattern that depends only on its "
        "position: sines and cosines of many wavelengths."
    )
)
share.restore(page.SHARE, apply=page.apply_shared)
with st.sidebar:
    settings = page.controls()
refused = show_problems(settings.problems, kept=N_("the last valid encoding is shown"))
settings = last_good("pe_last_good", None if refused else lambda: settings)
if settings is None:
    st.stop()
n, d, functions, lam = settings.num_positions, settings.d_model, settings.functions, settings.wavelengths

view = page.encoding(settings)
position_labels, dim_labels = view.position_labels, view.dim_labels
step(
    1,
    _("The encoding: positions × dimensions"),
    _(
        "Row = position, column = dimension. Column 2i holds `sin(pos / base^(2i/d_model))` and column 2i+1 the "
        "`cos` of the same angle: the left columns change fast, the right ones slowly. {odd_note}"
    ).format(odd_note=settings.odd_note),
)
encoding_fig = heatmap_figure(
    view.pe,
    position_labels,
    dim_labels,
    title=f"PE ({n} × {d})",
    **PE_AXES,
)
encoding_point = show_figure(encoding_fig, key="pe_fig_encoding", on_select=True)
st.caption(_(CLICK_HINT))
page.explain_encoding(view, settings, encoding_point)
if len(view.positions) < n or len(view.dims) < d:
    st.caption(
        _(
            "To keep the browser fast this shows {shown_positions} of {n} positions (one in every {step}) and "
            "{shown_dims} of {d} dimensions (whole sin/cos pairs); hover shows each cell's true position and "
            "dimension. Skipping positions makes the fastest columns look irregular: lower the number of positions "
            "to see them as smooth waves."
        ).format(shown_positions=len(view.positions), n=n, step=view.position_step, shown_dims=len(view.dims), d=d)
    )

if st.session_state.get("pe_dims_for") != d:
    st.session_state.pe_dims = page.default_dims(n, d, settings.base)
    st.session_state.pe_dims_for = d
if d > 2:
    waves = _(
        "Dimension 2i and 2i+1 repeat every `2π·base^(2i/d_model)` positions: from {first:.1f} positions for "
        "dimension 0 to {last:,.0f} for dimension {last_dim}. Together they give every position its own pattern."
    ).format(first=lam[0], last=lam[-1], last_dim=d - 1)
else:
    waves = _(
        "Dimension 2i and 2i+1 repeat every `2π·base^(2i/d_model)` positions: with d_model = {d} there is only the "
        "fastest wave, {first:.1f} positions long, so positions one wavelength apart look almost alike."
    ).format(d=d, first=lam[0])
step(2, _("Each dimension is a wave"), waves)
dims = st.multiselect(
    _("Dimensions to plot"), range(d), format_func=lambda j: f"{j} ({functions[j]})", key="pe_dims", max_selections=8
)
if dims:
    curves = page.columns(settings, tuple(dims))
    series = {
        _("dim {dim} {function} (wavelength {wavelength:,.1f})").format(
            dim=j, function=functions[j], wavelength=lam[j]
        ): curves[:, k]
        for k, j in enumerate(dims)
    }
    chart = line_chart(
        list(range(n)), series, title=_("PE columns over positions"), x_title=_("position"), y_title=_("PE value")
    )
    show_figure(chart, key="pe_fig_curves")
else:
    st.info(_("Pick one or more dimensions above to draw them."))

ex = view.examples
similarity = ""
if ex:
    if d % 2:
        similarity = _(
            " PE[0]·PE[0] = {self:.2f}, PE[0]·PE[1] = {near:.2f} and PE[{far_pos}]·PE[{far_next}] = {far:.2f}: the "
            "same distance gives the same similarity wherever it is (nearly, for odd d_model: the unpaired sin "
            "column breaks the symmetry)."
        )
    else:
        similarity = _(
            " PE[0]·PE[0] = {self:.2f}, PE[0]·PE[1] = {near:.2f} and PE[{far_pos}]·PE[{far_next}] = {far:.2f}: the "
            "same distance gives the same similarity wherever it is."
        )
    similarity = similarity.format(
        self=ex["self"], near=ex["near"], far_pos=ex["far_pos"], far_next=ex["far_pos"] + 1, far=ex["far"]
    )
step(
    3,
    _("Similarity between positions PE·PEᵀ"),
    _(
        "Entry (p, q) is the dot product of the encodings of positions p and q: largest on the diagonal, smaller "
        "for positions far apart.{similarity}"
    ).format(similarity=similarity),
)
similarity_fig = heatmap_figure(
    view.similarity,
    position_labels,
    position_labels,
    title="PE·PEᵀ",
    kind=view.similarity_kind,
    row_title=_("position"),
    col_title=_("position"),
)
similarity_point = show_figure(similarity_fig, key="pe_fig_similarity", on_select=True)
st.caption(_(CLICK_HINT))
page.explain_similarity(view, settings, similarity_point)

step(
    4,
    _("Why attention needs it"),
    _(
        "The same sentence with random, seeded projections (d_model from the sidebar, d_k = 8), attention "
        "weights without and with the encoding added to the token vectors. Type a word twice."
    ),
)
st.text_input(_("Sentence with a repeated word"), key="pe_sentence")
tokens, cut = tokenize_text(st.session_state.pe_sentence, "words", page.SENTENCE_MAX_TOKENS)
if cut:
    st.warning(
        _("Only the first {max} tokens are used ({cut:,} cut).").format(max=page.SENTENCE_MAX_TOKENS, cut=cut),
        icon="✂️",
    )
cmp = None
if not tokens:
    st.error(_("The sentence is empty (or holds only spaces): type a few words, one of them twice."), icon="⚠️")
else:
    cmp = page.comparison(tokens, settings)
    if cmp.pair is None:
        st.info(_("No token appears twice: type a word twice to see the effect on its rows."))
    else:
        i, j = cmp.pair
        st.markdown(
            _(
                "“{token}” is at positions {i} and {j}. **Without** the encoding its two copies have the same "
                "vector, so their rows of weights are identical: max |row {i} − row {j}| = {gap_without:.3g}. "
                "**With** it, the rows differ by up to {gap_with:.3f}. The difference is small because these "
                "projections are random; a trained model learns projections that make use of position."
            ).format(token=escape_markdown(cmp.tokens[i]), i=i, j=j, gap_without=cmp.gap_without, gap_with=cmp.gap_with)
        )
    st.caption(_("Both heatmaps share one colour scale, from 0 to the largest weight ({top:.3f}).").format(top=cmp.top))
    titles = {"without": _("weights without PE"), "with": _("weights with PE")}
    for column, weights, name in zip(
        st.columns(2, gap="medium"), (cmp.without, cmp.with_pe), ("without", "with"), strict=True
    ):
        with column:
            fig = heatmap_figure(
                weights,
                cmp.labels,
                cmp.labels,
                title=titles[name],
                kind="weights",
                zmax=cmp.top,
                row_title=_("query"),
                col_title=_("key"),
            )
            show_figure(fig, key=f"pe_fig_{name}")

step(
    5,
    _("A variant you may meet"),
    _(
        "The tutorial this app follows gives each cos column its own exponent (2i+1)/d_model instead of sharing "
        "its sin partner's 2i/d_model. The sin columns are the same; the cos columns are not."
    ),
)
if st.toggle(_("Show the difference from the tutorial's variant"), key="pe_variant"):
    diff, biggest, (where_pos, where_dim) = page.difference(settings)
    if d == 1:
        st.markdown(_("With d_model = 1 there is no cos column, so both versions are the same."))
    else:
        st.markdown(
            _(
                "Largest difference: {biggest:.3f} at position {position}, dimension {dim}. With the shared "
                "exponent, moving by k positions rotates each sin/cos pair by a fixed angle; the variant loses that."
            ).format(biggest=biggest, position=where_pos, dim=where_dim)
        )
    variant_fig = heatmap_figure(
        diff,
        position_labels,
        dim_labels,
        title=_("variant − standard"),
        **PE_AXES,
    )
    show_figure(variant_fig, key="pe_fig_variant")

step(
    6,
    _("Shuffle the tokens"),
    _(
        "Without a positional encoding, self-attention is permutation-equivariant: shuffle the input tokens and the "
        "outputs are exactly the same rows, shuffled the same way. Nothing in the computation knows where a token "
        "is. With the encoding added (positions 0, 1, 2, … stay put while the words move) the outputs change."
    ),
)
st.number_input(_("Shuffle seed"), min_value=0, max_value=2**31 - 1, step=1, key="pe_shuffle_seed")
if tokens:
    sv = page.shuffle(tokens, settings, int(st.session_state.pe_shuffle_seed))
    st.markdown(
        _(
            "Shuffled: “{sentence}”. Without PE, max |output of the shuffled sentence − original outputs reordered| "
            "= **{without:.1e}** (rounding); with PE it is **{with_pe:.3f}**."
        ).format(
            sentence=escape_markdown(" ".join(t.split(" ", 1)[1] for t in sv.shuffled_labels)),
            without=sv.max_diff_without,
            with_pe=sv.max_diff_with,
        )
    )
    top = float(max(abs(sv.shuffled_output).max(), abs(sv.expected).max()))
    for column, matrix, key, name in zip(
        st.columns(2, gap="medium"),
        (sv.shuffled_output, sv.expected),
        ("outputs ", "original"),  # the figures' keys (kept from before the page was translated)
        (_("outputs of the shuffled sentence (no PE)"), _("original outputs, rows shuffled the same way")),
        strict=True,
    ):
        with column:
            fig = heatmap_figure(
                matrix,
                sv.shuffled_labels,
                [f"d{j}" for j in range(matrix.shape[1])],
                title=name,
                row_title=_("token"),
                col_title=_("output dimension"),
                zmax=top,
            )
            show_figure(fig, key=f"pe_fig_shuffle_{key}")

step(
    7,
    _("Dog bites man, man bites dog"),
    _(
        "The same words in another order. Without PE every word gets the same output vector in both sentences, "
        "so anything built on them cannot tell who bit whom."
    ),
)
left, right = st.columns(2)
with left:
    st.text_input(_("Sentence A"), key="pe_order_a")
with right:
    st.text_input(_("Sentence B (the same words, another order)"), key="pe_order_b")
order = last_good(
    "pe_order_last_good",
    lambda: page.word_order(st.session_state.pe_order_a, st.session_state.pe_order_b, settings),
)
if order is not None:
    rows = join(
        [
            f"“{escape_markdown(w.split(' ', 1)[1])}” {a:.1e} → {b:.3f}"
            for w, a, b in zip(order.words, order.diff_without, order.diff_with, strict=True)
        ],
        N_("{items}; {item}"),
    )
    st.markdown(
        _(
            "Largest difference of each word's output between the two sentences, without → with PE: {rows}. "
            "The mean over the sentence differs by {pooled_without:.1e} without PE and {pooled_with:.3f} with it."
        ).format(rows=rows, pooled_without=order.pooled_without, pooled_with=order.pooled_with)
    )

rv = page.rope(settings)
spreads = join(
    [_(page.SPREAD_TEXTS[name]).format(spread=spread) for name, spread in rv.spread.items()],
    N_("{items}, {item}"),
)
step(
    8,
    _("Rotary embeddings (RoPE) and a learned table"),
    _(
        "Two alternatives to adding sines. A **learned table** (BERT, GPT-2) adds a trained vector per position "
        "(here random: untrained) and has no row beyond its length. **RoPE** (`attnviz.rotary_embedding`) instead "
        "rotates each pair of a query's and a key's dimensions by position × θ_i, so q·k depends only on the "
        "distance m − n. Below: one fixed q (width {width}) at position m (row) against one fixed k at position "
        "n (column). Only RoPE is constant along every diagonal: {spreads}."
    ).format(width=rv.width, spreads=spreads),
)
for column, (name, grid) in zip(st.columns(3, gap="small"), rv.grids.items(), strict=True):
    with column:
        fig = heatmap_figure(
            grid,
            rv.positions,
            rv.positions,
            title=_("{scheme}: q at m · k at n").format(scheme=_(page.SCHEME_LABELS[name])),
            row_title=_("m (query position)"),
            col_title=_("n (key position)"),
            show_text=False,
            height=420,
        )
        show_figure(fig, key=f"pe_fig_rope_{name}")


share.panel(page.SHARE, **page.shared_state(settings, view, cmp))
