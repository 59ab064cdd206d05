"""glibc's allocator, set for a server that computes score-sized traces: freed blocks are kept for the next run.

A full trace of 8 heads at T = 512 holds three (8, 512, 512) float32 tensors (scores, scaled scores, weights: 8 MB
each) where ``torch.nn.MultiheadAttention`` holds two. With glibc's defaults, the freed 24 MB at the top of the heap
exceed its trim threshold and go back to the system after every call, and the next call faults every page in again:
that, not the arithmetic, made the trace ~1.4-1.6× torch's time. :func:`keep_freed_memory` raises the thresholds
so blocks up to 32 MB come from the heap and freed memory stays in the process (its peak, not more) for the next
call. The server calls it once (``attnviz.ui.warm``); the benchmark measures both sides under it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "keep_freed_memory"]

# mallopt's parameters (malloc.h): M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's largest on 64-bit: blocks below it come from the heap
TRIM_THRESHOLD = 256 * 1024 * 1024  # freed memory at the heap's top kept up to this much


def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds (see the module's text); True when set, False where the C library is
    not glibc (macOS, Windows, musl): nothing is changed there."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
