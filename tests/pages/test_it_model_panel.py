"""The Tokens and Multi-head pages offer the sentence through the trained it-task model beside the random weights."""

from __future__ import annotations

import re

import numpy as np
import torch

from attnviz.positional import sinusoidal_encoding
from tests.pages.conftest import array, figure, markdown_text, open_page, titles

GRID = "Trained on the “it” task"


def _panels(fig: dict) -> np.ndarray:
    return np.stack([array(t["z"]).reshape(len(t["y"]), len(t["x"])) for t in fig["data"]])


def _model_weights(text: str) -> np.ndarray:
    from attnviz.training.it_task import encode_words, load_it_run

    ids, _ = encode_words(text)
    model = load_it_run().model
    # By hand, layer by layer: embeddings + the sinusoidal encoding of this length, then each EncoderLayer.
    x = model.embedding[torch.tensor(ids)] + sinusoidal_encoding(len(ids), model.embedding.shape[1])
    weights = []
    with torch.no_grad():
        for layer in model.layers:
            trace = layer(x)
            weights.append(trace.attention.weights)  # (H, T, T)
            x = trace.output
    return torch.cat(weights).numpy()


def test_tokens_page_shows_the_trained_model_when_asked():
    at = open_page("pages/2_Tokens.py")
    assert not any(t.startswith(GRID) for t in titles(at))  # off by default: the page stays as fast as before
    at.toggle(key="tokens_it_model").set_value(True).run()
    assert not at.exception
    text = at.session_state["tokens_text"]
    np.testing.assert_allclose(_panels(figure(at, GRID)), _model_weights(text), atol=1e-6)
    assert "the model answers **animal**" in re.sub(r"\\(.)", r"\1", markdown_text(at))
    assert figure(at, "last layer: weights of query 7 it")


def test_unknown_words_are_named_and_other_lengths_noted():
    at = open_page("pages/2_Tokens.py")
    at.text_area(key="tokens_text").set_value("The zebra was too tired").run()
    at.toggle(key="tokens_it_model").set_value(True).run()
    assert not at.exception
    warnings = re.sub(r"\\(.)", r"\1", "\n".join(w.value for w in at.warning))
    assert "read as <unk>: “zebra”" in warnings
    assert any("trained on 11-word sentences; this one has 5" in i.value for i in at.info)
    np.testing.assert_allclose(_panels(figure(at, GRID)), _model_weights("the zebra was too tired"), atol=1e-6)


def test_multihead_page_shows_every_trained_head():
    at = open_page("pages/3_Multi-head.py")
    at.toggle(key="mh_it_model").set_value(True).run()
    assert not at.exception
    fig = figure(at, GRID)
    assert [a["text"] for a in fig["layout"]["annotations"] if "head" in a["text"]][:2] == [
        "layer 1 · head 1",
        "layer 2 · head 1",
    ]


def test_the_panel_titles_name_each_layer_and_head_as_the_view_orders_them():
    from attnviz.training.it_task import load_it_run
    from attnviz.training.views import it_view
    from attnviz.ui.it_model import panel_titles

    view = it_view("the animal didn't cross the street because it was too tired", load_it_run())
    assert panel_titles(len(view.stack), view.num_heads) == tuple(view.titles)  # layer-major, like the stack
    assert panel_titles(6, 3) == tuple(f"layer {layer} · head {head}" for layer in (1, 2) for head in (1, 2, 3))
