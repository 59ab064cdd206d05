"""Cross-attention: queries from the target sentence, keys and values from the source, and a padded batch."""

import streamlit as st

import attnviz.ui.warm  # noqa: F401  (before the app's other imports: plotly.js and torch start loading)
from attnviz.figures import heatmap_grid
from attnviz.i18n import gettext as _
from attnviz.ui import cross as page
from attnviz.ui import share
from attnviz.ui.cache import figure, heatmap_figure
from attnviz.ui.cells import CLICK_HINT
from attnviz.ui.render import KEPT, last_good, page_nav, show_figure, show_problems, step

st.set_page_config(page_title=f"{_('Cross-attention')} · attnviz", page_icon="🔎", layout="wide")
page_nav()

st.title(_("Cross-attention"))
st.markdown(
    _(
        "In self-attention Q, K and V come from one sentence. Seed 003: “{quote}” — in cross-attention they come "
        "from two. In a Chinese → English translator the decoder is writing English, so its **queries are the "
        "target (English) tokens** and the **keys and values are the source (Chinese) tokens**: each English word "
        "asks which Chinese characters to read. The embeddings and projections here are random, not trained: the "
        "page shows the mechanics, not a learned alignment."
    ).format(quote="注意力机制的Q和K来自不同的来源")
)
share.restore(page.SHARE)
with st.sidebar:
    settings = page.controls()
with st.container(horizontal=True, vertical_alignment="center"):
    st.caption(_("Presets:"), width="content")
    for i, name in enumerate(page.PRESETS):
        st.button(_(name), key=f"cross_preset_{i}", on_click=page.load_preset, args=(name,), type="tertiary")
st.text_input(_("Target sentence (queries, rows)"), key="cross_target")
left, right = st.columns(2)
with left:
    st.text_input(_("Source sentence (keys and values, columns)"), key="cross_source")
with right:
    st.text_input(_("A second source, batched with the first"), key="cross_source2")

refused = show_problems(settings.problems, kept=KEPT)
view = last_good("cross_last_good", None if refused else lambda: page.view(settings))
if view is None:
    st.stop()
t_q, t_k = len(view.target_labels), view.valid_lens[0]

step(
    1,
    _("Rows are the target, columns the source"),
    _(
        "MultiHeadAttention(query = target, key = value = source): {t_q} target tokens × {t_k} source tokens per "
        "head, {heads} heads. T_q and T_k differ; each row sums to 1 over the source. The Annotated Transformer "
        "got these axes backwards in its own plots: its `viz_decoder_src` passes the source tokens as "
        "`row_tokens` and the target tokens as `col_tokens`, while the matrix it draws has one row per target "
        "token — its labels are swapped. Here rows are target tokens, everywhere."
    ).format(t_q=t_q, t_k=t_k, heads=view.num_heads),
)
target_title, source_title = _("target (query)"), _("source (key)")
value_title = _("weight (0 … {top:.2f})").format(top=view.top_weight)
heads = figure(
    heatmap_grid,
    view.head_weights(0),
    view.target_labels,
    view.real_labels(0),
    title=_("weights per head: target (rows) × source (columns)"),
    row_title=target_title,
    col_title=source_title,
    panel_titles=[_("head {number}").format(number=h) for h in range(view.num_heads)],
    zmax=view.top_weight,
    value_title=value_title,
)
st.caption(_(CLICK_HINT))
page.explain(view, show_figure(heads, key="cross_fig_heads", on_select=True))

lens = ", ".join(str(n) for n in view.valid_lens)
step(
    2,
    _("A padded batch"),
    _(
        "Both sources go through as one batch: the shorter is padded with zero vectors to {positions} positions, "
        "and `valid_lens` = ({lens}) masks the padding keys, so they get weight exactly {padding:g} in every head "
        "and every row (the `<pad>` columns below). Colours run from 0 to the largest weight, {top:.2f}, so flat "
        "random weights stay visible."
    ).format(positions=view.weights.shape[-1], lens=lens, padding=view.padding_weight, top=view.top_weight),
)
check = view.check
if check.passed:
    st.badge(
        _(
            "Matches torch.nn.MultiheadAttention with key_padding_mask: max |Δ weights| = {weights:.1e}, "
            "max |Δ output| = {output:.1e}"
        ).format(weights=check.max_weight_diff, output=check.max_output_diff),
        icon=":material/check:",
        color="green",
    )
else:
    st.badge(
        _("Differs from torch.nn.MultiheadAttention by {difference:.2e}").format(difference=check.max_weight_diff),
        color="red",
    )
for b, column in enumerate(st.columns(len(view.valid_lens))):
    with column:
        fig = heatmap_figure(
            view.mean_weights[b],
            view.target_labels,
            view.source_labels[b],
            title=_("batch row {row}: mean over heads ({real} real keys)").format(row=b, real=view.valid_lens[b]),
            kind="weights",
            row_title=target_title,
            col_title=source_title,
            zmax=view.top_weight,
            value_title=value_title,
        )
        show_figure(fig, key=f"cross_fig_batch_{b}")

share.panel(page.SHARE, **page.shared_state(view))
