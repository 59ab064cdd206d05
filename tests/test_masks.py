"""Mask builders against masks written out cell by cell, d2l's sequence mask and attend()'s valid_lens."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from attnviz.attention import attend
from attnviz.masks import causal_mask, padding_mask, parse_mask_grid, sliding_window_mask


def _loop_mask(t_q: int, t_k: int, rule) -> torch.Tensor:
    return torch.tensor([[bool(rule(i, j)) for j in range(t_k)] for i in range(t_q)])


@pytest.mark.parametrize(("t_q", "t_k"), [(1, 1), (4, 4), (3, 6), (6, 3)])
def test_causal_mask_cell_by_cell(t_q, t_k):
    assert torch.equal(causal_mask(t_q, t_k), _loop_mask(t_q, t_k, lambda i, j: j <= i))
    assert torch.equal(causal_mask(5), torch.ones(5, 5, dtype=torch.bool).tril())


@pytest.mark.parametrize("width", [1, 2, 3, 4, 7, 20])
def test_sliding_window_cell_by_cell(width):
    t = 9
    centred = _loop_mask(t, t, lambda i, j: i - (width - 1) // 2 <= j <= i + width // 2)
    causal = _loop_mask(t, t, lambda i, j: i - width < j <= i)
    assert torch.equal(sliding_window_mask(t, width=width), centred)
    assert torch.equal(sliding_window_mask(t, width=width, causal=True), causal)
    # away from the edges every query sees exactly `width` keys
    if width <= t // 2:
        assert int(sliding_window_mask(t, width=width)[t // 2].sum()) == width
        assert int(sliding_window_mask(t, width=width, causal=True)[t - 1].sum()) == width


def test_sliding_window_width_one_is_the_diagonal():
    assert torch.equal(sliding_window_mask(5, width=1), torch.eye(5, dtype=torch.bool))


def d2l_sequence_mask(x, valid_len, value=0.0):
    """d2l's sequence_mask (chapter "Attention Scoring Functions"), verbatim but on a copy."""
    x = x.clone()
    maxlen = x.size(1)
    mask = torch.arange(maxlen, dtype=torch.float32)[None, :] < valid_len[:, None]
    x[~mask] = value
    return x


def test_padding_mask_per_row_matches_d2l_sequence_mask():
    lens = torch.tensor([2, 4, 0])
    m = padding_mask(lens, 3, 5)
    assert m.shape == (3, 3, 5)
    ones = torch.ones(3, 5)
    expected = d2l_sequence_mask(ones, lens).bool()  # (B, T_k)
    for q in range(3):
        assert torch.equal(m[:, q, :], expected)


def test_padding_mask_per_query_and_attend_agree():
    lens = torch.tensor([[1, 2, 3], [3, 3, 0]])
    m = padding_mask(lens, 3, 3)
    for b in range(2):
        for q in range(3):
            assert m[b, q].tolist() == [j < int(lens[b, q]) for j in range(3)]
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 4, generator=g, dtype=torch.float64) for _ in range(3))
    a = attend(q, k, v, mask=m)
    b = attend(q, k, v, valid_lens=lens)
    assert torch.equal(a.weights, b.weights)
    assert a.fully_masked.tolist() == [[False, False, False], [False, False, True]]


@pytest.mark.parametrize(
    ("lens", "message"),
    [([1, 6], "<= T_k=5"), ([-1], ">= 0"), ([1.5], "whole numbers"), ([[1, 2]], "T_q=3"), ([[[1]]], "1-D")],
)
def test_padding_mask_errors_name_the_argument(lens, message):
    with pytest.raises(ValueError, match="valid_lens") as info:
        padding_mask(torch.tensor(lens), 3, 5)
    assert message in str(info.value)


def test_builders_reject_bad_sizes():
    with pytest.raises(ValueError, match="t_q=0"):
        causal_mask(0)
    with pytest.raises(ValueError, match="width=0"):
        sliding_window_mask(4, width=0)
    with pytest.raises(ValueError, match=r"width=2\.5"):
        sliding_window_mask(4, width=2.5)


def test_parse_grid_accepts_the_spellings_and_containers():
    expected = torch.tensor([[True, False, True], [False, False, False]])
    assert torch.equal(parse_mask_grid([[True, False, True], [False, False, False]]), expected)
    assert torch.equal(parse_mask_grid([[1, 0, 1], [0, 0, 0]]), expected)
    assert torch.equal(parse_mask_grid(np.array([[1, 0, 1], [0, 0, 0]])), expected)
    assert torch.equal(
        parse_mask_grid(pd.DataFrame({"a": [True, False], "b": [False, False], "c": [True, False]})), expected
    )
    assert torch.equal(parse_mask_grid("x . x\n. . ."), expected)
    assert torch.equal(parse_mask_grid([["1", "0", "TRUE"], ["no", "false", "0"]]), expected)
    assert torch.equal(parse_mask_grid(expected.clone(), shape=(2, 3)), expected)


def test_parse_grid_whole_masked_row_is_allowed_and_attend_flags_it():
    mask = parse_mask_grid([[1, 1], [0, 0]])
    g = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(2, 3, generator=g) for _ in range(3))
    trace = attend(q, k, v, mask=mask)
    assert trace.fully_masked.tolist() == [False, True]
    assert trace.weights[1].tolist() == [0.0, 0.0]


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ([[1, 2]], r"cell \(0, 1\) is 2"),
        ([[1, "maybe"]], r"cell \(0, 1\) is 'maybe'"),
        ([[1, None]], r"cell \(0, 1\) is empty"),
        ([[1.0, float("nan")]], r"cell \(0, 1\) is nan"),
        ([[1, 0], [1]], "different lengths"),
        ([], "empty"),
        ([[]], "no columns"),
        (np.ones((2, 2, 2)), "2-D"),
        (5, "table of cells"),
    ],
)
def test_parse_grid_errors_name_the_cell(grid, message):
    with pytest.raises(ValueError, match=message):
        parse_mask_grid(grid)


def test_parse_grid_checks_the_shape():
    with pytest.raises(ValueError, match=r"shape \(2, 2\) but the scores have shape \(3, 3\)"):
        parse_mask_grid([[1, 0], [1, 1]], shape=(3, 3))
