"""Where a position of the 20 × 20 map looks, and how that lines up with the image's pixels.

Position ``(r, c)`` of the feature map sees a 34 × 34 pixel window of the input (three 3 × 3 convs after two
pools and two before them); its centre is pixel ``4·r + 16.5`` (two pools: 4 pixels between neighbours). So the 400
positions sit on a 4-pixel lattice in the middle of the image, and the 16 border pixels on each side are seen only
by the windows' edges. Maps are placed on the image by that geometry, not by stretching 20 cells over 112 pixels
(which would be off by up to 14 pixels near the border).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from attnviz.image.model import GRID, IMAGE_SIZE, ImageTrace

__all__ = [
    "CELL_EDGES",
    "FIELD",
    "STRIDE",
    "ObjectAttention",
    "QueryMap",
    "cell_fraction",
    "object_attention",
    "object_attention_over",
    "pixel_to_position",
    "position_center",
    "query_map",
    "received_attention",
    "upsample",
]

STRIDE = 4  # pixels between neighbouring positions' window centres (two 2 × 2 pools)
FIELD = 34  # receptive field side in pixels
OFFSET = (FIELD - 1) / 2  # 16.5: centre of position 0's window
# Cell r of the grid drawn over the image: the pixels nearer position r's centre than any other's (the first and
# last cells reach the border). GRID + 1 edges in pixel-index coordinates (pixel i spans i − 0.5 … i + 0.5):
# −0.5, 18.5, 22.5, …, 90.5, 111.5. Pixels 110 and 111 lie in no window at all: the second pool drops a row.
CELL_EDGES: tuple[float, ...] = (-0.5, *(OFFSET + STRIDE * (r - 0.5) for r in range(1, GRID)), IMAGE_SIZE - 0.5)


def position_center(index: int) -> float:
    """The pixel coordinate (row or column) of position ``index``'s window centre: ``4·index + 16.5``."""
    return OFFSET + STRIDE * index


def pixel_to_position(pixel: float) -> int:
    """The grid index (0 … 19) whose window centre is nearest to pixel-index coordinate ``pixel`` (−0.5 … 111.5)."""
    if not (-0.5 <= float(pixel) <= IMAGE_SIZE - 0.5):
        raise ValueError(f"pixel={pixel} is outside the image (−0.5 … {IMAGE_SIZE - 0.5})")
    return int(min(GRID - 1, max(0, round((float(pixel) - OFFSET) / STRIDE))))


@dataclass(frozen=True)
class QueryMap:
    """The attention of one query position over the 20 × 20 grid, per head and averaged over heads."""

    row: int
    col: int
    per_head: np.ndarray  # (H, 20, 20): weights of query (row, col), key r·20 + c at [h, r, c]; each sums to 1
    mean: np.ndarray  # (20, 20): the average over heads


def _weights(trace: ImageTrace, batch: int) -> Tensor:
    weights = trace.attention.weights  # (B, H, 400, 400)
    if not 0 <= batch < weights.shape[0]:
        raise ValueError(f"batch={batch} is out of range for a batch of {weights.shape[0]}")
    return weights[batch].detach()  # (H, 400, 400)


def query_map(trace: ImageTrace, row: int, col: int, *, batch: int = 0) -> QueryMap:
    """Query position ``(row, col)``'s attention as 20 × 20 maps (row-major tokens: token ``r·20 + c``)."""
    for name, value in (("row", row), ("col", col)):
        if not 0 <= int(value) < GRID:
            raise ValueError(f"{name}={value} must be between 0 and {GRID - 1}")
    weights = _weights(trace, batch)
    per_head = weights[:, int(row) * GRID + int(col), :].reshape(-1, GRID, GRID)  # (H, 400) → (H, 20, 20)
    per_head = per_head.to(torch.float64).numpy()
    return QueryMap(int(row), int(col), per_head, per_head.mean(axis=0))


def received_attention(trace: ImageTrace, *, batch: int = 0) -> np.ndarray:
    """``(H + 1, 20, 20)``: the average weight each key position receives over all 400 queries, per head then the
    mean over heads. Each map sums to 1."""
    weights = _weights(trace, batch).to(torch.float64)  # (H, 400, 400)
    per_head = weights.mean(dim=1).reshape(-1, GRID, GRID)  # average over queries: (H, 20, 20)
    return torch.cat([per_head, per_head.mean(dim=0, keepdim=True)]).numpy()


def upsample(grid_map: np.ndarray, size: int = IMAGE_SIZE) -> np.ndarray:
    """A ``(..., 20, 20)`` map as ``(..., size, size)`` pixels: each pixel takes the bilinear interpolation of the
    positions whose window centres surround it (constant beyond the outermost centres)."""
    grid_map = np.asarray(grid_map, dtype=np.float64)
    if grid_map.shape[-2:] != (GRID, GRID):
        raise ValueError(f"grid_map must end in ({GRID}, {GRID}), got {grid_map.shape}")
    pixels = (np.arange(size) + 0.5) * (IMAGE_SIZE / size) - 0.5  # pixel centres in 112-pixel index coordinates
    t = np.clip((pixels - OFFSET) / STRIDE, 0, GRID - 1)
    low = np.minimum(np.floor(t).astype(int), GRID - 2)
    frac = t - low
    rows = grid_map[..., low, :] * (1 - frac)[:, None] + grid_map[..., low + 1, :] * frac[:, None]  # (..., size, 20)
    return rows[..., low] * (1 - frac) + rows[..., low + 1] * frac  # (..., size, size)


def cell_fraction(mask: np.ndarray | Tensor) -> np.ndarray:
    """``(..., 20, 20)``: the fraction of each grid cell's pixels (see ``CELL_EDGES``) that a ``(..., 112, 112)``
    boolean mask covers."""
    mask = np.asarray(mask, dtype=np.float64)
    if mask.shape[-2:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"mask must end in ({IMAGE_SIZE}, {IMAGE_SIZE}), got {mask.shape}")
    cell = np.searchsorted(np.asarray(CELL_EDGES[1:-1]), np.arange(IMAGE_SIZE))  # pixel → cell index 0 … 19
    onehot = (cell[:, None] == np.arange(GRID)[None, :]).astype(np.float64)  # (112, 20)
    counts = onehot.sum(axis=0)  # pixels per cell along one axis
    summed = np.einsum("...yx,yr,xc->...rc", mask, onehot, onehot)
    return summed / np.outer(counts, counts)


@dataclass(frozen=True)
class ObjectAttention:
    """How much attention lands on the object: ``Σ_k weight_k · fraction of cell k on the object``."""

    from_object_queries: float  # averaged over queries whose own cell is ≥ half object (mean over heads)
    received: float  # the received-attention map (mean over queries and heads) against the object
    chance: float  # uniform attention: the mean cell fraction
    images: int


def object_attention(weights: Tensor, masks: Tensor) -> ObjectAttention:
    """Attention mass on the object for ``weights`` ``(B, H, 400, 400)`` and object ``masks`` ``(B, 112, 112)``."""
    if weights.dim() != 4 or tuple(weights.shape[-2:]) != (GRID * GRID, GRID * GRID):
        raise ValueError(f"weights must have shape (B, H, 400, 400), got {tuple(weights.shape)}")
    if masks.shape[0] != weights.shape[0]:
        raise ValueError(f"masks has {masks.shape[0]} images but weights has {weights.shape[0]}")
    frac = torch.from_numpy(cell_fraction(masks.cpu().numpy())).reshape(-1, GRID * GRID)  # (B, 400)
    mean_weights = weights.detach().to(torch.float64).mean(dim=1)  # (B, 400, 400) over heads
    on_object = mean_weights @ frac.unsqueeze(-1)  # (B, 400, 1): each query's mass on the object
    on_object = on_object.squeeze(-1)
    query_on = frac >= 0.5  # (B, 400)
    per_image = [float(on_object[b][query_on[b]].mean()) for b in range(len(frac)) if bool(query_on[b].any())]
    received = (mean_weights.mean(dim=1) * frac).sum(dim=-1)  # (B,)
    return ObjectAttention(
        from_object_queries=float(np.mean(per_image)) if per_image else float("nan"),
        received=float(received.mean()),
        chance=float(frac.mean()),
        images=len(per_image),
    )


@torch.no_grad()
def object_attention_over(
    model: torch.nn.Module, images: Tensor, masks: Tensor, *, batch_size: int = 25
) -> ObjectAttention:
    """:func:`object_attention` over a whole set, in batches (the weights of 400 images would take ~1 GB); the
    model runs in eval mode. Averages are over images, as for one batch."""
    was_training = model.training
    model.eval()
    parts = []
    for start in range(0, len(images), batch_size):
        trace = model(images[start : start + batch_size])
        parts.append((object_attention(trace.attention.weights, masks[start : start + batch_size]), len(trace.logits)))
    model.train(was_training)
    counted = [(p, n) for p, n in parts if p.images]
    total = sum(n for _, n in parts)
    return ObjectAttention(
        from_object_queries=sum(p.from_object_queries * p.images for p, _ in counted)
        / max(1, sum(p.images for p, _ in counted)),
        received=sum(p.received * n for p, n in parts) / total,
        chance=sum(p.chance * n for p, n in parts) / total,
        images=sum(p.images for p, _ in counted),
    )
