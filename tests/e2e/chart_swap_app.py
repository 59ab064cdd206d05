"""A page for the browser test of a chart whose subplots change and change back: one chart, three figures."""

import json

import streamlit as st

from attnviz.ui.chart import plotly_chart


def heatmap(z: list[list[float]], axes: str = "") -> dict:
    return {"type": "heatmap", "z": z, "x": ["k1", "k2"], "y": ["q1", "q2"], "xaxis": f"x{axes}", "yaxis": f"y{axes}"}


AXES = {"xaxis": {"type": "category"}, "yaxis": {"type": "category"}}  # named, as the app's figures name theirs
FIGURES = {
    # One panel, two panels (another set of subplots), and the first panel's axes with other values.
    "one": {"data": [heatmap([[1.0, 2.0], [3.0, 4.0]])], "layout": {"title": {"text": "one"}, "height": 400, **AXES}},
    "two": {
        "data": [heatmap([[5.0, 6.0], [7.0, 8.0]]), heatmap([[9.0, 10.0], [11.0, 12.0]], "2")],
        "layout": {
            "title": {"text": "two"},
            "height": 400,
            "xaxis": {"domain": [0, 0.45]},
            "yaxis": {"type": "category"},
            "xaxis2": {"domain": [0.55, 1], "anchor": "y2"},
            "yaxis2": {"anchor": "x2"},
        },
    },
    "other": {
        "data": [heatmap([[-1.0, -2.0], [-3.0, -4.0]])],
        "layout": {"title": {"text": "other"}, "height": 400, **AXES},
    },
}
name = st.radio("Figure", list(FIGURES), key="which", horizontal=True)
selection = plotly_chart(FIGURES[name], key="swap_fig", on_select="rerun")
st.code(json.dumps(selection, sort_keys=True), language=None)
