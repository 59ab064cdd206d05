"""Seed 003's CNN with attention: five conv blocks turn a 112 × 112 image into a 20 × 20 map whose 400 positions
attend to each other, then one linear layer reads all 400 × C numbers.

Sizes after each layer (``Conv2d(kernel 3, no padding)`` takes 2 pixels off a side length, ``MaxPool2d(2)`` halves
it, rounding down), with the seed's widths ``(16, 32, 64, 128, 256)``:

=====================  =================  ==============
layer                  output (C × H × W)  why
=====================  =================  ==============
input                  3 × 112 × 112       RGB image
conv 3×3 → BN → ReLU   16 × 110 × 110      112 − 2
max-pool 2             16 × 55 × 55        110 / 2
conv 3×3 → BN → ReLU   32 × 53 × 53        55 − 2
max-pool 2             32 × 26 × 26        ⌊53 / 2⌋
conv 3×3 → BN → ReLU   64 × 24 × 24        26 − 2
conv 3×3 → BN → ReLU   128 × 22 × 22       24 − 2
conv 3×3 → BN → ReLU   256 × 20 × 20       22 − 2: the feature map
flatten positions      400 × 256           20 · 20 tokens of width 256
multi-head attention   400 × 256           4 heads of width 64
flatten                102 400             400 · 256
linear                 num_classes         102 400 · num_classes weights
=====================  =================  ==============

:func:`layer_sizes` computes this table for any widths; the tests run the layers and compare.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from attnviz.i18n import gettext as _
from attnviz.modules import MultiHeadAttention, MultiHeadTrace

__all__ = [
    "GRID",
    "IMAGE_SIZE",
    "SEED_WIDTHS",
    "CNNWithAttention",
    "ImageTrace",
    "LayerSize",
    "layer_sizes",
]

IMAGE_SIZE = 112
GRID = 20  # the feature map's side: 400 positions
SEED_WIDTHS: tuple[int, ...] = (16, 32, 64, 128, 256)
_POOL_AFTER = (0, 1)  # the seed pools after its first two conv blocks only


@dataclass(frozen=True)
class LayerSize:
    """One row of the size table: a layer's name, its output shape (without B) and how the size came about."""

    layer: str
    shape: tuple[int, ...]
    why: str


def layer_sizes(widths: tuple[int, ...] = SEED_WIDTHS, num_classes: int = 4, num_heads: int = 4) -> list[LayerSize]:
    """The output size after every layer of :class:`CNNWithAttention`, computed by arithmetic (not by running it)."""
    widths = _check_widths(widths)
    side = IMAGE_SIZE
    rows = [LayerSize(_("input"), (3, side, side), _("RGB image"))]
    for i, width in enumerate(widths):
        conv = _("conv {number}: 3×3 conv → BN → ReLU").format(number=i + 1)
        rows.append(LayerSize(conv, (width, side - 2, side - 2), f"{side} − 2"))
        side -= 2
        if i in _POOL_AFTER:
            why = f"{side} / 2" if side % 2 == 0 else f"⌊{side} / 2⌋"
            side //= 2
            rows.append(LayerSize(_("max-pool {number}: 2×2").format(number=i + 1), (width, side, side), why))
    c = widths[-1]
    tokens = side * side
    positions = _("{side} · {side} positions, each a width-{width} vector").format(side=side, width=c)
    rows.append(LayerSize(_("positions as tokens"), (tokens, c), positions))
    heads = _("{heads} heads of width {width}, same shape").format(heads=num_heads, width=c // num_heads)
    rows.append(LayerSize(_("multi-head self-attention"), (tokens, c), heads))
    rows.append(LayerSize(_("flatten"), (tokens * c,), f"{tokens} · {c}"))
    classifier = _("{inputs:,} · {classes} weights + {classes}").format(inputs=tokens * c, classes=num_classes)
    rows.append(LayerSize(_("linear classifier"), (num_classes,), classifier))
    return rows


def _check_widths(widths: tuple[int, ...]) -> tuple[int, ...]:
    widths = tuple(int(w) for w in widths)
    if len(widths) != 5:
        raise ValueError(f"widths must give 5 conv widths like the seed's {SEED_WIDTHS}, got {widths}")
    if any(w < 1 for w in widths):
        raise ValueError(f"widths must be positive, got {widths}")
    return widths


@dataclass(frozen=True)
class ImageTrace:
    """Every step of :class:`CNNWithAttention` on a batch of images."""

    feature_map: Tensor  # (B, C, 20, 20)  after the five conv blocks
    tokens: Tensor  # (B, 400, C)  the map's positions in row-major order: token r·20 + c is position (r, c)
    attention: MultiHeadTrace  # self-attention over the 400 tokens; weights (B, H, 400, 400)
    flat: Tensor  # (B, 400·C)  attention output, flattened
    logits: Tensor  # (B, num_classes)

    @property
    def probabilities(self) -> Tensor:
        """``(B, num_classes)``: softmax of the logits."""
        return torch.softmax(self.logits, dim=-1)


class CNNWithAttention(nn.Module):
    """Seed 003's model: conv blocks → 20 × 20 map → self-attention over 400 positions → flatten → linear.

    ``widths`` are the five conv widths (the seed's ``(16, 32, 64, 128, 256)`` by default; smaller ones train
    faster); the last one is the attention's ``d_model`` and must be divisible by ``num_heads``. The attention has no
    biases, as the seed's ``MultHeadedAttention`` (the seed's attention dropout of 0.1 is left out so traces are
    deterministic). Parameters are initialised from ``seed`` without touching torch's global random state.
    """

    def __init__(
        self, num_classes: int, *, widths: tuple[int, ...] = SEED_WIDTHS, num_heads: int = 4, seed: int = 0
    ) -> None:
        super().__init__()
        widths = _check_widths(widths)
        num_classes, num_heads = int(num_classes), int(num_heads)
        if num_classes < 2:
            raise ValueError(f"num_classes={num_classes} must be at least 2")
        if num_heads < 1 or widths[-1] % num_heads != 0:
            raise ValueError(f"the last width {widths[-1]} is not divisible by num_heads={num_heads}")
        self.num_classes = num_classes
        self.widths = widths
        self.num_heads = num_heads
        self.seed = int(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            layers: list[nn.Module] = []
            c_in = 3
            for i, width in enumerate(widths):
                layers += [nn.Conv2d(c_in, width, 3, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
                if i in _POOL_AFTER:
                    layers.append(nn.MaxPool2d(2))
                c_in = width
            self.conv_layers = nn.Sequential(*layers)
            self.fc = nn.Linear(GRID * GRID * widths[-1], num_classes)
        self.attention = MultiHeadAttention(widths[-1], num_heads, bias=False, seed=self.seed)

    @property
    def config(self) -> dict:
        """What it takes to rebuild this model (saved next to the weights)."""
        return {
            "num_classes": self.num_classes,
            "widths": list(self.widths),
            "num_heads": self.num_heads,
            "seed": self.seed,
        }

    def forward(self, images: Tensor) -> ImageTrace:
        """``images`` ``(B, 3, 112, 112)`` (or one ``(3, 112, 112)`` image, traced with B = 1)."""
        if images.dim() == 3:
            images = images.unsqueeze(0)
        if images.dim() != 4 or tuple(images.shape[1:]) != (3, IMAGE_SIZE, IMAGE_SIZE):
            raise ValueError(f"images must have shape (B, 3, {IMAGE_SIZE}, {IMAGE_SIZE}), got {tuple(images.shape)}")
        images = images.to(self.fc.weight.dtype)
        feature_map = self.conv_layers(images)  # (B, C, 20, 20)
        b, c = feature_map.shape[:2]
        tokens = feature_map.permute(0, 2, 3, 1).reshape(b, GRID * GRID, c)  # (B, 20, 20, C) → (B, 400, C)
        attention = self.attention(tokens, tokens, tokens)  # weights (B, H, 400, 400)
        flat = attention.output.reshape(b, GRID * GRID * c)  # (B, 400·C)
        logits = self.fc(flat)  # (B, num_classes)
        return ImageTrace(feature_map=feature_map, tokens=tokens, attention=attention, flat=flat, logits=logits)

    def parameter_counts(self) -> dict[str, int]:
        """Parameters per part: conv blocks, attention, classifier (the classifier dominates at the seed's sizes)."""
        return {
            "conv blocks": sum(p.numel() for p in self.conv_layers.parameters()),
            "attention": sum(p.numel() for p in self.attention.parameters()),
            "classifier": sum(p.numel() for p in self.fc.parameters()),
        }
