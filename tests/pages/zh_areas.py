"""Which English words left on a page in Chinese come from the modules shared by every page (figure hover and
default axis titles, the explain-a-cell box, the share panel), and which from a page's own files.

The shared modules are translated separately; until they are, a page's own check asks that every English word
left is one of theirs, and that the shared text it skips really is theirs (found in their source, in none of the
page's own files).
"""

from __future__ import annotations

import inspect
import re

from attnviz import figures
from tests.pages.conftest import ROOT
from tests.support.i18n import KEPT_WORDS

__all__ = ["FIGURE_DEFAULTS", "SHARED_FILES", "SHARED_PHRASES", "not_shared", "source"]

SHARED_FILES = (
    "attnviz/figures.py",
    "attnviz/cells.py",
    "attnviz/ui/cells.py",
    "attnviz/ui/share.py",
    "attnviz/sharing.py",
    "attnviz/ui/matrix_editor.py",
)

# Phrases of the shared modules' English text (each occurs in one of SHARED_FILES).
SHARED_PHRASES = (
    "Click any cell of this heatmap",  # ui/cells.py: the click hint
    "The heatmap's hover shows",  # ui/cells.py: the explain-a-cell box
    "score of query",  # cells.py: the box's titles
    "weight of query",
    "output of query",
    "**Share**: the address bar holds",  # ui/share.py: the share panel
    "Copy as code",
    "Python using only torch",
    "Table a CSV goes into",
    "State (JSON)",
    "Import a JSON state",
    "Not in the address (it keeps the default there",  # ui/share.py: a setting the address cannot hold
)


def _figure_defaults() -> frozenset[str]:
    """The English titles figures.py's builders use when a page passes none (axis, colour bar, hover)."""
    names = ("row_title", "col_title", "value_title", "label_title")
    found = set()
    for builder in (figures.matrix_heatmap, figures.heatmap_grid, figures.bar_chart):
        for name, parameter in inspect.signature(builder).parameters.items():
            if name in names and isinstance(parameter.default, str):
                found.add(parameter.default)
    return frozenset(found)


FIGURE_DEFAULTS = _figure_defaults()


def source(paths: tuple[str, ...]) -> str:
    """The text of the files ``paths`` (relative to the repository root)."""
    return "\n".join((ROOT / path).read_text(encoding="utf-8") for path in paths)


def _shared(where: str, word: str, text: str) -> bool:
    if any(phrase in text for phrase in SHARED_PHRASES):
        return True
    if where == "download_button label" and text.endswith(".csv"):  # the share panel's file names
        return True
    # A figure builder's default title, alone (an axis or colour-bar title) or in the hover it builds.
    return where == "figure" and word in FIGURE_DEFAULTS and (text == word or "%{" in text)


_WORD = re.compile(r"[A-Za-z][A-Za-z_']{2,}")


def _escaped_symbol(word: str, text: str) -> bool:
    """``word`` is only the tail of a kept symbol split by a markdown escape: ``d\\_model`` (an error is shown
    escaped, so it renders as typed) reads as ``model`` to the word finder, but the learner sees ``d_model``."""
    plain = re.sub(r"\\(.)", r"\1", text)
    words = {w.lower().strip("_'") for w in _WORD.findall(plain)}
    holding = [w for w in words if word.lower() in w]
    return word.lower() not in words and bool(holding) and all(w in KEPT_WORDS for w in holding)


def not_shared(left: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """The English words of :func:`tests.support.i18n.english_left` that the shared modules do not explain (nor a
    markdown escape inside a kept symbol)."""
    return [hit for hit in left if not _shared(*hit) and not _escaped_symbol(hit[1], hit[2])]
