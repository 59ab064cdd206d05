"""Toy sequence tasks whose solution needs a visible attention pattern, each a seeded batch generator.

Every task maps an input sequence of token ids ``(B, T)`` to a target per position ``(B, T)``; a target of
:data:`IGNORE` (-100, as ``nn.CrossEntropyLoss`` ignores it) means "no answer expected here". Generators take a
``torch.Generator`` so the same seed gives the same batches.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from attnviz.i18n import N_
from attnviz.i18n import gettext as _

__all__ = [
    "IGNORE",
    "IT_ADJECTIVES_OBJECT",
    "IT_ADJECTIVES_SUBJECT",
    "IT_NOUNS",
    "IT_VERBS",
    "IT_VOCAB",
    "TASKS",
    "Task",
    "get_task",
    "it_sentence",
]

IGNORE = -100
"""Target at a position with nothing to predict (``nn.CrossEntropyLoss``'s ``ignore_index``)."""
PROBE_SEED = 20240


@dataclass(frozen=True)
class Task:
    """A toy task: its generator, sizes it accepts and what its trained attention should look like.

    ``title``, ``description`` and ``look_for`` are English catalog messages: show them as ``_(task.title)``."""

    name: str
    title: str
    description: str
    look_for: str
    generate: Callable[[int, int, int, torch.Generator, str], tuple[Tensor, Tensor]]
    answer: Callable[[Tensor, int], Tensor]  # (inputs (B, T), vocab) -> targets (B, T): the rule itself
    num_classes: Callable[[int], int]  # vocab -> number of output classes
    seq_len_range: tuple[int, int]
    vocab_range: tuple[int, int]
    default_seq_len: int
    default_vocab: int
    default_steps: int = 400
    fixed_sizes: bool = False  # the "it" task: its sentence length and vocabulary are set by the grammar

    def batch(
        self, batch_size: int, seq_len: int, vocab: int, generator: torch.Generator, split: str = "train"
    ) -> tuple[Tensor, Tensor]:
        """``(inputs, targets)``, both ``(batch_size, seq_len)`` int64, after checking the sizes.

        ``split="eval"`` draws held-out examples where the task has a fixed set of them (the "it" task holds out
        every 5th sentence of its grammar); the other tasks draw fresh random sequences either way.
        """
        self.check_sizes(seq_len, vocab)
        batch_size = _positive_int("batch_size", batch_size)
        if split not in ("train", "eval"):
            raise ValueError(f"split={split!r} must be 'train' or 'eval'")
        return self.generate(batch_size, seq_len, vocab, generator, split)

    def probe(self, seq_len: int, vocab: int) -> Tensor:
        """The fixed input ``(seq_len,)`` whose attention the training run records."""
        self.check_sizes(seq_len, vocab)
        if self.name == "it":
            return torch.tensor([_ID[w] for w in it_sentence("animal", "cross", "street", "tired")])
        generator = torch.Generator().manual_seed(PROBE_SEED)
        if self.name in ("reverse", "shift") and vocab >= seq_len:  # distinct tokens: every arrow is unambiguous
            return torch.randperm(vocab, generator=generator)[:seq_len]
        return self.generate(1, seq_len, vocab, generator, "eval")[0][0]

    def targets(self, inputs: Tensor, vocab: int) -> Tensor:
        """The right answer ``(B, T)`` (or ``(T,)``) for any ``inputs`` of that shape, e.g. a learner's probe."""
        inputs = torch.as_tensor(inputs)
        single = inputs.dim() == 1
        out = self.answer(inputs.unsqueeze(0) if single else inputs, vocab)
        return out[0] if single else out

    def check_sizes(self, seq_len: int, vocab: int) -> None:
        """ValueError naming the argument when ``seq_len`` or ``vocab`` is outside this task's range."""
        for name, value, (low, high) in (("seq_len", seq_len, self.seq_len_range), ("vocab", vocab, self.vocab_range)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= value <= high:
                raise ValueError(
                    _("{name}={value} is outside {low}–{high} for the {task} task").format(
                        name=name, value=repr(value), low=low, high=high, task=repr(self.name)
                    )
                )

    def token_names(self, vocab: int) -> list[str]:
        """Display name of each input token id."""
        if self.name == "it":
            return list(IT_VOCAB)
        return [str(i) for i in range(vocab)]

    def class_names(self, vocab: int) -> list[str]:
        """Display name of each output class."""
        if self.name == "follow":
            return [*self.token_names(vocab), "·"]
        return self.token_names(vocab)


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name}={value!r} must be a positive integer")
    return int(value)


def _reverse(x: Tensor, vocab: int) -> Tensor:
    return x.flip(-1)


def _sort(x: Tensor, vocab: int) -> Tensor:
    return x.sort(dim=-1).values


SHIFT = 2
"""The shift task's offset: output i is input (i − 2) mod T."""


def _shift(x: Tensor, vocab: int) -> Tensor:
    return x.roll(SHIFT, dims=-1)


def _follow(x: Tensor, vocab: int) -> Tensor:
    """Target i: the token right after the latest earlier occurrence of token i, or class ``vocab`` ("·") if none."""
    seq_len = x.shape[-1]
    same = x.unsqueeze(-1) == x.unsqueeze(-2)  # (B, T_i, T_j): x_j == x_i
    earlier = torch.ones(seq_len, seq_len, dtype=torch.bool).tril(-1)  # j < i
    positions = torch.arange(seq_len)
    last = torch.where(same & earlier, positions, -1).amax(dim=-1)  # (B, T): latest such j, -1 if none
    after = x.gather(-1, (last + 1).clamp(max=seq_len - 1))  # (B, T)
    return torch.where(last >= 0, after, torch.full_like(x, vocab))


def _random_task(answer: Callable[[Tensor, int], Tensor]):
    def generate(batch_size: int, seq_len: int, vocab: int, generator: torch.Generator, split: str):
        x = torch.randint(0, vocab, (batch_size, seq_len), generator=generator)  # (B, T)
        return x, answer(x, vocab)

    return generate


# "What does *it* refer to?" — seed 003's sentence, "The animal didn't cross the street because it was too tired",
# as a grammar. Subject-side adjectives say why the subject did not act; object-side ones describe the object, so the
# adjective decides whether "it" is the subject or the object. Both nouns are often animals ("the dog didn't chase
# the cat because it was too fast"), so the kind of noun alone does not give the answer.
IT_ANIMALS = ("animal", "dog", "cat", "horse", "fox", "bird")
IT_PLACES = ("street", "road", "river", "bridge")
IT_NOUNS = IT_ANIMALS + IT_PLACES
IT_VERBS = ("cross", "chase", "catch", "follow", "pass")
_VERB_OBJECTS = {"cross": IT_PLACES, "chase": IT_ANIMALS, "catch": IT_ANIMALS, "follow": IT_ANIMALS, "pass": IT_NOUNS}
IT_ADJECTIVES_SUBJECT = ("tired", "lazy", "slow", "sleepy", "scared")
IT_ADJECTIVES_OBJECT_ANIMAL = ("fast", "quick", "clever")
IT_ADJECTIVES_OBJECT_PLACE = ("wide", "long", "busy")
IT_ADJECTIVES_OBJECT = IT_ADJECTIVES_OBJECT_ANIMAL + IT_ADJECTIVES_OBJECT_PLACE
IT_FUNCTION_WORDS = ("the", "didn't", "because", "it", "was", "too")
IT_VOCAB = ("<unk>", *IT_FUNCTION_WORDS, *IT_NOUNS, *IT_VERBS, *IT_ADJECTIVES_SUBJECT, *IT_ADJECTIVES_OBJECT)
"""Token ids of the "it" task: index = id. ``<unk>`` (0) stands for any word outside the vocabulary."""
IT_SEQ_LEN = 11
IT_POSITION = 7  # the N1 didn't V the N2 because [it] was too ADJ
IT_SUBJECT_POSITION = 1
IT_OBJECT_POSITION = 5
IT_HELDOUT_EVERY = 5
"""Every 5th sentence of the grammar (in a fixed order) is held out of training and used for evaluation."""
_ID = {word: i for i, word in enumerate(IT_VOCAB)}


def it_sentence(subject: str, verb: str, obj: str, adjective: str) -> list[str]:
    """``the <subject> didn't <verb> the <obj> because it was too <adjective>`` as its 11 words."""
    return ["the", subject, "didn't", verb, "the", obj, "because", "it", "was", "too", adjective]


def it_referent(subject: str, obj: str, adjective: str) -> str:
    """The noun "it" refers to: the subject for a subject-side adjective (tired), else the object (wide, fast)."""
    if adjective in IT_ADJECTIVES_SUBJECT:
        return subject
    if adjective in IT_ADJECTIVES_OBJECT:
        return obj
    raise ValueError(f"adjective={adjective!r} is not in the it-task vocabulary")


def _it_grammar() -> list[tuple[str, str, str, str]]:
    """Every sentence the grammar allows, as (subject, verb, object, adjective), in a fixed order."""
    sentences = []
    for verb, objects in _VERB_OBJECTS.items():
        for subject in IT_ANIMALS:
            for obj in objects:
                if obj == subject:
                    continue
                object_side = IT_ADJECTIVES_OBJECT_PLACE if obj in IT_PLACES else IT_ADJECTIVES_OBJECT_ANIMAL
                for adjective in IT_ADJECTIVES_SUBJECT + object_side:
                    sentences.append((subject, verb, obj, adjective))
    return sentences


def _it_tables() -> dict[tuple[str, bool], Tensor]:
    """Token ids ``(N, 11)`` per (split, referent is the subject)."""
    tables: dict[tuple[str, bool], list[list[int]]] = {}
    for index, (subject, verb, obj, adjective) in enumerate(_it_grammar()):
        split = "eval" if index % IT_HELDOUT_EVERY == IT_HELDOUT_EVERY - 1 else "train"
        ids = [_ID[w] for w in it_sentence(subject, verb, obj, adjective)]
        tables.setdefault((split, adjective in IT_ADJECTIVES_SUBJECT), []).append(ids)
    return {key: torch.tensor(rows) for key, rows in tables.items()}


_IT_TABLES = _it_tables()


def _it(batch_size: int, seq_len: int, vocab: int, generator: torch.Generator, split: str) -> tuple[Tensor, Tensor]:
    """Sentences of the grammar (half with "it" = subject); target: the referent's id at "it", IGNORE elsewhere."""
    subject_side = torch.rand(batch_size, generator=generator) < 0.5  # (B,)
    x = torch.empty(batch_size, IT_SEQ_LEN, dtype=torch.long)
    for side in (True, False):
        table = _IT_TABLES[(split, side)]
        rows = torch.randint(0, len(table), (batch_size,), generator=generator)
        x[subject_side == side] = table[rows[subject_side == side]]
    return x, _it_answer(x, len(IT_VOCAB))


_SUBJECT_SIDE_IDS = torch.tensor([_ID[w] for w in IT_ADJECTIVES_SUBJECT])
_OBJECT_SIDE_IDS = torch.tensor([_ID[w] for w in IT_ADJECTIVES_OBJECT])


def _it_answer(x: Tensor, vocab: int) -> Tensor:
    """At "it" (position 7): the subject after a subject-side adjective, the object after an object-side one;
    IGNORE everywhere else, and at "it" when the last word is no adjective of the grammar."""
    target = torch.full_like(x, IGNORE)
    adjective = x[:, -1]
    subject = torch.isin(adjective, _SUBJECT_SIDE_IDS)
    obj = torch.isin(adjective, _OBJECT_SIDE_IDS)
    referent = torch.where(subject, x[:, IT_SUBJECT_POSITION], x[:, IT_OBJECT_POSITION])
    target[:, IT_POSITION] = torch.where(subject | obj, referent, torch.full_like(referent, IGNORE))
    return target


TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        Task(
            name="reverse",
            title=N_("Reverse"),
            description=N_("Output the input backwards: output i is input T−1−i."),
            look_for=N_(
                "An anti-diagonal: output position i attends to input position T−1−i, whatever the tokens are."
            ),
            generate=_random_task(_reverse),
            answer=_reverse,
            num_classes=lambda vocab: vocab,
            seq_len_range=(2, 32),
            vocab_range=(2, 64),
            default_seq_len=8,
            default_vocab=10,
        ),
        Task(
            name="sort",
            title=N_("Sort"),
            description=N_("Output the input sorted ascending: output i is the token of rank i."),
            look_for=N_(
                "Content, not position: output i attends to the input token of rank i, so each row's bright cell "
                "moves with the probe's values (small tokens draw the left outputs)."
            ),
            generate=_random_task(_sort),
            answer=_sort,
            num_classes=lambda vocab: vocab,
            seq_len_range=(2, 32),
            vocab_range=(2, 64),
            default_seq_len=8,
            default_vocab=10,
            default_steps=800,
        ),
        Task(
            name="shift",
            title=N_("Shift by 2"),  # SHIFT places (tests/training/test_tasks.py checks the texts' numbers)
            description=N_("Copy the input moved 2 places right, wrapping around: output i is input (i − 2) mod T."),
            look_for=N_("A diagonal shifted 2 places left of the main one (j = i − 2), wrapping at the top."),
            generate=_random_task(_shift),
            answer=_shift,
            num_classes=lambda vocab: vocab,
            seq_len_range=(3, 32),
            vocab_range=(2, 64),
            default_seq_len=8,
            default_vocab=10,
        ),
        Task(
            name="follow",
            title=N_("What came next last time?"),
            description=N_(
                "For each token, output the token that followed its latest earlier occurrence (· when it has none): "
                "an induction task that needs content, not position."
            ),
            look_for=N_(
                "Two steps: one head looks one place back (a diagonal just below the main one), a later head looks "
                "at the position right after the previous copy of the current token."
            ),
            generate=_random_task(_follow),
            answer=_follow,
            num_classes=lambda vocab: vocab + 1,
            seq_len_range=(3, 32),
            vocab_range=(2, 64),
            default_seq_len=10,
            default_vocab=5,
            default_steps=1500,
        ),
        Task(
            name="it",
            title=N_("What does “it” refer to?"),
            description=N_(
                "Sentences like “the animal didn't cross the street because it was too tired / wide”: at “it”, "
                "output the noun it refers to. The adjective decides: tired → the subject, wide → the object."
            ),
            look_for=N_(
                "In the last layer, the row of “it” lights up the right noun: the subject (position 1) after "
                "tired/lazy/slow/sleepy/scared, the object (position 5) after fast/quick/clever/wide/long/busy."
            ),
            generate=_it,
            answer=_it_answer,
            num_classes=lambda vocab: len(IT_VOCAB),
            seq_len_range=(IT_SEQ_LEN, IT_SEQ_LEN),
            vocab_range=(len(IT_VOCAB), len(IT_VOCAB)),
            default_seq_len=IT_SEQ_LEN,
            default_vocab=len(IT_VOCAB),
            default_steps=1500,
            fixed_sizes=True,
        ),
    )
}
"""The tasks by name."""


def get_task(name: str) -> Task:
    """The task called ``name``; ValueError listing the known ones otherwise."""
    if name not in TASKS:
        raise ValueError(_("task={name} is not one of {tasks}").format(name=repr(name), tasks=", ".join(TASKS)))
    return TASKS[name]
