import math

import numpy as np
import pytest

from attnviz.validation import InputError, check_at_least_one, parse_matrix


def test_numbers_and_numeric_strings_parse():
    out = parse_matrix("X", [[1, "2", " -0.5 "], [np.float32(3), "1e3", -0.0]])
    np.testing.assert_array_equal(out, [[1, 2, -0.5], [3, 1000, 0]])
    assert out.dtype == np.float64
    assert math.copysign(1, out[1, 2]) == -1  # -0.0 is kept as typed


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("abc", "'abc' is not a number"),
        ("", "is empty"),
        ("   ", "is empty"),
        (None, "is empty"),
        (float("nan"), "is empty or not a number"),
        ("nan", "is empty or not a number"),
        (float("inf"), "is +infinity"),
        ("-inf", "is -infinity"),
        (True, "True is not a number"),
        ([1], "[1] is not a number"),
    ],
)
def test_bad_cells_are_named(raw, problem):
    with pytest.raises(InputError) as err:
        parse_matrix("W_q", [[1.0, raw]], row_labels=["d1"], col_labels=["a", "b"])
    assert err.value.problems == [f"W_q row d1, column b: {problem}"]


def test_every_bad_cell_is_listed_up_to_a_limit():
    with pytest.raises(InputError) as err:
        parse_matrix("X", [["x"] * 4] * 2, max_problems=3)
    assert len(err.value.problems) == 4
    assert err.value.problems[-1] == "… and 5 more"
    assert "X row 0, column 0" in str(err.value)


def test_long_text_is_shortened_in_the_message():
    with pytest.raises(InputError, match="is not a number") as err:
        parse_matrix("X", [["y" * 500]])
    assert len(err.value.problems[0]) < 80


def test_empty_and_ragged_matrices():
    with pytest.raises(InputError, match="X has no cells"):
        parse_matrix("X", [])
    with pytest.raises(InputError, match="X row 1 has 1 cells, expected 2"):
        parse_matrix("X", [[1, 2], [3]])


def test_input_error_is_a_value_error():
    assert issubclass(InputError, ValueError)


def test_check_at_least_one_is_the_one_size_check():
    assert check_at_least_one("d_model", 3) == 3
    assert check_at_least_one("n", np.int64(2)) == 2
    with pytest.raises(ValueError, match=r"^d_model=0 must be at least 1$"):
        check_at_least_one("d_model", 0)
    for bad in (True, 2.0, "3"):
        with pytest.raises(TypeError, match=r"must be an int"):
            check_at_least_one("num_heads", bad)
