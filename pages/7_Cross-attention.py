"""Cross-attention: queries from the target sentence, keys and values from the source, and a padded batch."""

import streamlit as st

import attnviz.ui.warm  # noqa: F401  (before the app's other imports: plotly.js and torch start loading)
from attnviz.figures import heatmap_grid
from attnviz.ui import cross as page
from attnviz.ui import share
from attnviz.ui.cache import figure, heatmap_figure
from attnviz.ui.cells import CLICK_HINT
from attnviz.ui.render import KEPT, last_good, page_nav, show_figure, show_problems, step

st.set_page_config(page_title="Cross-attention · attnviz", page_icon="🔎", layout="wide")
page_nav()

st.title("Cross-attention")
st.markdown(
    "In self-attention Q, K and V come from one sentence. Seed 003: “注意力机制的Q和K来自不同的来源” — in "
    "cross-attention they come from two. In a Chinese → English translator the decoder is writing English, so "
    "its **queries are the target (English) tokens** and the **keys and values are the source (Chinese) "
    "tokens**: each English word asks which Chinese characters to read. The embeddings and projections here are "
    "random, not trained: the page shows the mechanics, not a learned alignment."
)
share.restore(page.SHARE)
with st.sidebar:
    settings = page.controls()
with st.container(horizontal=True, vertical_alignment="center"):
    st.caption("Presets:", width="content")
    for i, name in enumerate(page.PRESETS):
        st.button(name, key=f"cross_preset_{i}", on_click=page.load_preset, args=(name,), type="tertiary")
st.text_input("Target sentence (queries, rows)", key="cross_target")
left, right = st.columns(2)
with left:
    st.text_input("Source sentence (keys and values, columns)", key="cross_source")
with right:
    st.text_input("A second source, batched with the first", key="cross_source2")

refused = show_problems(settings.problems, kept=KEPT)
view = last_good("cross_last_good", None if refused else lambda: page.view(settings))
if view is None:
    st.stop()
t_q, t_k = len(view.target_labels), view.valid_lens[0]

step(
    1,
    "Rows are the target, columns the source",
    f"MultiHeadAttention(query = target, key = value = source): {t_q} target tokens × {t_k} source tokens per "
    f"head, {view.num_heads} heads. T_q and T_k differ; each row sums to 1 over the source. The Annotated "
    "Transformer got these axes backwards in its own plots: its `viz_decoder_src` passes the source tokens as "
    "`row_tokens` and the target tokens as `col_tokens`, while the matrix it draws has one row per target "
    "token — its labels are swapped. Here rows are target tokens, everywhere.",
)
heads = figure(
    heatmap_grid,
    view.head_weights(0),
    view.target_labels,
    view.real_labels(0),
    title="weights per head: target (rows) × source (columns)",
    row_title="target (query)",
    col_title="source (key)",
    panel_titles=[f"head {h}" for h in range(view.num_heads)],
    zmax=view.top_weight,
    value_title=f"weight (0 … {view.top_weight:.2f})",
)
st.caption(CLICK_HINT)
page.explain(view, show_figure(heads, key="cross_fig_heads", on_select=True))

lens = ", ".join(str(n) for n in view.valid_lens)
step(
    2,
    "A padded batch",
    f"Both sources go through as one batch: the shorter is padded with zero vectors to {view.weights.shape[-1]} "
    f"positions, and `valid_lens` = ({lens}) masks the padding keys, so they get weight exactly "
    f"{view.padding_weight:g} in every head and every row (the `<pad>` columns below). Colours run from 0 to "
    f"the largest weight, {view.top_weight:.2f}, so flat random weights stay visible.",
)
check = view.check
if check.passed:
    st.badge(
        f"Matches torch.nn.MultiheadAttention with key_padding_mask: max |Δ weights| = {check.max_weight_diff:.1e}, "
        f"max |Δ output| = {check.max_output_diff:.1e}",
        icon=":material/check:",
        color="green",
    )
else:
    st.badge(f"Differs from torch.nn.MultiheadAttention by {check.max_weight_diff:.2e}", color="red")
for b, column in enumerate(st.columns(len(view.valid_lens))):
    with column:
        fig = heatmap_figure(
            view.mean_weights[b],
            view.target_labels,
            view.source_labels[b],
            title=f"batch row {b}: mean over heads ({view.valid_lens[b]} real keys)",
            kind="weights",
            row_title="target (query)",
            col_title="source (key)",
            zmax=view.top_weight,
            value_title=f"weight (0 … {view.top_weight:.2f})",
        )
        show_figure(fig, key=f"cross_fig_batch_{b}")

share.panel(page.SHARE, **page.shared_state(view))
