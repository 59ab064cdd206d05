"""An editable matrix: a ``st.data_editor`` over a base matrix that presets, resets and resizes replace.

Cells are text, read by :func:`attnviz.validation.parse_matrix`: a number is taken exactly as typed (``1e308``,
``-2.5e-3``, twenty digits) and anything else (``abc``, ``NaN``, ``inf``, an empty cell) is named in an error.
A base matrix is shown with the shortest text that reads back to the same float, so an untouched cell keeps its
exact value. Replacing the base (:func:`set_matrix`) of an edited table gives it a new widget key: the browser's
grid forgets the old edits instead of sending them back with the next one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import streamlit as st

from attnviz.arrays import resize
from attnviz.i18n import gettext as _
from attnviz.validation import InputError, parse_matrix

__all__ = ["cell_text", "clear_matrix", "current_matrix", "editor_key", "matrix_editor", "resize_matrix", "set_matrix"]


def _base_key(key: str) -> str:
    return f"{key}__base"


def _good_key(key: str) -> str:
    return f"{key}__good"


def _version_key(key: str) -> str:
    return f"{key}__version"


def editor_key(key: str) -> str:
    """The widget key the table ``key`` is drawn under now (``key`` itself until its base is first replaced)."""
    version = st.session_state.get(_version_key(key), 0)
    return key if version == 0 else f"{key}__v{version}"


def cell_text(value: float) -> str:
    """The shortest text that reads back as exactly ``value`` (``"2"``, ``"0.1"``, ``"1e+308"``)."""
    value = float(value)
    if value == int(value) and abs(value) < 1e16:
        return str(int(value)) if value or not np.signbit(value) else "-0"
    return repr(value)


def set_matrix(key: str, matrix: np.ndarray) -> None:
    """Replace the editor's matrix (a preset, a reset) and drop the edits made on top of the old one.

    Safe to call from a widget callback, before the editor is drawn.
    """
    edits = st.session_state.pop(editor_key(key), None)
    if isinstance(edits, dict) and any(edits.get(part) for part in ("edited_rows", "added_rows", "deleted_rows")):
        # The browser's grid holds these edits and would send them again: draw a new table. Without edits the key
        # stays, and the browser updates the table it has (a new table costs a remount, ~30 of them on a seed change).
        st.session_state[_version_key(key)] = st.session_state.get(_version_key(key), 0) + 1
    st.session_state[_base_key(key)] = np.array(matrix, dtype=np.float64)
    st.session_state[_good_key(key)] = np.array(matrix, dtype=np.float64)


def clear_matrix(key: str) -> None:
    """Forget the editor's matrix and edits: its next draw starts from the default it is given."""
    set_matrix(key, np.zeros((0, 0)))  # drops the edits (a new widget key when there were any)
    st.session_state.pop(_base_key(key), None)
    st.session_state.pop(_good_key(key), None)


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
    blanks: bool = False,
) -> tuple[np.ndarray, list[str]]:
    """Draw an editable matrix; return ``(matrix, problems)``.

    ``matrix`` is what the learner typed when every cell is a finite number; otherwise it is the last valid
    matrix and ``problems`` names each bad cell (the caller shows them). ``default`` is used on first draw.
    The table's columns are named by ``col_labels`` (its CSV download has them as its header).
    ``blanks=True`` (an answer grid): NaN in ``default`` is drawn as an empty cell, and an empty cell comes back
    as NaN instead of a problem.
    """
    if editor_key(key) not in st.session_state and _good_key(key) in st.session_state:
        # Streamlit dropped the editor's edits while another page was shown: start from what it last held.
        st.session_state[_base_key(key)] = st.session_state[_good_key(key)]
    base = st.session_state.setdefault(_base_key(key), np.array(default, dtype=np.float64))
    if base.shape != (len(row_labels), len(col_labels)):
        base = resize(base, (len(row_labels), len(col_labels)))
        set_matrix(key, base)
    cells = [["" if blanks and not np.isfinite(v) else cell_text(v) for v in row] for row in base]
    frame = pd.DataFrame(cells, index=list(row_labels), columns=list(col_labels), dtype=object)
    config = {label: st.column_config.TextColumn(label, help=help) for label in col_labels}
    edited = st.data_editor(frame, key=editor_key(key), num_rows="fixed", column_config=config, width="content")
    try:
        if edited.shape != base.shape:
            raise InputError(
                [
                    _(
                        "{name} changed shape from {rows}×{cols} to {new_rows}×{new_cols}: rows and columns are set "
                        "by the size controls"
                    ).format(
                        name=name,
                        rows=base.shape[0],
                        cols=base.shape[1],
                        new_rows=edited.shape[0],
                        new_cols=edited.shape[1],
                    )
                ]
            )
        raw = edited.to_numpy(dtype=object).tolist()
        empty = np.array([[blanks and (v is None or str(v).strip() == "") for v in row] for row in raw], dtype=bool)
        raw = [["0" if empty[i][j] else v for j, v in enumerate(row)] for i, row in enumerate(raw)]
        matrix = parse_matrix(name, raw, list(edited.index), list(edited.columns))
        matrix[empty] = np.nan
    except InputError as err:
        good = st.session_state.setdefault(_good_key(key), base.copy())
        return good, err.problems
    st.session_state[_good_key(key)] = matrix
    return matrix, []
