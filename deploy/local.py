"""N stock ``streamlit run app.py`` replicas behind the distribution's nginx, on this machine, without containers.

    python -m deploy.local [--replicas 2] [--port 8080]

Starts the replicas on free loopback ports, renders ``deploy/nginx.conf`` (the file the containers use) into a
temporary folder with those ports, starts ``nginx`` in the foreground as our own child process, waits until every
replica and the proxy answer ``/_stcore/health``, serves until Ctrl+C, then stops everything it started (by its own
process handles) and removes the folder. The tests and ``benchmarks/lecture.py`` use :class:`LocalDeployment`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __name__ == "__main__" and not __package__:
    # Started as a file (`python deploy/local.py`): run as the module instead, exactly as `python -m deploy.local`
    # from the repository root would, so `deploy` and `tests.support` import alike.
    import runpy

    sys.path[0] = str(Path(__file__).resolve().parents[1])
    runpy.run_module("deploy.local", run_name="__main__", alter_sys=True)
    sys.exit()

from tests.support.server import REPO_ROOT, StreamlitServer, free_port, wait_for_health

NGINX_CONF = Path(__file__).resolve().parent / "nginx.conf"
UPSTREAM_LINE = re.compile(r"^(\s*)server app:8501 (.*);$", re.MULTILINE)


def nginx_executable() -> str | None:
    """Debian's nginx (``/usr/sbin`` is not on an ordinary user's PATH), or None."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin:/sbin")


def _replace_once(text: str, old: str, new: str) -> str:
    if text.count(old) != 1:
        raise ValueError(f"deploy/nginx.conf must contain {old!r} exactly once, found {text.count(old)}")
    return text.replace(old, new)


def render_nginx_conf(replica_ports: list[int], listen_port: int, folder: Path, template: str | None = None) -> str:
    """``deploy/nginx.conf`` for this machine: loopback listen port, one upstream line per replica port, logs and
    temporary files in ``folder`` (everything else exactly as shipped)."""
    if not replica_ports:
        raise ValueError("replica_ports must name at least one port, got []")
    text = NGINX_CONF.read_text(encoding="utf-8") if template is None else template
    match = UPSTREAM_LINE.search(text)
    if match is None or len(UPSTREAM_LINE.findall(text)) != 1:
        raise ValueError("deploy/nginx.conf must have exactly one 'server app:8501 …;' line in its upstream")
    indent, params = match.group(1), match.group(2)
    servers = "\n".join(f"{indent}server 127.0.0.1:{port} {params};" for port in replica_ports)
    text = text[: match.start()] + servers + text[match.end() :]
    text = _replace_once(text, "listen 8080;", f"listen 127.0.0.1:{listen_port};")
    text = _replace_once(text, "error_log /dev/stderr warn;", f"error_log {folder}/error.log warn;")
    text = _replace_once(text, "access_log /dev/stdout upstream;", f"access_log {folder}/access.log upstream;")
    return text.replace("/tmp/nginx", str(folder))


class LocalDeployment:
    """``replicas`` Streamlit servers and one nginx in front of them, all our own child processes.

    ``url`` is the proxy's; ``replicas[i].url`` a replica's own (direct) address. Use as a context manager or call
    :meth:`start` / :meth:`stop`. :meth:`kill_replica` ends one replica abruptly (the fault test).
    """

    def __init__(self, replicas: int = 2, *, script: str = "app.py", port: int | None = None):
        if replicas < 1:
            raise ValueError(f"replicas must be at least 1, got {replicas}")
        self.script = script
        self.port = port or free_port()
        self.replicas = [StreamlitServer(script) for _ in range(replicas)]
        self.folder: Path | None = None
        self.nginx: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def replica_urls(self) -> list[str]:
        """Each replica's own address (bypassing the proxy)."""
        return [r.url for r in self.replicas]

    def log_tail(self) -> str:
        """The end of every replica's log and of nginx's error log."""
        parts = [f"replica {i}:\n{r.log_tail(1500)}" for i, r in enumerate(self.replicas)]
        return "\n".join([*parts, f"nginx:\n{self.error_log()}"])

    def replica_pids(self) -> dict[str, int]:
        """Each live replica's upstream address (as nginx names it in ``X-Upstream``) → its process id."""
        return {
            f"127.0.0.1:{r.port}": r.proc.pid for r in self.replicas if r.proc is not None and r.proc.poll() is None
        }

    def start(self, timeout: float = 120.0) -> LocalDeployment:
        nginx = nginx_executable()
        if nginx is None:
            raise RuntimeError("nginx is not installed (Debian package 'nginx')")
        self.folder = Path(tempfile.mkdtemp(prefix="attnviz-nginx-"))
        # Started by root, nginx's workers run as an unprivileged user: they must reach the temporary files here.
        self.folder.chmod(0o755)
        try:
            for replica in self.replicas:
                replica.start()
            for replica in self.replicas:
                replica.wait_healthy(timeout=timeout)
            conf = self.folder / "nginx.conf"
            conf.write_text(render_nginx_conf([r.port for r in self.replicas], self.port, self.folder))
            # -e: the error log before the config is read (the compiled-in default is not writable for a user).
            command = [nginx, "-p", str(self.folder), "-e", str(self.folder / "error.log"), "-c", str(conf)]
            subprocess.run([*command, "-t", "-q"], check=True, capture_output=True, timeout=30)
            self.nginx = subprocess.Popen(
                [*command, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            wait_for_health(self.url, timeout=30, alive=self.nginx.poll, what="nginx", log=self.error_log)
        except BaseException:
            self.stop()
            raise
        return self

    def error_log(self) -> str:
        path = (self.folder or Path("/nonexistent")) / "error.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def access_log(self) -> str:
        path = (self.folder or Path("/nonexistent")) / "access.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def kill_replica(self, index: int) -> str:
        """SIGKILL replica ``index`` (no goodbye to its sessions, as a crash); returns its upstream address."""
        replica = self.replicas[index]
        if replica.proc is None or replica.proc.poll() is not None:
            raise ValueError(f"replica {index} is not running")
        replica.proc.kill()
        replica.proc.wait(timeout=10)
        return f"127.0.0.1:{replica.port}"

    def stop(self) -> None:
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGQUIT)  # graceful: the master waits for its workers, then exits
            try:
                self.nginx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.nginx.terminate()  # fast shutdown
                try:
                    self.nginx.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.nginx.kill()
                    self.nginx.wait(timeout=10)
        for replica in self.replicas:
            replica.stop()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def __enter__(self) -> LocalDeployment:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--port", type=int, default=8080, help="the proxy's port on 127.0.0.1 (default 8080)")
    args = parser.parse_args(argv)
    if args.replicas < 1:
        parser.error("--replicas must be at least 1")
    os.chdir(REPO_ROOT)
    with LocalDeployment(args.replicas, port=args.port) as deployment:
        for i, replica in enumerate(deployment.replicas):
            print(f"replica {i}: {replica.url} (pid {replica.proc.pid})")
        print(f"nginx: {deployment.url}  — Ctrl+C stops everything", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while all(r.proc.poll() is None for r in deployment.replicas) and deployment.nginx.poll() is None:
                time.sleep(1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
