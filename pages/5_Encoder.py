"""The encoder: layers × heads (the model view), add & norm, the feed-forward network, checked against PyTorch."""

import streamlit as st

import attnviz.ui.warm  # noqa: F401  (before the app's other imports: plotly.js and torch start loading)
from attnviz.encoder_views import head_summary
from attnviz.i18n import gettext as _
from attnviz.i18n import ngettext
from attnviz.ui import encoder as page
from attnviz.ui import share
from attnviz.ui.render import KEPT, last_good, page_nav, show_problems, step

st.set_page_config(page_title=_("Encoder · attnviz"), page_icon="🔎", layout="wide")
page_nav()

st.title(_("The encoder: layers × heads"))
st.markdown(
    _(
        "An **encoder layer** is multi-head self-attention, then *add & norm*, then a small feed-forward network "
        "applied to every token, then *add & norm* again. Stacking layers lets the tokens mix step by step. The "
        "**model view** shows every layer × head at once; below it, open one head, follow one layer step by step, or "
        "watch the token vectors grow alike through the stack. Every number is checked against PyTorch's "
        "`nn.TransformerEncoder` holding the same weights."
    )
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
text = _(
    "outputs differ by at most {output:.1e}, every layer's per-head weights by at most {weights:.1e} "
    "(tolerance {tolerance:g})"
).format(output=check.max_output_diff, weights=check.max_weight_diff, tolerance=check.tolerance)
if check.passed:
    st.success(
        _("Verified against PyTorch's `nn.TransformerEncoder` holding the same weights: {text}.").format(text=text),
        icon=":material/check_circle:",
    )
else:
    st.error(
        _("Differs from PyTorch's `nn.TransformerEncoder` holding the same weights: {text}.").format(text=text),
        icon=":material/error:",
    )
st.caption(
    _("Per layer: {diffs}.").format(
        diffs=" · ".join(
            _("layer {layer} {diff:.1e}").format(layer=i, diff=d) for i, d in enumerate(check.layer_weight_diffs)
        )
    )
)

pooled = view.grid_block > 1
step(
    1,
    _("Model view"),
    ngettext(
        "{layers} layer (rows) × {heads} heads (columns); in each cell rows are queries and columns keys, as in every "
        "heatmap here. Click a cell to open that head below.",
        "{layers} layers (rows) × {heads} heads (columns); in each cell rows are queries and columns keys, as in "
        "every heatmap here. Click a cell to open that head below.",
        view.num_layers,
    ).format(layers=view.num_layers, heads=view.num_heads)
    + (
        _(
            " With {tokens} tokens a cell covers {block} × {block} tokens: the share of attention those queries give "
            "those keys."
        ).format(tokens=view.t, block=view.grid_block)
        if pooled
        else ""
    )
    + (
        _(" Colours saturate at {top:.3g} (the 99th percentile of the weights) so small weights stay visible.").format(
            top=view.grid_top
        )
        if view.grid_top < 1
        else ""
    ),
)
page.model_view(view)

step(
    2,
    _("Which heads look far, which look at themselves"),
    _(
        "Each head's **entropy** (bits, averaged over its rows: 0 = every query looks at one key, "
        "log₂ T = {max_entropy:.2f} = spread evenly) and its **mean distance attended** (average |i − j| under its "
        "weights). "
    ).format(max_entropy=view.max_entropy)
    + head_summary(view),
)
page.head_tables(view)
page.opened_head(view, source)

step(
    3,
    _("Inside the stack"),
    (
        _("Pre-norm layers with {activation}, d_model = {d_model}, d_ff = {d_ff}.")
        if view.norm_first
        else _("Post-norm layers with {activation}, d_model = {d_model}, d_ff = {d_ff}.")
    ).format(activation=view.activation, d_model=view.d_model, d_ff=view.d_ff)
    + _(" Open a section: each is computed and drawn only while open."),
)
page.sections(view, settings)

share.panel(page.SHARE, **page.shared_state(source, view))
