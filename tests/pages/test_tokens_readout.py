"""Tokens page: the per-row entropy readout (effective keys 2^H) against the weights it describes."""

from __future__ import annotations

import numpy as np

from tests.pages.conftest import array, figure, heatmap, markdown_text, open_page


def test_effective_keys_match_the_weights_and_follow_the_temperature():
    at = open_page("pages/2_Tokens.py")
    assert not at.exception
    _, _, w = heatmap(at, "weights = softmax")
    entropy = -(w * np.log2(np.where(w > 0, w, 1))).sum(axis=1)
    bars = array(figure(at, "effective keys")["data"][0]["y"])
    np.testing.assert_allclose(bars, 2.0**entropy, rtol=1e-4)
    assert "effective number of keys" in markdown_text(at)
    at.session_state["tokens_temperature"] = 0.05
    at.run()
    cold = array(figure(at, "effective keys")["data"][0]["y"])
    assert cold.mean() < bars.mean() / 2
