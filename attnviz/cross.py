"""Cross-attention: queries from one sentence (the target), keys and values from another (the source).

In a translation model's decoder, each target token asks which source tokens to read: the weights have one row
per target token and one column per source token, ``(T_q, T_k)`` with T_q ≠ T_k in general. A batch of source
sentences of different lengths is padded to one length; ``valid_lens`` masks the padding keys so they get
weight exactly 0. Embeddings are the project's deterministic toy embeddings and the projections are untrained:
the weights show the mechanics, not a learned alignment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from attnviz.i18n import N_
from attnviz.i18n import gettext as _
from attnviz.modules import MultiHeadAttention, MultiHeadTrace
from attnviz.tokens import MAX_TOKENS, embed
from attnviz.verify import TOLERANCE, TorchCheck

__all__ = [
    "CROSS_PRESETS",
    "PAD_TOKEN",
    "SENTENCE_NAMES",
    "CrossAttention",
    "check_cross_against_torch",
    "cross_attention",
    "embed_padded",
    "sentence_name",
]

CROSS_PRESETS: dict[str, tuple[str, str, str]] = {
    N_("Chinese → English: the tired animal (seed 003)"): (
        "The animal didn't cross the street because it was too tired.",
        "动物没有过马路，因为它太累了。",
        "它太累了。",
    ),
    N_("Chinese → English: I love you"): ("I love you", "我爱你", "爱"),
    N_("Chinese → English: the cat on the mat"): ("The cat sat on the mat.", "猫坐在垫子上。", "猫坐着。"),
    N_("German → English: the house"): ("The house is small.", "Das Haus ist klein.", "Das Haus."),
    N_("English → French: the black cat"): ("le chat noir dort", "the black cat sleeps", "the cat"),
}
"""Preset (target, source, a second shorter source): the target gives the queries (rows), each source the keys
and values (columns); the two sources form a padded batch. The names are catalog messages (translated where
shown); the sentences are data and stay as written."""

SENTENCE_NAMES = {"target": N_("target"), "source": N_("source"), "second source": N_("second source")}
"""The sentences' names in error messages (catalog messages)."""

PAD_TOKEN = "<pad>"
"""The label of a padding position; its embedding is the zero vector."""


def sentence_name(name: str) -> str:
    """A sentence's name (``"target"``, ``"source"``, ``"second source"``, ``"source 3"`` …) in the current
    language."""
    if name in SENTENCE_NAMES:
        return _(SENTENCE_NAMES[name])
    return _("source {number}").format(number=name.removeprefix("source "))


def _check_tokens(name: str, tokens: Sequence[str], max_tokens: int) -> list[str]:
    tokens = list(tokens)
    if not tokens:
        raise ValueError(_("the {name} has no tokens: type at least one word").format(name=sentence_name(name)))
    if len(tokens) > max_tokens:
        raise ValueError(
            _("the {name} has {count} tokens; the most this page handles is {most}").format(
                name=sentence_name(name), count=len(tokens), most=max_tokens
            )
        )
    return tokens


def embed_padded(
    sources: Sequence[Sequence[str]], d_model: int, *, seed: int = 0, dtype: torch.dtype = torch.float32
) -> tuple[Tensor, Tensor]:
    """Embed each source and pad with zero rows to the longest: ``(B, T_k, d_model)`` and ``valid_lens`` ``(B,)``."""
    if not sources:
        raise ValueError("the batch has no source sentences")
    lengths = [len(s) for s in sources]
    for b, n in enumerate(lengths):
        if n == 0:
            raise ValueError(
                _("source {number} of the batch has no tokens: type at least one word").format(number=b + 1)
            )
    t_k = max(lengths)
    batch = torch.zeros(len(sources), t_k, d_model, dtype=dtype)  # (B, T_k, d_model), zero = padding
    for b, tokens in enumerate(sources):
        batch[b, : len(tokens)] = embed(list(tokens), d_model, seed=seed, dtype=dtype)
    return batch, torch.tensor(lengths, dtype=torch.long)


@dataclass(frozen=True)
class CrossAttention:
    """One target sentence attending over a batch of B source sentences (padded to one length)."""

    target_tokens: tuple[str, ...]  # T_q query tokens (rows)
    source_tokens: tuple[tuple[str, ...], ...]  # per batch row: T_k key tokens (columns), padded with PAD_TOKEN
    valid_lens: tuple[int, ...]  # per batch row: how many source tokens are real
    trace: MultiHeadTrace  # batched: weights (B, H, T_q, T_k)
    query: Tensor  # (B, T_q, d_model)  the target embeddings (the same for every batch row)
    source: Tensor  # (B, T_k, d_model)  the padded source embeddings

    @property
    def padding_weight(self) -> float:
        """The largest weight any padding key received: exactly 0 when valid_lens masks them."""
        t_k = self.trace.weights.shape[-1]
        pad = torch.arange(t_k) >= torch.tensor(self.valid_lens).reshape(-1, 1)  # (B, T_k)
        w = self.trace.weights.abs().amax(dim=(1, 2))  # (B, T_k): largest over heads and queries
        return float(w[pad].max()) if bool(pad.any()) else 0.0


def cross_attention(
    module: MultiHeadAttention,
    target_tokens: Sequence[str],
    sources: Sequence[Sequence[str]],
    *,
    seed: int = 0,
    max_tokens: int = MAX_TOKENS,
) -> CrossAttention:
    """``module(query=target, key=source, value=source, valid_lens=...)`` for each source in ``sources``.

    One source gives B = 1 and no padding; several are padded to the longest and the padding keys masked.
    """
    target = _check_tokens("target", target_tokens, max_tokens)
    names = ["source", "second source", *(f"source {b + 1}" for b in range(2, len(sources)))]
    checked = [_check_tokens(name, s, max_tokens) for name, s in zip(names, sources, strict=False)]
    dtype = module.w_q.dtype
    source, valid_lens = embed_padded(checked, module.d_model, seed=seed, dtype=dtype)  # (B, T_k, d), (B,)
    b, t_k = source.shape[0], source.shape[1]
    query = embed(target, module.d_model, seed=seed, dtype=dtype).expand(b, -1, -1)  # (B, T_q, d_model)
    with torch.no_grad():
        trace = module(query, source, source, valid_lens=valid_lens)
    padded = tuple(tuple(s) + (PAD_TOKEN,) * (t_k - len(s)) for s in checked)
    return CrossAttention(
        target_tokens=tuple(target),
        source_tokens=padded,
        valid_lens=tuple(int(n) for n in valid_lens),
        trace=trace,
        query=query,
        source=source,
    )


def check_cross_against_torch(module: MultiHeadAttention, result: CrossAttention) -> TorchCheck:
    """Run the same query and padded source through ``nn.MultiheadAttention`` (same weights) with a
    ``key_padding_mask`` (True = padding) and compare the per-head weights and the outputs."""
    reference = module.to_torch(batch_first=True)
    t_k = result.source.shape[1]
    padding = torch.arange(t_k).reshape(1, t_k) >= torch.tensor(result.valid_lens).reshape(-1, 1)  # (B, T_k)
    with torch.no_grad():
        out, weights = reference(
            result.query,
            result.source,
            result.source,
            need_weights=True,
            average_attn_weights=False,
            key_padding_mask=padding,
        )  # (B, T_q, d_model), (B, H, T_q, T_k)
    out_diff = (result.trace.output - out).abs()
    w_diff = (result.trace.weights - weights).abs()
    return TorchCheck(
        max_output_diff=float(out_diff.max()),
        max_weight_diff=float(w_diff.max()),
        output_scale=max(1.0, float(out.abs().max())),
        tolerance=TOLERANCE,
    )
