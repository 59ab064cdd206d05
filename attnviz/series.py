"""Time series for the encoder: a seeded synthetic generator and a parser for a user's CSV (pure numpy, no torch).

A series is an array of shape (T, F): one row per time step, one column per feature.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass

import numpy as np

from attnviz.i18n import gettext as _

__all__ = [
    "MAX_CSV_BYTES",
    "MAX_SERIES_COLUMNS",
    "MAX_SERIES_ROWS",
    "ParsedSeries",
    "SyntheticSeries",
    "parse_series_csv",
    "seed_batch",
    "standardize",
    "synthetic_series",
]

MAX_CSV_BYTES = 1_000_000
MAX_SERIES_COLUMNS = 64  # features become d_model: more than this is no longer a small, viewable model
MAX_SERIES_ROWS = 512  # time steps kept (the page's largest sequence)


@dataclass(frozen=True)
class SyntheticSeries:
    """``values[t, f] = Σ_k amplitudes[f, k] · sin(2π t / periods[f, k] + phases[f, k]) + slopes[f] · t / T + noise``."""

    values: np.ndarray  # (T, F)
    periods: np.ndarray  # (F, K)  in time steps
    amplitudes: np.ndarray  # (F, K)
    phases: np.ndarray  # (F, K)  radians
    slopes: np.ndarray  # (F,)  rise over the whole series
    noise: np.ndarray  # (T, F)  the Gaussian noise that was added


def synthetic_series(
    num_steps: int = 64,
    num_features: int = 9,
    *,
    seed: int = 0,
    noise: float = 0.1,
    trend: float = 1.0,
    num_sines: int = 2,
) -> SyntheticSeries:
    """Sums of ``num_sines`` sines per feature (periods between 4 steps and the series length), a linear trend of
    up to ±``trend`` over the series, and Gaussian noise of std ``noise``; reproducible from ``seed``."""
    for name, value in (("num_steps", num_steps), ("num_features", num_features), ("num_sines", num_sines)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}={value!r} must be a positive int")
    for name, value in (("noise", noise), ("trend", trend)):
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name}={value!r} must be finite and >= 0")
    rng = np.random.default_rng(seed)
    shape = (num_features, num_sines)
    periods = rng.uniform(4.0, max(8.0, float(num_steps)), size=shape)
    amplitudes = rng.uniform(0.3, 1.0, size=shape)
    phases = rng.uniform(0.0, 2 * math.pi, size=shape)
    slopes = rng.uniform(-trend, trend, size=num_features)
    t = np.arange(num_steps, dtype=np.float64)[:, None, None]  # (T, 1, 1)
    waves = (amplitudes * np.sin(2 * math.pi * t / periods + phases)).sum(axis=-1)  # (T, F)
    ramp = slopes * (t[:, :, 0] / num_steps)  # (T, F)
    added = rng.normal(0.0, noise, size=(num_steps, num_features)) if noise > 0 else np.zeros((num_steps, num_features))
    return SyntheticSeries(waves + ramp + added, periods, amplitudes, phases, slopes, added)


def seed_batch(values: np.ndarray, batch: int = 16, steps: int = 32) -> np.ndarray:
    """Cut a series ``(T, F)`` into ``batch`` consecutive windows of ``steps``: ``(batch, steps, F)``, seed 000's
    ``(16, 32, 9)`` layout. Needs ``T >= batch · steps``."""
    values = np.asarray(values)
    if values.ndim != 2 or values.shape[0] < batch * steps:
        raise ValueError(f"values must have shape (T >= {batch * steps}, F), got {values.shape}")
    return values[: batch * steps].reshape(batch, steps, values.shape[1]).copy()


def standardize(values: np.ndarray) -> np.ndarray:
    """Each column to mean 0, std 1 (a constant column becomes 0): raw units would saturate the softmax."""
    values = np.asarray(values, dtype=np.float64)
    size = np.abs(values).max(axis=0, keepdims=True) if values.size else np.ones((1, values.shape[-1]))
    values = values / np.where(size > 0, size, 1.0)  # first to [-1, 1]: no overflow for values near 1e308
    mean = values.mean(axis=0, keepdims=True)
    std = values.std(axis=0, keepdims=True)
    return (values - mean) / np.where(std > 0, std, 1.0)


@dataclass(frozen=True)
class ParsedSeries:
    """A user's series: ``values`` ``(T, F)`` float64, one name per column, and how many rows were dropped."""

    values: np.ndarray
    columns: tuple[str, ...]
    total_rows: int  # data rows in the file
    dropped_rows: int  # rows after the first MAX_SERIES_ROWS, not kept


def _delimiter(line: str) -> str | None:
    counts = {d: line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else None


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def parse_series_csv(
    data: bytes | str,
    *,
    max_bytes: int = MAX_CSV_BYTES,
    max_columns: int = MAX_SERIES_COLUMNS,
    max_rows: int = MAX_SERIES_ROWS,
) -> ParsedSeries:
    """Parse a CSV of numbers, one row per time step; an optional header row names the columns.

    Commas, semicolons or tabs separate cells (whichever the first line uses most). Every problem is a
    ``ValueError`` naming the line (as an editor numbers it) and the column.
    """
    size = len(data.encode("utf-8") if isinstance(data, str) else data)
    if size > max_bytes:
        raise ValueError(
            _("the file has {size:,} bytes; the limit is {limit:,} bytes").format(size=size, limit=max_bytes)
        )
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ValueError(
                _("the file is not UTF-8 text (byte {byte} cannot be read)").format(byte=error.start)
            ) from None
    else:
        text = data.removeprefix("\ufeff")
    lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        raise ValueError(_("the file is empty: it needs one row of numbers per time step"))
    delimiter = _delimiter(lines[0][1])
    rows: list[tuple[int, list[str]]] = []
    for number, line in lines:
        cells = next(csv.reader(io.StringIO(line), delimiter=delimiter)) if delimiter else [line]
        rows.append((number, [cell.strip() for cell in cells]))
    first_number, first = rows[0]
    if all(_is_number(cell) for cell in first):
        columns = tuple(f"x{j + 1}" for j in range(len(first)))
    else:
        columns = tuple(cell or _("column {number}").format(number=j + 1) for j, cell in enumerate(first))
        rows = rows[1:]
    width = len(columns)
    if width > max_columns:
        raise ValueError(
            _("the file has {columns} columns; at most {limit} (each column is one feature of d_model)").format(
                columns=width, limit=max_columns
            )
        )
    if len(rows) < 2:
        raise ValueError(
            _("the file has {rows} row(s) of numbers; it needs at least 2 time steps").format(rows=len(rows))
        )
    kept = rows[:max_rows]
    values = np.empty((len(kept), width), dtype=np.float64)
    for i, (number, cells) in enumerate(kept):
        if len(cells) != width:
            raise ValueError(
                _("line {line} has {cells} cells but line {first} has {width}").format(
                    line=number, cells=len(cells), first=first_number, width=width
                )
            )
        for j, cell in enumerate(cells):
            where = _("line {line}, column {column} ({name})").format(line=number, column=j + 1, name=repr(columns[j]))
            if not cell:
                raise ValueError(_("{where} is empty").format(where=where))
            try:
                value = float(cell)
            except ValueError:
                raise ValueError(
                    _("{where}: {cell} is not a number").format(where=where, cell=repr(cell[:20]))
                ) from None
            if not math.isfinite(value):
                raise ValueError(_("{where}: {cell} is not a finite number").format(where=where, cell=repr(cell)))
            values[i, j] = value
    values.flags.writeable = False
    return ParsedSeries(values, columns, len(rows), max(0, len(rows) - max_rows))
