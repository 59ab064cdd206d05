"""The training job runner: bounded pool with a queue, cancellation keeping what was learned, caps, heartbeat,
progress read from another thread, and worker processes that give the same run as training in-process."""

from __future__ import annotations

import os
import threading
import time

import pytest
import torch

from attnviz.training.jobs import JobRunner
from attnviz.training.train import TrainConfig, train_config

LONG = TrainConfig(steps=20000, snapshot_every=500)


@pytest.fixture
def runner():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    runner = JobRunner(mode="thread", max_running=1, max_queued=2, max_steps=20000, heartbeat_timeout=None)
    yield runner
    runner.shutdown()
    torch.set_num_threads(threads)


def _wait_for(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_cap_queues_the_second_job_and_starts_it_when_the_first_ends(runner):
    first = runner.submit(LONG)
    second = runner.submit(TrainConfig(steps=10, snapshot_every=5))
    _wait_for(lambda: first.progress().step > 0)
    assert second.progress().state == "queued" and second.progress().queue_position == 1
    assert runner.counts() == {"running": 1, "queued": 1}
    first.cancel()
    assert second.wait(60) and second.progress().state == "done"
    assert second.result().steps_done == 10
    assert first.progress().state == "stopped" and first.progress().message == "stopped by the user"


def test_cancel_keeps_what_was_learned(runner):
    job = runner.submit(LONG)
    _wait_for(lambda: job.progress().step >= 30)
    job.cancel()
    assert job.wait(30)
    progress, run = job.progress(), job.result()
    assert progress.state == "stopped" and progress.finished and progress.seconds_left is None
    assert 30 <= run.steps_done < 20000 and run.stopped == "stopped"
    assert run.eval_steps[-1] == run.steps_done  # the final accuracy is the stopped model's
    assert progress.losses == tuple(run.losses) and progress.step == run.steps_done


def test_cancelling_a_queued_job_never_starts_it(runner):
    first = runner.submit(LONG)
    second = runner.submit(LONG)
    second.cancel("changed my mind")
    assert second.wait(5) and second.progress().state == "stopped" and second.result() is None
    assert second.progress().message == "changed my mind" and second.progress().step == 0
    first.cancel()
    assert first.wait(30)


def test_progress_is_readable_from_another_thread_while_training(runner):
    job = runner.submit(TrainConfig(steps=150, snapshot_every=50))
    seen: list = []

    def watch():
        while not job.finished:
            seen.append(job.progress())
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    assert job.wait(60)
    watcher.join()
    steps = [p.step for p in seen]
    assert steps == sorted(steps) and any(0 < s < 150 for s in steps)
    for p in seen:
        assert len(p.losses) == p.step and len(p.accuracies) == len(p.eval_steps)
        if p.snapshot is not None:
            assert p.snapshot.weights.shape == (2, 2, 8, 8)
    running = [p for p in seen if p.state == "running" and p.step > 0]
    assert running and running[-1].steps_per_second > 0 and running[-1].seconds_left is not None
    assert job.progress().state == "done" and job.result().final_accuracy > 0.5


def test_caps_and_a_full_queue_are_refused_with_a_message(runner):
    small = JobRunner(mode="thread", max_running=1, max_queued=1, max_steps=100, heartbeat_timeout=None)
    try:
        with pytest.raises(ValueError, match="steps=101 is over this server's cap of 100 steps"):
            small.submit(TrainConfig(steps=101))
        with pytest.raises(ValueError, match=r"lr=5\.0"):
            small.submit(TrainConfig(lr=5.0))
        jobs = [small.submit(TrainConfig(steps=100)), small.submit(TrainConfig(steps=100))]
        with pytest.raises(ValueError, match="1 trainings are running and 1 waiting"):
            small.submit(TrainConfig(steps=100))
        for job in jobs:
            job.cancel()
    finally:
        small.shutdown()


def test_time_cap_stops_a_job():
    runner = JobRunner(mode="thread", max_seconds=0.5, max_steps=20000, heartbeat_timeout=None)
    try:
        job = runner.submit(LONG)
        assert job.wait(30)
        assert job.progress().state == "stopped" and job.progress().message == "time cap of 0.5 s reached"
        assert 0 < job.result().steps_done < 20000
    finally:
        runner.shutdown()


def test_a_job_nobody_watches_is_cancelled():
    runner = JobRunner(mode="thread", max_steps=20000, heartbeat_timeout=1.0)
    try:
        job = runner.submit(LONG)  # never read again: like a closed tab
        assert job.wait(30)
        state, message = job.progress().state, job.progress().message
        assert state == "stopped" and message.startswith("nobody was watching")
        assert job.result() is not None
    finally:
        runner.shutdown()


def test_a_worker_process_gives_the_same_run_as_training_here():
    config = TrainConfig(steps=40, snapshot_every=20, seed=5)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the worker trains with one thread too
    try:
        local = train_config(config)
    finally:
        torch.set_num_threads(threads)
    runner = JobRunner(mode="process", max_running=2, torch_threads=1, heartbeat_timeout=None)
    try:
        job = runner.submit(config)
        stopped = runner.submit(TrainConfig(steps=5000, snapshot_every=100))
        _wait_for(lambda: stopped.progress().step > 5, timeout=120)
        stopped.cancel()
        assert job.wait(120) and stopped.wait(60)
        assert job.progress().state == "done", job.progress().message
        remote = job.result()
        assert remote.losses == local.losses and remote.accuracies == local.accuracies
        assert all(torch.equal(a.weights, b.weights) for a, b in zip(remote.snapshots, local.snapshots, strict=True))
        assert stopped.progress().state == "stopped" and 5 < stopped.result().steps_done < 5000
    finally:
        runner.shutdown()


def test_a_worker_that_dies_fails_its_job_with_a_message_and_frees_its_slot():
    runner = JobRunner(mode="process", max_running=1, heartbeat_timeout=None)
    try:
        job = runner.submit(TrainConfig(steps=5000, snapshot_every=100))
        waiting = runner.submit(TrainConfig(steps=5, snapshot_every=5))
        _wait_for(lambda: job.progress().step > 0, timeout=120)
        # The worker trains at a lower priority than this process (the server), 10 steps nicer.
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        assert os.getpriority(os.PRIO_PROCESS, job._process.pid) == min(19, mine + 10)
        job._process.kill()  # as if the machine killed it
        assert job.wait(60)
        progress = job.progress()
        assert progress.state == "failed" and "exited with code" in progress.message and job.result() is None
        assert waiting.wait(120) and waiting.progress().state == "done"
    finally:
        runner.shutdown()
