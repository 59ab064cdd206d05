"""What the Encoder page shares: its model rebuilt from the settings, the opened layer's trace and every weight.

The page's view keeps only what it draws (pooled, windowed); exports and "copy as code" need the full arrays, so
:func:`encoder_export` runs the same model once more (same seed, same input) and keeps them, named as the
:class:`attnviz.encoder.EncoderLayerTrace` fields.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from attnviz.cells import CellExplanation, explain_head
from attnviz.encoder import Encoder, EncoderLayer, TimeSeriesTransformer
from attnviz.i18n import gettext as _
from attnviz.modules import MultiHeadTrace

__all__ = ["LAYER_ARRAYS", "PARAMETER_NAMES", "EncoderExport", "build_encoder", "encoder_export"]

# (name in files and code, how it is read off an EncoderLayerTrace)
LAYER_ARRAYS = (
    "input",
    "attention_input",
    "weights",  # attention.weights (H, T, T)
    "attention_output",  # attention.output
    "residual1",
    "norm1",  # norm1.output
    "ffn_input",
    "ffn_pre_activation",
    "ffn_hidden",
    "ffn_output",
    "residual2",
    "norm2",  # norm2.output
    "output",
)
PARAMETER_NAMES = ("w_q", "w_k", "w_v", "w_o", "b_q", "b_k", "b_v", "b_o", "w_1", "b_1", "w_2", "b_2",
                   "norm1_weight", "norm1_bias", "norm2_weight", "norm2_bias")  # fmt: skip


def build_encoder(
    kind: str,
    d_model: int,
    *,
    num_layers: int,
    num_heads: int,
    d_ff: int,
    norm_first: bool,
    activation: str,
    seed: int,
) -> Encoder:
    """The page's encoder: seed 000's time-series model's encoder for ``kind == "series"``, else an :class:`Encoder`
    (both seeded the same way, so the weights depend only on the settings). Gradients off."""
    if kind not in ("tokens", "series"):
        raise ValueError(_("kind={kind} must be 'tokens' or 'series'").format(kind=repr(kind)))
    if kind == "series":
        encoder = TimeSeriesTransformer(
            d_model, num_layers, num_heads, d_ff, norm_first=norm_first, activation=activation, seed=seed
        ).encoder
    else:
        encoder = Encoder(num_layers, d_model, num_heads, d_ff, norm_first=norm_first, activation=activation, seed=seed)
    return encoder.requires_grad_(False)


def _parameter(layer: EncoderLayer, name: str) -> np.ndarray:
    owner = layer.attention if name[:2] in ("w_", "b_") and name[2:] in ("q", "k", "v", "o") else layer
    value = getattr(owner, name)
    if value is None:
        raise ValueError(_("the encoder has no {name} (built without biases)").format(name=name))
    return value.detach().to(torch.float32).numpy().copy()


@dataclass(frozen=True)
class EncoderExport:
    """The full arrays behind one opened layer: ``x`` ``(T, d_model)``, every layer's ``parameters`` (``layer{l}_`` +
    :data:`PARAMETER_NAMES`, x @ W), the opened ``layer``'s arrays (:data:`LAYER_ARRAYS`, batch axis dropped) and the
    model's ``output`` ``(T, d_model)``."""

    x: np.ndarray
    parameters: dict[str, np.ndarray]
    layer: int
    arrays: dict[str, np.ndarray]
    output: np.ndarray
    attention: MultiHeadTrace  # the opened layer's self-attention (batch of one)

    def explain(self, head: int, row: int, col: int, labels: tuple[str, ...] | None = None) -> CellExplanation:
        """The opened layer's head ``head`` weight at (``row``, ``col``) written out: the query and key rows of that
        head's slices of Q = attention_input @ W_q and K, their dot product, the scale, the softmax."""
        heads = self.attention.num_heads
        if not 0 <= head < heads:
            raise ValueError(_("head={head} must be from 0 to {last}").format(head=head, last=heads - 1))
        return explain_head(self.attention, "weights", head, row, col, labels=labels)


def encoder_export(
    x: np.ndarray,
    kind: str,
    *,
    num_layers: int,
    num_heads: int,
    d_ff: int,
    norm_first: bool,
    activation: str,
    seed: int,
    causal: bool,
    valid_len: int | None,
    layer: int,
) -> EncoderExport:
    """Run the page's encoder on ``x`` ``(T, d_model)`` and keep the full arrays of layer ``layer``."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(_("x must have shape (T >= 1, d_model), got {shape}").format(shape=x.shape))
    if not 0 <= layer < num_layers:
        raise ValueError(
            _("layer={layer} must be from 0 to num_layers - 1 = {last}").format(layer=layer, last=num_layers - 1)
        )
    t, d_model = x.shape
    if valid_len is not None and not 1 <= valid_len <= t:
        raise ValueError(_("valid_len={valid_len} must be from 1 to T={t}").format(valid_len=valid_len, t=t))
    encoder = build_encoder(kind, d_model, num_layers=num_layers, num_heads=num_heads, d_ff=d_ff,
                            norm_first=norm_first, activation=activation, seed=seed)  # fmt: skip
    mask = torch.ones(t, t, dtype=torch.bool).tril() if causal else None
    lens = None if valid_len is None else torch.tensor([valid_len])
    with torch.no_grad():
        trace = encoder(torch.from_numpy(x).unsqueeze(0), mask=mask, valid_lens=lens)
    lt = trace.layers[layer]
    tensors = {
        "input": lt.input,
        "attention_input": lt.attention_input,
        "weights": lt.attention.weights,
        "attention_output": lt.attention.output,
        "residual1": lt.residual1,
        "norm1": lt.norm1.output,
        "ffn_input": lt.ffn_input,
        "ffn_pre_activation": lt.ffn_pre_activation,
        "ffn_hidden": lt.ffn_hidden,
        "ffn_output": lt.ffn_output,
        "residual2": lt.residual2,
        "norm2": lt.norm2.output,
        "output": lt.output,
    }
    arrays = {name: tensors[name][0].detach().to(torch.float32).numpy().copy() for name in LAYER_ARRAYS}
    parameters = {
        f"layer{i}_{name}": _parameter(m, name) for i, m in enumerate(encoder.layers) for name in PARAMETER_NAMES
    }
    output = trace.output[0].detach().to(torch.float32).numpy().copy()
    return EncoderExport(
        x=x.copy(), parameters=parameters, layer=layer, arrays=arrays, output=output, attention=lt.attention
    )
