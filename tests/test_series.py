"""The synthetic time series and the CSV parser for a user's series."""

from __future__ import annotations

import math

import numpy as np
import pytest

from attnviz.series import (
    MAX_SERIES_ROWS,
    parse_series_csv,
    seed_batch,
    standardize,
    synthetic_series,
)


def test_synthetic_series_is_its_documented_formula():
    s = synthetic_series(50, 9, seed=3, noise=0.0, trend=2.0, num_sines=3)
    assert s.values.shape == (50, 9) and s.periods.shape == (9, 3)
    expected = np.zeros((50, 9))
    for t in range(50):
        for f in range(9):
            waves = sum(
                s.amplitudes[f, k] * math.sin(2 * math.pi * t / s.periods[f, k] + s.phases[f, k]) for k in range(3)
            )
            expected[t, f] = waves + s.slopes[f] * t / 50
    np.testing.assert_allclose(s.values, expected, atol=1e-12, rtol=0)
    assert np.all(np.abs(s.slopes) <= 2.0) and np.all(s.periods >= 4.0)
    assert np.all(s.noise == 0)


def test_synthetic_series_seeded_noise_and_trend():
    a, b, c = synthetic_series(400, 9, seed=1), synthetic_series(400, 9, seed=1), synthetic_series(400, 9, seed=2)
    assert np.array_equal(a.values, b.values) and not np.array_equal(a.values, c.values)
    assert a.noise.std() == pytest.approx(0.1, rel=0.1)
    clean = synthetic_series(400, 9, seed=1, noise=0.0)
    np.testing.assert_allclose(a.values - a.noise, clean.values, atol=1e-12)
    flat = synthetic_series(400, 9, seed=1, noise=0.0, trend=0.0)
    assert np.all(flat.slopes == 0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_steps": 0}, "num_steps=0"),
        ({"num_features": 2.5}, "num_features=2.5"),
        ({"noise": -1.0}, "noise=-1.0"),
        ({"trend": math.inf}, "trend=inf"),
    ],
)
def test_synthetic_series_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        synthetic_series(**kwargs)


def test_seed_batch_and_standardize():
    values = np.arange(16 * 32 * 9 + 9, dtype=float).reshape(-1, 9)
    batch = seed_batch(values)
    assert batch.shape == (16, 32, 9)
    assert np.array_equal(batch[1, 0], values[32]) and np.array_equal(batch[15, 31], values[16 * 32 - 1])
    with pytest.raises(ValueError, match=r"T >= 512"):
        seed_batch(values[:100])
    z = standardize(np.column_stack([np.arange(10.0) * 1000, np.full(10, 7.0)]))
    np.testing.assert_allclose(z[:, 0].mean(), 0, atol=1e-12)
    np.testing.assert_allclose(z[:, 0].std(), 1, atol=1e-12)
    assert np.all(z[:, 1] == 0)


def test_parse_csv_with_header_and_semicolons():
    text = "\ufefftemp; load ;rain\n1.5;2;3\n\n4;5e1;-6\n7;8;9\n"
    parsed = parse_series_csv(text.encode("utf-8"))
    assert parsed.columns == ("temp", "load", "rain")
    np.testing.assert_array_equal(parsed.values, [[1.5, 2, 3], [4, 50, -6], [7, 8, 9]])
    assert parsed.total_rows == 3 and parsed.dropped_rows == 0
    assert not parsed.values.flags.writeable


def test_parse_csv_without_header_tabs_and_single_column():
    parsed = parse_series_csv("1\t2\n3\t4\n")
    assert parsed.columns == ("x1", "x2") and parsed.values.shape == (2, 2)
    single = parse_series_csv("price\n1\n2\n3\n")
    assert single.columns == ("price",) and single.values[:, 0].tolist() == [1, 2, 3]


def test_parse_csv_keeps_the_first_rows():
    text = "a,b\n" + "".join(f"{i},{-i}\n" for i in range(MAX_SERIES_ROWS + 10))
    parsed = parse_series_csv(text)
    assert parsed.values.shape == (MAX_SERIES_ROWS, 2)
    assert parsed.total_rows == MAX_SERIES_ROWS + 10 and parsed.dropped_rows == 10


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("\n  \n", "the file is empty"),
        ("a,b\n1,2\n", r"1 row\(s\) of numbers; it needs at least 2"),
        ("1,2\n", r"1 row\(s\)"),
        ("a,b\n1,2\n3,x\n", r"line 3, column 2 \('b'\): 'x' is not a number"),
        ("a,b\n1,2\n3,nan\n", r"line 3, column 2 \('b'\): 'nan' is not a finite number"),
        ("a,b\n1,2\n\n-inf,3\n", r"line 4, column 1 \('a'\): '-inf' is not a finite number"),
        ("a,b\n1,2\n3,\n", r"line 3, column 2 \('b'\) is empty"),
        ("a,b\n1,2\n3,4,5\n", "line 3 has 3 cells but line 1 has 2"),
        (",".join(f"c{i}" for i in range(65)) + "\n", "65 columns; at most 64"),
    ],
)
def test_parse_csv_bad_files_are_named(text, message):
    with pytest.raises(ValueError, match=message):
        parse_series_csv(text)


def test_parse_csv_size_and_encoding_limits():
    with pytest.raises(ValueError, match="1,000,001 bytes; the limit is 1,000,000"):
        parse_series_csv(b"1" * 1_000_001)
    with pytest.raises(ValueError, match="not UTF-8"):
        parse_series_csv(b"a,b\n1,\xff\n")


def test_standardize_huge_values_without_overflow():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        z = standardize(np.array([[1e308, 1.0], [-1e308, 2.0], [1e308, 3.0]]))
    np.testing.assert_allclose(z[:, 0], [1, -2, 1] / np.std([1, -2, 1]), atol=1e-12)
    np.testing.assert_allclose(z[:, 1], [-1.224744871391589, 0, 1.224744871391589], atol=1e-12)
