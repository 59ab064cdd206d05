"""A Streamlit server started as our own child process on a free loopback port, with the flags the project's
tests use, and polled on ``/_stcore/health`` until it answers. Shared by the tests and the benchmarks.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def health_ok(url: str, timeout: float = 2.0) -> bool:
    """True when ``GET {url}/_stcore/health`` answers 200 now (no proxy: loopback)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{url}/_stcore/health", timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def wait_for_health(
    url: str,
    timeout: float = 90.0,
    interval: float = 0.05,
    *,
    alive: Callable[[], int | None] | None = None,
    what: str = "server",
    log: Callable[[], str] | None = None,
) -> float:
    """Poll ``{url}/_stcore/health`` until it answers 200; returns the ``perf_counter()`` when it did.

    ``alive`` is a process's ``poll``: when it returns an exit code the wait fails at once (with ``log()``'s text).
    """
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if alive is not None and (code := alive()) is not None:
            raise RuntimeError(f"{what} exited with code {code}:\n{log() if log else ''}")
        if health_ok(url):
            return time.perf_counter()
        time.sleep(interval)
    raise TimeoutError(f"{what} not healthy at {url} after {timeout:.0f} s:\n{log() if log else ''}")


class StreamlitServer:
    """``streamlit run SCRIPT`` as a child process of ours, on a free loopback port.

    ``started_at`` is the ``time.perf_counter()`` just before the process was spawned (for cold-start timing).
    Use as a context manager, or call :meth:`start` / :meth:`stop`; :meth:`stop` only ever touches our own handle.
    """

    def __init__(self, script: str | Path, *, cwd: Path = REPO_ROOT, port: int | None = None):
        self.script = str(script)
        self.cwd = Path(cwd)
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self._log = tempfile.NamedTemporaryFile(prefix="streamlit-", suffix=".log", delete=False)  # noqa: SIM115

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            self.script,
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(self.port),
            "--server.fileWatcherType",
            "none",
            "--browser.gatherUsageStats",
            "false",
        ]

    def start(self) -> StreamlitServer:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.started_at = time.perf_counter()
        self.proc = subprocess.Popen(self.command(), cwd=self.cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        return self

    def log_tail(self, chars: int = 4000) -> str:
        self._log.flush()
        return Path(self._log.name).read_text(errors="replace")[-chars:]

    def wait_healthy(self, timeout: float = 90.0, interval: float = 0.05) -> float:
        """Poll ``/_stcore/health`` until it answers ``ok``; returns the ``perf_counter()`` when it did."""
        assert self.proc is not None, "start() the server first"
        return wait_for_health(
            self.url, timeout, interval, alive=self.proc.poll, what=f"streamlit run {self.script}", log=self.log_tail
        )

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
        self._log.close()
        with contextlib.suppress(OSError):
            os.unlink(self._log.name)

    def __enter__(self) -> StreamlitServer:
        self.start()
        try:
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
