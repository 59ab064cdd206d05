"""attnviz: attention, every intermediate, on your own numbers."""

from attnviz.attention import TRACE_FIELDS, AttentionTrace, attend, lengths_to_mask
from attnviz.examples import WORKED_EXAMPLE, WORKED_EXAMPLE_PRINTED
from attnviz.modules import MULTIHEAD_TRACE_FIELDS, MultiHeadAttention, MultiHeadTrace, SelfAttention

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
    "lengths_to_mask",
]
