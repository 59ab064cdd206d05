"""glibc's thresholds for score-sized traces: set where the C library is glibc, and then a repeated full trace stops
faulting its memory in again on every call (counted by the kernel: minor page faults)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from attnviz.allocator import keep_freed_memory

PROBE = """
import resource, sys, torch
from attnviz import MultiHeadAttention
from attnviz.allocator import keep_freed_memory
torch.set_num_threads(1)
if sys.argv[1] == "set":
    assert keep_freed_memory()
module = MultiHeadAttention(512, 8, seed=0).eval()
x = torch.randn(1, 512, 512)
with torch.no_grad():
    for _ in range(3):
        module(x)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        module(x)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults_per_call(mode: str) -> float:
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1]) / 10


GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not GLIBC, reason="glibc's allocator only: elsewhere nothing is set (checked below)")
def test_a_repeated_trace_stops_faulting_its_memory_in():
    default, kept = faults_per_call("default"), faults_per_call("set")
    # Three (8, 512, 512) float32 tensors are 6,144 pages of 4 kB: with the defaults most are faulted in per call.
    assert default > 3000, default
    assert kept < default / 10, (kept, default)


def test_it_says_whether_it_set_anything():
    assert keep_freed_memory() is GLIBC
