"""The positional page's shuffle, word-order and RoPE views against explicit re-indexing and the formulas."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attnviz.cells import hover_text, latex_number
from attnviz.modules import SelfAttention
from attnviz.positional import sinusoidal_encoding
from attnviz.positional_views import (
    explain_encoding_cell,
    explain_similarity_cell,
    rope_view,
    shuffle_perm,
    shuffle_view,
    word_order_view,
)
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


# ------------------------------------------------------------------------------ a clicked cell of PE and PE·PEᵀ


def reference_encoding(num_positions: int, d_model: int, base: float) -> np.ndarray:
    """The sinusoidal encoding written out column by column in float64 numpy (column j: pair j // 2)."""
    pe = np.empty((num_positions, d_model))
    positions = np.arange(num_positions, dtype=np.float64)
    for j in range(d_model):
        omega = 1.0 / base ** (2 * (j // 2) / d_model)
        pe[:, j] = np.sin(positions * omega) if j % 2 == 0 else np.cos(positions * omega)
    return pe


SIZES = [(64, 10000.0), (9, 10000.0), (10, 100.0), (7, 500.0), (1, 10000.0)]


@pytest.mark.parametrize(("d_model", "base"), SIZES)
def test_encoding_cell_matches_the_formula_written_out(d_model, base):
    pe = reference_encoding(40, d_model, base)
    for pos, column in {(0, 0), (3, d_model - 1), (17, d_model // 2), (39, min(5, d_model - 1)), (1, 0)}:
        cell = explain_encoding_cell(pos, column, d_model=d_model, base=base)
        pair = column // 2
        omega = 1.0 / base ** (2 * pair / d_model)
        assert cell.recomputed == pytest.approx(pe[pos, column], abs=1e-12)
        assert cell.text == hover_text(pe[pos, column], ".4~f")
        function = "sin" if column % 2 == 0 else "cos"
        assert f"i &= \\lfloor {column}/2 \\rfloor = {pair}" in cell.latex
        assert f"= {omega:.6g}" in cell.latex.replace("\\times10^{", "e").replace("}", "")
        assert f"\\{function}({pos * omega:.6g})" in cell.latex.replace("\\times10^{", "e").replace("}", "")
        assert cell.latex.endswith(f"= {latex_number(pe[pos, column], '.4~f', bracket=False)}\\end{{aligned}}")
        assert f"the {function} of pair i = {pair}" in cell.title
        if d_model % 2 and column == d_model - 1:
            assert f"d_model = {d_model} is odd: column {column} is the last sin" in cell.note
        else:
            assert cell.note.startswith(f"Columns {2 * pair} and {2 * pair + 1} form pair i = {pair}")


def test_encoding_cell_prints_the_heatmaps_float32_value_with_its_hover_digits():
    pe = reference_encoding(100, 64, 10000.0).astype(np.float32)
    for pos, column in ((3, 5), (99, 1), (50, 62), (7, 0)):
        cell = explain_encoding_cell(pos, column, d_model=64, base=10000.0, drawn=float(pe[pos, column]), spec=".4~f")
        assert cell.value == float(pe[pos, column])
        assert cell.text == hover_text(float(pe[pos, column]), ".4~f")
    assert explain_encoding_cell(3, 5, d_model=64, base=10000.0).text == "\u22120.116"  # cos(3·10000^(−4/64))


@pytest.mark.parametrize(("d_model", "base"), SIZES)
def test_similarity_cell_is_the_sum_of_cosines_of_the_distance(d_model, base):
    pe = reference_encoding(60, d_model, base)
    for p, q in ((3, 7), (0, 0), (59, 2), (20, 21)):
        cell = explain_similarity_cell(p, q, d_model=d_model, base=base)
        dot = float(pe[p] @ pe[q])
        assert cell.recomputed == pytest.approx(dot, abs=1e-10)
        assert sum(cell.terms) == pytest.approx(dot, abs=1e-10)
        omegas = [1.0 / base ** (2 * i / d_model) for i in range((d_model + 1) // 2)]
        cosines = [np.cos((p - q) * w) for w in omegas[: d_model // 2]]
        np.testing.assert_allclose(cell.terms[: d_model // 2], cosines, atol=1e-12)
        if d_model % 2:
            assert len(cell.terms) == d_model // 2 + 1
            assert cell.terms[-1] == pytest.approx(np.sin(p * omegas[-1]) * np.sin(q * omegas[-1]), abs=1e-12)
            assert f"d_model = {d_model} is odd" in cell.note
        else:
            assert len(cell.terms) == d_model // 2
            assert "depends only on the distance" in cell.note
        assert cell.text == hover_text(dot, ".4~f")
        first = latex_number(cell.terms[0], ".4~f")
        assert f"&= {first}" in cell.latex or len(cell.terms) == 1  # one term: only its value
        assert cell.latex.endswith(f"= {latex_number(dot, '.4~f', bracket=False)}\\end{{aligned}}")


def test_similarity_cell_writes_the_first_terms_and_the_last_two():
    cell = explain_similarity_cell(3, 7, d_model=64, base=10000.0)
    assert r"\sum_{i=0}^{31}\cos((3-7)\,\omega_i)" in cell.latex
    assert (
        r"&= \cos((-4)\cdot1) + \cos((-4)\cdot0.749894) + \cos((-4)\cdot0.562341) \\ &\quad + \ldots + " in cell.latex
    )
    assert "p − q = \u22124" in cell.note
    assert r"\mathrm{PE}_{3}\cdot \mathrm{PE}_{7} &=" in cell.latex


def test_cells_out_of_range_are_refused():
    with pytest.raises(ValueError, match="column=9 is out of range"):
        explain_encoding_cell(0, 9, d_model=9, base=10000.0)
    with pytest.raises(ValueError, match="base"):
        explain_similarity_cell(0, 1, d_model=8, base=0.0)
    with pytest.raises(ValueError, match="pos=-1"):
        explain_encoding_cell(-1, 0, d_model=8, base=10000.0)
