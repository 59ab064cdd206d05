"""attnviz: attention, every intermediate, on your own numbers."""

from attnviz.attention import TRACE_FIELDS, AttentionTrace, attend, lengths_to_mask
from attnviz.examples import WORKED_EXAMPLE, WORKED_EXAMPLE_PRINTED
from attnviz.modules import MULTIHEAD_TRACE_FIELDS, MultiHeadAttention, MultiHeadTrace, SelfAttention
from attnviz.positional import sinusoidal_encoding
from attnviz.tokens import embed, token_labels, tokenize

__all__ = [
    "MULTIHEAD_TRACE_FIELDS",
    "TRACE_FIELDS",
    "WORKED_EXAMPLE",
    "WORKED_EXAMPLE_PRINTED",
    "AttentionTrace",
    "MultiHeadAttention",
    "MultiHeadTrace",
    "SelfAttention",
    "attend",
    "embed",
    "lengths_to_mask",
    "sinusoidal_encoding",
    "token_labels",
    "tokenize",
]
