"""Sinusoidal positional encoding (Vaswani et al. 2017, section 3.5).

Shapes: T positions, d_model features. Every function returns a new tensor of shape (T, d_model) or (T, T).
"""

from __future__ import annotations

import math
import numbers

import torch
from torch import Tensor

from attnviz.validation import check_at_least_one

__all__ = [
    "column_functions",
    "display_indices",
    "max_row_difference",
    "position_similarity",
    "seed_odd_variant_encoding",
    "sinusoidal_encoding",
    "wavelengths",
]


def _check_base(base: object) -> float:
    if isinstance(base, bool) or not isinstance(base, numbers.Real):
        raise TypeError(f"base={base!r} must be a real number")
    if not (math.isfinite(base) and base > 0):
        raise ValueError(f"base={base!r} must be positive and finite")
    return float(base)


def _check_float_dtype(dtype: torch.dtype) -> None:
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise ValueError(f"dtype={dtype!r} must be a floating-point torch dtype")


def _encoding(num_positions: int, d_model: int, base: float, cos_exponents: Tensor, dtype: torch.dtype) -> Tensor:
    """Shared body: sin columns use exponent 2i/d_model, cos columns use ``cos_exponents`` (float64)."""
    position = torch.arange(num_positions, dtype=torch.float64).unsqueeze(1)  # (T, 1)
    sin_exponents = torch.arange(0, d_model, 2, dtype=torch.float64) / d_model  # (ceil(d/2),)
    pe = torch.empty(num_positions, d_model, dtype=torch.float64)  # (T, d_model)
    pe[:, 0::2] = torch.sin(position * base**-sin_exponents)  # (T, ceil(d/2))
    pe[:, 1::2] = torch.cos(position * base**-cos_exponents)  # (T, floor(d/2))
    return pe.to(dtype)


def sinusoidal_encoding(
    num_positions: int, d_model: int, base: float = 10000.0, *, dtype: torch.dtype = torch.float32
) -> Tensor:
    """The standard sinusoidal positional encoding, shape (num_positions, d_model).

    ``pe[pos, 2i] = sin(pos / base^(2i/d_model))`` and ``pe[pos, 2i+1] = cos(pos / base^(2i/d_model))``:
    each sin/cos pair shares one frequency (as in the paper, d2l and the Annotated Transformer). An odd
    d_model ends with an unpaired sin column (d_model=9: sin in columns 0,2,4,6,8, cos in 1,3,5,7).
    Computed in float64, then cast to ``dtype``, so float32 values stay accurate at large positions.
    """
    num_positions = check_at_least_one("num_positions", num_positions)
    d_model = check_at_least_one("d_model", d_model)
    base = _check_base(base)
    _check_float_dtype(dtype)
    cos_exponents = torch.arange(0, d_model - 1, 2, dtype=torch.float64) / d_model  # pair's 2i/d_model
    return _encoding(num_positions, d_model, base, cos_exponents, dtype)


def seed_odd_variant_encoding(
    num_positions: int, d_model: int, base: float = 10000.0, *, dtype: torch.dtype = torch.float32
) -> Tensor:
    """The source tutorial's variant, shape (num_positions, d_model). NOT the standard formula.

    The tutorial (seed 000, d_model=9) builds a separate ``div_term_odd = exp(arange(1, d, 2) * -ln(base)/d)``
    for the cos columns, so column 2i+1 is ``cos(pos / base^((2i+1)/d_model))``: each cos column gets its own,
    slightly lower frequency instead of sharing its sin partner's ``2i/d_model``. The sin columns match
    :func:`sinusoidal_encoding`; the cos columns differ for every d_model >= 2 (odd or even). Kept so the app
    can show the difference: with the standard pairing, pe[p + k] is a rotation of pe[p] within each pair.
    """
    num_positions = check_at_least_one("num_positions", num_positions)
    d_model = check_at_least_one("d_model", d_model)
    base = _check_base(base)
    _check_float_dtype(dtype)
    cos_exponents = torch.arange(1, d_model, 2, dtype=torch.float64) / d_model  # own (2i+1)/d_model
    return _encoding(num_positions, d_model, base, cos_exponents, dtype)


def position_similarity(pe: Tensor) -> Tensor:
    """Dot products between every pair of positions: ``pe @ pe.T``, (T, d_model) -> (T, T)."""
    if pe.dim() != 2:
        raise ValueError(f"pe must be 2-D (num_positions, d_model), got shape {tuple(pe.shape)}")
    return pe @ pe.T  # (T, d_model) @ (d_model, T) -> (T, T)


def column_functions(d_model: int) -> list[str]:
    """``"sin"`` or ``"cos"`` for each of the d_model columns: even columns are sin, odd ones cos.

    An odd d_model has one more sin than cos column (d_model=9: 5 sin, 4 cos; column 8 has no cos partner).
    """
    d_model = check_at_least_one("d_model", d_model)
    return ["sin" if j % 2 == 0 else "cos" for j in range(d_model)]


def wavelengths(d_model: int, base: float = 10000.0) -> list[float]:
    """Each column's wavelength in positions, ``2π · base^(2i/d_model)`` for the pair 2i, 2i+1 it belongs to."""
    d_model = check_at_least_one("d_model", d_model)
    base = _check_base(base)
    return [2 * math.pi * base ** ((j - j % 2) / d_model) for j in range(d_model)]


def display_indices(n: int, limit: int = 256, *, group: int = 1) -> list[int]:
    """Indices into an axis of length ``n``, evenly strided so at most ``limit`` are kept (all when n <= limit).

    ``group`` keeps whole consecutive groups together: ``group=2`` on the d_model axis keeps both columns of
    each kept sin/cos pair, so striding never drops every cos column. Always starts at 0.
    """
    n = check_at_least_one("n", n)
    group = check_at_least_one("group", group)
    limit = check_at_least_one("limit", limit)
    if limit < group:
        raise ValueError(f"limit={limit} must be at least group={group}")
    if n <= limit:
        return list(range(n))
    groups = math.ceil(n / group)
    stride = math.ceil(groups / (limit // group))
    return [g * group + k for g in range(0, groups, stride) for k in range(group) if g * group + k < n]


def max_row_difference(matrix: Tensor, i: int, j: int) -> float:
    """``max |matrix[i] - matrix[j]|`` over the columns of a 2-D matrix: 0 exactly when rows i and j are equal."""
    if matrix.dim() != 2:
        raise ValueError(f"matrix must be 2-D, got shape {tuple(matrix.shape)}")
    n = matrix.shape[0]
    for name, index in (("i", i), ("j", j)):
        if not 0 <= index < n:
            raise ValueError(f"{name}={index} is not a row of a matrix with {n} rows")
    return float((matrix[i] - matrix[j]).abs().max()) if matrix.shape[1] else 0.0
