"""Positional page, the case for PE: shuffle demo, dog bites man, and RoPE's constant diagonals."""

from __future__ import annotations

import numpy as np
import pytest

from tests.pages.conftest import error_text, heatmap, markdown_text, open_page

PAGE = "pages/4_Positional_encoding.py"


@pytest.fixture(scope="module")
def at():
    return open_page(PAGE)


def test_shuffle_outputs_are_the_same_rows(at):
    assert not at.exception and not at.error
    rows, _, shuffled = heatmap(at, "outputs of the shuffled sentence")
    rows2, _, expected = heatmap(at, "original outputs, rows shuffled")
    assert rows == rows2
    np.testing.assert_allclose(shuffled, expected, atol=1e-6)  # float32 JSON of float64 values equal to ~1e-16
    text = markdown_text(at)
    assert "with PE it is" in text


def test_dog_bites_man_without_pe_is_the_same_bag(at):
    text = markdown_text(at)
    assert "“man”" in text and "“dog”" in text
    assert "without PE and" in text


def test_rope_only_rotary_is_constant_on_diagonals(at):
    for name, constant in (("rotary", True), ("sinusoidal", False), ("learned", False)):
        _, _, grid = heatmap(at, f"{name}: q at m")
        spread = max(np.ptp(np.diagonal(grid, k)) for k in range(-31, 32))
        assert (spread < 1e-3) == constant, name


def test_word_order_needs_the_same_words():
    at = open_page(PAGE)
    at.session_state["pe_order_b"] = "cat bites man"
    at.run()
    assert "the same words in a different order" in error_text(at)
    assert not at.exception
