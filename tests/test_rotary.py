"""RoPE against an independent complex-number implementation; the learned absolute table against nn.Embedding."""

from __future__ import annotations

import cmath

import pytest
import torch
from torch import nn

from attnviz.positional import (
    POSITION_SCHEMES,
    LearnedPositionalEmbedding,
    diagonal_spread,
    position_pair_scores,
    rope_score_grid,
    rotary_embedding,
    sinusoidal_encoding,
)


def complex_rope(x: list[float], m: float, base: float = 10000.0) -> list[float]:
    """RoFormer eq. (12): pair (x_2i, x_2i+1) as the complex number x_2i + i·x_2i+1, times e^{i m θ_i}."""
    d = len(x)
    out = []
    for i in range(d // 2):
        theta = base ** (-2 * i / d)
        z = complex(x[2 * i], x[2 * i + 1]) * cmath.exp(1j * m * theta)
        out += [z.real, z.imag]
    return out


@pytest.mark.parametrize(("t", "d", "base"), [(1, 2, 10000.0), (7, 8, 10000.0), (33, 16, 500.0)])
def test_matches_complex_rotation_in_float64(t, d, base):
    g = torch.Generator().manual_seed(t + d)
    x = torch.randn(t, d, generator=g, dtype=torch.float64)
    ours = rotary_embedding(x, base=base)
    ref = torch.tensor([complex_rope(x[m].tolist(), m, base) for m in range(t)], dtype=torch.float64)
    assert torch.allclose(ours, ref, atol=1e-12, rtol=0)


def test_batched_and_custom_positions_and_float32():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 5, 4, generator=g, dtype=torch.float64)
    ours = rotary_embedding(x)
    for b in range(2):
        for h in range(3):
            assert torch.equal(ours[b, h], rotary_embedding(x[b, h]))
    positions = [10, 0, 1000, 3, 7]
    ref = torch.tensor([complex_rope(x[0, 0, i].tolist(), m) for i, m in enumerate(positions)], dtype=torch.float64)
    assert torch.allclose(rotary_embedding(x[0, 0], positions=torch.tensor(positions)), ref, atol=1e-12, rtol=0)
    out32 = rotary_embedding(x.float())
    assert out32.dtype == torch.float32 and torch.allclose(out32.double(), ours, atol=1e-5)


def test_rotation_keeps_norms_and_position_zero_is_identity():
    x = torch.randn(9, 6, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    out = rotary_embedding(x)
    assert torch.allclose(out.norm(dim=-1), x.norm(dim=-1), atol=1e-12)
    assert torch.equal(out[0], x[0])


def test_scores_depend_only_on_the_distance():
    g = torch.Generator().manual_seed(2)
    q, k = torch.randn(16, generator=g, dtype=torch.float64), torch.randn(16, generator=g, dtype=torch.float64)
    grid = rope_score_grid(q, k, 24)
    assert grid.shape == (24, 24)
    for offset in range(-23, 24):
        diagonal = torch.diagonal(grid, offset=offset)
        assert torch.allclose(diagonal, diagonal[0].expand_as(diagonal), atol=1e-10), offset
    # and it is the rotated dot product cell by cell
    for m, n in [(0, 0), (5, 2), (3, 20)]:
        ref = sum(a * b for a, b in zip(complex_rope(q.tolist(), m), complex_rope(k.tolist(), n), strict=True))
        assert grid[m, n].item() == pytest.approx(ref, abs=1e-10)
    # ...but not constant along a row: the distance does matter
    assert not torch.allclose(grid[0], grid[0, 0].expand(24))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: rotary_embedding(torch.ones(3, 5)), "even last axis.*d=5"),
        (lambda: rotary_embedding(torch.ones(4)), r"shape \(..., T, d\)"),
        (lambda: rotary_embedding(torch.ones(3, 4, dtype=torch.long)), "float tensor"),
        (lambda: rotary_embedding(torch.ones(3, 4), base=0.0), "base=0.0"),
        (lambda: rotary_embedding(torch.ones(3, 4), positions=torch.arange(2)), "positions has 2 entries"),
        (lambda: rope_score_grid(torch.ones(4), torch.ones(6), 3), "same width"),
        (lambda: rope_score_grid(torch.ones(4), torch.ones(4), 0), "num_positions=0"),
    ],
)
def test_errors(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_learned_table_is_an_embedding_lookup():
    table = LearnedPositionalEmbedding(10, 4, seed=3)
    ref = nn.Embedding(10, 4)
    with torch.no_grad():
        ref.weight.copy_(table.table)
    x = torch.randn(2, 6, 4, generator=torch.Generator().manual_seed(0))
    assert torch.equal(table(x), x + ref(torch.arange(6)))
    assert torch.equal(LearnedPositionalEmbedding(10, 4, seed=3).table, table.table)
    assert not torch.equal(LearnedPositionalEmbedding(10, 4, seed=4).table, table.table)
    assert table.table.requires_grad  # it is learned: a parameter


def test_learned_table_has_no_row_past_its_length():
    table = LearnedPositionalEmbedding(4, 2)
    with pytest.raises(ValueError, match="no row for position 4: the sequence has T=5"):
        table(torch.zeros(5, 2))
    with pytest.raises(ValueError, match=r"x must have shape \(..., T, 2\)"):
        table(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="std"):
        LearnedPositionalEmbedding(4, 2, std=0.0)


def test_only_rotary_scores_are_constant_along_diagonals():
    g = torch.Generator().manual_seed(5)
    q, k = torch.randn(8, generator=g, dtype=torch.float64), torch.randn(8, generator=g, dtype=torch.float64)
    grids = {s: position_pair_scores(q, k, 12, s) for s in POSITION_SCHEMES}
    assert diagonal_spread(grids["rotary"]) < 1e-10
    assert diagonal_spread(grids["sinusoidal"]) > 0.1
    assert diagonal_spread(grids["learned"]) > 0.1
    # the additive schemes, cell by cell
    pe = sinusoidal_encoding(12, 8, dtype=torch.float64)
    table = LearnedPositionalEmbedding(12, 8, seed=0).table.detach().double()
    for m, n in [(0, 0), (3, 7), (11, 2)]:
        assert grids["sinusoidal"][m, n].item() == pytest.approx(float((q + pe[m]) @ (k + pe[n])), abs=1e-12)
        assert grids["learned"][m, n].item() == pytest.approx(float((q + table[m]) @ (k + table[n])), abs=1e-12)
    with pytest.raises(ValueError, match="scheme must be one of"):
        position_pair_scores(q, k, 3, "alibi")
    with pytest.raises(ValueError, match="square"):
        diagonal_spread(torch.zeros(2, 3))


def test_diagonal_spread_by_hand():
    assert diagonal_spread(torch.tensor([[1.0, 2.0], [3.0, 1.0]])) == 0.0
    assert diagonal_spread(torch.tensor([[1.0, 2.0], [3.0, 1.5]])) == 0.5
