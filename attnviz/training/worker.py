"""A training worker process: ``python -m attnviz.training.worker`` reads one config from stdin, trains it, and
streams length-prefixed frames to stdout (progress as JSON, then the run as safetensors + JSON bytes).

Started by :class:`attnviz.training.jobs.JobRunner` as a plain subprocess, not through ``multiprocessing``: a
Streamlit page runs as ``__main__``, which multiprocessing's spawn and forkserver would import again in the child.
Any line on stdin after the config (or stdin closing) asks the worker to stop after its current step.
"""

from __future__ import annotations

import base64
import json
import os
import struct
import sys
import threading
from typing import BinaryIO

import numpy as np

__all__ = ["read_frame", "write_frame"]

_HEADER = struct.Struct(">cI")  # kind (J: JSON message, W: weights bytes, M: run JSON bytes), payload length
MAX_FRAME = 64 * 1024 * 1024


def write_frame(out: BinaryIO, kind: bytes, payload: bytes) -> None:
    out.write(_HEADER.pack(kind, len(payload)) + payload)
    out.flush()


def read_frame(stream: BinaryIO) -> tuple[bytes, bytes] | None:
    """The next ``(kind, payload)``, or None at the end of the stream."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    kind, size = _HEADER.unpack(header)
    if size > MAX_FRAME:
        raise ValueError(f"a worker frame of {size} bytes is over the {MAX_FRAME} byte limit")
    payload = stream.read(size)
    if len(payload) < size:
        return None
    return kind, payload


def encode_array(a: np.ndarray) -> dict:
    a = np.ascontiguousarray(a, dtype=np.float32)
    return {"shape": list(a.shape), "data": base64.b64encode(a.tobytes()).decode()}


def decode_array(d: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(d["data"]), dtype=np.float32).reshape(d["shape"]).copy()


def main() -> None:
    out = sys.stdout.buffer
    request = json.loads(sys.stdin.buffer.readline())
    stop = threading.Event()

    def watch_stdin() -> None:
        sys.stdin.buffer.readline()  # a line or EOF (the parent went away): stop
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    lock = threading.Lock()

    def emit(message: dict) -> None:
        if message.get("snapshot") is not None:
            step, weights = message["snapshot"]
            message = {**message, "snapshot": [step, encode_array(weights)]}
        with lock:
            write_frame(out, b"J", json.dumps(message).encode())

    if request.get("niceness") and hasattr(os, "nice"):
        os.nice(int(request["niceness"]))  # training is background work: the server's requests come first
    try:
        import torch

        from attnviz.training.io import run_to_bytes
        from attnviz.training.jobs import _Reporter
        from attnviz.training.train import TrainConfig, train_config

        torch.set_num_threads(int(request["torch_threads"]))
        reporter = _Reporter(emit, stop.is_set)
        emit({"kind": "started"})
        run = train_config(TrainConfig(**request["config"]), callback=reporter, max_seconds=request["max_seconds"])
        reporter.flush(run.seconds)
        weights, meta = run_to_bytes(run)
        with lock:
            write_frame(out, b"W", weights)
            write_frame(out, b"M", meta)
    except Exception as error:  # the parent shows it
        emit({"kind": "error", "message": f"{type(error).__name__}: {error}"})


if __name__ == "__main__":
    main()
