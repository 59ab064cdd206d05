"""The Attention lab and Cross-attention pages in a real browser: drawn cleanly, and a real interaction works."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from benchmarks.harness import figure_titled, load, nudge_slider, set_text, settle, wait_charts_drawn

pytestmark = pytest.mark.e2e


def values(data) -> np.ndarray:
    """A trace array as the browser holds it: a list, or plotly's base64 typed array {dtype, bdata, shape}."""
    if isinstance(data, dict) and "bdata" in data:
        flat = np.frombuffer(base64.b64decode(data["bdata"]), dtype=np.dtype(data["dtype"]))
        shape = data.get("shape")
        return flat.reshape([int(n) for n in str(shape).split(",")]) if shape else flat
    return np.asarray(data, dtype=float)


def assert_clean(page, console_errors) -> None:
    exceptions = page.locator("[data-testid=stException]")
    assert exceptions.count() == 0, exceptions.first.inner_text()
    assert console_errors.errors == []


def test_lab_d_k_slider_widens_the_raw_scores(page, console_errors, app_url):
    load(page, f"{app_url}/Attention_lab")
    nudge_slider(page, "lab_scaling_d_k", "End")  # d_k = 1024
    settle(page)
    wait_charts_drawn(page)
    hist = figure_titled(page, "scores at d_k = 1024")
    raw, scaled = values(hist["x"][0]), values(hist["x"][1])
    assert raw.var() == pytest.approx(1024, rel=0.15)
    assert scaled.var() == pytest.approx(1.0, rel=0.15)
    saturated = values(figure_titled(page, "softmax(q·k)")["z"][0])
    assert saturated.max(axis=1).mean() > 0.9
    assert_clean(page, console_errors)


def test_cross_attention_padding_columns_are_zero(page, console_errors, app_url):
    load(page, f"{app_url}/Cross-attention")
    set_text(page, "cross_source2", "der")
    settle(page)
    wait_charts_drawn(page)
    batch = figure_titled(page, "batch row 1")
    columns = [str(label) for label in batch["x"][0]]
    assert columns[0] == "0 der" and all(c.endswith("<pad>") for c in columns[1:])
    weights = values(batch["z"][0])
    np.testing.assert_allclose(weights[:, 0], 1.0, atol=1e-6)  # one real key takes all the weight
    assert np.all(weights[:, 1:] == 0.0)  # the padding columns
    badge = page.get_by_text("Matches torch.nn.MultiheadAttention with key_padding_mask")
    assert badge.count() == 1
    assert_clean(page, console_errors)
