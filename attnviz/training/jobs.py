"""Run trainings as background jobs so one learner's training never blocks the others.

A :class:`JobRunner` is a bounded pool shared by the whole server: at most ``max_running`` trainings at once (more
wait in a queue, state ``"queued"``), each in its own worker process (``python -m attnviz.training.worker``) with
its own torch thread count (torch's intra-op threads are process-wide, and a Python training loop in a server
thread would hold the interpreter lock the other sessions need), at a lower CPU priority (``niceness``) than the
server, so a learner's click is answered before a training step. Every job has a step cap and a time cap, can be cancelled, and is cancelled when nobody
has asked about it for ``heartbeat_timeout`` seconds (the tab that started it was closed). Its progress — losses,
accuracies, the latest attention snapshot — is readable from any thread while it runs.

``mode="thread"`` runs jobs in threads of this process instead (for notebooks and tests; it leaves torch's thread
count alone, since that setting would change it for the whole process).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from attnviz.i18n import N_
from attnviz.i18n import gettext as _
from attnviz.training.io import run_from_bytes
from attnviz.training.train import STOPPED, TIME_CAP, Snapshot, TrainConfig, TrainingRun, TrainingUpdate, train_config
from attnviz.training.worker import decode_array, read_frame

__all__ = ["FINAL_STATES", "JobRunner", "Progress", "TrainingJob", "shared_runner", "shown_message"]

FINAL_STATES = ("done", "stopped", "failed")
"""A job in one of these states has ended; "stopped" ones (cancelled or capped) keep what they learned."""
_REPORT_EVERY = 0.1  # seconds between progress messages from a worker (snapshots and evaluations go at once)

# Why a job stopped or failed. A job's message is English (a worker process has no interface language, and a saved
# run keeps it); shown_message translates these for the page.
STOPPED_BY_USER = N_("stopped by the user")
SHUTTING_DOWN = N_("the server is shutting down")
ABANDONED = N_("nobody was watching it any more (the page was closed or left)")
CANCELLED = N_("cancelled")
NO_RESULT = N_("the training ended without a result")
PROCESS_NO_RESULT = N_("the training process ended without a result")
NOT_STARTED = N_("could not start the training: {error}")
UNREADABLE = N_("the training process's output could not be read: {error}")
EXIT_CODE = N_("the training process exited with code {code}")
_MESSAGES = (STOPPED, TIME_CAP, STOPPED_BY_USER, SHUTTING_DOWN, ABANDONED, CANCELLED, NO_RESULT, PROCESS_NO_RESULT)
_MESSAGES += (NOT_STARTED, UNREADABLE, EXIT_CODE)
_FIELD = re.compile(r"\\\{(\w+)\\\}")
_PATTERNS = [(re.compile(_FIELD.sub(r"(?P<\1>.+?)", re.escape(m))), m) for m in _MESSAGES]


def shown_message(message: str, extra: tuple[str, ...] = ()) -> str:
    """A job's English ``message`` (one of this module's, or of ``extra`` messages marked for the catalog) in the
    interface's language; any other text (an exception's) as it is."""
    for pattern, template in _PATTERNS + [(re.compile(_FIELD.sub(r"(?P<\1>.+?)", re.escape(m))), m) for m in extra]:
        found = pattern.fullmatch(message)
        if found:
            return _(template).format(**found.groupdict())
    return message


@dataclass(frozen=True)
class Progress:
    """A consistent copy of a job's state, safe to read from another thread."""

    state: str  # "queued", "starting", "running", "done", "stopped", "failed"
    step: int
    steps: int
    losses: tuple[float, ...]
    accuracies: tuple[float, ...]
    eval_steps: tuple[int, ...]
    snapshot: Snapshot | None  # the latest attention on the probe, (L, H, T, T)
    elapsed: float  # seconds of training so far
    queue_position: int  # 1 = next to start; 0 when not queued
    message: str  # why it stopped or failed

    @property
    def finished(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def steps_per_second(self) -> float:
        return self.step / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def seconds_left(self) -> float | None:
        rate = self.steps_per_second
        return (self.steps - self.step) / rate if rate > 0 and not self.finished else None


class _Reporter:
    """The training callback inside a worker: batches updates into messages and checks for cancellation."""

    def __init__(self, emit, cancelled) -> None:
        self.emit, self.cancelled = emit, cancelled
        self.losses: list[float] = []
        self.evals: list[tuple[int, float]] = []
        self.snapshot: tuple[int, np.ndarray] | None = None
        self.last_sent = 0.0

    def __call__(self, update: TrainingUpdate) -> bool:
        self.losses.append(update.loss)
        if update.accuracy is not None:
            self.evals.append((update.step, update.accuracy))
        if update.snapshot is not None:
            self.snapshot = (update.snapshot.step, update.snapshot.weights.numpy())
        now = time.perf_counter()
        if update.snapshot is not None or now - self.last_sent >= _REPORT_EVERY:
            self.flush(update.elapsed)
            self.last_sent = now
        return self.cancelled()

    def flush(self, elapsed: float) -> None:
        self.emit(
            {
                "kind": "progress",
                "losses": self.losses,
                "evals": self.evals,
                "snapshot": self.snapshot,
                "elapsed": elapsed,
            }
        )
        self.losses, self.evals, self.snapshot = [], [], None


class _StdinStop:
    """A worker's cancel flag: setting it writes a line to the worker's stdin."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.process = process
        self.done = False

    def set(self) -> None:
        if self.done:
            return
        self.done = True
        with contextlib.suppress(OSError, ValueError):
            self.process.stdin.write(b"stop\n")
            self.process.stdin.flush()


class TrainingJob:
    """One training, queued or running or ended. Read it with :meth:`progress`; end it with :meth:`cancel`."""

    def __init__(self, runner: JobRunner, job_id: int, config: TrainConfig) -> None:
        self.id = job_id
        self.config = config
        self._runner = runner
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._state = "queued"
        self._losses: list[float] = []
        self._accuracies: list[float] = []
        self._eval_steps: list[int] = []
        self._snapshot: Snapshot | None = None
        self._elapsed = 0.0
        self._message = ""
        self._run: TrainingRun | None = None
        self._cancel_reason = ""
        self._cancel_event: Any = None  # set() asks the running job to stop (a threading.Event or _StdinStop)
        self._process: Any = None
        self.last_seen = time.monotonic()

    # -- for the page -------------------------------------------------------------------------------------------
    def touch(self) -> None:
        """Say that someone is still watching (the page calls this on every refresh)."""
        self.last_seen = time.monotonic()

    def progress(self) -> Progress:
        """A copy of the current state (also counts as :meth:`touch`)."""
        self.touch()
        position = self._runner.queue_position(self)
        with self._lock:
            return Progress(
                state=self._state,
                step=len(self._losses),
                steps=self.config.steps,
                losses=tuple(self._losses),
                accuracies=tuple(self._accuracies),
                eval_steps=tuple(self._eval_steps),
                snapshot=self._snapshot,
                elapsed=self._elapsed,
                queue_position=position,
                message=self._message,
            )

    def cancel(self, reason: str = STOPPED_BY_USER) -> None:
        """Stop the job: a queued one never starts; a running one ends after its current step, keeping its model."""
        with self._lock:
            if self._state in FINAL_STATES:
                return
            self._cancel_reason = self._cancel_reason or reason
            event = self._cancel_event
        if event is not None:
            event.set()
        self._runner._drop_from_queue(self)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has ended (True) or ``timeout`` seconds passed (False)."""
        return self._done.wait(timeout)

    @property
    def finished(self) -> bool:
        return self._done.is_set()

    def result(self) -> TrainingRun | None:
        """The trained run once the job is "done" or "stopped" (None before, or if it failed)."""
        with self._lock:
            return self._run

    # -- for the runner -----------------------------------------------------------------------------------------
    def _handle(self, message: dict) -> None:
        kind = message["kind"]
        with self._lock:
            if kind == "started":
                self._state = "running"
            elif kind == "progress":
                self._losses.extend(message["losses"])
                for step, accuracy in message["evals"]:
                    self._eval_steps.append(step)
                    self._accuracies.append(accuracy)
                if message["snapshot"] is not None:
                    step, weights = message["snapshot"]
                    if isinstance(weights, dict):  # from a worker process
                        weights = decode_array(weights)
                    self._snapshot = Snapshot(step, torch.as_tensor(weights))
                self._elapsed = message["elapsed"]
            elif kind == "result":
                run = message["run"] if "run" in message else run_from_bytes(*message["files"])
                self._run = run
                self._losses, self._accuracies = list(run.losses), list(run.accuracies)
                self._eval_steps, self._elapsed = list(run.eval_steps), run.seconds
                self._snapshot = run.snapshots[-1]
                self._message = self._cancel_reason if run.stopped == "stopped" else run.stopped
                self._state = "stopped" if run.stopped else "done"
            elif kind == "error":
                self._state, self._message = "failed", message["message"]

    def _finish(self, fallback: str) -> None:
        with self._lock:
            if self._state not in FINAL_STATES:
                if self._cancel_reason and self._state == "queued":
                    self._state, self._message = "stopped", self._cancel_reason
                else:
                    self._state, self._message = "failed", fallback
        self._done.set()


class JobRunner:
    """A bounded pool of training jobs; see the module docstring. Thread-safe."""

    def __init__(
        self,
        *,
        max_running: int = 2,
        max_queued: int = 16,
        max_steps: int = 5000,
        max_seconds: float = 120.0,
        torch_threads: int = 1,
        heartbeat_timeout: float | None = 20.0,
        niceness: int = 10,
        mode: str = "process",
    ) -> None:
        if mode not in ("process", "thread"):
            raise ValueError(f"mode={mode!r} must be 'process' or 'thread'")
        for name, value in (("max_running", max_running), ("max_steps", max_steps), ("torch_threads", torch_threads)):
            if value < 1:
                raise ValueError(f"{name}={value!r} must be at least 1")
        if max_queued < 0 or max_seconds <= 0:
            raise ValueError(f"max_queued={max_queued!r} must be ≥ 0 and max_seconds={max_seconds!r} positive")
        self.max_running, self.max_queued = max_running, max_queued
        self.max_steps, self.max_seconds = max_steps, float(max_seconds)
        self.torch_threads, self.heartbeat_timeout, self.mode = torch_threads, heartbeat_timeout, mode
        self.niceness = int(niceness)
        self._lock = threading.Lock()
        self._queue: list[TrainingJob] = []
        self._running: list[TrainingJob] = []
        self._ids = itertools.count(1)
        self._closed = False
        self._watchdog = threading.Thread(target=self._watch, name="training-watchdog", daemon=True)
        self._watchdog.start()

    # -- public ---------------------------------------------------------------------------------------------------
    def submit(self, config: TrainConfig) -> TrainingJob:
        """Queue a training; it starts when a slot is free. ValueError for a bad config, a cap or a full queue."""
        config = config.resolved()
        if config.steps > self.max_steps:
            raise ValueError(
                _("steps={steps} is over this server's cap of {cap} steps per training").format(
                    steps=config.steps, cap=self.max_steps
                )
            )
        with self._lock:
            if self._closed:
                raise ValueError(_("the training runner has shut down"))
            if len(self._queue) >= self.max_queued and len(self._running) >= self.max_running:
                raise ValueError(
                    _(
                        "{running} trainings are running and {waiting} waiting, the most this server takes; try again "
                        "in a minute"
                    ).format(running=len(self._running), waiting=len(self._queue))
                )
            job = TrainingJob(self, next(self._ids), config)
            self._queue.append(job)
        self._start_queued()
        return job

    def queue_position(self, job: TrainingJob) -> int:
        with self._lock:
            return self._queue.index(job) + 1 if job in self._queue else 0

    def counts(self) -> dict[str, int]:
        """``{"running": n, "queued": m}`` right now."""
        with self._lock:
            return {"running": len(self._running), "queued": len(self._queue)}

    def shutdown(self, timeout: float = 10.0) -> None:
        """Cancel every job and wait up to ``timeout`` seconds for them to end."""
        with self._lock:
            self._closed = True
            jobs = self._queue + self._running
        for job in jobs:
            job.cancel(SHUTTING_DOWN)
        deadline = time.monotonic() + timeout
        for job in jobs:
            job.wait(max(0.0, deadline - time.monotonic()))

    # -- internals ------------------------------------------------------------------------------------------------
    def _drop_from_queue(self, job: TrainingJob) -> None:
        with self._lock:
            if job not in self._queue:
                return
            self._queue.remove(job)
        job._finish(CANCELLED)

    def _start_queued(self) -> None:
        while True:
            with self._lock:
                if self._closed or not self._queue or len(self._running) >= self.max_running:
                    return
                job = self._queue.pop(0)
                self._running.append(job)
            with job._lock:
                job._state = "starting"
            try:
                self._launch(job)
            except Exception as error:  # could not start a worker: the job fails, the slot frees
                job._handle({"kind": "error", "message": NOT_STARTED.format(error=error)})
                self._ended(job, "")

    def _launch(self, job: TrainingJob) -> None:
        config = asdict(job.config)
        if self.mode == "thread":
            cancel = threading.Event()
            job._cancel_event = cancel
            if job._cancel_reason:
                cancel.set()
            thread = threading.Thread(target=self._thread_body, args=(job, cancel), daemon=True)
            thread.start()
            return
        request = {
            "config": config,
            "max_seconds": self.max_seconds,
            "torch_threads": self.torch_threads,
            "niceness": self.niceness,
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "attnviz.training.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
        )
        process.stdin.write(json.dumps(request).encode() + b"\n")
        process.stdin.flush()
        job._cancel_event = _StdinStop(process)
        if job._cancel_reason:
            job._cancel_event.set()
        job._process = process
        threading.Thread(target=self._read_worker, args=(job, process), daemon=True).start()

    def _thread_body(self, job: TrainingJob, cancel: threading.Event) -> None:
        fallback = NO_RESULT
        try:
            reporter = _Reporter(job._handle, cancel.is_set)
            job._handle({"kind": "started"})
            run = train_config(job.config, callback=reporter, max_seconds=self.max_seconds)
            reporter.flush(run.seconds)
            job._handle({"kind": "result", "run": run})
        except Exception as error:
            job._handle({"kind": "error", "message": f"{type(error).__name__}: {error}"})
        self._ended(job, fallback)

    def _read_worker(self, job: TrainingJob, process: subprocess.Popen) -> None:
        fallback = PROCESS_NO_RESULT
        files: dict[bytes, bytes] = {}
        try:
            while True:
                frame = read_frame(process.stdout)
                if frame is None:
                    break
                kind, payload = frame
                if kind == b"J":
                    job._handle(json.loads(payload))
                else:
                    files[kind] = payload
                if b"W" in files and b"M" in files:
                    try:
                        job._handle({"kind": "result", "files": (files[b"W"], files[b"M"])})
                    except ValueError as error:  # a result that does not load
                        job._handle({"kind": "error", "message": str(error)})
                    files.clear()
        except (OSError, ValueError) as error:
            fallback = UNREADABLE.format(error=error)
        finally:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            for stream in (process.stdin, process.stdout):
                with contextlib.suppress(OSError):
                    stream.close()
            if process.returncode not in (0, None):
                fallback = EXIT_CODE.format(code=process.returncode)
            self._ended(job, fallback)

    def _ended(self, job: TrainingJob, fallback: str) -> None:
        with self._lock:
            if job in self._running:
                self._running.remove(job)
        job._finish(fallback)
        self._start_queued()

    def _watch(self) -> None:
        """Cancel jobs nobody watches any more and kill workers far past their time cap."""
        while True:
            time.sleep(0.5)
            now = time.monotonic()
            with self._lock:
                jobs = self._queue + self._running
            for job in jobs:
                if self.heartbeat_timeout is not None and now - job.last_seen > self.heartbeat_timeout:
                    job.cancel(ABANDONED)
                process = job._process
                if process is not None and job._elapsed > self.max_seconds + 30 and process.poll() is None:
                    process.kill()


@functools.lru_cache(maxsize=1)
def shared_runner() -> JobRunner:
    """The one runner of this server (created on first use): 2 trainings at once, 1 torch thread each."""
    return JobRunner()
