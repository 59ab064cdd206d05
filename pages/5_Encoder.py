"""The encoder: layers × heads (the model view), add & norm, the feed-forward network, checked against PyTorch."""

import streamlit as st

from attnviz.ui.encoder import render
from attnviz.ui.render import page_nav

st.set_page_config(page_title="Encoder · attnviz", page_icon="🔎", layout="wide")
page_nav()
render()
