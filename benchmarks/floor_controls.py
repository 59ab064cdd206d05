"""Benchmark floor: a lone slider and a lone selectbox whose change reruns a write of their values.

The multi-head page's control-change time is compared with this page's: whatever Streamlit itself costs.
"""

import streamlit as st

count = st.slider("Count", min_value=1, max_value=1024, value=512, key="floor_slider")
heads = st.selectbox("Heads", [1, 2, 4, 8], index=3, key="floor_select")
st.write({"count": count, "heads": heads})
