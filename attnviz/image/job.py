"""Training in a background thread: one torch thread of its own, a stop flag, progress readable at any time.

The page starts a :class:`TrainingJob` and polls :meth:`TrainingJob.status`; the script never waits for training,
so the session (and every other session) stays responsive. At most ``MAX_CONCURRENT_JOBS`` jobs train at once in
one process; a further start is refused with a message rather than slowing everyone down.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import torch

from attnviz.image.data import CLASSES, ShapeSet
from attnviz.image.model import CNNWithAttention
from attnviz.image.train import Progress, TrainConfig, TrainResult, train

__all__ = ["MAX_CONCURRENT_JOBS", "JobStatus", "TrainingJob"]

MAX_CONCURRENT_JOBS = 1
_slots = threading.BoundedSemaphore(MAX_CONCURRENT_JOBS)


@dataclass(frozen=True)
class JobStatus:
    """A consistent copy of a job's progress."""

    state: str  # "running", "stopping", "done", "stopped", "failed"
    step: int
    total_steps: int
    losses: tuple[float, ...]
    eval_steps: tuple[int, ...]
    test_accuracies: tuple[float, ...]
    seconds: float
    cpu_seconds: float
    error: str | None

    @property
    def finished(self) -> bool:
        return self.state in ("done", "stopped", "failed")

    @property
    def fraction(self) -> float:
        return self.step / self.total_steps if self.total_steps else 0.0


class TrainingJob:
    """Train a fresh :class:`CNNWithAttention` on ``train_set`` in a daemon thread."""

    def __init__(
        self,
        widths: tuple[int, ...],
        train_set: ShapeSet,
        test_set: ShapeSet,
        config: TrainConfig,
        *,
        num_heads: int = 4,
        model_seed: int = 0,
        threads: int = 1,
    ) -> None:
        self.model = CNNWithAttention(len(CLASSES), widths=tuple(widths), num_heads=num_heads, seed=model_seed)
        self.config = config
        self._train_set, self._test_set = train_set, test_set
        self._threads = int(threads)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._losses: list[float] = []
        self._eval_steps: list[int] = []
        self._accuracies: list[float] = []
        self._last: Progress | None = None
        self._state = "new"
        self._error: str | None = None
        self.result: TrainResult | None = None
        self._thread = threading.Thread(target=self._run, name="image-attention-training", daemon=True)

    def start(self) -> bool:
        """Start training; False (and nothing started) when another job holds the only slot."""
        if not _slots.acquire(blocking=False):
            return False
        self._state = "running"
        self._thread.start()
        return True

    def stop(self) -> None:
        """Ask the job to stop before its next step (the model keeps what it has learnt)."""
        self._stop.set()
        with self._lock:
            if self._state == "running":
                self._state = "stopping"

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _progress(self, p: Progress) -> None:
        with self._lock:
            self._losses.append(p.loss)
            if p.test_accuracy is not None:
                self._eval_steps.append(p.step)
                self._accuracies.append(p.test_accuracy)
            self._last = p

    def _run(self) -> None:
        torch.set_num_threads(self._threads)  # this thread's own intra-op pool; the server's threads are untouched
        try:
            result = train(
                self.model,
                self._train_set,
                self._test_set,
                self.config,
                progress=self._progress,
                should_stop=self._stop.is_set,
            )
            with self._lock:
                self.result = result
                self._eval_steps[:] = result.eval_steps
                self._accuracies[:] = result.test_accuracies
                self._state = "stopped" if result.stopped else "done"
        except Exception as error:  # shown on the page; the thread must not die silently
            with self._lock:
                self._error = f"{type(error).__name__}: {error}"
                self._state = "failed"
        finally:
            _slots.release()

    def status(self) -> JobStatus:
        with self._lock:
            last = self._last
            total = last.total_steps if last else 0
            return JobStatus(
                state=self._state,
                step=last.step if last else 0,
                total_steps=total,
                losses=tuple(self._losses),
                eval_steps=tuple(self._eval_steps),
                test_accuracies=tuple(self._accuracies),
                seconds=self.result.seconds if self.result else (last.seconds if last else 0.0),
                cpu_seconds=self.result.cpu_seconds if self.result else (last.cpu_seconds if last else 0.0),
                error=self._error,
            )
