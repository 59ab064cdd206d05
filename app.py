"""attnviz home page: what attention is and where to start."""

import streamlit as st

import attnviz.ui.warm  # noqa: F401  (before the app's other imports: plotly.js and torch start loading)
from attnviz.i18n import gettext as _
from attnviz.ui.render import PAGES, page_nav

st.set_page_config(page_title="attnviz", page_icon="🔎", layout="wide")
page_nav()

st.title(_("attnviz — attention, every step, on your own numbers"))
st.markdown(
    _(
        "**Attention** lets every token look at every other token: it compares a *query* with all *keys*, "
        "turns the scores into weights with softmax, and returns the weighted sum of the *values*. "
        "Here you type the tokens or edit the matrices yourself and see each intermediate as a heatmap, "
        "computed live and checked against PyTorch's own kernels."
    )
)
st.latex(r"\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{Q K^\top}{\sqrt{d_k}}\right) V")

st.subheader(_("Pages"))
for number, (path, label, teaches) in enumerate(PAGES[1:], start=1):
    # A page link's label does not wrap (at 1024 px the descriptions were cut off): the link, then its line.
    st.page_link(path, label=f"**{number}. {_(label)}**")
    st.caption(_(teaches))

st.subheader(_("Where to start"))
st.markdown(
    _(
        "New to attention? Open the **Worked example** and change one cell of **X**: every matrix below it "
        "follows. Rows are always queries and columns are always keys; hover over a cell for its exact value."
    )
)
