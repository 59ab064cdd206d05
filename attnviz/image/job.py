"""Training in a background thread: one torch thread of its own, a stop flag, progress readable at any time.

The page starts a :class:`TrainingJob` and polls :meth:`TrainingJob.status`; the script never waits for training,
so the session (and every other session) stays responsive. At most ``MAX_CONCURRENT_JOBS`` jobs train at once in
one process; a further start is refused with a message rather than slowing everyone down.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import torch

from attnviz.image.data import CLASSES, ShapeSet, shape_splits
from attnviz.image.model import CNNWithAttention
from attnviz.image.train import DEFAULT_TEST_IMAGES, DEFAULT_TRAIN_IMAGES, Progress, TrainConfig, TrainResult, train

__all__ = ["MAX_CONCURRENT_JOBS", "JobStatus", "TrainingJob"]

MAX_CONCURRENT_JOBS = 1
_slots = threading.BoundedSemaphore(MAX_CONCURRENT_JOBS)


@dataclass(frozen=True)
class JobStatus:
    """A consistent copy of a job's progress."""

    state: str  # "new", "preparing" (generating the data), "running", "stopping", "done", "stopped", "failed"
    step: int
    total_steps: int
    losses: tuple[float, ...]
    batch_accuracies: tuple[float, ...]
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
    """Train a fresh :class:`CNNWithAttention` in a daemon thread, on ``data`` or on a shapes set generated in
    the thread (``train_images`` + ``test_images`` from ``data_seed``; dropped when training ends)."""

    def __init__(
        self,
        widths: tuple[int, ...],
        config: TrainConfig,
        *,
        data: tuple[ShapeSet, ShapeSet] | None = None,
        train_images: int = DEFAULT_TRAIN_IMAGES,
        test_images: int = DEFAULT_TEST_IMAGES,
        data_seed: int = 0,
        num_heads: int = 4,
        model_seed: int = 0,
        threads: int = 1,
    ) -> None:
        self.model = CNNWithAttention(len(CLASSES), widths=tuple(widths), num_heads=num_heads, seed=model_seed)
        self.widths = tuple(widths)
        self.config = config
        self._data = data
        self._sizes = (int(train_images), int(test_images), int(data_seed))
        self._threads = int(threads)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._losses: list[float] = []
        self._batch_accuracies: list[float] = []
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
        self._state = "preparing"
        self._thread.start()
        return True

    def stop(self) -> None:
        """Ask the job to stop before its next step (the model keeps what it has learnt)."""
        self._stop.set()
        with self._lock:
            if self._state in ("preparing", "running"):
                self._state = "stopping"

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _progress(self, p: Progress) -> None:
        with self._lock:
            self._losses.append(p.loss)
            self._batch_accuracies.append(p.batch_accuracy)
            if p.test_accuracy is not None:
                self._eval_steps.append(p.step)
                self._accuracies.append(p.test_accuracy)
            self._last = p

    def _run(self) -> None:
        torch.set_num_threads(self._threads)  # this thread's own intra-op pool; the server's threads are untouched
        try:
            if self._data is None:
                n_train, n_test, seed = self._sizes
                train_set, test_set = shape_splits(n_train, n_test, seed=seed)
            else:
                train_set, test_set = self._data
            self._data = None  # the images (≈ 150 kB each) go when training ends
            with self._lock:
                if self._state == "preparing":
                    self._state = "running"
            result = train(
                self.model,
                train_set,
                test_set,
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

    @property
    def snapshot_steps(self) -> tuple[int, ...]:
        """Steps with a saved copy of the weights (empty until training ends)."""
        return tuple(s.step for s in self.result.snapshots) if self.result else ()

    def model_at(self, step: int) -> CNNWithAttention:
        """A new model holding the weights saved after ``step`` (one of :attr:`snapshot_steps`), in eval mode."""
        for snapshot in self.result.snapshots if self.result else ():
            if snapshot.step == step:
                model = CNNWithAttention(**{**self.model.config, "widths": self.widths})
                model.load_state_dict(snapshot.state)
                return model.eval()
        raise ValueError(f"step={step} has no snapshot; saved steps are {list(self.snapshot_steps)}")

    def status(self) -> JobStatus:
        with self._lock:
            last = self._last
            total = last.total_steps if last else 0
            return JobStatus(
                state=self._state,
                step=last.step if last else 0,
                total_steps=total,
                losses=tuple(self._losses),
                batch_accuracies=tuple(self._batch_accuracies),
                eval_steps=tuple(self._eval_steps),
                test_accuracies=tuple(self._accuracies),
                seconds=self.result.seconds if self.result else (last.seconds if last else 0.0),
                cpu_seconds=self.result.cpu_seconds if self.result else (last.cpu_seconds if last else 0.0),
                error=self._error,
            )
