"""While the areas of the Chinese interface are translated in parallel, the English a page may still show that its own
files do not draw: the share panel, the trained-model panel, the explain-a-cell hint and the figure builders' default
labels. Each is matched narrowly (its exact text or its own pattern), so a page's own untranslated text still fails;
once every catalog is merged none of them is left and :func:`own_english_left` equals :func:`english_left`."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_file
from streamlit.testing.v1 import AppTest

from tests.support.i18n import english_left

__all__ = ["OTHER_AREAS", "messages_of", "own_english_left"]

ROOT = Path(__file__).resolve().parents[2]

# (where the text appears, a regular expression its whole text matches) for texts drawn by other areas' files.
OTHER_AREAS: tuple[tuple[str, str], ...] = (
    ("markdown", r"\*\*Share\*\*: the address bar holds .*"),  # attnviz/ui/share.py
    ("toggle label", r"Copy as code"),
    ("toggle help", r"Python using only torch, with these numbers\."),
    ("selectbox label", r"Table a CSV goes into"),
    ("download_button label", r"State \(JSON\)|[\w.]+\.csv"),
    ("file_uploader label", r"Import a JSON state( or a CSV table)? \(at most [\d,]+ bytes\)"),
    ("caption", r"Click any cell of this heatmap to see where its number comes from\."),  # attnviz/ui/cells.py
    ("error", r".* must be a whole number from -?\d+ to \d+, got .*"),  # attnviz/ui/tokens.py's int_problem
    ("toggle label", r"Show this sentence through weights trained on the “what does \*it\* refer to\?” task"),
    (
        "toggle help",
        r"A 2-layer transformer trained on the Train page's “it” task \(seed 003's sentence as a grammar\)\.",
    ),
    # attnviz/figures.py: the default value title in hover text, head_blocks_heatmap's column title and head names
    ("figure", r".*<br>value %\{z\}<extra></extra>"),
    ("figure", r"column"),
    ("figure", r"head \d+"),
)
_OTHER = [(where, re.compile(pattern, re.S)) for where, pattern in OTHER_AREAS]
_FIGURE_DEFAULTS = {"value", "column", "head"}


def _drawn_elsewhere(where: str, word: str, text: str) -> bool:
    for kind, pattern in _OTHER:
        if where == kind and pattern.fullmatch(text):
            # In a hover text only the builder's default words may be left (the rest of it is the page's own).
            return kind != "figure" or word.lower() in _FIGURE_DEFAULTS
    return False


def own_english_left(at: AppTest) -> list[tuple[str, str, str]]:
    """:func:`tests.support.i18n.english_left` without the texts of :data:`OTHER_AREAS`."""
    return [(where, word, text) for where, word, text in english_left(at) if not _drawn_elsewhere(where, word, text)]


def messages_of(*paths: str) -> set[str]:
    """Every catalog message Babel extracts from these files (relative to the repository)."""
    found: set[str] = set()
    for path in paths:
        for _lineno, _funcname, message, _comments in extract_from_file("python", ROOT / path):
            found.update(m for m in (message if isinstance(message, tuple) else (message,)) if m)
    return found
