"""What a page's first import starts on a fresh server process: torch on one intra-op thread, unless the host says."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.pages.conftest import ROOT

PROBE = (
    "import threading\n"
    "import attnviz.ui.warm\n"
    "import torch\n"
    "seen = []\n"
    "thread = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))\n"
    "thread.start(); thread.join()\n"
    "print(torch.get_num_threads(), seen[0])\n"
)


@pytest.mark.parametrize(("host", "expected"), [(None, "1 1"), ("2", "2 2")])
def test_torch_runs_on_one_thread_unless_the_host_sets_it(host, expected):
    """A script run is a new thread: the setting must hold there too (OpenMP reads it once, at torch's import)."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    if host is not None:
        env["OMP_NUM_THREADS"] = host
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-2:] == expected.split()
