import hashlib
import math
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attnviz.positional import sinusoidal_encoding
from attnviz.tokens import (
    MAX_TOKENS,
    embed,
    embedding_scale,
    input_embeddings,
    repeated_tokens,
    token_labels,
    tokenize,
    truncate,
)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SENTENCE = "The animal didn't cross the street because it was too tired"
CJK_SENTENCE = "动物没有过马路，因为它太累了"


# --- tokenize -------------------------------------------------------------------------------------------


def test_default_sentence_words():
    assert tokenize(DEFAULT_SENTENCE) == [
        "The", "animal", "didn't", "cross", "the", "street", "because", "it", "was", "too", "tired",
    ]  # fmt: skip


def test_default_sentence_chars():
    tokens = tokenize(DEFAULT_SENTENCE, mode="chars")
    assert tokens == list(DEFAULT_SENTENCE.replace(" ", ""))
    assert len(tokens) == 49


@pytest.mark.parametrize("mode", ["words", "chars"])
def test_cjk_sentence_is_one_token_per_character(mode):
    tokens = tokenize(CJK_SENTENCE, mode)
    assert tokens == list(CJK_SENTENCE)
    assert len(tokens) == 14
    assert tokens[7] == "，"


def test_japanese_and_korean_split_per_character_but_latin_stays_whole():
    assert tokenize("iPhone的价格是999元") == ["iPhone", "的", "价", "格", "是", "999", "元"]
    assert tokenize("こんにちは、世界！") == ["こ", "ん", "に", "ち", "は", "、", "世", "界", "！"]
    assert tokenize("안녕 하세요") == ["안", "녕", "하", "세", "요"]


def test_contractions_numbers_and_punctuation():
    text = "Don't panic: pi is 3.14, not 1,000... l'homme said 'no' rock’n’roll"
    assert tokenize(text) == [
        "Don't", "panic", ":", "pi", "is", "3.14", ",", "not", "1,000", ".", ".", ".",
        "l'homme", "said", "'", "no", "'", "rock’n’roll",
    ]  # fmt: skip


def test_hyphen_underscore_are_separate_tokens():
    assert tokenize("well-known snake_case") == ["well", "-", "known", "snake", "_", "case"]


def test_arabic_words_keep_their_diacritics():
    text = "القطة لَمْ تعبر الشارع لأنها كانت متعبة."
    assert tokenize(text) == ["القطة", "لَمْ", "تعبر", "الشارع", "لأنها", "كانت", "متعبة", "."]
    chars = tokenize(text, "chars")
    assert "لَ" in chars  # lam + fatha stays one grapheme
    assert "".join(chars) == text.replace(" ", "")


def test_hebrew_with_niqqud_and_gershayim():
    assert tokenize("שָׁלוֹם עולם, צה״ל!") == ["שָׁלוֹם", "עולם", ",", "צה״ל", "!"]


def test_devanagari_combining_marks_stay_in_the_word():
    assert tokenize("नमस्ते दुनिया") == ["नमस्ते", "दुनिया"]
    assert tokenize("e\u0301te\u0301", "chars") == ["e\u0301", "t", "e\u0301"]


def test_persian_zero_width_non_joiner_stays_inside_word():
    assert tokenize("من می\u200cخواهم") == ["من", "می\u200cخواهم"]


@pytest.mark.parametrize("mode", ["words", "chars"])
def test_emoji_sequences_stay_together(mode):
    emoji = [
        "❤️",  # heart + variation selector 16
        "👍🏽",  # skin-tone modifier
        "👩\u200d👩\u200d👧",  # ZWJ family
        "🏳️\u200d🌈",  # ZWJ with variation selector
        "🇯🇵",  # regional-indicator pair
        "1️⃣",  # keycap
        "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",  # England: tag sequence
    ]
    assert tokenize(" ".join(emoji), mode) == emoji
    assert tokenize("I❤️cats", mode)[1] == "❤️"


def test_adjacent_flags_pair_up():
    assert tokenize("🇯🇵🇫🇷", "chars") == ["🇯🇵", "🇫🇷"]


def test_zwj_between_letters_does_not_glue_graphemes():
    assert tokenize("a\u200db", "chars") == ["a\u200d", "b"]


@pytest.mark.parametrize("mode", ["words", "chars"])
def test_markup_is_plain_text(mode):
    text = "<script>alert(1)</script>"
    tokens = tokenize(text, mode)
    assert "".join(tokens) == text
    if mode == "words":
        assert tokens == ["<", "script", ">", "alert", "(", "1", ")", "<", "/", "script", ">"]
    else:
        assert tokens == list(text)


@pytest.mark.parametrize("mode", ["words", "chars"])
@pytest.mark.parametrize("text", ["", " ", "\t\n  \r", "\u3000\u00a0", "\u200b \ufeff", " \u200d "])
def test_blank_text_gives_no_tokens(mode, text):
    assert tokenize(text, mode) == []


def test_unknown_mode_is_named():
    with pytest.raises(ValueError, match="mode='bpe'"):
        tokenize("hello", mode="bpe")


def test_non_string_text_is_rejected():
    with pytest.raises(TypeError, match="text must be a str"):
        tokenize(["hello"])  # type: ignore[arg-type]


def _visible(text: str) -> str:
    return "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch) != "Cf")


@given(st.text(max_size=60))
@settings(max_examples=300, deadline=None)
def test_tokens_cover_the_text_without_whitespace(text):
    words = tokenize(text, "words")
    chars = tokenize(text, "chars")
    for tokens in (words, chars):
        assert all(tok and not any(ch.isspace() for ch in tok) for tok in tokens)
        assert _visible("".join(tokens)) == _visible(text)
    assert len(chars) >= len(words)


def test_combining_marks_outside_scanned_planes_do_not_exist():
    # tokens._mark_ranges scans only planes 0-1 and U+E0000-E0FFF; pin that assumption for this Python.
    outside = [cp for cp in range(0x20000, 0x110000) if not 0xE0000 <= cp < 0xE1000]
    assert not [cp for cp in outside if unicodedata.category(chr(cp)).startswith("M")]


# --- token_labels -----------------------------------------------------------------------------------------


def test_labels_unique_with_repeats():
    tokens = tokenize("the cat saw the dog and the bird")
    labels = token_labels(tokens)
    assert labels[:4] == ["0 the", "1 cat", "2 saw", "3 the"]
    assert labels[6] == "6 the"
    assert len(set(labels)) == len(labels) == len(tokens)


def test_labels_unique_even_for_identical_tokens():
    labels = token_labels(["a"] * 12)
    assert len(set(labels)) == 12
    assert labels[11] == "11 a"


def test_long_tokens_truncated_to_20_characters():
    long = "Pneumonoultramicroscopicsilicovolcanoconiosis"
    label = token_labels([long, "x" * 20])
    assert label[0] == "0 " + long[:19] + "…"
    assert len(label[0].split(" ", 1)[1]) == 20
    assert label[1] == "1 " + "x" * 20  # exactly 20: unchanged


def test_truncation_never_splits_an_emoji_sequence():
    family = "👩\u200d👩\u200d👧"  # 5 code points, one cluster
    label = token_labels([family * 25])[0]
    assert label == "0 " + family * 19 + "…"


def test_labels_of_empty_list():
    assert token_labels([]) == []


# --- embed ------------------------------------------------------------------------------------------------


def test_embed_shape_dtype_and_repeat_rows():
    tokens = tokenize(DEFAULT_SENTENCE)
    emb = embed(tokens, 16)
    assert emb.shape == (11, 16)
    assert emb.dtype == torch.float32
    assert torch.equal(emb[1], embed(["animal"], 16)[0])
    assert not torch.equal(emb[0], emb[4])  # "The" and "the" are different tokens
    assert torch.equal(embed(["the", "x", "the"], 8)[0], embed(["the", "x", "the"], 8)[2])


def test_embed_is_deterministic_and_independent_of_context():
    first = embed(["a", "b", "c"], 32, seed=3)
    assert torch.equal(first, embed(["a", "b", "c"], 32, seed=3))
    assert torch.equal(first[2], embed(["c"], 32, seed=3)[0])
    assert not torch.equal(first, embed(["a", "b", "c"], 32, seed=4))


def test_embed_derivation_from_blake2b():
    # Pins the recipe: a torch.Generator seeded from blake2b(f"{seed}:{token}"), N(0, 1) drawn in float64.
    generator_seed = int.from_bytes(hashlib.blake2b(b"7:street", digest_size=8).digest(), "big")
    generator = torch.Generator().manual_seed(generator_seed)
    expected = torch.randn(10, generator=generator, dtype=torch.float64)
    assert torch.equal(embed(["street"], 10, seed=7, dtype=torch.float64)[0], expected)
    assert torch.equal(embed(["street"], 10, seed=7)[0], expected.float())


def test_embed_same_in_a_fresh_process_with_another_hash_seed():
    tokens = ["The", "animal", "动", "❤️", "didn't"]
    here = embed(tokens, 24, seed=5).numpy().tobytes().hex()
    code = f"from attnviz.tokens import embed; print(embed({tokens!r}, 24, seed=5).numpy().tobytes().hex())"
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.strip() == here
    assert len(here) == 5 * 24 * 4 * 2  # T * d_model * 4 bytes, two hex digits each


def test_embed_is_standard_normal():
    emb = embed(["x", "y"], 20000, dtype=torch.float64)
    for row in emb:
        assert abs(row.mean().item()) < 0.05
        assert abs(row.std().item() - 1.0) < 0.05


def test_embed_empty_and_invalid():
    empty = embed([], 6)
    assert empty.shape == (0, 6)
    assert empty.dtype == torch.float32
    with pytest.raises(ValueError, match="d_model=0 must be at least 1"):
        embed(["a"], 0)
    with pytest.raises(ValueError, match="d_model=-4 must be at least 1"):
        embed([], -4)
    with pytest.raises(ValueError, match=r"dtype=torch\.int32"):
        embed(["a"], 4, dtype=torch.int32)


def test_embedding_scale():
    assert embedding_scale(64) == 8.0
    assert embedding_scale(1) == 1.0
    assert embedding_scale(2) == pytest.approx(1.41421356)
    with pytest.raises(ValueError, match="d_model=0"):
        embedding_scale(0)


# --- truncate ---------------------------------------------------------------------------------------------


def test_truncate_keeps_first_tokens_and_counts_the_cut():
    tokens = [str(i) for i in range(10)]
    assert truncate(tokens, 4) == (["0", "1", "2", "3"], 6)
    assert truncate(tokens, 10) == (tokens, 0)
    assert truncate(tokens, 50) == (tokens, 0)
    assert truncate([], 3) == ([], 0)
    assert truncate(tokens, 0) == ([], 10)


def test_truncate_default_limit_and_new_list():
    assert MAX_TOKENS == 1024
    tokens = ["t"] * 1500
    kept, cut = truncate(tokens)
    assert (len(kept), cut) == (1024, 476)
    short = ["a", "b"]
    kept, _ = truncate(short)
    kept.append("c")
    assert short == ["a", "b"]


def test_truncate_rejects_negative_limit():
    with pytest.raises(ValueError, match="max_tokens=-1"):
        truncate(["a"], -1)


# --- repeated_tokens --------------------------------------------------------------------------------------


def test_repeated_tokens_in_order_of_first_occurrence():
    tokens = tokenize("the cat saw the dog and the dog saw a cat")
    assert repeated_tokens(tokens) == {"the": [0, 3, 6], "cat": [1, 10], "saw": [2, 8], "dog": [4, 7]}
    assert list(repeated_tokens(tokens)) == ["the", "cat", "saw", "dog"]


def test_repeated_tokens_none_and_case_sensitive():
    assert repeated_tokens(tokenize(DEFAULT_SENTENCE)) == {}  # "The" and "the" differ
    assert repeated_tokens([]) == {}
    assert repeated_tokens(("a", "a")) == {"a": [0, 1]}


# --- input_embeddings -------------------------------------------------------------------------------------


def test_input_embeddings_plain_is_embed():
    tokens = tokenize("the cat saw the dog")
    assert torch.equal(input_embeddings(tokens, 8, seed=2), embed(tokens, 8, seed=2))


def test_input_embeddings_scale_and_positional_encoding():
    tokens = tokenize("the cat saw the dog")
    e = embed(tokens, 10, seed=1, dtype=torch.float64)
    pe = sinusoidal_encoding(5, 10, 100.0, dtype=torch.float64)
    x = input_embeddings(tokens, 10, seed=1, positional=True, scale=True, base=100.0, dtype=torch.float64)
    torch.testing.assert_close(x, e * math.sqrt(10) + pe, rtol=0, atol=1e-12)
    assert input_embeddings(tokens, 10, positional=True).dtype == torch.float32


def test_input_embeddings_positional_encoding_separates_repeated_tokens():
    tokens = ["the", "x", "the"]
    assert torch.equal(input_embeddings(tokens, 6)[0], input_embeddings(tokens, 6)[2])
    with_pe = input_embeddings(tokens, 6, positional=True)
    assert not torch.equal(with_pe[0], with_pe[2])


def test_input_embeddings_empty_and_invalid():
    assert input_embeddings([], 4, positional=True, scale=True).shape == (0, 4)
    with pytest.raises(ValueError, match="d_model=0 must be at least 1"):
        input_embeddings(["a"], 0, positional=True)
