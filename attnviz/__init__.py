"""attnviz: attention, every intermediate, on your own numbers.

The names below load their module on first use (PEP 562), so ``import attnviz.validation`` or the figure builders
do not pay for importing torch; ``from attnviz import MultiHeadAttention`` works as usual.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from attnviz.additive import AdditiveAttention
    from attnviz.attention import SCORES, TRACE_FIELDS, AttentionTrace, attend, check_temperature, lengths_to_mask
    from attnviz.dropout import dropout_weights
    from attnviz.encoder import (
        ENCODER_LAYER_TRACE_FIELDS,
        Encoder,
        EncoderLayer,
        EncoderLayerTrace,
        EncoderTrace,
        TimeSeriesTransformer,
    )
    from attnviz.examples import WORKED_EXAMPLE, WORKED_EXAMPLE_PRINTED
    from attnviz.image import CNNWithAttention, ImageTrace
    from attnviz.masks import causal_mask, padding_mask, parse_mask_grid, sliding_window_mask
    from attnviz.modules import (
        MULTIHEAD_TRACE_FIELDS,
        MultiHeadAttention,
        MultiHeadTrace,
        SelfAttention,
        head_slice,
        weights_as_numpy,
    )
    from attnviz.positional import LearnedPositionalEmbedding, rotary_embedding, sinusoidal_encoding
    from attnviz.scaling import scaling_experiment
    from attnviz.tokens import embed, token_labels, tokenize
    from attnviz.word_order import shuffle_demo, word_order_demo

_HOME = {
    "AdditiveAttention": "additive",
    "dropout_weights": "dropout",
    "causal_mask": "masks",
    "padding_mask": "masks",
    "parse_mask_grid": "masks",
    "sliding_window_mask": "masks",
    "LearnedPositionalEmbedding": "positional",
    "rotary_embedding": "positional",
    "scaling_experiment": "scaling",
    "shuffle_demo": "word_order",
    "word_order_demo": "word_order",
    "CNNWithAttention": "image",
    "ImageTrace": "image",
    "SCORES": "attention",
    "TRACE_FIELDS": "attention",
    "AttentionTrace": "attention",
    "attend": "attention",
    "check_temperature": "attention",
    "lengths_to_mask": "attention",
    "ENCODER_LAYER_TRACE_FIELDS": "encoder",
    "Encoder": "encoder",
    "EncoderLayer": "encoder",
    "EncoderLayerTrace": "encoder",
    "EncoderTrace": "encoder",
    "TimeSeriesTransformer": "encoder",
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
    "ENCODER_LAYER_TRACE_FIELDS",
    "MULTIHEAD_TRACE_FIELDS",
    "SCORES",
    "TRACE_FIELDS",
    "WORKED_EXAMPLE",
    "WORKED_EXAMPLE_PRINTED",
    "AdditiveAttention",
    "AttentionTrace",
    "CNNWithAttention",
    "Encoder",
    "EncoderLayer",
    "EncoderLayerTrace",
    "EncoderTrace",
    "ImageTrace",
    "LearnedPositionalEmbedding",
    "MultiHeadAttention",
    "MultiHeadTrace",
    "SelfAttention",
    "TimeSeriesTransformer",
    "attend",
    "causal_mask",
    "check_temperature",
    "dropout_weights",
    "embed",
    "head_slice",
    "lengths_to_mask",
    "padding_mask",
    "parse_mask_grid",
    "rotary_embedding",
    "scaling_experiment",
    "shuffle_demo",
    "sinusoidal_encoding",
    "sliding_window_mask",
    "token_labels",
    "tokenize",
    "weights_as_numpy",
    "word_order_demo",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'attnviz' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"attnviz.{_HOME[name]}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))
