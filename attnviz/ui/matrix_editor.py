"""An editable matrix: a ``st.data_editor`` over a base matrix that presets, resets and resizes replace."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import streamlit as st

from attnviz.examples import resize
from attnviz.validation import InputError, parse_matrix

__all__ = ["current_matrix", "matrix_editor", "resize_matrix", "set_matrix"]


def _base_key(key: str) -> str:
    return f"{key}__base"


def _good_key(key: str) -> str:
    return f"{key}__good"


def set_matrix(key: str, matrix: np.ndarray) -> None:
    """Replace the editor's matrix (a preset, a reset) and drop the edits made on top of the old one.

    Safe to call from a widget callback, before the editor is drawn.
    """
    st.session_state[_base_key(key)] = np.array(matrix, dtype=np.float64)
    st.session_state[_good_key(key)] = np.array(matrix, dtype=np.float64)
    st.session_state.pop(key, None)


def current_matrix(key: str) -> np.ndarray | None:
    """The last valid matrix the editor held (the edits included), or None before it was first drawn."""
    return st.session_state.get(_good_key(key))


def resize_matrix(key: str, shape: tuple[int, int]) -> None:
    """Crop or zero-pad the editor's current matrix to ``shape``, keeping the learner's values."""
    current = current_matrix(key)
    if current is not None and current.shape != shape:
        set_matrix(key, resize(current, shape))


def matrix_editor(
    key: str,
    default: np.ndarray,
    *,
    name: str,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    help: str | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Draw an editable matrix; return ``(matrix, problems)``.

    ``matrix`` is what the learner typed when every cell is a finite number; otherwise it is the last valid
    matrix and ``problems`` names each bad cell (the caller shows them). ``default`` is used on first draw.
    """
    if key not in st.session_state and _good_key(key) in st.session_state:
        # Streamlit dropped the editor's edits while another page was shown: start from what it last held.
        st.session_state[_base_key(key)] = st.session_state[_good_key(key)]
    base = st.session_state.setdefault(_base_key(key), np.array(default, dtype=np.float64))
    if base.shape != (len(row_labels), len(col_labels)):
        base = resize(base, (len(row_labels), len(col_labels)))
        set_matrix(key, base)
    columns = [str(j) for j in range(base.shape[1])]
    frame = pd.DataFrame(base, index=list(row_labels), columns=columns)
    config = {
        c: st.column_config.NumberColumn(label, format="%.4g", help=help)
        for c, label in zip(columns, col_labels, strict=True)
    }
    edited = st.data_editor(frame, key=key, num_rows="fixed", column_config=config, width="content")
    try:
        if edited.shape != base.shape:
            raise InputError(
                [
                    f"{name} changed shape from {base.shape[0]}×{base.shape[1]} to "
                    f"{edited.shape[0]}×{edited.shape[1]}: rows and columns are set by the size controls"
                ]
            )
        matrix = parse_matrix(
            name, edited.to_numpy(dtype=object).tolist(), list(edited.index), _header(edited, col_labels)
        )
    except InputError as err:
        good = st.session_state.setdefault(_good_key(key), base.copy())
        return good, err.problems
    st.session_state[_good_key(key)] = matrix
    return matrix, []


def _header(edited: pd.DataFrame, col_labels: Sequence[str]) -> list[str]:
    labels = dict(zip([str(j) for j in range(len(col_labels))], col_labels, strict=True))
    return [labels.get(str(c), str(c)) for c in edited.columns]
