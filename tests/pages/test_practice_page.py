"""The Practice page: grading, hints, the solution on request, the teacher's link, and no hidden number on the page
before the solution is asked for (every element of the tree is read, as the browser would receive it)."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from attnviz import i18n
from attnviz.cells import hover_text
from attnviz.practice import make_problem
from tests.pages.conftest import ROOT, TIMEOUT, edit, markdown_bodies, open_page, step_headings
from tests.support.i18n import MISSING, assert_chinese

PAGE = "pages/10_Practice.py"


def _walk(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _walk(child)


def page_text(at: AppTest) -> str:
    """Everything the page sends to the browser, as text: every element's message, and every table's cells."""
    parts = []
    for node in _walk(at._tree):
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        value = getattr(node, "value", None) if node.type in ("dataframe", "table") else None
        if value is not None:
            parts.append(value.to_string())
    return "\n".join(parts)


def answer_strings(p) -> set[str]:
    """The hidden numbers as a page would print them (2 and 4 decimals), minus any that the given tables or the
    page's own sentences contain anyway (a small integer, a number also given)."""
    given = {f"{v:g}" for m, _, _ in p.given.values() for v in m.reshape(-1)}
    out = set()
    for v in p.answer.reshape(-1):
        for text in (f"{v:.2f}", hover_text(v).replace("\u2212", "-")):
            if not any(text in g for g in given) and len(text.lstrip("-")) >= 4:
                out.add(text)
    return out


def problem_on(at: AppTest):
    s = at.session_state  # the widgets hold codes, whatever the language
    return make_problem(int(s.practice_seed), s.practice_level, s.practice_stage, s.practice_source)


def type_answer(at: AppTest, p, values: np.ndarray) -> AppTest:
    rows = {i: {p.col_labels[j]: f"{values[i, j]:.4f}" for j in range(values.shape[1])} for i in range(values.shape[0])}
    return edit(at, f"practice_answer_{p.id}", rows)


@pytest.fixture
def at():
    return open_page(PAGE)


def open_in(lang: str, params: dict[str, str] | None = None) -> AppTest:
    """A new session of the page in ``lang`` (``?lang=…`` in the address, with ``params``)."""
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=TIMEOUT)
    for name, value in {**(params or {}), "lang": lang}.items():
        at.query_params[name] = value
    return at.run()


def test_smoke_shows_the_given_matrices_and_a_blank_grid(at):
    assert not at.exception
    p = problem_on(at)
    assert len(at.dataframe) == len(p.given) + 1  # the given tables and the answer grid
    editor = at.dataframe[-1].value
    assert (editor.to_numpy() == "").all() and editor.shape == p.answer.shape


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("stage", ["scaled", "weights", "output"])
def test_no_hidden_number_is_on_the_page_until_the_solution_is_asked_for(stage, lang):
    at = open_in(lang)
    at.selectbox(key="practice_stage").set_value(stage).run()
    p = problem_on(at)
    hidden = answer_strings(p)
    assert len(hidden) >= 3, hidden  # the check below checks something
    text = page_text(at)
    assert not [h for h in hidden if h in text]
    at.button(key="practice_hint").click().run()  # a hint reveals a term, not a cell
    at.button(key="practice_show").click().run()
    text = page_text(at)
    assert all(h in text for h in {hover_text(v).replace("\u2212", "-") for v in p.answer.reshape(-1)} & hidden)


def test_right_answers_are_graded_right_and_counted_once(at):
    p = problem_on(at)
    at = type_answer(at, p, np.round(p.answer, 2))
    at.button(key="practice_check").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["All right!"]
    at.button(key="practice_check").click().run()
    assert at.sidebar.get("metric")[0].proto.body == "1 / 1"


def test_a_wrong_cell_is_marked_and_the_tolerance_holds(at):
    p = problem_on(at)
    typed = np.round(p.answer, 2)
    typed[0, 0] += 0.02  # outside 0.01
    typed[1, 1] = p.answer[1, 1] + 0.009  # inside
    at = type_answer(at, p, typed)
    at.button(key="practice_check").click().run()
    assert f"{p.answer.size - 1} of {p.answer.size} cells right" in at.warning[0].value
    marks = at.dataframe[-1].value
    assert marks.iloc[0, 0] == "✗" and marks.iloc[1, 1] == "✓"
    assert at.sidebar.get("metric")[0].proto.body == "0 / 1"


def test_a_blank_cell_is_wrong_not_an_error(at):
    p = problem_on(at)
    at = type_answer(at, p, np.round(p.answer, 2))
    at.session_state[f"practice_answer_{p.id}"]["edited_rows"][0][p.col_labels[0]] = ""
    at.run()
    at.button(key="practice_check").click().run()
    assert not at.error
    assert at.dataframe[-1].value.iloc[0, 0] == "✗"


def test_hints_reveal_one_term_at_a_time_of_the_first_wrong_cell(at):
    p = problem_on(at)
    at.button(key="practice_hint").click().run()
    assert len(at.info) == 1 and at.info[0].value.startswith(f"Cell ({p.row_labels[0]}, {p.col_labels[0]}), term 1 of")
    at.button(key="practice_hint").click().run()
    assert "term 2 of" in at.info[1].value
    typed = np.round(p.answer, 2)
    typed[1, 0] += 1
    at = type_answer(at, p, typed)
    at.button(key="practice_check").click().run()
    at.button(key="practice_hint").click().run()
    assert at.info[-1].value.startswith(f"Cell ({p.row_labels[1]}, {p.col_labels[0]}), term 1 of")


def test_a_teachers_link_sets_the_exercise_and_the_teacher_option_writes_it():
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=TIMEOUT)
    for name, value in {"seed": "7", "level": "hard", "stage": "weights", "source": "worked"}.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception
    p = make_problem(7, "hard", "weights", "worked")
    assert problem_on(at).id == p.id
    shown = at.dataframe[0].value.to_numpy()
    np.testing.assert_array_equal(shown, [[f"{v:g}" for v in row] for row in next(iter(p.given.values()))[0]])
    at.checkbox(key="practice_teacher").check().run()
    assert "?seed=7&level=hard&stage=weights&source=worked" in [c.value for c in at.code]


def test_a_bad_link_value_is_named_and_the_page_still_works():
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=TIMEOUT)
    at.query_params["seed"] = "abc"
    at.query_params["level"] = "expert"
    at.run()
    assert not at.exception
    errors = "\n".join(e.value for e in at.error)
    assert "The link's `seed='abc'` is not valid (a whole number from 0 to 4294967295)" in errors
    assert "`level='expert'` is not valid (one of `easy`, `medium`, `hard`)" in errors
    assert errors.count("the page's own settings are used") == 2  # said once per problem
    assert at.session_state.practice_seed == 0


def test_new_problem_moves_to_the_next_seed(at):
    next_button = next(b for b in at.sidebar.button if b.label == "New problem")
    next_button.click().run()
    assert at.session_state.practice_seed == 1


# ------------------------------------------------------------------------------------------------ in Chinese


def test_in_chinese_a_wrong_then_right_answer_a_hint_and_the_solution():
    MISSING.clear()
    at = open_in("zh", {"seed": "3", "level": "medium", "stage": "weights", "source": "random"})
    with i18n.use("zh"):  # a rerun formats the options in this thread: as the page drew them
        assert not at.exception
        p = problem_on(at)
        assert at.title[0].value == "练习"
        task = "计算注意力权重：对给出的注意力分数逐行做 softmax（保留 2 位小数）。与精确值相差不超过 0.01 即算对。"
        assert task in markdown_bodies(at)
        typed = np.round(p.answer, 2)
        typed[0, 1] += 0.5
        at = type_answer(at, p, typed)
        at.button(key="practice_check").click().run()
        assert [w.value for w in at.warning] == [
            f"{p.answer.size} 格中对了 {p.answer.size - 1} 格。标 ✗ 的格子需要再看一看。"
        ]
        at.button(key="practice_hint").click().run()
        hint = at.info[-1].value
        assert hint.startswith(
            f"单元格 ({p.row_labels[0]}, {p.col_labels[1]})，第 1 项（共 {p.answer.shape[1]} 项）：e^(z1 − max)"
        )
        at = type_answer(at, p, np.round(p.answer, 2))
        at.button(key="practice_check").click().run()
        assert [s.value for s in at.success] == ["全部正确！"]
        assert at.sidebar.get("metric")[0].label == "得分" and at.sidebar.get("metric")[0].proto.body == "1 / 1"
        at.button(key="practice_show").click().run()
        assert "3. 答案" in step_headings(at)
        assert len(at.latex) == p.answer.size
        assert not at.exception
        assert_chinese(at)


def test_in_chinese_a_hint_of_a_two_head_problem_names_the_head():
    MISSING.clear()
    at = open_in("zh", {"seed": "0", "level": "hard", "stage": "concat", "source": "worked"})
    with i18n.use("zh"):  # a rerun formats the options in this thread: as the page drew them
        at.button(key="practice_hint").click().run()
        assert "：头 0：a1,1·v1[1] = " in at.info[0].value
        assert "**A₀**" in [m.value for m in at.markdown]
        assert_chinese(at)


def test_switching_the_language_keeps_the_exercise_and_the_teachers_link():
    MISSING.clear()
    at = open_in("zh")
    with i18n.use("zh"):  # a rerun formats the options in this thread: as the page drew them
        at.radio(key="practice_level").set_value("hard").run()
        at.selectbox(key="practice_stage").set_value("output").run()
        at.radio(key="practice_source").set_value("worked").run()
        at.checkbox(key="practice_teacher").check().run()
        assert not at.exception
        link = "?seed=0&level=hard&stage=output&source=worked"
        assert [c.value for c in at.code] == [link]
        zh_labels = at.radio(key="practice_level").options
        assert "困难：softmax、输出、两个头（随机：3–4 个词元）" in zh_labels
        assert_chinese(at)
    zh_address = dict(at.query_params)
    at.radio(key="lang_switch").set_value("en").run()
    assert not at.exception
    assert (at.session_state.practice_level, at.session_state.practice_stage) == ("hard", "output")
    assert at.session_state.practice_source == "worked"
    assert [c.value for c in at.code] == [link]
    assert "lang" in zh_address
    shared = {name: value for name, value in zh_address.items() if name != "lang"}
    assert set(shared) == {"seed", "level", "stage", "source"}
    assert dict(at.query_params) == shared  # the same exercise link, the language's own parameter dropped
    assert at.radio(key="practice_level").value == "hard"
    assert "Hard: softmax, outputs, two heads (random: 3–4 tokens)" in at.radio(key="practice_level").options


def test_in_chinese_a_bad_link_is_named_in_chinese():
    MISSING.clear()
    at = open_in("zh", {"seed": "abc", "level": "expert"})
    assert not at.exception
    errors = "\n".join(e.value for e in at.error)
    assert "链接中的 `seed='abc'` 无效（应为 0 到 4294967295 之间的整数）——使用页面自己的设置。" in errors
    assert "`level='expert'` 无效（应为 `easy`、`medium`、`hard` 之一）" in errors
    assert_chinese(at)  # the link's own words are shown as code
