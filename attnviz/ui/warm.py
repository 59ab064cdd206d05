"""Imported first by every page: on a fresh server process, start early what the first run will wait for.

The first run of a page on a new server spends seconds importing pandas and torch before its first chart, and the
browser then spends more loading plotly.js. Importing this module (once per process) overlaps the two: the browser
is told to start loading plotly.js right away (an invisible element), and a background thread starts the heavy
imports while the page's own script sends its first elements. Later runs find both done.
"""

from __future__ import annotations

import importlib
import os
import threading

from attnviz.allocator import keep_freed_memory
from attnviz.ui.chart import preload_plotly  # (neither imports torch)

# One torch thread per script run, set before torch is first imported (OpenMP reads it once, for every thread).
# The server runs many sessions' scripts and the browser on the same cores: two intra-op threads spin-waiting for a
# core made a 512-token multi-head view 2-3x slower (~116 ms against ~49 ms on one thread, measured in the server
# during the benchmark's new-seed rerun); alone it is 45 vs 54 ms. An OMP_NUM_THREADS set by the host is kept.
os.environ.setdefault("OMP_NUM_THREADS", "1")
keep_freed_memory()  # score-sized traces reuse freed memory instead of faulting it in again on every run

__all__ = ["HEAVY_MODULES", "warm_thread"]

# What the pages import before their first chart, slowest first (pure libraries: no streamlit calls at import).
HEAVY_MODULES = ("torch", "pandas", "attnviz.attention", "attnviz.modules")


def _import_all() -> None:
    for name in HEAVY_MODULES:
        importlib.import_module(name)


warm_thread = threading.Thread(target=_import_all, name="attnviz-warm-imports", daemon=True)
warm_thread.start()
preload_plotly()
