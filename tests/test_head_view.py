"""The head view's data: what the in-page drawing receives."""

from __future__ import annotations

import numpy as np
import pytest

from attnviz.encoder_figures import HEAD_COLOURS
from attnviz.ui.head_view import WEIGHT_STEPS, head_view_data


def test_head_view_data_rounds_weights_and_blanks_masked_cells():
    w = np.array([[[0.25, 0.75], [np.nan, 1.0]], [[0.1234, 0.8766], [0.5, 0.5]]])
    data = head_view_data(w, ["a", "b"])
    assert data["tokens"] == ["a", "b"] and data["heads"] == [0, 1] and data["steps"] == WEIGHT_STEPS == 1000
    assert data["weights"] == [[[250, 750], [0, 1000]], [[123, 877], [500, 500]]]
    assert data["colours"] == list(HEAD_COLOURS[:2])


def test_head_view_data_picks_heads():
    w = np.random.default_rng(0).random((4, 3, 3))
    data = head_view_data(w, ["x", "y", "z"], heads=[3, 1])
    assert data["heads"] == [3, 1] and len(data["weights"]) == 2
    assert data["weights"][0] == np.rint(w[3] * 1000).astype(int).tolist()
    assert len(data["colours"]) == 4  # indexed by head number


@pytest.mark.parametrize(
    ("weights", "labels", "heads", "message"),
    [
        (np.ones((2, 3)), ["a", "b"], None, r"\(H, T, T\)"),
        (np.ones((1, 2, 2)), ["a"], None, "1 labels for 2 tokens"),
        (np.ones((1, 2, 2)), ["a", "b"], [1], r"heads \[1\] must be from 0 to 0"),
    ],
)
def test_head_view_data_bad_input(weights, labels, heads, message):
    with pytest.raises(ValueError, match=message):
        head_view_data(weights, labels, heads)
