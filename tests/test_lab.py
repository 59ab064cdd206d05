"""The lab's inputs: the worked example's printed Q, K, V; unit-variance random rows; errors that name the value."""

from __future__ import annotations

import pytest
import torch

from attnviz.examples import WORKED_EXAMPLE_PRINTED
from attnviz.lab import LAB_MAX_TOKENS, lab_inputs
from attnviz.tokens import embed


def test_worked_example_gives_the_printed_q_k_v():
    inputs = lab_inputs("worked example")
    for name in ("query", "key", "value"):
        assert getattr(inputs, name).tolist() == WORKED_EXAMPLE_PRINTED[name]
    assert inputs.tokens == ("x1", "x2", "x3") and inputs.d_k == 3


def test_sentence_uses_the_token_embeddings():
    inputs = lab_inputs("sentence", sentence="the cat sat", d_k=8, seed=3)
    assert inputs.tokens == ("the", "cat", "sat")
    assert torch.equal(inputs.x, embed(["the", "cat", "sat"], 8, seed=3, dtype=torch.float64))
    assert torch.allclose(inputs.query, inputs.x @ inputs.w_q)


def test_random_rows_have_unit_variance_q_and_k():
    inputs = lab_inputs("random", t=64, d_k=512, seed=0)
    assert inputs.query.shape == (64, 512)
    assert inputs.query.var().item() == pytest.approx(1.0, rel=0.1)
    assert inputs.key.var().item() == pytest.approx(1.0, rel=0.1)
    assert torch.equal(lab_inputs("random", t=4, d_k=3, seed=1).x, lab_inputs("random", t=4, d_k=3, seed=1).x)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"source": "nope"}, "source must be one of"),
        ({"source": "random", "d_k": 0}, "d_k=0 must be a whole number between 1 and 1024"),
        ({"source": "random", "d_k": 2048}, "d_k=2048"),
        ({"source": "random", "t": 0}, "t=0"),
        ({"source": "sentence", "sentence": "   "}, "no tokens"),
        ({"source": "sentence", "sentence": "a " * (LAB_MAX_TOKENS + 1)}, f"{LAB_MAX_TOKENS + 1} tokens"),
    ],
)
def test_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        lab_inputs(**kwargs)
