"""Benchmark floor: a lone data editor of a 3×4 float frame whose edit reruns a write of the frame.

The worked example's cell-edit time is compared with this page's: whatever Streamlit itself costs for one edit.
"""

import pandas as pd
import streamlit as st

FRAME = pd.DataFrame(
    [[1.0, 0.0, 1.0, 0.0], [0.0, 2.0, 0.0, 2.0], [1.0, 1.0, 1.0, 1.0]],
    columns=["0", "1", "2", "3"],
)

edited = st.data_editor(FRAME, key="floor_x")
st.write(edited)
