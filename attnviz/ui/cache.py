"""The pages' caches: one digest of exact bytes, and one figure cache.

Streamlit's own hasher samples numpy arrays of more than about 500k entries, so two different large inputs could
share a cache entry. Cached wrappers of big arrays therefore take ``digest(...)`` as their hashed argument and the
arrays themselves as unhashed ``_``-prefixed arguments.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from attnviz import i18n
from attnviz.figures import matrix_heatmap

__all__ = ["digest", "figure", "heatmap_figure"]


def digest(*parts: object) -> str:
    """A hex digest of ``parts``: arrays by their exact bytes, shape and dtype, dicts by sorted key, the rest by
    ``repr``. Every part is framed by its type and length, so ``("ab", "c")`` and ``("a", "bc")`` differ."""
    h = hashlib.blake2b(digest_size=16)

    def feed(tag: str, data: bytes) -> None:
        h.update(f"{tag}:{len(data)}:".encode())
        h.update(data)

    def add(part: object) -> None:
        if isinstance(part, np.ndarray):
            feed("array", f"{part.dtype.str}{part.shape}".encode())
            feed("bytes", np.ascontiguousarray(part).tobytes())
        elif isinstance(part, dict):
            feed("dict", str(len(part)).encode())
            for name in sorted(part):
                feed("key", repr(name).encode())
                add(part[name])
        elif isinstance(part, (tuple, list)):
            feed(type(part).__name__, str(len(part)).encode())
            for item in part:
                add(item)
        else:
            feed(type(part).__name__, repr(part).encode())

    for part in parts:
        add(part)
    return h.hexdigest()


@st.cache_resource(max_entries=64, show_spinner=False)
def _cached_figure(key: str, _build: Callable[[], go.Figure]) -> go.Figure:
    fig = _build()
    fig._attnviz_frozen = True  # shared and never modified: the chart keeps its JSON (attnviz.ui.chart.figure_spec)
    return fig


def figure(build: Callable[..., go.Figure], *args: object, **options: object) -> go.Figure:
    """``build(*args, **options)`` (a builder of :mod:`attnviz.figures`), built once per distinct arguments.

    The arguments are told apart by :func:`digest` (exact bytes of every array). Building a plotly figure costs
    tens of milliseconds (far more at 512 × 512); a rerun that does not change the data reuses it. The figure is
    shared between reruns and sessions: never modify it.
    """
    # The language is part of the key: a figure's titles and hover text are translated when it is built.
    key = digest(build.__module__, build.__qualname__, i18n.language(), args, sorted(options.items()))
    return _cached_figure(key, lambda: build(*args, **options))


def heatmap_figure(matrix: np.ndarray, rows: Sequence[str], cols: Sequence[str], **options: object) -> go.Figure:
    """:func:`figure` of :func:`attnviz.figures.matrix_heatmap`: the pages' most common figure."""
    return figure(matrix_heatmap, np.ascontiguousarray(matrix), tuple(rows), tuple(cols), **options)
