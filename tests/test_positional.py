import math
import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attnviz.positional import (
    column_functions,
    display_indices,
    max_row_difference,
    position_similarity,
    seed_odd_variant_encoding,
    sinusoidal_encoding,
    wavelengths,
)

D_MODELS = [1, 2, 3, 9, 64, 511, 512]


def reference_pe(num_positions: int, d_model: int, base: float = 10000.0) -> np.ndarray:
    """Closed form, column by column: column j uses the frequency of its pair, 2i = j - j % 2."""
    pos = np.arange(num_positions, dtype=np.float64)[:, None]  # (T, 1)
    j = np.arange(d_model)
    pair_exponent = (j - j % 2) / d_model  # 2i/d_model, shared by columns 2i and 2i+1
    angle = pos / np.power(base, pair_exponent)  # (T, d_model)
    return np.where(j % 2 == 0, np.sin(angle), np.cos(angle))


def reference_variant(num_positions: int, d_model: int, base: float = 10000.0) -> np.ndarray:
    """The tutorial's variant: column j uses exponent j/d_model (cos columns get their own, odd exponent)."""
    pos = np.arange(num_positions, dtype=np.float64)[:, None]
    j = np.arange(d_model)
    angle = pos / np.power(base, j / d_model)
    return np.where(j % 2 == 0, np.sin(angle), np.cos(angle))


@pytest.mark.parametrize("d_model", D_MODELS)
def test_matches_closed_form_float64(d_model):
    pe = sinusoidal_encoding(100, d_model, dtype=torch.float64)
    np.testing.assert_allclose(pe.numpy(), reference_pe(100, d_model), rtol=0, atol=1e-12)


@pytest.mark.parametrize("d_model", D_MODELS)
def test_float32_accurate_at_position_2047(d_model):
    pe = sinusoidal_encoding(2048, d_model)
    assert pe.dtype == torch.float32
    ref = reference_pe(2048, d_model)
    np.testing.assert_allclose(pe.numpy(), ref, rtol=0, atol=1e-6)


def test_float32_tolerance_has_teeth():
    # Evaluating the same formula in float32 misses by far more than 1e-6 at position 2047, so the test
    # above really checks that the encoding is computed in float64 before the cast.
    pos = torch.arange(2048, dtype=torch.float32)[:, None]  # (T, 1)
    naive = torch.sin(pos * 10000.0 ** -(torch.arange(0, 512, 2, dtype=torch.float32) / 512))  # (T, 256)
    assert np.abs(naive.numpy() - reference_pe(2048, 512)[:, 0::2]).max() > 1e-5


@given(
    num_positions=st.integers(1, 40),
    d_model=st.integers(1, 40),
    base=st.floats(1.5, 1e6, allow_nan=False, allow_infinity=False),
)
@settings(max_examples=60, deadline=None)
def test_matches_closed_form_any_base(num_positions, d_model, base):
    pe = sinusoidal_encoding(num_positions, d_model, base, dtype=torch.float64)
    assert pe.shape == (num_positions, d_model)
    np.testing.assert_allclose(pe.numpy(), reference_pe(num_positions, d_model, base), rtol=0, atol=1e-10)


def test_known_value_d4_position1():
    pe = sinusoidal_encoding(2, 4)
    expected = torch.tensor([math.sin(1), math.cos(1), math.sin(0.01), math.cos(0.01)])
    torch.testing.assert_close(pe[1], expected, rtol=0, atol=1e-6)
    torch.testing.assert_close(pe[1], torch.tensor([0.841471, 0.540302, 0.010000, 0.999950]), rtol=0, atol=1e-6)


@pytest.mark.parametrize("d_model", D_MODELS)
def test_shape_dtype_range_and_position_zero(d_model):
    pe = sinusoidal_encoding(7, d_model)
    assert pe.shape == (7, d_model)
    assert pe.dtype == torch.float32
    assert bool(((pe >= -1) & (pe <= 1)).all())
    assert torch.equal(pe[0, 0::2], torch.zeros((d_model + 1) // 2))  # sin(0)
    assert torch.equal(pe[0, 1::2], torch.ones(d_model // 2))  # cos(0)
    assert sinusoidal_encoding(7, d_model, dtype=torch.float64).dtype == torch.float64


def test_odd_d_model_has_one_more_sin_column_with_pair_frequency():
    pe = sinusoidal_encoding(50, 9, dtype=torch.float64)
    pos = torch.arange(50, dtype=torch.float64)
    for i, col in enumerate(range(0, 9, 2)):  # 5 sin columns: 0, 2, 4, 6, 8
        torch.testing.assert_close(pe[:, col], torch.sin(pos / 10000 ** (2 * i / 9)))
    for i, col in enumerate(range(1, 9, 2)):  # 4 cos columns: 1, 3, 5, 7, sharing their pair's 2i/9
        torch.testing.assert_close(pe[:, col], torch.cos(pos / 10000 ** (2 * i / 9)))


def test_d_model_1_is_a_single_sin_column():
    pe = sinusoidal_encoding(5, 1, dtype=torch.float64)
    torch.testing.assert_close(pe[:, 0], torch.sin(torch.arange(5, dtype=torch.float64)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_positions": 0, "d_model": 4}, "num_positions=0 must be at least 1"),
        ({"num_positions": -2, "d_model": 4}, "num_positions=-2 must be at least 1"),
        ({"num_positions": 3, "d_model": 0}, "d_model=0 must be at least 1"),
        ({"num_positions": 3, "d_model": -1}, "d_model=-1 must be at least 1"),
        ({"num_positions": 3, "d_model": 4, "base": 0.0}, "base=0.0 must be positive and finite"),
        ({"num_positions": 3, "d_model": 4, "base": -10.0}, "base=-10.0 must be positive and finite"),
        ({"num_positions": 3, "d_model": 4, "base": math.inf}, "base=inf must be positive and finite"),
        ({"num_positions": 3, "d_model": 4, "base": math.nan}, "base=nan must be positive and finite"),
        ({"num_positions": 3, "d_model": 4, "dtype": torch.int64}, "dtype=torch.int64"),
    ],
)
@pytest.mark.parametrize("fn", [sinusoidal_encoding, seed_odd_variant_encoding])
def test_invalid_arguments_raise_value_error_naming_them(fn, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        fn(**kwargs)


@pytest.mark.parametrize("bad", [2.5, "4", True, None])
def test_non_integer_d_model_raises_type_error(bad):
    with pytest.raises(TypeError, match="d_model="):
        sinusoidal_encoding(3, bad)


def test_accepts_numpy_integers_and_floats():
    pe = sinusoidal_encoding(np.int64(3), np.int32(4), np.float64(100.0), dtype=torch.float64)
    np.testing.assert_allclose(pe.numpy(), reference_pe(3, 4, 100.0), atol=1e-12)


def test_seed_variant_d9_same_sin_columns_different_cos_columns():
    standard = sinusoidal_encoding(64, 9, dtype=torch.float64)
    variant = seed_odd_variant_encoding(64, 9, dtype=torch.float64)
    assert variant.shape == (64, 9)
    assert torch.equal(variant[:, 0::2], standard[:, 0::2])
    cos_gap = (variant[:, 1::2] - standard[:, 1::2]).abs()
    assert torch.equal(cos_gap[0], torch.zeros(4))  # both cos(0) = 1 at position 0
    assert bool((cos_gap[1:].amax(dim=0) > 1e-3).all())  # every cos column differs somewhere
    np.testing.assert_allclose(variant.numpy(), reference_variant(64, 9), rtol=0, atol=1e-12)


def test_seed_variant_defaults_and_even_d_model():
    variant = seed_odd_variant_encoding(10, 8)
    assert variant.dtype == torch.float32
    np.testing.assert_allclose(variant.numpy(), reference_variant(10, 8), rtol=0, atol=1e-6)
    assert not torch.allclose(variant, sinusoidal_encoding(10, 8))  # it is not the standard for even d either


def toeplitz_gap(sim: torch.Tensor) -> float:
    """Largest spread of sim[p, p + k] over p, for each offset k: 0 when similarity depends only on p - q."""
    n = sim.shape[0]
    return max((d := torch.diagonal(sim, k)).max().item() - d.min().item() for k in range(n))


def test_position_similarity_is_gram_matrix():
    pe = sinusoidal_encoding(12, 16, dtype=torch.float64)
    sim = position_similarity(pe)
    assert sim.shape == (12, 12)
    torch.testing.assert_close(sim, torch.from_numpy(pe.numpy() @ pe.numpy().T))
    torch.testing.assert_close(sim, sim.T)
    # Each sin/cos pair contributes sin² + cos² = 1 on the diagonal.
    torch.testing.assert_close(torch.diagonal(sim), torch.full((12,), 8.0, dtype=torch.float64))


def test_shared_pair_frequency_makes_similarity_depend_only_on_distance():
    # sin(a)sin(b) + cos(a)cos(b) = cos(a - b): the standard pairing gives a Toeplitz similarity matrix.
    standard = position_similarity(sinusoidal_encoding(30, 16, dtype=torch.float64))
    assert toeplitz_gap(standard) < 1e-9
    # The tutorial variant's cos columns have another frequency, so that property is lost.
    variant = position_similarity(seed_odd_variant_encoding(30, 16, dtype=torch.float64))
    assert toeplitz_gap(variant) > 1e-2


def test_position_similarity_rejects_non_matrix_and_keeps_input():
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        position_similarity(torch.ones(4))
    pe = sinusoidal_encoding(5, 6)
    before = pe.clone()
    position_similarity(pe)
    assert torch.equal(pe, before)


def test_column_functions_odd_and_even():
    assert column_functions(9) == ["sin", "cos", "sin", "cos", "sin", "cos", "sin", "cos", "sin"]
    assert column_functions(9).count("sin") == 5
    assert column_functions(9).count("cos") == 4
    assert column_functions(1) == ["sin"]
    assert column_functions(512).count("cos") == 256
    with pytest.raises(ValueError, match="d_model=0"):
        column_functions(0)


def test_column_functions_match_the_encoding():
    pe = sinusoidal_encoding(3, 9, dtype=torch.float64)
    position = 2.0
    for j, fn in enumerate(column_functions(9)):
        angle = position / 10000 ** ((j - j % 2) / 9)
        assert pe[2, j].item() == pytest.approx(math.sin(angle) if fn == "sin" else math.cos(angle), abs=1e-12)


def test_wavelengths_are_the_periods_of_the_columns():
    lam = wavelengths(8, 10000.0)
    assert lam[0] == lam[1] == pytest.approx(2 * math.pi)
    assert lam[6] == lam[7] == pytest.approx(2 * math.pi * 10000 ** (6 / 8))
    # A column repeats after its wavelength (checked on a column short enough to sample finely).
    lam = wavelengths(4, 100.0)
    pe = sinusoidal_encoding(200, 4, 100.0, dtype=torch.float64)
    period = lam[2]  # 2π·10 ≈ 62.83 positions
    pos = torch.arange(200, dtype=torch.float64)
    torch.testing.assert_close(torch.sin((pos + period) / 10.0), pe[:, 2])
    with pytest.raises(ValueError, match="base=0"):
        wavelengths(4, 0.0)


def test_display_indices_small_axes_are_kept_whole():
    assert display_indices(5) == [0, 1, 2, 3, 4]
    assert display_indices(256) == list(range(256))
    assert display_indices(9, group=2) == list(range(9))


def test_display_indices_stride_positions_and_pairs():
    rows = display_indices(2048, 256)
    assert rows == list(range(0, 2048, 8))
    cols = display_indices(512, 256, group=2)
    assert len(cols) == 256
    assert cols[:6] == [0, 1, 4, 5, 8, 9]
    assert all(c % 4 in (0, 1) for c in cols)  # both members of every kept pair, never a lone cos


@given(n=st.integers(1, 5000), limit=st.integers(2, 400), group=st.sampled_from([1, 2]))
@settings(max_examples=200, deadline=None)
def test_display_indices_properties(n, limit, group):
    kept = display_indices(n, limit, group=group)
    assert kept[0] == 0
    assert len(kept) <= limit
    assert kept == sorted(set(kept))
    assert all(0 <= i < n for i in kept)
    if n <= limit:
        assert kept == list(range(n))
    if group == 2:
        assert all(i + 1 in kept for i in kept if i % 2 == 0 and i + 1 < n)


def test_display_indices_invalid():
    with pytest.raises(ValueError, match="n=0"):
        display_indices(0)
    with pytest.raises(ValueError, match="limit=1 must be at least group=2"):
        display_indices(10, 1, group=2)


def test_max_row_difference():
    m = torch.tensor([[0.1, 0.9], [0.5, 0.5], [0.1, 0.9]])
    assert max_row_difference(m, 0, 2) == 0.0
    assert max_row_difference(m, 0, 1) == pytest.approx(0.4)
    assert max_row_difference(torch.empty(2, 0), 0, 1) == 0.0
    with pytest.raises(ValueError, match="j=3 is not a row of a matrix with 3 rows"):
        max_row_difference(m, 0, 3)
    with pytest.raises(ValueError, match=r"2-D"):
        max_row_difference(torch.ones(3), 0, 1)
