import numpy as np
import pytest
import torch

from attnviz import i18n
from attnviz.explain import (
    aligned_latex,
    dot_product_latex,
    fmt,
    join_list,
    join_sentences,
    softmax_latex,
    trained_contrast,
    vector_latex,
    weighted_sum_latex,
)


def test_fmt_has_no_negative_zero():
    assert fmt(-0.0001) == "0.00"
    assert fmt(-0.005, 3) == "-0.005"
    assert fmt(1.94) == "1.94"
    assert fmt(4.0) == "4" and fmt(-0.0) == "0"  # whole numbers as the tutorial writes them


def test_vector_latex():
    assert vector_latex([1, 2.5]) == r"\left[1,\ 2.50\right]"


def test_weighted_sum_of_the_tutorials_first_output():
    weights = torch.tensor([0.0634, 0.4683, 0.4683])
    values = torch.tensor([[1.0, 2, 3], [2, 8, 0], [2, 6, 3]])
    text = weighted_sum_latex("h_1", weights, values)
    assert text.startswith(r"\begin{aligned} h_1 &= 0.06\,v_{1} + 0.47\,v_{2} + 0.47\,v_{3} \\")
    assert r"&= 0.06\cdot\left[1,\ 2,\ 3\right] \\ &\quad + 0.47\cdot\left[2,\ 8,\ 0\right]" in text
    total = (weights.double() @ values.double()).numpy()
    assert text.endswith(rf"&= {vector_latex(total)} \end{{aligned}}")


def test_masked_weights_count_as_zero_and_shapes_are_checked():
    text = weighted_sum_latex("h", np.array([1.0, np.nan]), np.array([[1.0], [5.0]]), value_names=["a", "b"])
    assert r"&= \left[1\right] \end{aligned}" in text and r"0\,b" in text
    with pytest.raises(ValueError, match="do not fit"):
        weighted_sum_latex("h", np.ones(2), np.ones((3, 1)))


def test_dot_product_of_the_tutorials_q1_k2():
    assert dot_product_latex("s_{12}", [1, 0, 2], [4, 4, 0]) == r"s_{12} = 1\cdot4 + 0\cdot4 + 2\cdot0 = 4"
    with pytest.raises(ValueError, match="lengths 2 and 3"):
        dot_product_latex("s", [1, 2], [1, 2, 3])


def test_softmax_row_written_out():
    text = softmax_latex("w_1", torch.tensor([2.0, 4.0, 4.0]))
    assert text == (r"w_1 = \frac{[e^{2}, e^{4}, e^{4}]}{e^{2} + e^{4} + e^{4}} = \left[0.06,\ 0.47,\ 0.47\right]")


def test_softmax_with_masked_keys_and_fully_masked_rows():
    text = softmax_latex("w", torch.tensor([2.0, float("-inf"), 4.0]))
    assert text.endswith(r"= \left[0.12,\ 0,\ 0.88\right]") and "e^{2} + 0 + e^{4}" in text
    assert "every key is masked" in softmax_latex("w", torch.tensor([float("-inf")] * 2))


def test_softmax_of_huge_scores_does_not_overflow():
    assert softmax_latex("w", [1000.0, 1001.0]).endswith(r"\left[0.27,\ 0.73\right]")


def test_huge_numbers_are_written_in_scientific_notation():
    assert fmt(9007199254740991) == r"9.01\times10^{15}"  # not 9007199254740992.00 running off the screen
    assert fmt(-2.5e7) == r"-2.50\times10^{7}"
    assert fmt(999999.0) == "999999"
    assert dot_product_latex("s", [1e8], [2.0]).endswith(r"= 2.00\times10^{8}")


def test_the_it_sentence_is_computed_from_the_weights():
    tokens = ("it", "animal", "street")
    labels = ("0 it", "1 animal", "2 street")
    to_animal = np.array([[0.2, 0.7, 0.1], [1 / 3] * 3, [1 / 3] * 3])
    assert "also gives its largest weight (0.700) to “animal”" in trained_contrast(tokens, labels, to_animal)
    to_street = np.array([[0.2, 0.1, 0.7], [1 / 3] * 3, [1 / 3] * 3])
    text = trained_contrast(tokens, labels, to_street)
    assert "largest weight (0.700) to “2 street”" in text and "spread out" not in text
    assert trained_contrast(("a", "b"), ("0 a", "1 b"), np.eye(2)) == ""


def test_the_it_sentence_in_chinese_names_the_same_key():
    tokens = ("it", "animal", "street")
    labels = ("0 it", "1 animal", "2 street")
    to_street = np.array([[0.2, 0.1, 0.7], [1 / 3] * 3, [1 / 3] * 3])
    with i18n.use("zh"):
        text = trained_contrast(tokens, labels, to_street)
    assert text == (
        "在训练好的 Transformer 中，教程句子里的 “it” 主要关注 “animal”。"
        "这些随机投影什么也没有学到：这里 “it” 把最大的权重（0.700）给了 “2 street”。"
    )
    english = trained_contrast(tokens, labels, to_street)
    assert english.startswith("In a trained Transformer") and "“animal”. These random" in english


def test_sentences_and_lists_join_as_each_language_writes_them():
    assert join_sentences(["One.", "", "Two.", "Three."]) == "One. Two. Three."
    assert join_list(["a", "b", "c"]) == "a, b, c"
    assert join_sentences([]) == join_list([]) == ""
    with i18n.use("zh"):
        assert join_sentences(["一。", "二。", ""]) == "一。二。"
        assert join_list(["“a”", "“b”"]) == "“a”、“b”"
        assert join_list(["only"]) == "only"


def test_aligned_latex_puts_equations_under_each_other_at_their_first_equals_sign():
    rows = [dot_product_latex("s_{11}", [1, 0], [2, 3]), dot_product_latex("s_{12}", [1, 0], [4, 5])]
    assert aligned_latex(rows) == (
        r"\begin{aligned} s_{11} &= 1\cdot2 + 0\cdot3 = 2 \\ s_{12} &= 1\cdot4 + 0\cdot5 = 4 \end{aligned}"
    )
    with pytest.raises(ValueError, match="no ' = '"):
        aligned_latex(["x"])
