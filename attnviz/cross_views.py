"""What the Cross-attention page draws: one target sentence over a padded batch of two source sentences.

Pure (no streamlit, no plotly): texts in, numpy arrays with their own axis labels out. Rows are target tokens
(queries), columns are source tokens (keys and values).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from attnviz.cells import CellExplanation, explain_head
from attnviz.cross import check_cross_against_torch, cross_attention, sentence_name
from attnviz.i18n import gettext as _
from attnviz.modules import MultiHeadAttention, MultiHeadTrace
from attnviz.tokens import token_labels, tokenize
from attnviz.verify import TorchCheck

__all__ = ["CROSS_MAX_TOKENS", "CrossView", "cross_view"]

CROSS_MAX_TOKENS = 128
"""Most tokens per sentence: the page draws one (T_q × T_k) panel per head and per batch row."""


@dataclass(frozen=True)
class CrossView:
    target_labels: tuple[str, ...]  # T_q row labels
    source_labels: tuple[tuple[str, ...], ...]  # per batch row: T_k column labels, padding labelled "<pad>"
    valid_lens: tuple[int, ...]  # per batch row
    weights: np.ndarray  # (B, H, T_q, T_k)  per head, padded keys included (weight 0)
    mean_weights: np.ndarray  # (B, T_q, T_k)  the average over heads
    padding_weight: float  # the largest weight any padding key received (0)
    check: TorchCheck  # against nn.MultiheadAttention with key_padding_mask
    # What the computation started from and gave, for exports, "copy as code" and explaining a cell:
    query: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (T_q, d_model)  the target embeddings
    source: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0)))  # (B, T_k, d_model)  padded sources
    output: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0)))  # (B, T_q, d_model)
    parameters: dict[str, np.ndarray] = field(default_factory=dict)  # w_q, w_k, w_v, w_o (x @ W); b_q … b_o
    trace: MultiHeadTrace | None = None  # batched: weights (B, H, T_q, T_k)

    @property
    def top_weight(self) -> float:
        """The largest weight of any head: the top of the colour scale (random weights are flat)."""
        return float(self.weights.max())

    @property
    def num_heads(self) -> int:
        return self.weights.shape[1]

    def head_weights(self, row: int = 0) -> np.ndarray:
        """``(H, T_q, valid_len)``: batch row ``row``'s heads without its padding columns."""
        return self.weights[row, :, :, : self.valid_lens[row]]

    def real_labels(self, row: int = 0) -> tuple[str, ...]:
        return self.source_labels[row][: self.valid_lens[row]]

    def explain(self, head: int, row: int, col: int, *, batch: int = 0) -> CellExplanation:
        """The arithmetic of weight ``(row, col)`` of head ``head`` (batch row ``batch``): the target token's
        query against every source key of that row (padding keys excluded), and which slices the head uses."""
        if self.trace is None:
            raise ValueError("this view has no trace to explain (it was built without one)")
        return explain_head(
            self.trace,
            "weights",
            head,
            row,
            col,
            batch=batch,
            labels=self.target_labels,
            key_labels=self.source_labels[batch],
        )


def cross_view(
    target: str,
    sources: tuple[str, ...],
    *,
    d_model: int,
    num_heads: int,
    seed: int,
    max_tokens: int = CROSS_MAX_TOKENS,
) -> CrossView:
    """Tokenize the texts (words mode), run ``MultiHeadAttention(d_model, num_heads, seed)`` with the target as
    query and the padded sources as key and value, ``valid_lens`` masking the padding, and check against torch."""
    module = MultiHeadAttention(d_model, num_heads, seed=seed)
    names = ["source", "second source", *(f"source {b + 1}" for b in range(2, len(sources)))][: len(sources)]
    for name, text in zip(["target", *names], [target, *sources], strict=True):
        if not tokenize(text):
            raise ValueError(
                _("the {name} is empty (or only spaces): type at least one word").format(name=sentence_name(name))
            )
    result = cross_attention(module, tokenize(target), [tokenize(s) for s in sources], seed=seed, max_tokens=max_tokens)
    trace = result.trace
    pad = "<pad>"
    labels = []
    for tokens, n in zip(result.source_tokens, result.valid_lens, strict=True):
        real = token_labels(list(tokens[:n]))
        labels.append(tuple(real) + tuple(f"{j} {pad}" for j in range(n, len(tokens))))
    with torch.no_grad():
        check = check_cross_against_torch(module, result)
    return CrossView(
        target_labels=tuple(token_labels(list(result.target_tokens))),
        source_labels=tuple(labels),
        valid_lens=result.valid_lens,
        weights=trace.weights.detach().numpy(),
        mean_weights=trace.mean_weights.detach().numpy(),
        padding_weight=result.padding_weight,
        check=check,
        query=result.query[0].detach().numpy(),
        source=result.source.detach().numpy(),
        output=trace.output.detach().numpy(),
        parameters={
            name: getattr(module, name).detach().numpy()
            for name in ("w_q", "w_k", "w_v", "w_o", "b_q", "b_k", "b_v", "b_o")
            if getattr(module, name, None) is not None
        },
        trace=trace,
    )
