"""Benchmark floor for the cold start: a bare page that draws one plotly heatmap with Streamlit's own chart.

``streamlit run`` → this heatmap painted is whatever Streamlit, its frontend and plotly.js cost before any of the
app's own work; the app's cold start to its first heatmap is reported as a ratio to it.
"""

import plotly.graph_objects as go
import streamlit as st

figure = go.Figure(go.Heatmap(z=[[1.0, 0.0, 1.0], [0.0, 2.0, 0.0], [1.0, 1.0, 1.0]], colorscale="Blues"))
st.plotly_chart(figure, key="floor_heatmap", width="stretch", theme=None)
