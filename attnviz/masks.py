"""Boolean attention masks (True = may attend), built the ways the tutorials and the lab page build them.

Every builder returns a new ``torch.bool`` tensor whose last two axes are ``(T_q, T_k)``: rows are queries,
columns are keys. Pass the result to :func:`attnviz.attend` as ``mask=``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

__all__ = ["causal_mask", "padding_mask", "parse_mask_grid", "sliding_window_mask"]

# Cell spellings a painted grid may use (case-insensitive, surrounding spaces ignored).
_TRUE = frozenset({"1", "true", "t", "yes", "y", "x", "✓", "■", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", ".", "", "·", "□", "off", "-"})


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name}={value!r} must be a whole number")
    if value < 1:
        raise ValueError(f"{name}={value!r} must be at least 1")
    return int(value)


def causal_mask(t_q: int, t_k: int | None = None) -> Tensor:
    """``(T_q, T_k)``: query i may attend to keys j ≤ i (on and below the diagonal). ``t_k`` defaults to ``t_q``."""
    t_q = _positive_int("t_q", t_q)
    t_k = t_q if t_k is None else _positive_int("t_k", t_k)
    i = torch.arange(t_q).unsqueeze(-1)  # (T_q, 1)
    j = torch.arange(t_k).unsqueeze(0)  # (1, T_k)
    return j <= i


def sliding_window_mask(t_q: int, t_k: int | None = None, *, width: int, causal: bool = False) -> Tensor:
    """``(T_q, T_k)``: each query sees a window of ``width`` keys (fewer at the edges).

    ``causal=False`` centres the window on the query: keys ``i − (w−1)//2 … i + w//2`` (an even width leans one
    key to the right). ``causal=True`` is the window of Longformer/Mistral-style local attention: keys
    ``i − w + 1 … i``. ``width=1`` lets every query see only its own position.
    """
    t_q = _positive_int("t_q", t_q)
    t_k = t_q if t_k is None else _positive_int("t_k", t_k)
    width = _positive_int("width", width)
    i = torch.arange(t_q).unsqueeze(-1)  # (T_q, 1)
    j = torch.arange(t_k).unsqueeze(0)  # (1, T_k)
    if causal:
        return (j <= i) & (j > i - width)
    return (j >= i - (width - 1) // 2) & (j <= i + width // 2)


def padding_mask(valid_lens: Tensor | Sequence[int], t_q: int, t_k: int) -> Tensor:
    """d2l's ``valid_lens`` as an explicit mask: key j is visible when ``j < valid_len``.

    1-D ``valid_lens`` of length B is one length per batch row: result ``(B, T_q, T_k)``, every query of row b
    sees the first ``valid_lens[b]`` keys. 2-D ``(B, T_q)`` is one length per query: result ``(B, T_q, T_k)``.
    A length of 0 masks the whole row (a fully masked query); a length above ``T_k`` is an error.
    """
    t_q = _positive_int("t_q", t_q)
    t_k = _positive_int("t_k", t_k)
    lens = torch.as_tensor(valid_lens)
    if lens.is_floating_point():
        if not bool(torch.isfinite(lens).all()) or not bool((lens == lens.round()).all()):
            raise ValueError(f"valid_lens must be whole numbers, got {lens.tolist()}")
    elif lens.dtype == torch.bool:
        raise ValueError(f"valid_lens must be whole numbers, got dtype {lens.dtype}")
    lens = lens.long()
    if lens.dim() == 1:
        lens = lens.reshape(-1, 1, 1)  # (B, 1, 1)
    elif lens.dim() == 2:
        if lens.shape[1] != t_q:
            raise ValueError(f"2-D valid_lens must have shape (B, T_q) with T_q={t_q}, got {tuple(lens.shape)}")
        lens = lens.unsqueeze(-1)  # (B, T_q, 1)
    else:
        raise ValueError(f"valid_lens must be 1-D (B,) or 2-D (B, T_q), got shape {tuple(lens.shape)}")
    if lens.numel() and int(lens.min()) < 0:
        raise ValueError(f"valid_lens must be >= 0, got {torch.as_tensor(valid_lens).tolist()}")
    if lens.numel() and int(lens.max()) > t_k:
        raise ValueError(f"valid_lens must be <= T_k={t_k}, got {torch.as_tensor(valid_lens).tolist()}")
    j = torch.arange(t_k)  # (T_k,)
    return (j < lens).expand(lens.shape[0], t_q, t_k).clone()  # (B, T_q, T_k)


def _cell(value: object, row: int, col: int) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Real):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"mask cell ({row}, {col}) is {value!r}: use 1/0 or True/False")
        if value in (0, 1):
            return bool(value)
        raise ValueError(f"mask cell ({row}, {col}) is {value!r}: use 1/0 or True/False")
    if value is None:
        raise ValueError(f"mask cell ({row}, {col}) is empty: use 1/0 or True/False")
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValueError(f"mask cell ({row}, {col}) is {value!r}: use 1/0 or True/False")


def parse_mask_grid(grid: object, shape: tuple[int, int] | None = None) -> Tensor:
    """A painted grid (rows = queries, columns = keys) as a ``(T_q, T_k)`` boolean mask.

    Accepts nested sequences, a numpy array or a pandas DataFrame (its values) of booleans, 0/1 or the strings
    "1"/"0", "x"/".", "true"/"false". A multi-line string of such cells separated by spaces works too.
    ``shape`` checks the size. A row with no True cell is allowed: attend() treats it as a fully masked query.
    """
    if isinstance(grid, str):
        grid = [line.split() for line in grid.strip().splitlines() if line.strip()]
    if hasattr(grid, "to_numpy"):  # pandas
        grid = grid.to_numpy()
    if isinstance(grid, Tensor):
        grid = grid.detach().cpu().numpy()
    if isinstance(grid, np.ndarray):
        if grid.ndim != 2:
            raise ValueError(f"the mask grid must be 2-D (T_q, T_k), got shape {grid.shape}")
        rows = grid.tolist()
    elif isinstance(grid, Sequence):
        rows = [list(r) if isinstance(r, (Sequence, np.ndarray)) and not isinstance(r, str) else r for r in grid]
    else:
        raise ValueError(f"the mask grid must be a table of cells, got {type(grid).__name__}")
    if not rows:
        raise ValueError("the mask grid is empty: it needs at least one query row")
    for r, row in enumerate(rows):
        if not isinstance(row, list):
            raise ValueError(f"mask row {r} is {row!r}, not a row of cells")
    widths = {len(row) for row in rows}
    if len(widths) != 1:
        raise ValueError(f"mask rows have different lengths {sorted(widths)}: every row needs one cell per key")
    t_k = widths.pop()
    if t_k == 0:
        raise ValueError("the mask grid has no columns: it needs at least one key")
    cells = [[_cell(v, r, c) for c, v in enumerate(row)] for r, row in enumerate(rows)]
    mask = torch.tensor(cells, dtype=torch.bool)  # (T_q, T_k)
    if shape is not None and tuple(mask.shape) != tuple(shape):
        raise ValueError(f"the mask grid has shape {tuple(mask.shape)} but the scores have shape {tuple(shape)}")
    return mask
