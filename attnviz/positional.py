"""Positional encodings: sinusoidal (Vaswani et al. 2017, section 3.5), rotary (RoPE) and a learned table.

Shapes: T positions, d_model features. Every function returns a new tensor of shape (T, d_model) or (T, T).
"""

from __future__ import annotations

import math
import numbers

import torch
from torch import Tensor, nn

from attnviz.i18n import gettext as _
from attnviz.validation import check_at_least_one

__all__ = [
    "POSITION_SCHEMES",
    "LearnedPositionalEmbedding",
    "column_functions",
    "diagonal_spread",
    "display_indices",
    "max_row_difference",
    "position_pair_scores",
    "position_similarity",
    "rope_score_grid",
    "rotary_embedding",
    "seed_odd_variant_encoding",
    "sinusoidal_encoding",
    "wavelengths",
]


def _check_base(base: object) -> float:
    if isinstance(base, bool) or not isinstance(base, numbers.Real):
        raise TypeError(f"base={base!r} must be a real number")
    if not (math.isfinite(base) and base > 0):
        raise ValueError(_("base={base} must be positive and finite").format(base=repr(base)))
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


def rotary_embedding(x: Tensor, *, base: float = 10000.0, positions: Tensor | None = None) -> Tensor:
    """Rotary position embedding (RoPE, Su et al. 2021): rotate each pair of the last axis by position × θ_i.

    ``x`` is ``(..., T, d)`` with d even; the pair ``(x[2i], x[2i+1])`` at position m is rotated by the angle
    ``m · θ_i`` with ``θ_i = base^(−2i/d)`` (the interleaved pairing of the paper). ``positions`` (length T)
    defaults to 0…T−1. Then ``rope(q, m) · rope(k, n)`` depends on m and n only through m − n. Angles are
    computed in float64; the result has ``x``'s dtype.
    """
    if not isinstance(x, Tensor) or not x.is_floating_point() or x.dim() < 2:
        raise ValueError(f"x must be a float tensor of shape (..., T, d), got {getattr(x, 'shape', type(x).__name__)}")
    t, d = x.shape[-2], x.shape[-1]
    if d % 2:
        raise ValueError(f"rotary_embedding needs an even last axis to pair up, got d={d} (x {tuple(x.shape)})")
    base = _check_base(base)
    if positions is None:
        pos = torch.arange(t, dtype=torch.float64)  # (T,)
    else:
        pos = torch.as_tensor(positions, dtype=torch.float64).reshape(-1)
        if pos.numel() != t:
            raise ValueError(f"positions has {pos.numel()} entries but x has T={t} positions")
    theta = base ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)  # (d/2,)
    angle = pos.unsqueeze(-1) * theta  # (T, d/2)
    cos, sin = torch.cos(angle).to(x.dtype), torch.sin(angle).to(x.dtype)  # (T, d/2)
    even, odd = x[..., 0::2], x[..., 1::2]  # (..., T, d/2) each
    out = torch.empty_like(x)  # (..., T, d)
    out[..., 0::2] = even * cos - odd * sin
    out[..., 1::2] = even * sin + odd * cos
    return out


def rope_score_grid(q: Tensor, k: Tensor, num_positions: int, *, base: float = 10000.0) -> Tensor:
    """``scores[m, n] = rope(q at position m) · rope(k at position n)`` for one fixed q, k of shape (d,).

    Shape (T, T), T = ``num_positions``. With RoPE the grid is constant along each diagonal m − n = const.
    """
    num_positions = check_at_least_one("num_positions", num_positions)
    for name, v in (("q", q), ("k", k)):
        if not isinstance(v, Tensor) or v.dim() != 1:
            raise ValueError(f"{name} must be a vector (d,), got {getattr(v, 'shape', type(v).__name__)}")
    if q.shape != k.shape:
        raise ValueError(f"q {tuple(q.shape)} and k {tuple(k.shape)} must have the same width")
    q_all = rotary_embedding(q.expand(num_positions, -1), base=base)  # (T, d): q placed at every position
    k_all = rotary_embedding(k.expand(num_positions, -1), base=base)  # (T, d)
    return q_all @ k_all.T  # (T, T)


class LearnedPositionalEmbedding(nn.Module):
    """A learned absolute position table (BERT/GPT-2 style): ``x + table[:T]``, table ``(max_positions, d)``.

    Initialised from a seeded normal with standard deviation ``std`` (GPT-2 uses 0.01-0.02; the default 1.0 is
    ``nn.Embedding``'s). A sequence longer than ``max_positions`` has no row to look up: an error, unlike the
    sinusoidal and rotary encodings, which extend to any length.
    """

    def __init__(self, max_positions: int, d_model: int, *, std: float = 1.0, seed: int | None = 0):
        super().__init__()
        max_positions = check_at_least_one("max_positions", max_positions)
        d_model = check_at_least_one("d_model", d_model)
        if not (isinstance(std, numbers.Real) and math.isfinite(std) and std > 0):
            raise ValueError(f"std={std!r} must be positive and finite")
        generator = torch.Generator()
        if seed is None:
            generator.seed()
        else:
            generator.manual_seed(int(seed))
        table = torch.randn(max_positions, d_model, generator=generator, dtype=torch.float64) * float(std)
        self.table = nn.Parameter(table.float())  # (max_positions, d_model)

    @property
    def max_positions(self) -> int:
        return self.table.shape[0]

    def encoding(self, num_positions: int) -> Tensor:
        """The first ``num_positions`` rows of the table, ``(T, d_model)``."""
        num_positions = check_at_least_one("num_positions", num_positions)
        if num_positions > self.max_positions:
            raise ValueError(
                _(
                    "a learned table of {max_positions} positions has no row for position {position}: the sequence "
                    "has T={t}"
                ).format(max_positions=self.max_positions, position=num_positions - 1, t=num_positions)
            )
        return self.table[:num_positions]

    def forward(self, x: Tensor) -> Tensor:
        """``x + table[:T]`` for ``x`` of shape ``(..., T, d_model)``."""
        if x.dim() < 2 or x.shape[-1] != self.table.shape[1]:
            raise ValueError(f"x must have shape (..., T, {self.table.shape[1]}), got {tuple(x.shape)}")
        return x + self.encoding(x.shape[-2]).to(x.dtype)


POSITION_SCHEMES = ("sinusoidal", "learned", "rotary")
"""How :func:`position_pair_scores` puts position into a query and a key."""


def position_pair_scores(
    q: Tensor, k: Tensor, num_positions: int, scheme: str, *, base: float = 10000.0, seed: int = 0
) -> Tensor:
    """``scores[m, n]``: one fixed q placed at position m against one fixed k at position n, shape (T, T).

    ``"sinusoidal"`` and ``"learned"`` add a position vector (``(q + p_m)·(k + p_n)``, the learned table drawn
    from ``seed`` as :class:`LearnedPositionalEmbedding` draws it); ``"rotary"`` rotates (:func:`rope_score_grid`).
    Only the rotary grid is constant along every diagonal (it depends on m − n alone).
    """
    if scheme not in POSITION_SCHEMES:
        raise ValueError(f"scheme must be one of {POSITION_SCHEMES}, got {scheme!r}")
    if scheme == "rotary":
        return rope_score_grid(q, k, num_positions, base=base)
    num_positions = check_at_least_one("num_positions", num_positions)
    for name, v in (("q", q), ("k", k)):
        if not isinstance(v, Tensor) or v.dim() != 1:
            raise ValueError(f"{name} must be a vector (d,), got {getattr(v, 'shape', type(v).__name__)}")
    if q.shape != k.shape:
        raise ValueError(f"q {tuple(q.shape)} and k {tuple(k.shape)} must have the same width")
    d = q.shape[0]
    if scheme == "sinusoidal":
        table = sinusoidal_encoding(num_positions, d, base, dtype=q.dtype)  # (T, d)
    else:
        table = LearnedPositionalEmbedding(num_positions, d, seed=seed).table.detach().to(q.dtype)  # (T, d)
    return (q + table) @ (k + table).T  # (T, d) @ (d, T) -> (T, T)


def diagonal_spread(grid: Tensor) -> float:
    """The largest ``max − min`` along any diagonal of a square (T, T) grid: 0 when each diagonal is constant."""
    if grid.dim() != 2 or grid.shape[0] != grid.shape[1]:
        raise ValueError(f"grid must be square (T, T), got shape {tuple(grid.shape)}")
    t = grid.shape[0]
    spread = 0.0
    for offset in range(-(t - 1), t):
        diagonal = torch.diagonal(grid, offset=offset)
        spread = max(spread, float(diagonal.max() - diagonal.min()))
    return spread
