"""Permutation equivariance without positions, and its end with them, checked against explicit re-indexing."""

from __future__ import annotations

import pytest
import torch

from attnviz.modules import SelfAttention
from attnviz.positional import sinusoidal_encoding
from attnviz.tokens import embed, tokenize
from attnviz.word_order import match_positions, shuffle_demo, word_order_demo


def _module(d=8):
    return SelfAttention(d, 6, seed=0).double()


def test_without_positions_outputs_are_the_same_rows_shuffled():
    x = torch.randn(6, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    perm = [3, 0, 5, 1, 4, 2]
    demo = shuffle_demo(_module(), x, perm)
    # independent check: run the module on the shuffled rows and re-index by hand
    with torch.no_grad():
        out = _module()(x).output
        shuffled = _module()(x[perm]).output
    assert torch.allclose(demo.shuffled_output, shuffled, atol=0, rtol=0)
    for i, j in enumerate(perm):
        assert torch.allclose(shuffled[i], out[j], atol=1e-12, rtol=0)
    assert demo.max_diff < 1e-12 and demo.equivariant


def test_with_positions_the_shuffle_shows():
    x = torch.randn(6, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    perm = [3, 0, 5, 1, 4, 2]
    demo = shuffle_demo(_module(), x, perm, positional=True)
    pe = sinusoidal_encoding(6, 8, dtype=torch.float64)
    with torch.no_grad():
        expected = _module()(x[perm] + pe).output
    assert torch.allclose(demo.shuffled_output, expected, atol=1e-12, rtol=0)
    assert demo.max_diff > 1e-2 and not demo.equivariant


def test_identity_permutation_changes_nothing_either_way():
    x = torch.randn(4, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    for positional in (False, True):
        assert shuffle_demo(_module(), x, [0, 1, 2, 3], positional=positional).max_diff == 0.0


def test_dog_bites_man():
    a, b = tokenize("dog bites man"), tokenize("man bites dog")
    assert match_positions(a, b) == (2, 1, 0)
    without = word_order_demo(_module(), a, b, seed=0)
    with_pe = word_order_demo(_module(), a, b, seed=0, positional=True)
    # the same word gets the same output vector in both sentences, checked by hand
    x_a, x_b = embed(a, 8, dtype=torch.float64), embed(b, 8, dtype=torch.float64)
    with torch.no_grad():
        out_a, out_b = _module()(x_a).output, _module()(x_b).output
    assert torch.allclose(out_b[0], out_a[2], atol=1e-12) and torch.allclose(out_b[2], out_a[0], atol=1e-12)
    assert without.max_diff < 1e-12 and without.pooled_diff < 1e-12
    assert with_pe.max_diff > 1e-2 and with_pe.pooled_diff > 1e-3
    assert len(with_pe.per_word_diff) == 3


def test_repeated_words_are_matched_in_order():
    assert match_positions(["a", "b", "a"], ["a", "a", "b"]) == (0, 2, 1)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: match_positions(["dog", "bites"], ["cat", "bites"]), r"only in the first: \['dog'\].*\['cat'\]"),
        (lambda: word_order_demo(_module(), [], []), "at least one word"),
        (lambda: shuffle_demo(_module(), torch.zeros(3, 8, dtype=torch.float64), [0, 0, 1]), "permutation of 0…2"),
        (lambda: shuffle_demo(_module(), torch.zeros(8, dtype=torch.float64), [0]), r"shape \(T, d_model\)"),
    ],
)
def test_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
