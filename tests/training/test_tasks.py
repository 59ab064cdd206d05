"""Each task's generator against a brute-force answer written with plain Python loops."""

from __future__ import annotations

import pytest
import torch

from attnviz.training import tasks
from attnviz.training.tasks import IGNORE, IT_VOCAB, TASKS, get_task


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _brute_reverse(xs: list[int]) -> list[int]:
    return [xs[len(xs) - 1 - i] for i in range(len(xs))]


def _brute_sort(xs: list[int]) -> list[int]:
    out = list(xs)
    for i in range(len(out)):  # selection sort: output i is the token of rank i
        j = min(range(i, len(out)), key=lambda k: out[k])
        out[i], out[j] = out[j], out[i]
    return out


def _brute_shift(xs: list[int]) -> list[int]:
    return [xs[(i - tasks.SHIFT) % len(xs)] for i in range(len(xs))]


def _brute_follow(xs: list[int], vocab: int) -> list[int]:
    out = []
    for i, token in enumerate(xs):
        answer = vocab
        for j in range(i - 1, -1, -1):
            if xs[j] == token:
                answer = xs[j + 1]
                break
        out.append(answer)
    return out


@pytest.mark.parametrize(
    ("name", "brute"),
    [("reverse", _brute_reverse), ("sort", _brute_sort), ("shift", _brute_shift), ("follow", None)],
)
@pytest.mark.parametrize(("seq_len", "vocab"), [(3, 2), (8, 10), (13, 4)])
def test_generators_match_brute_force(name, brute, seq_len, vocab):
    x, y = get_task(name).batch(200, seq_len, vocab, _gen(seq_len * 100 + vocab))
    assert x.shape == y.shape == (200, seq_len) and x.dtype == y.dtype == torch.int64
    assert int(x.min()) >= 0 and int(x.max()) < vocab
    for xs, ys in zip(x.tolist(), y.tolist(), strict=True):
        expected = _brute_follow(xs, vocab) if name == "follow" else brute(xs)
        assert ys == expected


def test_follow_has_both_kinds_of_answer():
    _, y = get_task("follow").batch(100, 10, 5, _gen())
    none = (y == 5).float().mean()
    assert 0.1 < none < 0.9  # a useful mix of "no earlier occurrence" and real answers


def test_same_seed_same_batches_different_seed_different():
    for task in TASKS.values():
        a = task.batch(16, task.default_seq_len, task.default_vocab, _gen(3))
        b = task.batch(16, task.default_seq_len, task.default_vocab, _gen(3))
        c = task.batch(16, task.default_seq_len, task.default_vocab, _gen(4))
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
        assert not torch.equal(a[0], c[0])


def _words(ids: list[int]) -> list[str]:
    return [IT_VOCAB[i] for i in ids]


@pytest.mark.parametrize("split", ["train", "eval"])
def test_it_sentences_and_referents(split):
    x, y = get_task("it").batch(300, 11, len(IT_VOCAB), _gen(5), split)
    subject_answers = 0
    for ids, targets in zip(x.tolist(), y.tolist(), strict=True):
        words = _words(ids)
        assert words[0] == "the" and words[2] == "didn't" and words[6:10] == ["because", "it", "was", "too"]
        subject, verb, obj, adjective = words[1], words[3], words[5], words[10]
        assert subject != obj and subject in tasks.IT_ANIMALS
        if verb == "cross":
            assert obj in tasks.IT_PLACES
        if verb in ("chase", "catch", "follow"):
            assert obj in tasks.IT_ANIMALS
        # Brute force: a subject-side adjective (why the subject did not act) points back to the subject.
        reasons_of_subject = {"tired", "lazy", "slow", "sleepy", "scared"}
        expected = subject if adjective in reasons_of_subject else obj
        if obj in tasks.IT_PLACES and adjective not in reasons_of_subject:
            assert adjective in {"wide", "long", "busy"}
        assert [t for i, t in enumerate(targets) if i != 7] == [IGNORE] * 10
        assert IT_VOCAB[targets[7]] == expected
        subject_answers += expected == subject
    assert 0.35 < subject_answers / 300 < 0.65


def test_it_eval_sentences_are_held_out_of_training():
    train_x, _ = get_task("it").batch(4000, 11, len(IT_VOCAB), _gen(1), "train")
    eval_x, _ = get_task("it").batch(1000, 11, len(IT_VOCAB), _gen(2), "eval")
    train_set = {tuple(r) for r in train_x.tolist()}
    eval_set = {tuple(r) for r in eval_x.tolist()}
    assert eval_set and not train_set & eval_set
    assert len(tasks._it_grammar()) == 1344  # 6 subjects × verbs' objects × adjectives, counted by hand below
    # cross: 6 × 4 places × 8 adjectives; chase/catch/follow: 3 × 6 × 5 × 8; pass: 6 × (5 + 4) × 8
    assert 6 * 4 * 8 + 3 * 6 * 5 * 8 + 6 * 9 * 8 == 1344


def test_probe_is_fixed_and_the_seed_sentence_for_it():
    for task in TASKS.values():
        a = task.probe(task.default_seq_len, task.default_vocab)
        assert a.shape == (task.default_seq_len,)
        assert torch.equal(a, task.probe(task.default_seq_len, task.default_vocab))
    reverse = get_task("reverse").probe(8, 10)
    assert len(set(reverse.tolist())) == 8  # distinct tokens: each output has one right input
    it = get_task("it").probe(11, len(IT_VOCAB))
    assert _words(it.tolist()) == [
        "the",
        "animal",
        "didn't",
        "cross",
        "the",
        "street",
        "because",
        "it",
        "was",
        "too",
        "tired",
    ]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: get_task("nope"), "task='nope' is not one of reverse"),
        (lambda: get_task("reverse").batch(4, 1, 10, _gen()), "seq_len=1 is outside 2–32"),
        (lambda: get_task("sort").batch(4, 8, 100, _gen()), "vocab=100 is outside 2–64"),
        (lambda: get_task("it").batch(4, 12, len(IT_VOCAB), _gen()), "seq_len=12 is outside 11–11"),
        (lambda: get_task("reverse").batch(0, 8, 10, _gen()), "batch_size=0 must be a positive integer"),
        (lambda: get_task("reverse").batch(4, 8, 10, _gen(), "test"), "split='test'"),
        (lambda: get_task("reverse").batch(4, 8.0, 10, _gen()), "seq_len=8.0"),
    ],
)
def test_bad_sizes_name_the_argument(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_the_shift_tasks_texts_name_its_offset():
    """The shift task's texts are catalog messages (literal text): they must say the offset SHIFT really is."""
    from attnviz.training.tasks import SHIFT

    task = TASKS["shift"]
    assert task.title == f"Shift by {SHIFT}"
    assert f"moved {SHIFT} places right" in task.description and f"(i − {SHIFT}) mod T" in task.description
    assert f"j = i − {SHIFT}" in task.look_for
    x = torch.arange(8)[None]
    assert task.targets(x, 10)[0, SHIFT].item() == 0  # output i is input i − SHIFT
