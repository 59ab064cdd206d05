"""Helpers for AppTest page tests: figure JSON and its base64 typed arrays."""

from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60  # a cold torch import on a 2-core machine takes seconds


def share_open() -> dict[str, bool]:
    """Session state that opens every page's "Share, export, import" panel (built only while open)."""
    from attnviz.ui import cross, encoder, image, lab, multihead, positional, share, tokens, train, worked

    pages = (worked, tokens, multihead, positional, encoder, lab, cross, train, image)
    return {share.panel_key(page.SHARE): True for page in pages}


def open_page(path: str, *, share: bool = False) -> AppTest:
    """An AppTest of ``path`` (relative to the repo root), run once; with ``share``, its share panel open."""
    at = AppTest.from_file(str(ROOT / path), default_timeout=TIMEOUT)
    for key, value in (share_open() if share else {}).items():
        at.session_state[key] = value
    return at.run()


def open_in_chinese(path: str, **state: object) -> AppTest:
    """An AppTest of ``path`` with ``?lang=zh`` and ``state`` set before its first run, run once; the missing
    translations recorded from here on (``tests.support.i18n.MISSING``) are this page's. A later run must be inside
    ``i18n.use("zh")``: AppTest formats a widget's options in the test's thread."""
    from tests.support.i18n import MISSING

    at = AppTest.from_file(str(ROOT / path), default_timeout=TIMEOUT)
    at.query_params["lang"] = "zh"
    for key, value in state.items():
        at.session_state[key] = value
    MISSING.clear()
    return at.run()


def figures(at: AppTest) -> list[dict]:
    """Every plotly figure on the page, as its JSON spec."""
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def figure(at: AppTest, title_start: str) -> dict:
    """The one figure whose title starts with ``title_start``."""
    found = [f for f in figures(at) if f["layout"].get("title", {}).get("text", "").startswith(title_start)]
    assert len(found) == 1, f"{len(found)} figures titled {title_start!r}…: {titles(at)}"
    return found[0]


def titles(at: AppTest) -> list[str]:
    return [f["layout"].get("title", {}).get("text", "") for f in figures(at)]


def array(value) -> np.ndarray:
    """A plotly JSON array: a plain list or plotly's base64 typed array ``{"dtype", "bdata", "shape"}``."""
    if isinstance(value, dict) and "bdata" in value:
        data = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        if shape:
            data = data.reshape([int(s) for s in str(shape).split(",")])
        return data
    return np.array(value, dtype=float)


def heatmap(at: AppTest, title_start: str) -> tuple[list[str], list[str], np.ndarray]:
    """Row labels, column labels and values of the first trace of the figure titled ``title_start``… (labels without
    the left-to-right mark a right-to-left label is drawn with; tests/test_figures.py checks the mark itself)."""
    trace = figure(at, title_start)["data"][0]
    plain = (
        [str(label).removeprefix("\u200e") for label in trace["y"]],
        [str(label).removeprefix("\u200e") for label in trace["x"]],
    )
    return plain[0], plain[1], array(trace["z"])


def markdown_text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def step_headings(at: AppTest) -> list[str]:
    """The numbered steps' headings: each step is one markdown element that starts with its ``### heading``."""
    return [m.value.split("\n", 1)[0].removeprefix("### ") for m in at.markdown if m.value.startswith("### ")]


def markdown_bodies(at: AppTest) -> list[str]:
    """Every markdown element's text, a step's without its ``### heading`` line (what follows the heading)."""
    return [m.value.split("\n\n", 1)[-1] if m.value.startswith("### ") else m.value for m in at.markdown]


def error_text(at: AppTest) -> str:
    """Every st.error, with the markdown escapes (``\\(``) taken out."""
    return re.sub(r"\\(.)", r"\1", "\n".join(e.value for e in at.error))


def edit(at: AppTest, key: str, edited_rows: dict | None = None, deleted_rows: list | None = None) -> AppTest:
    """Apply a data_editor edit the way the browser sends it, then rerun.

    ``edited_rows`` name columns by their labels (``{0: {"d2": 5.0}}``), as the table's header shows them. After
    a reset or preset the table is drawn under a new widget key; the edit goes to the one on screen.
    """
    version = at.session_state[f"{key}__version"] if f"{key}__version" in at.session_state else 0  # noqa: SIM401
    key = key if version == 0 else f"{key}__v{version}"
    at.session_state[key] = {"edited_rows": edited_rows or {}, "added_rows": [], "deleted_rows": deleted_rows or []}
    return at.run()


@pytest.fixture
def page():
    return open_page


def finish_training(at: AppTest, timeout: float = 180.0) -> AppTest:
    """Wait for the Train page's job to end, watching it as the open tab's live panel would (or it is cancelled as
    abandoned), then run the page once more."""
    job = at.session_state["train_job"]
    assert job is not None
    deadline = time.monotonic() + timeout
    while not job.wait(0.5):
        assert time.monotonic() < deadline, "the training did not end"
        job.touch()
    return at.run()


def train_run(at: AppTest, steps: int) -> AppTest:
    """Train the Train page's run for ``steps`` steps through its own controls, to the end."""
    at.number_input(key="train_steps").set_value(steps).run()
    at.button(key="train_act_start").click().run()
    return finish_training(at)
