"""Pure display models for the image-attention page: what one image and one query position look like under each
model (untrained, trained). numpy out; no streamlit, no plotly."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from attnviz.i18n import gettext as _
from attnviz.i18n import language
from attnviz.image.data import CLASSES
from attnviz.image.maps import CELL_EDGES, cell_fraction, query_map, received_attention, upsample
from attnviz.image.model import IMAGE_SIZE, CNNWithAttention

__all__ = [
    "OVERLAY_SIZE",
    "ImageAttentionView",
    "ModelAttention",
    "image_attention_view",
    "map_sentence",
    "overlay_caption",
    "prediction_sentence",
    "to_uint8",
]

# Punctuation between translated pieces, per language (Chinese sets sentences without spaces, full-width commas).
_SEPARATORS = {"zh": {" ": "", ", ": "，", "; ": "；"}}


def _sep(separator: str) -> str:
    return _SEPARATORS.get(language(), {}).get(separator, separator)


OVERLAY_SIZE = 56  # overlays are drawn at 2-pixel resolution: 56 × 56 values per panel instead of 112 × 112


@dataclass(frozen=True)
class ModelAttention:
    """One model's reading of the image at the chosen query position."""

    name: str  # as the page shows it ("untrained", "trained (250 steps)", in the page's language)
    per_head: np.ndarray  # (H, 20, 20)  the query's weights over the grid, per head
    mean: np.ndarray  # (20, 20)  averaged over heads
    overlay: np.ndarray  # (H + 1, OVERLAY_SIZE, OVERLAY_SIZE)  per head then the mean, placed on the image
    received: np.ndarray  # (H + 1, 20, 20)  average weight each position receives, per head then the mean
    received_overlay: np.ndarray  # (H + 1, OVERLAY_SIZE, OVERLAY_SIZE)
    probabilities: np.ndarray  # (num_classes,)
    on_object: float | None  # the query's mean-over-heads attention mass on the object (None without a mask)
    received_on_object: float | None

    @property
    def predicted(self) -> str:
        return CLASSES[int(np.argmax(self.probabilities))]

    @property
    def num_heads(self) -> int:
        return int(self.per_head.shape[0])


@dataclass(frozen=True)
class ImageAttentionView:
    image: np.ndarray  # (112, 112, 3) uint8
    row: int
    col: int
    query_box: tuple[float, float, float, float]  # (x0, x1, y0, y1) of the query's cell, pixel-index coordinates
    models: tuple[ModelAttention, ...]
    class_names: tuple[str, ...]
    label: str | None  # the true class of a generated image
    chance: float | None  # the mean cell fraction on the object: what uniform attention would put there

    @property
    def panel_titles(self) -> tuple[str, ...]:
        h = self.models[0].num_heads
        return (*(_("head {number}").format(number=i + 1) for i in range(h)), _("mean of heads"))


def to_uint8(image: Tensor | np.ndarray) -> np.ndarray:
    """``(3, H, W)`` floats in [0, 1] → ``(H, W, 3)`` uint8 for display."""
    array = image.detach().cpu().numpy() if isinstance(image, Tensor) else np.asarray(image)
    if array.ndim != 3 or array.shape[0] != 3:
        raise ValueError(f"image must have shape (3, H, W), got {array.shape}")
    return np.clip(np.round(array.transpose(1, 2, 0) * 255), 0, 255).astype(np.uint8)


@torch.no_grad()
def image_attention_view(
    image: Tensor,
    models: Mapping[str, CNNWithAttention],
    row: int,
    col: int,
    *,
    mask: Tensor | np.ndarray | None = None,
    label: int | None = None,
) -> ImageAttentionView:
    """Run every model (in eval mode) on one ``(3, 112, 112)`` image and collect the query ``(row, col)``'s maps."""
    if tuple(image.shape) != (3, IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"image must have shape (3, {IMAGE_SIZE}, {IMAGE_SIZE}), got {tuple(image.shape)}")
    if not models:
        raise ValueError("models is empty: give at least one model")
    frac = None if mask is None else cell_fraction(np.asarray(mask, dtype=bool))  # (20, 20)
    readings = []
    for name, model in models.items():
        model.eval()
        trace = model(image.unsqueeze(0))  # (1, …)
        qm = query_map(trace, row, col)
        received = received_attention(trace)
        maps = np.concatenate([qm.per_head, qm.mean[None]])  # (H + 1, 20, 20)
        readings.append(
            ModelAttention(
                name=name,
                per_head=qm.per_head,
                mean=qm.mean,
                overlay=upsample(maps, OVERLAY_SIZE),
                received=received,
                received_overlay=upsample(received, OVERLAY_SIZE),
                probabilities=trace.probabilities[0].double().numpy(),
                on_object=None if frac is None else float((qm.mean * frac).sum()),
                received_on_object=None if frac is None else float((received[-1] * frac).sum()),
            )
        )
    return ImageAttentionView(
        image=to_uint8(image),
        row=int(row),
        col=int(col),
        query_box=(CELL_EDGES[col], CELL_EDGES[col + 1], CELL_EDGES[row], CELL_EDGES[row + 1]),
        models=tuple(readings),
        class_names=CLASSES,
        label=None if label is None else CLASSES[int(label)],
        chance=None if frac is None else float(frac.mean()),
    )


def prediction_sentence(view: ImageAttentionView) -> str:
    """What each model predicts, with its probability, and whether it is right (for a generated image)."""
    parts = []
    for m in view.models:
        fields = {"model": m.name, "predicted": _(m.predicted), "p": float(m.probabilities.max())}
        if view.label is None:
            parts.append(_("The **{model}** model says **{predicted}** ({p:.0%}).").format(**fields))
        elif m.predicted == view.label:
            parts.append(_("The **{model}** model says **{predicted}** ({p:.0%}) — right.").format(**fields))
        else:
            parts.append(
                _("The **{model}** model says **{predicted}** ({p:.0%}) — wrong, it is a {label}.").format(
                    label=_(view.label), **fields
                )
            )
    if len(view.models) == 1:
        n = len(view.class_names)
        parts.append(_("Untrained, its probabilities hover near 1/{n} = {chance:.0%}.").format(n=n, chance=1 / n))
    return _sep(" ").join(parts)


def map_sentence(view: ImageAttentionView, kind: str) -> str:
    """How the maps read, with this image's numbers: the share of attention on the shape against chance."""
    if kind not in ("query", "received"):
        raise ValueError(f"kind must be 'query' or 'received', got {kind!r}")
    uniform = 1 / (20 * 20)
    if kind == "query":
        text = _(
            "Each panel is the query's row of the attention weights (400 numbers that sum to 1) laid back on the "
            "image: red where it attends, clear where it does not. Uniform attention would give every cell "
            "{uniform:.4f}."
        ).format(uniform=uniform)
    else:
        text = _(
            "Each panel averages all 400 queries' rows: how much attention each position receives. Positions that "
            "every query consults stand out."
        )
    if view.chance is not None:
        shares = [
            _("{model}: {share:.0%}").format(
                model=m.name, share=m.on_object if kind == "query" else m.received_on_object
            )
            for m in view.models
        ]
        text += _(
            " Share of the (mean-over-heads) attention that lands on the shape — {shares}; "
            "chance (uniform attention) would put {chance:.0%} there."
        ).format(shares=_sep(", ").join(shares), chance=view.chance)
    return text


def overlay_caption(view: ImageAttentionView, kind: str) -> str:
    """The shared colour scale and each model's range of weights, so a faint (near-uniform) row is read right."""
    maps = [m.mean if kind == "query" else m.received[-1] for m in view.models]
    top = max(float((m.overlay if kind == "query" else m.received_overlay).max()) for m in view.models)
    ranges = _sep("; ").join(
        _("{model}: {low:.4f} to {high:.4f}").format(model=m.name, low=float(w.min()), high=float(w.max()))
        for m, w in zip(view.models, maps, strict=True)
    )
    return _(
        "One colour scale for every panel, from 0 (clear) to {top:.3f} (red). The mean-of-heads weights range — "
        "{ranges}; uniform attention would be {uniform:.4f} everywhere."
    ).format(top=top, ranges=ranges, uniform=1 / 400)
