"""The positional page's shuffle, word-order and RoPE views against explicit re-indexing and the formulas."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attnviz.modules import SelfAttention
from attnviz.positional import sinusoidal_encoding
from attnviz.positional_views import rope_view, shuffle_perm, shuffle_view, word_order_view
from attnviz.tokens import embed, tokenize


def test_shuffle_view_rows_move_with_their_tokens():
    tokens = tuple(tokenize("the dog chased the cat"))
    view = shuffle_view(tokens, d_model=16, seed=2, shuffle_seed=3)
    assert sorted(view.perm) == list(range(5)) and view.perm != tuple(range(5))
    assert view.shuffled_labels == tuple(f"{i} {tokens[j]}" for i, j in enumerate(view.perm))
    module = SelfAttention(16, 8, seed=2).double()
    x = embed(list(tokens), 16, seed=2, dtype=torch.float64)
    with torch.no_grad():
        out = module(x).output.numpy()
        shuffled = module(x[list(view.perm)]).output.numpy()
        pe = sinusoidal_encoding(5, 16, dtype=torch.float64)  # positions stay put while the tokens move
        out_pe = module(x + pe).output.numpy()
        with_pe = module(x[list(view.perm)] + pe).output.numpy()
    np.testing.assert_allclose(view.shuffled_output, shuffled, atol=1e-12)
    np.testing.assert_allclose(view.expected, out[list(view.perm)], atol=1e-12)
    assert view.max_diff_without < 1e-12
    assert view.max_diff_with == pytest.approx(np.abs(with_pe - out_pe[list(view.perm)]).max(), rel=0, abs=1e-9)
    assert view.max_diff_with > 1e-2


def test_shuffle_perm_never_identity_and_seeded():
    for t in (2, 3, 7):
        for seed in range(20):
            assert shuffle_perm(t, seed) != tuple(range(t))
    assert shuffle_perm(1, 0) == (0,)
    assert shuffle_perm(6, 4) == shuffle_perm(6, 4)


def test_word_order_view_dog_bites_man():
    view = word_order_view("dog bites man", "man bites dog", d_model=16)
    assert view.words == ("0 man", "1 bites", "2 dog")
    assert max(view.diff_without) < 1e-12 and view.pooled_without < 1e-12
    assert min(view.diff_with) > 1e-3 and view.pooled_with > 1e-3
    with pytest.raises(ValueError, match="same words"):
        word_order_view("dog bites man", "cat bites man", d_model=16)
    with pytest.raises(ValueError, match="at least one word"):
        word_order_view("", "dog", d_model=16)


def test_rope_view_diagonals():
    view = rope_view(20, 9)
    assert view.width == 8 and view.positions[-1] == "19"
    assert view.spread["rotary"] < 1e-10 < 0.1 < view.spread["sinusoidal"]
    g = view.grids["rotary"]
    for offset in (-5, 0, 7):
        d = np.diagonal(g, offset)
        np.testing.assert_allclose(d, d[0], atol=1e-10)
    assert rope_view(4, 1).width == 2 and rope_view(4, 512).width == 64
