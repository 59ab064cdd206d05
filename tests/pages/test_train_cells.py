"""A click on the trained model's "Attention on your input" grid explains that weight with the model's own numbers.

The page draws the in-place chart (as in the browser) and the test sets the chart's state the way its component
does (``{"selection": {"x", "y", "z", "curve", "point"}}``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from attnviz.cells import hover_text, latex_number
from attnviz.ui import chart
from tests.pages.conftest import ROOT, TIMEOUT, array, markdown_text, open_page, train_run
from tests.pages.test_cell_clicks import charts, click, latex
from tests.support.i18n import MISSING, assert_chinese

PAGE = "pages/8_Train.py"
KEY = "train_fig_probe"
HOVER = "The heatmap's hover shows"


@pytest.fixture(autouse=True)
def _in_place_charts(monkeypatch):
    monkeypatch.setattr(chart, "FORCE_COMPONENT", True)


def _probe_chart(at) -> dict:
    found = [f for title, f in charts(at).items() if title.startswith(("Attention on your input", "你的输入"))]
    assert len(found) == 1, list(charts(at))
    return found[0]


def _reference(run, tokens: torch.Tensor, layer: int, head: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(scaled scores, exp after max-subtraction, weights)`` of one head, recomputed in float64 numpy from the
    query and key the trained model's own forward pass computed (not its scores or softmax)."""
    with torch.no_grad():
        traces = run.model.traces(tokens.unsqueeze(0))[1]
    one = traces[layer].attention.head(head, 0)
    q, k = one.query.double().numpy(), one.key.double().numpy()
    z = q @ k.T / np.sqrt(q.shape[1])
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return z, e, e / e.sum(axis=1, keepdims=True)


def test_a_click_on_the_probe_grid_writes_out_that_layer_and_heads_weight():
    at = open_page(PAGE)
    at = click(at, KEY, x="1 1", y="0 0", curve=0)  # a click kept from before any training
    assert not at.exception and HOVER not in markdown_text(at)
    at = train_run(at, 30)
    assert not at.exception
    assert HOVER not in markdown_text(at)  # the click from before training explains nothing now
    assert "Click any cell of this heatmap" in "\n".join(c.value for c in at.caption)

    fig = _probe_chart(at)
    names = [trace["name"] for trace in fig["data"]]
    assert names == ["layer 1 · head 1", "layer 1 · head 2", "layer 2 · head 1", "layer 2 · head 2"]
    curve, layer, head, i, j = 2, 1, 0, 5, 2  # the panel "layer 2 · head 1", query 5, key 2
    trace = fig["data"][curve]
    rows, cols, spec = trace["y"], trace["x"], trace["zhoverformat"]
    z_fig = array(trace["z"]).reshape(len(rows), len(cols))
    at = click(at, KEY, x=cols[j], y=rows[i], z=float(z_fig[i, j]), curve=curve)
    assert not at.exception

    run = at.session_state["train_run"]
    scaled, exps, weights = _reference(run, run.probe, layer, head)
    np.testing.assert_allclose(z_fig, weights, atol=1e-6)  # the figure draws the model's softmax
    shown = hover_text(float(z_fig[i, j]), spec)
    assert hover_text(weights[i, j], spec) == shown  # the independent recomputation prints the same digits
    assert f"{HOVER} {shown}." in markdown_text(at)
    captions = "\n".join(c.value for c in at.caption)
    assert "Layer 2, head 1 of 2 of the trained model" in captions
    d_head = run.config.d_model // run.config.num_heads
    assert f"columns 0–{d_head - 1} of this layer's X·W_q" in captions
    text = latex(at)
    top = scaled[i].max()
    n = lambda x: latex_number(x, spec)  # noqa: E731
    assert f"w_{{{i + 1},{j + 1}}} &=" in text
    assert f"\\max = {latex_number(top, spec, bracket=False)}" in text
    assert f"e^{{{n(scaled[i, j])} - {n(top)}}} = {n(exps[i, j])}" in text  # the clicked key's exp
    total = exps[i].sum()
    assert f"= {latex_number(total, spec, bracket=False)}" in text  # the row sum
    assert f"{n(exps[i, j])} / {n(total)} = {shown}" in text  # the division

    # Another probe of the same shape: the click was made on the old one and explains nothing.
    at.text_input(key="train_probe").set_value("9 8 7 6 5 4 3 2").run()
    assert not at.exception and HOVER not in markdown_text(at)
    # A click there explains the new probe's weight, from the model's trace on it.
    fig = _probe_chart(at)
    trace = fig["data"][3]
    rows, cols, spec = trace["y"], trace["x"], trace["zhoverformat"]
    z_fig = array(trace["z"]).reshape(len(rows), len(cols))
    at = click(at, KEY, x=cols[7], y=rows[0], curve=3)
    _, _, weights = _reference(run, torch.tensor([9, 8, 7, 6, 5, 4, 3, 2]), 1, 1)
    np.testing.assert_allclose(z_fig, weights, atol=1e-6)
    shown = hover_text(float(z_fig[0, 7]), spec)
    assert hover_text(weights[0, 7], spec) == shown and f"{HOVER} {shown}." in markdown_text(at)
    assert "Layer 2, head 2 of 2" in "\n".join(c.value for c in at.caption)
    # A point whose labels are not this grid's (a kept click of another input) explains nothing.
    at = click(at, KEY, x="3 nope", y="0 9", curve=0)
    assert not at.exception and HOVER not in markdown_text(at)


def test_the_clicked_state_in_chinese():
    from attnviz import i18n

    MISSING.clear()
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=TIMEOUT)
    at.query_params["lang"] = "zh"
    at.run()
    with i18n.use("zh"):
        at = train_run(at, 20)
        fig = _probe_chart(at)
        trace = fig["data"][1]
        at = click(at, KEY, x=trace["x"][3], y=trace["y"][6], curve=1)
        assert "第 1 层的第 2 个头（共 2 个头）" in "\n".join(c.value for c in at.caption)
        assert_chinese(at)
