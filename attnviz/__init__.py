"""attnviz: attention, every intermediate, on your own numbers.

The names below load their module on first use (PEP 562), so ``import attnviz.validation`` or the figure builders
do not pay for importing torch; ``from attnviz import MultiHeadAttention`` works as usual.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from attnviz.attention import SCORES, TRACE_FIELDS, AttentionTrace, attend, check_temperature, lengths_to_mask
    from attnviz.examples import WORKED_EXAMPLE, WORKED_EXAMPLE_PRINTED
    from attnviz.image import CNNWithAttention, ImageTrace
    from attnviz.modules import (
        MULTIHEAD_TRACE_FIELDS,
        MultiHeadAttention,
        MultiHeadTrace,
        SelfAttention,
        head_slice,
        weights_as_numpy,
    )
    from attnviz.positional import sinusoidal_encoding
    from attnviz.tokens import embed, token_labels, tokenize

_HOME = {
    "CNNWithAttention": "image",
    "ImageTrace": "image",
    "SCORES": "attention",
    "TRACE_FIELDS": "attention",
    "AttentionTrace": "attention",
    "attend": "attention",
    "check_temperature": "attention",
    "lengths_to_mask": "attention",
    "WORKED_EXAMPLE": "examples",
    "WORKED_EXAMPLE_PRINTED": "examples",
    "MULTIHEAD_TRACE_FIELDS": "modules",
    "MultiHeadAttention": "modules",
    "MultiHeadTrace": "modules",
    "SelfAttention": "modules",
    "head_slice": "modules",
    "weights_as_numpy": "modules",
    "sinusoidal_encoding": "positional",
    "embed": "tokens",
    "token_labels": "tokens",
    "tokenize": "tokens",
}

__all__ = [
    "MULTIHEAD_TRACE_FIELDS",
    "SCORES",
    "TRACE_FIELDS",
    "WORKED_EXAMPLE",
    "WORKED_EXAMPLE_PRINTED",
    "AttentionTrace",
    "CNNWithAttention",
    "ImageTrace",
    "MultiHeadAttention",
    "MultiHeadTrace",
    "SelfAttention",
    "attend",
    "check_temperature",
    "embed",
    "head_slice",
    "lengths_to_mask",
    "sinusoidal_encoding",
    "token_labels",
    "tokenize",
    "weights_as_numpy",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'attnviz' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"attnviz.{_HOME[name]}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))
