"""The Train page's pure views: thinned curves, the layer × head grid, the probe parser and the probe's verdicts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attnviz.training.it_task import load_it_run
from attnviz.training.train import TrainConfig, train
from attnviz.training.views import curve_view, grid_view, history_view, parse_probe, probe_text, probe_view


@pytest.fixture(scope="module")
def run():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield train(steps=40, snapshot_every=20)
    torch.set_num_threads(threads)


def test_curve_view_keeps_short_curves_and_averages_long_ones():
    short = curve_view([3.0, 2.0, 1.0], [0, 3], [0.1, 0.9])
    assert short.loss_steps.tolist() == [1, 2, 3] and short.losses.tolist() == [3.0, 2.0, 1.0]
    losses = np.random.default_rng(0).random(1001)
    long = curve_view(losses, [], [])
    assert len(long.losses) <= 400 and long.loss_steps[-1] == 1001
    size = long.loss_steps[0]  # each point is the mean of `size` consecutive steps, ending at its x
    assert long.losses[0] == pytest.approx(losses[:size].mean())
    assert long.losses[-1] == pytest.approx(losses[long.loss_steps[-2] :].mean())


def test_grid_view_panels_are_layers_times_heads(run):
    snap = run.snapshots[-1]
    grid = grid_view(snap, run.config, run.probe)
    assert grid.stack.shape == (4, 8, 8) and grid.num_heads == 2
    assert grid.titles == ["layer 1 · head 1", "layer 1 · head 2", "layer 2 · head 1", "layer 2 · head 2"]
    np.testing.assert_array_equal(grid.stack[3], snap.weights[1, 1].numpy())
    assert grid.labels[0] == f"0 {int(run.probe[0])}" and len(set(grid.labels)) == 8


def test_history_view_names_every_head(run):
    history = history_view(run)
    assert history.steps == [0, 20, 40]
    assert list(history.entropy) == ["L1 H1", "L1 H2", "L2 H1", "L2 H2"]
    for series in (history.entropy, history.distance, history.answer):
        assert all(len(v) == 3 for v in series.values())
    # the answer share at step 0 is the untrained weight on the anti-diagonal of the probe
    w = run.snapshots[0].weights[1, 1]
    assert history.answer["L2 H2"][0] == pytest.approx(float(sum(w[i, 7 - i] for i in range(8)) / 8))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 2 3", "Type exactly 8 numbers"),
        ("1 2 3 4 5 6 7 10", "not: 10"),
        ("1 2 3 4 5 6 7 -1", "not: -1"),
        ("1 2 3 4 5 6 7 x", "not: x"),
        ("", "got 0"),
    ],
)
def test_parse_probe_rejects_bad_sequences(text, message):
    tokens, problem = parse_probe(text, TrainConfig().resolved())
    assert tokens is None and message in problem


def test_parse_probe_round_trips_and_accepts_commas():
    config = TrainConfig().resolved()
    tokens, problem = parse_probe("9, 8,7 6 5 4 3 2", config)
    assert problem == "" and tokens.tolist() == [9, 8, 7, 6, 5, 4, 3, 2]
    assert probe_text(config, tokens) == "9 8 7 6 5 4 3 2"


def test_parse_probe_for_it_names_unknown_words_and_wrong_lengths():
    config = TrainConfig(task="it").resolved()
    tokens, note = parse_probe("The zebra didn't cross the street because it was too tired", config)
    assert tokens is not None and tokens[1] == 0 and "“zebra”" in note
    tokens, note = parse_probe("the animal was tired", config)
    assert tokens is None and "exactly 11 words; this one has 4" in note


def test_probe_view_marks_right_and_wrong_against_the_rule(run):
    tokens = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7])
    view = probe_view(run, tokens)
    assert view.inputs == [str(i) for i in range(8)]
    assert view.expected == [str(i) for i in range(7, -1, -1)]
    predicted, _ = run.predict(tokens)
    assert view.outputs == [str(i) for i in predicted[0].tolist()]
    assert view.correct == [int(p) == 7 - i for i, p in enumerate(predicted[0].tolist())]
    assert view.score == (sum(view.correct), 8)


def test_probe_view_on_the_shipped_it_model_scores_only_it():
    it = load_it_run()
    tokens, _ = parse_probe("the dog didn't chase the cat because it was too fast", it.config)
    view = probe_view(it, tokens)
    assert view.expected[7] == "cat" and view.expected.count("") == 10
    assert view.correct[7] is True and view.score == (1, 1) and view.outputs[7] == "cat"


def test_it_view_labels_answers_and_refusals():
    from attnviz.training.views import it_view

    it = load_it_run()
    view = it_view("The dog didn't chase the cat because it was too fast", it)
    assert view.labels[7] == "7 it" and view.answers == {7: "cat"} and view.unknown == []
    assert view.stack.shape == (2, 11, 11) and view.titles == ["layer 1 · head 1", "layer 2 · head 1"]
    assert view.trained_length == 11
    with pytest.raises(ValueError, match="holds no words"):
        it_view("!!!", it)
    with pytest.raises(ValueError, match="has 300 words; the it-task model reads at most 256"):
        it_view("the " * 300, it)
