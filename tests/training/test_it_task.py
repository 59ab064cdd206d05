"""The shipped "it" weights load, answer every held-out sentence, send "it" to the right noun as measured, and are
what the fixed-seed script trains."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attnviz.training import tasks
from attnviz.training.it_task import IT_CONFIG, encode_words, heldout_sentences, load_it_run, referent_hits
from attnviz.training.tasks import IT_VOCAB
from attnviz.training.train import TrainConfig, train_config


@pytest.fixture(scope="module")
def shipped():
    return load_it_run()


def test_shipped_weights_load_with_their_recipe(shipped):
    assert shipped.config == IT_CONFIG.resolved()
    assert shipped.steps_done == IT_CONFIG.steps and not shipped.stopped


def test_shipped_weights_answer_and_point_at_the_right_noun(shipped):
    result = referent_hits(shipped)
    assert result["accuracy"] == 1.0  # all 268 held-out sentences
    # Measured when the weights were made (python -m attnviz.training.it_task): the last layer's head puts its
    # largest weight from "it" on the right noun in 214 of 268 held-out sentences (79.9 %), mean weight 0.77.
    assert float(result["hits"][-1, 0]) == pytest.approx(214 / 268)
    assert float(result["weight"][-1, 0]) == pytest.approx(0.773, abs=0.001)
    assert float(result["hits"][0, 0]) < 0.5  # the first layer does something else


def test_heldout_sentences_are_the_grammars_eval_split():
    inputs, positions = heldout_sentences()
    assert inputs.shape == (268, 11) and set(positions.tolist()) == {1, 5}
    train_x, _ = tasks.get_task("it").batch(3000, 11, len(IT_VOCAB), torch.Generator().manual_seed(0))
    assert not {tuple(r) for r in inputs.tolist()} & {tuple(r) for r in train_x.tolist()}


def test_the_seed_sentence_both_ways(shipped):
    for adjective, expected in (("tired", "animal"), ("wide", "street")):
        ids, unknown = encode_words(f"The animal didn't cross the street because it was too {adjective}.")
        assert unknown == []
        predicted, weights = shipped.predict(torch.tensor([ids]))
        assert IT_VOCAB[int(predicted[0, 7])] == expected
        it_row = weights[0, -1, 0, 7]  # last layer, the head, row of "it"
        assert IT_VOCAB[ids[int(it_row.argmax())]] == expected


def test_the_script_reproduces_the_shipped_curve(shipped):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        start = train_config(TrainConfig(**{**IT_CONFIG.__dict__, "steps": 30}))
    finally:
        torch.set_num_threads(threads)
    # Not bitwise: float32 kernels differ by CPU (AVX2 vs AVX-512 sum in other orders), so the same script's losses
    # agree in their first ~6 digits on another machine (measured: relative differences up to ~2e-7 in 30 steps).
    np.testing.assert_allclose(start.losses, shipped.losses[:30], rtol=1e-5)


def test_encode_words_names_unknown_words():
    ids, unknown = encode_words("The zebra didn't cross the street because it was too striped!")
    assert unknown == ["zebra", "striped"] and ids[1] == 0 and ids[-1] == 0
    assert [IT_VOCAB[i] for i in ids][2:10] == ["didn't", "cross", "the", "street", "because", "it", "was", "too"]


def test_it_attention_is_the_last_layers_head_and_matches_the_model(shipped):
    from attnviz.training.it_task import it_attention

    text = "The dog didn't catch the cat because it was too quick"
    result = it_attention(text, run=shipped)
    assert result.words[1] == "dog" and result.unknown == [] and result.answers == {7: "cat"}
    ids, _ = encode_words(text)
    _, weights = shipped.predict(torch.tensor([ids]))
    torch.testing.assert_close(result.trace.weights, weights[0, -1, 0])
    torch.testing.assert_close(result.trace.weights.sum(-1), torch.ones(11))


def test_it_attention_runs_other_lengths_and_names_problems(shipped):
    from attnviz.training.it_task import it_attention

    result = it_attention("the zebra was tired", run=shipped)
    assert result.words == ["the", "<unk>", "was", "tired"] and result.unknown == ["zebra"]
    assert result.trace.weights.shape == (4, 4) and result.answers == {}
    with pytest.raises(ValueError, match="holds no words"):
        it_attention("  ...  ", run=shipped)
    with pytest.raises(ValueError, match="layer=5, head=0 is outside the model's 2 layers × 1 heads"):
        it_attention("it", run=shipped, layer=5)
