"""Train a tiny transformer on toy tasks and record how its attention forms (pure torch, no streamlit)."""

from attnviz.training.io import load_run, run_from_bytes, run_to_bytes, save_run
from attnviz.training.jobs import JobRunner, Progress, TrainingJob, shared_runner
from attnviz.training.model import TinyTransformer
from attnviz.training.tasks import TASKS, Task, get_task
from attnviz.training.train import Snapshot, TrainConfig, TrainingRun, TrainingUpdate, train, train_config

__all__ = [
    "TASKS",
    "JobRunner",
    "Progress",
    "Snapshot",
    "Task",
    "TinyTransformer",
    "TrainConfig",
    "TrainingJob",
    "TrainingRun",
    "TrainingUpdate",
    "get_task",
    "load_run",
    "run_from_bytes",
    "run_to_bytes",
    "save_run",
    "shared_runner",
    "train",
    "train_config",
]
