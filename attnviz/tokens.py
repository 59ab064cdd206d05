"""Tokenize text, label tokens for plot axes, and give each token a deterministic embedding.

A toy pipeline for the visualizer, not a trained tokenizer: T tokens -> embeddings of shape (T, d_model).
"""

from __future__ import annotations

import functools
import hashlib
import math
import numbers
import re
import unicodedata
from collections.abc import Sequence

import torch
from torch import Tensor

from attnviz.i18n import gettext as _
from attnviz.positional import sinusoidal_encoding
from attnviz.validation import check_at_least_one

__all__ = [
    "MAX_TOKENS",
    "embed",
    "embedding_scale",
    "input_embeddings",
    "repeated_tokens",
    "token_labels",
    "tokenize",
    "truncate",
]

MAX_TOKENS = 1024
"""Longest token sequence the app processes; a (T, T) attention matrix grows quadratically."""

LABEL_MAX_CHARS = 20
"""Tokens longer than this (in grapheme clusters) are shortened in axis labels, ending with "…"."""

MODES = ("words", "chars")

# Scripts written without spaces: every ideograph / kana / hangul syllable is a token of its own.
_CJK = (
    "\u2e80-\u2fdf"  # CJK and Kangxi radicals
    "\u3005-\u3007\u3021-\u3029\u3038-\u303c"  # 々 〆 〇, Hangzhou numerals
    "\u3040-\u30ff"  # hiragana, katakana
    "\u3130-\u318f"  # hangul compatibility jamo (ㅋ)
    "\u31f0-\u31ff"  # katakana phonetic extensions
    "\u3400-\u4dbf\u4e00-\u9fff"  # CJK ideographs (extension A, unified)
    "\uac00-\ud7a3"  # hangul syllables
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff66-\uff9f"  # halfwidth katakana
    "\U0001b000-\U0001b16f"  # kana supplement / extended
    "\U00020000-\U0003ffff"  # CJK ideograph extensions B and later
)
# Characters that separate tokens and never form one: whitespace plus invisible zero-width breaks.
_SPACE = r"\s\u200b\u2060\ufeff"
# Inside a word, these join two runs of letters/digits into one token: apostrophes (didn't, l'homme),
# Hebrew geresh/gershayim (צה״ל), and ZWNJ/ZWJ (Persian می‌خواهم).
_WORD_JOINERS = "'\u2019\u05f3\u05f4\u200c\u200d"


def _mark_ranges() -> str:
    """A regex class body with every combining mark (categories Mn, Mc, Me), which `\\w` leaves out.

    Marks live in planes 0-1 and the variation-selector block U+E0100-E01EF; scanning only those keeps the
    one-off cost to a few tens of milliseconds (a test checks that no mark lies elsewhere).
    """
    parts: list[str] = []
    for block in (range(0x20000), range(0xE0000, 0xE1000)):
        start = None
        for cp in [*block, None]:
            is_mark = cp is not None and unicodedata.category(chr(cp)).startswith("M")
            if is_mark and start is None:
                start = cp
            elif not is_mark and start is not None:
                end = (block.stop if cp is None else cp) - 1
                parts.append(re.escape(chr(start)) + ("-" + re.escape(chr(end)) if end > start else ""))
                start = None
    return "".join(parts)


@functools.cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """Compile (words, clusters without whitespace, clusters of any text) once per process, on first use."""
    marks = _mark_ranges()
    # Extenders that stay with the character before them: combining marks (includes variation selectors
    # FE00-FE0F and the keycap U+20E3), emoji skin-tone modifiers, tag characters (subdivision flags), ZWNJ.
    ext = f"[{marks}\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f\u200c]"

    def cluster(char: str) -> str:
        # Grapheme-ish cluster: a flag (regional-indicator pair) or one char, then its extenders. A ZWJ
        # stays with what precedes it and joins a following symbol (👩‍👩‍👧 is one cluster, like
        # Unicode's emoji rule GB11 with "not a letter, digit or space" standing in for pictographic).
        unit = rf"(?:[\U0001f1e6-\U0001f1ff]{{2}}|{char}){ext}*"
        symbol_unit = rf"(?:[\U0001f1e6-\U0001f1ff]{{2}}|[^\w\s\u200d]){ext}*"
        return rf"{unit}(?:\u200d{symbol_unit})*\u200d?"

    letter = rf"(?:(?![{_CJK}])[^\W_]|[{marks}])"  # letter or digit in any script but CJK, or a mark
    word = rf"{letter}+(?:(?:[{_WORD_JOINERS}]|(?<=\d)[.,](?=\d)){letter}+)*"  # didn't, 3.14, 1,000
    cjk = rf"[{_CJK}]{ext}*"
    visible = cluster(f"[^{_SPACE}]")
    return (
        re.compile(rf"{cjk}|{word}|{visible}"),
        re.compile(visible),
        re.compile(cluster("."), re.DOTALL),
    )


def _is_invisible(token: str) -> bool:
    """True for a token made only of format characters (a stray ZWJ or soft hyphen): nothing to show."""
    return all(unicodedata.category(ch) == "Cf" for ch in token)


def tokenize(text: str, mode: str = "words") -> list[str]:
    """Split ``text`` into a list of T tokens; whitespace only separates and never becomes a token.

    ``mode="words"``: runs of letters and digits in any script (Latin, Cyrillic, Arabic, Hebrew, Devanagari
    with its combining marks...) are one token each; an apostrophe between letters keeps English contractions
    and elisions whole ("didn't", "l'homme"); digits joined by "." or "," stay one number ("3.14", "1,000").
    Each CJK ideograph, kana and hangul syllable is its own token (those scripts have no spaces; Thai, Lao
    and Khmer do not get that treatment and split only at spaces). Every other character (punctuation,
    symbols, emoji, underscore, hyphen) is a token on its own, so "..." gives three "." tokens.

    ``mode="chars"``: every non-whitespace grapheme-ish cluster: a character with its combining marks,
    variation selectors and skin-tone modifiers, emoji ZWJ sequences and flag pairs kept together
    (stdlib ``re`` approximation of Unicode grapheme clusters; Hangul jamo sequences are not joined).

    Text is plain text: "<b>" is three tokens "<", "b", ">", never markup. Empty or blank text gives [].
    """
    if mode not in MODES:
        raise ValueError(_("mode={mode} is not one of {modes}").format(mode=repr(mode), modes=MODES))
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    words, clusters, _any = _patterns()
    pattern = words if mode == "words" else clusters
    return [tok for tok in pattern.findall(text) if not _is_invisible(tok)]


def _shorten(token: str, max_chars: int = LABEL_MAX_CHARS) -> str:
    if len(token) <= max_chars:
        return token
    clusters = _patterns()[2].findall(token)
    if len(clusters) <= max_chars:
        return token
    return "".join(clusters[: max_chars - 1]) + "…"


def token_labels(tokens: list[str]) -> list[str]:
    """Unique axis labels ``"{i} {token}"`` (0-based), so a repeated token stays distinct: "1 the", "4 the".

    A token longer than 20 characters is cut to 19 characters plus "…" (counted in grapheme-ish clusters,
    so an emoji sequence is never split in half).
    """
    return [f"{i} {_shorten(tok)}" for i, tok in enumerate(tokens)]


def _token_seed(token: str, seed: int) -> int:
    """A 64-bit generator seed from blake2b (Python's hash() is salted per process, so it cannot be used)."""
    digest = hashlib.blake2b(f"{seed}:{token}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def embed(tokens: list[str], d_model: int, *, seed: int = 0, dtype: torch.dtype = torch.float32) -> Tensor:
    """Deterministic toy embeddings, shape (T, d_model) for T tokens; entries are draws from N(0, 1).

    The vector depends only on (seed, token, d_model): the same token gets the same row at every position and
    in every run, process and session (on one torch version: torch does not promise its random streams across
    releases). Tokens are case-sensitive ("The" != "the"). Drawn in float64, then cast to ``dtype``.
    """
    d_model = check_at_least_one("d_model", d_model)
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise ValueError(_("dtype={dtype} must be a floating-point torch dtype").format(dtype=repr(dtype)))
    out = torch.empty(len(tokens), d_model, dtype=torch.float64)  # (T, d_model)
    rows: dict[str, Tensor] = {}
    generator = torch.Generator(device="cpu")
    for i, tok in enumerate(tokens):
        if tok not in rows:
            generator.manual_seed(_token_seed(tok, seed))
            rows[tok] = torch.randn(d_model, generator=generator, dtype=torch.float64)  # (d_model,)
        out[i] = rows[tok]
    return out.to(dtype)


def embedding_scale(d_model: int) -> float:
    """√d_model, the factor Vaswani et al. (2017, section 3.4) multiply token embeddings by.

    Positional-encoding entries are sin/cos values in [-1, 1]. Embeddings trained with a small init (or
    tied to the output layer) have much smaller entries, so without the scale the positional signal would
    drown out which token it is; multiplying by √d_model brings the embedding up to the encoding's size.
    """
    return math.sqrt(check_at_least_one("d_model", d_model))


def truncate(tokens: list[str], max_tokens: int = MAX_TOKENS) -> tuple[list[str], int]:
    """Keep the first ``max_tokens`` tokens: returns (a new list of kept tokens, how many were cut)."""
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, numbers.Integral):
        raise TypeError(f"max_tokens={max_tokens!r} must be an int")
    if max_tokens < 0:
        raise ValueError(_("max_tokens={max_tokens} must be at least 0").format(max_tokens=repr(max_tokens)))
    kept = list(tokens[:max_tokens])
    return kept, len(tokens) - len(kept)


def repeated_tokens(tokens: Sequence[str]) -> dict[str, list[int]]:
    """Each token that occurs more than once, mapped to its 0-based positions, in order of first occurrence."""
    positions: dict[str, list[int]] = {}
    for i, tok in enumerate(tokens):
        positions.setdefault(tok, []).append(i)
    return {tok: where for tok, where in positions.items() if len(where) > 1}


def input_embeddings(
    tokens: Sequence[str],
    d_model: int,
    *,
    seed: int = 0,
    positional: bool = False,
    scale: bool = False,
    base: float = 10000.0,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """The rows attention sees, shape (T, d_model): ``embed(tokens)``, times √d_model when ``scale``, plus the
    sinusoidal encoding of positions 0..T-1 when ``positional`` (Vaswani et al. 2017, sections 3.4-3.5).

    Without ``positional`` a repeated token gets identical rows; with it, every position differs.
    """
    x = embed(list(tokens), d_model, seed=seed, dtype=torch.float64)  # (T, d_model)
    if scale:
        x = x * embedding_scale(d_model)
    if positional and len(tokens) > 0:
        x = x + sinusoidal_encoding(len(tokens), d_model, base, dtype=torch.float64)  # (T, d_model)
    return x.to(dtype)
