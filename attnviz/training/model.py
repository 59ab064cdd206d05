"""The model the training page trains: token embeddings + sinusoidal positions + L encoder layers + a classifier.

Built from :class:`attnviz.encoder.EncoderLayer`, so the attention it learns is the same trace every other page
draws. Shapes: B batch, T positions, L layers, H heads, C output classes.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from attnviz.encoder import EncoderLayer, EncoderLayerTrace
from attnviz.i18n import gettext as _
from attnviz.positional import sinusoidal_encoding

__all__ = ["MAX_LENGTH", "TinyTransformer"]

MAX_LENGTH = 256
"""Longest input :meth:`TinyTransformer.traces` runs with ``any_length``."""


class TinyTransformer(nn.Module):
    """``logits = classifier(layers(embedding(tokens) + PE))``: one prediction per position, every layer's attention.

    Initialised from ``seed`` alone (its own generators, never torch's global one), so two models with the same
    sizes and seed are identical whatever else runs in the process.
    """

    def __init__(
        self,
        *,
        vocab: int,
        num_classes: int,
        seq_len: int,
        d_model: int,
        num_heads: int,
        num_layers: int,
        d_ff: int,
        seed: int = 0,
    ):
        super().__init__()
        for name, value in (
            ("vocab", vocab),
            ("num_classes", num_classes),
            ("seq_len", seq_len),
            ("d_model", d_model),
            ("num_heads", num_heads),
            ("num_layers", num_layers),
            ("d_ff", d_ff),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} must be a positive int")
        if d_model % num_heads:
            raise ValueError(f"d_model={d_model} is not divisible by num_heads={num_heads}")
        self.sizes = {
            "vocab": vocab,
            "num_classes": num_classes,
            "seq_len": seq_len,
            "d_model": d_model,
            "num_heads": num_heads,
            "num_layers": num_layers,
            "d_ff": d_ff,
            "seed": int(seed),
        }
        generator = torch.Generator().manual_seed(int(seed))
        self.embedding = nn.Parameter(torch.randn(vocab, d_model, generator=generator))  # (vocab, d_model)
        self.register_buffer("positions", sinusoidal_encoding(seq_len, d_model), persistent=False)  # (T, d_model)
        self.layers = nn.ModuleList(
            EncoderLayer(d_model, num_heads, d_ff, seed=int(seed) * 1000 + 1 + layer) for layer in range(num_layers)
        )
        bound = 1.0 / math.sqrt(d_model)
        self.w_out = nn.Parameter((torch.rand(d_model, num_classes, generator=generator) * 2 - 1) * bound)
        self.b_out = nn.Parameter((torch.rand(num_classes, generator=generator) * 2 - 1) * bound)

    @property
    def seq_len(self) -> int:
        return self.positions.shape[0]

    def check_tokens(self, tokens: Tensor, *, any_length: bool = False) -> Tensor:
        """``tokens`` as an int64 ``(B, T)`` tensor (a ``(T,)`` one gets B = 1); ValueError naming what is wrong.

        T must be the training length, or with ``any_length`` 1 … MAX_LENGTH."""
        tokens = torch.as_tensor(tokens)
        if tokens.dim() == 1:
            tokens = tokens.unsqueeze(0)
        if any_length:
            if tokens.dim() != 2 or not 1 <= tokens.shape[1] <= MAX_LENGTH:
                raise ValueError(
                    _("tokens must have shape (B, T) with 1 ≤ T ≤ {limit}, got {shape}").format(
                        limit=MAX_LENGTH, shape=tuple(tokens.shape)
                    )
                )
        elif tokens.dim() != 2 or tokens.shape[1] != self.seq_len:
            raise ValueError(
                _("tokens must have shape (B, {t}), got {shape}").format(t=self.seq_len, shape=tuple(tokens.shape))
            )
        if tokens.is_floating_point() or tokens.dtype == torch.bool:
            raise ValueError(_("tokens must be integer ids, got dtype {dtype}").format(dtype=tokens.dtype))
        vocab = self.embedding.shape[0]
        if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= vocab):
            bad = tokens[(tokens < 0) | (tokens >= vocab)][0]
            raise ValueError(_("token id {id} is outside the vocabulary 0–{last}").format(id=int(bad), last=vocab - 1))
        return tokens.long()

    def run(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """``(logits (B, T, C), weights (B, L, H, T, T))`` for token ids ``(B, T)``."""
        logits, traces = self.traces(self.check_tokens(tokens))
        return logits, torch.stack([t.attention.weights for t in traces], dim=1)  # (B, L, H, T, T)

    def traces(self, tokens: Tensor, *, any_length: bool = False) -> tuple[Tensor, list[EncoderLayerTrace]]:
        """``(logits (B, T, C), one EncoderLayerTrace per layer)``; ``any_length`` runs a T the model was not
        trained on (positions 0 … T−1 of the same sinusoidal encoding)."""
        tokens = self.check_tokens(tokens, any_length=any_length)
        t = tokens.shape[1]
        positions = self.positions if t == self.seq_len else sinusoidal_encoding(t, self.positions.shape[1])
        x = self.embedding[tokens] + positions  # (B, T, d_model)
        traces = []
        for layer in self.layers:
            trace = layer(x)
            traces.append(trace)
            x = trace.output  # (B, T, d_model)
        return x @ self.w_out + self.b_out, traces  # logits (B, T, C)

    def forward(self, tokens: Tensor) -> Tensor:
        """``logits (B, T, C)``."""
        return self.run(tokens)[0]
