"""Array arithmetic the views and figures share: numpy copies of tensors, crop/pad, block pooling.

No plotting and no streamlit here: :mod:`attnviz.views` computes what to show with these, and
:mod:`attnviz.figures` only draws it.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TypeVar

import numpy as np

from attnviz.i18n import gettext as _

__all__ = [
    "SCIENTIFIC_FROM",
    "pool_blocks",
    "pool_factor",
    "range_labels",
    "read_only",
    "resize",
    "robust_max",
    "to_numpy",
]


T = TypeVar("T")


def read_only(obj: T) -> T:
    """``obj`` (a dataclass) with every numpy array in it made read-only, also inside nested dataclasses and tuples:
    a cache shares such a view between reruns and sessions without copying it, and a write into it raises."""
    if isinstance(obj, np.ndarray):
        obj.flags.writeable = False
    elif isinstance(obj, tuple):
        for item in obj:
            read_only(item)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for field in dataclasses.fields(obj):
            read_only(getattr(obj, field.name))
    return obj


SCIENTIFIC_FROM = 1e6  # from this magnitude on, numbers are shown in scientific notation (formulas, cell text)


def to_numpy(matrix) -> np.ndarray:
    """A float32 numpy copy of a tensor or array-like, with ±inf (masked cells) turned into NaN (blank)."""
    if hasattr(matrix, "detach"):
        matrix = matrix.detach().cpu().numpy()
    array = np.array(matrix, dtype=np.float32)
    array[~np.isfinite(array)] = np.nan
    return array


def resize(matrix: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Crop or zero-pad ``matrix`` to ``shape``, keeping its top-left values (float64)."""
    out = np.zeros(shape, dtype=np.float64)
    rows, cols = min(shape[0], matrix.shape[0]), min(shape[1], matrix.shape[1])
    out[:rows, :cols] = matrix[:rows, :cols]
    return out


def pool_factor(n: int, max_cells: int) -> int:
    """The smallest block size ``b`` with ``ceil(n / b) <= max_cells`` (1: no pooling needed)."""
    if max_cells < 1:
        raise ValueError(_("max_cells must be at least 1, got {max_cells}").format(max_cells=max_cells))
    return max(1, math.ceil(n / max_cells))


def range_labels(n: int, block: int) -> list[str]:
    """Axis labels of ``n`` positions pooled ``block`` at a time: ``["0–7", "8–15", …]`` (a lone position: ``"8"``)."""
    labels = []
    for start in range(0, n, block):
        stop = min(start + block, n) - 1
        labels.append(f"{start}–{stop}" if stop > start else f"{start}")
    return labels


def pool_blocks(stack, block: int, *, how: str = "mean") -> np.ndarray:
    """Pool the last two axes of ``stack`` ``(..., R, C)`` in ``block × block`` squares: ``(..., ⌈R/b⌉, ⌈C/b⌉)``.

    ``how="mean"``: the mean of each block's finite cells (e.g. scores, masked cells left out).
    ``how="row_share"``: for attention weights, the mean over the block's rows of their sum over its columns,
    i.e. the share of attention those queries give those keys, so a pooled row still sums to 1.
    A block with no finite cell is NaN (blank). The last block of an axis may be shorter. float32 out.
    """
    if block == 1 or not isinstance(block, int):
        z = to_numpy(stack)  # returned as it is (block 1): a float32 copy with ±inf as NaN
    else:  # only read: no copy of a float32 array or tensor (non-finite cells are left out below either way)
        z = np.asarray(stack.detach().cpu().numpy() if hasattr(stack, "detach") else stack, dtype=np.float32)
    if z.ndim < 2:
        raise ValueError(_("pool_blocks takes (..., rows, cols), got shape {z_shape}").format(z_shape=z.shape))
    if block < 1:
        raise ValueError(_("block must be at least 1, got {block}").format(block=block))
    if how not in ("mean", "row_share"):
        raise ValueError(_("how must be 'mean' or 'row_share', got {how}").format(how=repr(how)))
    if block == 1:
        return z
    *lead, r, c = z.shape
    pr, pc = math.ceil(r / block), math.ceil(c / block)
    rows_in_block = np.minimum(block, r - np.arange(pr) * block).astype(np.float32)  # (R',)
    if np.isfinite(z).all():  # the common case (no masked cell): two contiguous sums
        padded = np.zeros((*lead, pr * block, pc * block), dtype=np.float32) if (r % block or c % block) else z
        if padded is not z:
            padded[..., :r, :c] = z
        # A block's rows first (whole rows added, vectorised: ~5× faster than summing each row's runs of `block`
        # first), then the columns of the block-row sums, 1/block the size.
        sums = padded.reshape(*lead, pr, block, pc * block).sum(axis=-2)  # (..., R', C)
        sums = sums.reshape(*lead, pr, pc, block).sum(axis=-1)  # (..., R', C')
        if how == "row_share":
            return (sums / rows_in_block[:, None]).astype(np.float32)
        cols_in_block = np.minimum(block, c - np.arange(pc) * block).astype(np.float32)  # (C',)
        return (sums / (rows_in_block[:, None] * cols_in_block[None, :])).astype(np.float32)
    padded = np.full((*lead, pr * block, pc * block), np.nan, dtype=np.float32)
    padded[..., :r, :c] = z
    blocks = padded.reshape(*lead, pr, block, pc, block)  # (..., R', b, C', b)
    finite = np.isfinite(blocks)
    filled = np.where(finite, blocks, np.float32(0))
    count = finite.sum(axis=(-3, -1))  # (..., R', C')
    if how == "mean":
        out = filled.sum(axis=(-3, -1)) / np.maximum(count, 1)
    else:
        out = filled.sum(axis=(-3, -1)) / rows_in_block[:, None]
    out = out.astype(np.float32)
    out[count == 0] = np.nan
    return out


def robust_max(values, percentile: float = 99.0) -> float:
    """The ``percentile`` of the finite values: a colour-scale top that a few large cells cannot wash out.

    Returns 1.0 when there is no positive finite value.
    """
    z = to_numpy(values)
    finite = z[np.isfinite(z)]
    if not finite.size:
        return 1.0
    top = float(np.percentile(finite, percentile))
    return top if top > 0 else (float(finite.max()) if finite.max() > 0 else 1.0)
