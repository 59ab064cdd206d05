"""A page for the browser test of the in-place chart's click: one heatmap, the clicked cell written below it."""

import json

import streamlit as st

from attnviz.ui.chart import plotly_chart

figure = {
    "data": [{"type": "heatmap", "z": [[1.0, 2.0], [3.0, 4.0]], "x": ["k1", "k2"], "y": ["q1", "q2"]}],
    "layout": {"title": {"text": "click test"}, "height": 400},
}
selection = plotly_chart(figure, key="click_fig", on_select="rerun")
st.code(json.dumps(selection, sort_keys=True), language=None)
