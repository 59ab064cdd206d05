"""The encoder: layers × heads (the model view), add & norm, the feed-forward network, checked against PyTorch."""

import streamlit as st

from attnviz.encoder_views import head_summary
from attnviz.ui import encoder as page
from attnviz.ui import share
from attnviz.ui.render import KEPT, last_good, page_nav, show_problems, step

st.set_page_config(page_title="Encoder · attnviz", page_icon="🔎", layout="wide")
page_nav()

st.title("The encoder: layers × heads")
st.markdown(
    "An **encoder layer** is multi-head self-attention, then *add & norm*, then a small feed-forward network "
    "applied to every token, then *add & norm* again. Stacking layers lets the tokens mix step by step. The **model "
    "view** shows every layer × head at once; below it, open one head, follow one layer step by step, or watch the "
    "token vectors grow alike through the stack. Every number is checked against PyTorch's `nn.TransformerEncoder` "
    "holding the same weights."
)
share.restore(page.SHARE)
with st.sidebar:
    settings = page.controls()
refused = show_problems(settings.problems, kept=KEPT)
kept = last_good("encoder_last_good", None if refused else lambda: page.run(settings))
if kept is None:
    st.stop()
source, dropped, view = kept
st.caption(source.note)
if dropped:
    st.info(dropped)

check = view.check
text = (
    f"outputs differ by at most {check.max_output_diff:.1e}, every layer's per-head weights by at most "
    f"{check.max_weight_diff:.1e} (tolerance {check.tolerance:g})"
)
if check.passed:
    st.success(
        f"Verified against PyTorch's nn.TransformerEncoder holding the same weights: {text}.",
        icon=":material/check_circle:",
    )
else:
    st.error(f"Differs from PyTorch's nn.TransformerEncoder holding the same weights: {text}.", icon=":material/error:")
st.caption("Per layer: " + ", ".join(f"layer {i} {d:.1e}" for i, d in enumerate(check.layer_weight_diffs)) + ".")

pooled = view.grid_block > 1
step(
    1,
    "Model view",
    f"{view.num_layers} layers (rows) × {view.num_heads} heads (columns); in each cell rows are queries and columns "
    "keys, as in every heatmap here. Click a cell to open that head below."
    + (
        f" With {view.t} tokens a cell covers {view.grid_block} × {view.grid_block} tokens: the share of attention "
        "those queries give those keys."
        if pooled
        else ""
    )
    + (
        f" Colours saturate at {view.grid_top:.3g} (the 99th percentile of the weights) so small weights stay visible."
        if view.grid_top < 1
        else ""
    ),
)
page.model_view(view)

step(
    2,
    "Which heads look far, which look at themselves",
    "Each head's **entropy** (bits, averaged over its rows: 0 = every query looks at one key, "
    f"log₂ T = {view.max_entropy:.2f} = spread evenly) and its **mean distance attended** (average |i − j| under "
    "its weights). " + head_summary(view),
)
page.head_tables(view)
page.opened_head(view, source)

step(
    3,
    "Inside the stack",
    f"{'Pre' if view.norm_first else 'Post'}-norm layers with {view.activation}, d_model = {view.d_model}, "
    f"d_ff = {view.d_ff}. Open a section: each is computed and drawn only while open.",
)
page.sections(view, settings)

share.panel(page.SHARE, **page.shared_state(source, view))
