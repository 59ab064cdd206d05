"""Practice problems: drawn from the seed alone, answers against independent references, grading cell by cell."""

from __future__ import annotations

import numpy as np
import pytest

from attnviz import i18n
from attnviz.cells import hover_text
from attnviz.examples import WORKED_EXAMPLE, WORKED_EXAMPLE_PRINTED
from attnviz.practice import LEVELS, SOURCES, STAGES, grade, hint, make_problem, solution


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("level", LEVELS)
def test_same_seed_same_problem_and_the_levels_sizes(level):
    for seed in range(20):
        a, b = make_problem(seed, level), make_problem(seed, level)
        assert a.stage == b.stage and a.stage in LEVELS[level].stages
        np.testing.assert_array_equal(a.answer, b.answer)
        for (name, (m, rows, cols)), (_, (m2, _, _)) in zip(a.given.items(), b.given.items(), strict=True):
            np.testing.assert_array_equal(m, m2)
            assert m.shape == (len(rows), len(cols)), name
        low, high = LEVELS[level].tokens
        assert low <= len(a.row_labels) <= high
    assert len({make_problem(seed, level).id for seed in range(20)}) == 20


@pytest.mark.parametrize("stage", ["query", "key", "value", "scores"])
def test_worked_source_answers_are_the_tutorials_printed_numbers(stage):
    problem = make_problem(0, "easy", stage, "worked")
    np.testing.assert_array_equal(problem.answer, WORKED_EXAMPLE_PRINTED[stage])
    assert problem.tolerance < 1e-6  # integers: exact


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("stage", ["scaled", "weights", "output", "concat"])
def test_answers_against_float64_numpy_from_the_given_numbers(seed, stage):
    p = make_problem(seed, "hard", stage)
    given = {name: m for name, (m, _, _) in p.given.items()}
    if stage == "scaled":
        expected = given["Q"] @ given["K"].T / np.sqrt(given["Q"].shape[1])
    elif stage == "weights":
        expected = _softmax(next(iter(given.values())))
        assert np.allclose(expected.sum(axis=1), 1)
    elif stage == "output":
        expected = given["weights"] @ given["V"]
    else:
        v = given["V"]
        expected = np.column_stack([given["A₀"] @ v[:, 0], given["A₁"] @ v[:, 1]])
    np.testing.assert_allclose(p.answer, expected, rtol=1e-12)
    assert p.tolerance == 0.01


def test_worked_concat_uses_each_heads_column():
    p = make_problem(0, "hard", "concat", "worked")
    x = WORKED_EXAMPLE.x
    q, k, v = x @ WORKED_EXAMPLE.w_q, x @ WORKED_EXAMPLE.w_k, x @ WORKED_EXAMPLE.w_v
    for h in (0, 1):
        a = np.round(_softmax(np.outer(q[:, h], k[:, h])), 2)
        np.testing.assert_array_equal(p.given[f"A{'₀₁'[h]}"][0], a)
        np.testing.assert_allclose(p.answer[:, h], a @ v[:, h], rtol=1e-12)


def test_grading_right_wrong_tolerance_and_blank():
    p = make_problem(1, "medium", "weights")
    exact = p.answer.copy()
    assert grade(p, exact).solved
    rounded = np.round(exact, 2)  # what "to 2 decimals" asks for
    assert grade(p, rounded).solved
    off = rounded.copy()
    off[0, 0] += 0.02
    off[1, 2] = np.nan  # a blank cell
    g = grade(p, off)
    assert not g.solved and g.correct == g.total - 2
    assert not g.right[0, 0] and not g.right[1, 2] and g.right[0, 1]
    just_inside = exact.copy()
    just_inside[2, 2] += 0.0099
    assert grade(p, just_inside).solved


def test_integer_answers_are_graded_exactly():
    p = make_problem(0, "easy", "scores", "worked")
    typed = p.answer.copy()
    typed[0, 0] += 0.01
    assert grade(p, typed).correct == typed.size - 1


def test_grade_names_a_wrong_shape():
    p = make_problem(0, "easy", "query")
    with pytest.raises(ValueError, match=r"entered has shape \(1, 1\)"):
        grade(p, np.zeros((1, 1)))


@pytest.mark.parametrize("stage", STAGES)
def test_a_hint_reveals_one_term_of_the_cells_sum(stage):
    p = make_problem(2, "hard" if stage == "concat" else "medium", stage, "worked")
    t, d_in, d_k = 3, 4, 3
    terms = {"query": d_in, "key": d_in, "value": d_in, "scores": d_k, "scaled": d_k}.get(stage, t)
    for row in range(p.answer.shape[0]):
        for col in range(p.answer.shape[1]):
            text = hint(p, row, col, 0)
            assert text.startswith(f"Cell ({p.row_labels[row]}, {p.col_labels[col]}), term 1 of {terms}: ")


def test_hint_of_a_cell_outside_the_grid_is_named():
    with pytest.raises(ValueError, match=r"cell \(3, 0\)"):
        hint(make_problem(0, "easy"), 3, 0)


def test_hint_terms_sum_to_the_cell():
    p = make_problem(0, "easy", "scores", "worked")  # s_12 = 1·4 + 0·4 + 2·0
    texts = [hint(p, 0, 1, t) for t in range(3)]
    assert texts[0] == "Cell (x1, x2), term 1 of 3: q1[1]·k2[1] = 1·4 = 4"
    assert texts[2].endswith("2·0 = 0")
    assert hint(p, 0, 1, 3) == texts[0]  # cycling


def test_hints_in_chinese_name_the_cell_term_and_head():
    with i18n.use("zh"):
        assert (
            hint(make_problem(0, "easy", "scores", "worked"), 0, 1, 0)
            == "单元格 (x1, x2)，第 1 项（共 3 项）：q1[1]·k2[1] = 1·4 = 4"
        )
        assert hint(make_problem(0, "hard", "concat", "worked"), 0, 1, 0).startswith(
            "单元格 (x1, d2)，第 1 项（共 3 项）：头 1：a1,1·v1[2] = "
        )


def test_solution_ends_each_line_with_the_answer():
    p = make_problem(4, "medium", "scaled")
    lines = solution(p)
    assert len(lines) == p.answer.size
    for line, value in zip(lines, p.answer.reshape(-1), strict=True):
        assert line.endswith(f"= {hover_text(value).replace(chr(0x2212), '-')}")
        assert rf"\sqrt{{{p.d_k}}}" in line


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seed": -1}, "seed=-1"),
        ({"seed": 1.5}, "seed=1.5"),
        ({"level": "expert"}, "level='expert'"),
        ({"stage": "mask"}, "stage='mask'"),
        ({"source": "file"}, "source='file'"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_problem(**({"seed": 0} | kwargs))


def test_every_source_level_and_stage_grades_its_own_answer():
    for source in SOURCES:
        for level in LEVELS:
            for stage in STAGES:
                p = make_problem(7, level, stage, source)
                assert grade(p, p.answer).solved
                assert not grade(p, p.answer + 1).right.any()
