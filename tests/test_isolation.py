"""Two sessions never see each other's values: edits stay in their own session, cached values are copies.

Each ``AppTest`` is its own Streamlit session (own session state), while everything imported (attnviz, the
``st.cache_data`` / ``st.cache_resource`` stores) is shared by the process, as on a real server.
"""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import attnviz
from attnviz.examples import PRESETS, WORKED_EXAMPLE, preset
from tests.pages.conftest import TIMEOUT, array, edit, figure, figures, open_page

PAGE = "pages/1_Worked_example.py"
ORIGINAL = {name: np.array(getattr(WORKED_EXAMPLE, name)) for name in ("x", "w_q", "w_k", "w_v")}


def expected_scores(x: np.ndarray) -> np.ndarray:
    """``(X·W_q)(X·W_k)ᵀ`` with the worked example's weights: ``(T, T)``."""
    return (x @ ORIGINAL["w_q"]) @ (x @ ORIGINAL["w_k"]).T


def with_cell(row: int, col: int, value: float) -> np.ndarray:
    x = ORIGINAL["x"].copy()
    x[row, col] = value
    return x


def scores(at: AppTest) -> np.ndarray:
    return array(figure(at, "scores = Q·Kᵀ")["data"][0]["z"])


# ------------------------------------------------------------------------------------------- two sessions


def test_two_sessions_editing_different_cells_see_only_their_own_edit():
    a, b = open_page(PAGE), open_page(PAGE)
    np.testing.assert_array_equal(scores(a), expected_scores(ORIGINAL["x"]))
    np.testing.assert_array_equal(scores(b), expected_scores(ORIGINAL["x"]))

    edit(a, "worked_x", {0: {"d2": 5.0}})  # a: x1 = [1, 5, 1, 0]
    edit(b, "worked_x", {1: {"d1": 3.0}})  # b: x2 = [3, 2, 0, 2]
    a.run()  # a reruns after b's edit: still only its own
    assert not a.exception and not b.exception

    a_x, b_x = with_cell(0, 1, 5.0), with_cell(1, 0, 3.0)
    assert not np.array_equal(expected_scores(a_x), expected_scores(b_x))  # the two edits are distinguishable
    np.testing.assert_array_equal(scores(a), expected_scores(a_x))
    np.testing.assert_array_equal(scores(b), expected_scores(b_x))
    np.testing.assert_array_equal(a.session_state["worked_x__good"], a_x)
    np.testing.assert_array_equal(b.session_state["worked_x__good"], b_x)

    # A third session opened after both edits starts from the tutorial's matrices.
    c = open_page(PAGE)
    np.testing.assert_array_equal(scores(c), expected_scores(ORIGINAL["x"]))
    _assert_worked_example_unchanged()


def test_settings_of_one_session_do_not_leak_into_another():
    a, b = open_page(PAGE), open_page(PAGE)
    a.radio(key="worked_scaling").set_value("1/√d_k (as in Transformers)").run()
    a.checkbox(key="worked_causal").check().run()
    a.number_input(key="worked_t").set_value(5).run()
    b.run()
    assert not a.exception and not b.exception
    assert scores(a).shape == (5, 5)
    assert scores(b).shape == (3, 3)
    assert b.session_state["worked_causal"] is False
    assert not any(f["layout"]["title"]["text"].startswith(("scaled", "masked")) for f in figures(b))
    np.testing.assert_array_equal(scores(b), expected_scores(ORIGINAL["x"]))


def test_a_preset_loaded_in_one_session_does_not_replace_another_sessions_matrices():
    a, b = open_page(PAGE), open_page(PAGE)
    edit(b, "worked_x", {2: {"d4": -4.0}})
    a.selectbox(key="worked_preset").set_value(PRESETS[1]).run()
    next(b_ for b_ in a.button if b_.label == "Load preset").click().run()
    b.run()
    assert not a.exception and not b.exception
    random_x = preset(PRESETS[1], 3, 4, 3, seed=0).x
    np.testing.assert_array_equal(a.session_state["worked_x__good"], random_x)
    np.testing.assert_array_equal(b.session_state["worked_x__good"], with_cell(2, 3, -4.0))
    np.testing.assert_array_equal(scores(b), expected_scores(with_cell(2, 3, -4.0)))


# ------------------------------------------------------------------------------------------- cached values


def _cached_trace_session(mutate: bool) -> None:
    """A session that gets the worked example's trace from the cache and, with ``mutate``, scribbles on it."""
    import numpy as np
    import streamlit as st

    from attnviz.examples import WORKED_EXAMPLE as ex
    from attnviz.ui.worked import handset_view

    args = (np.array(ex.x), np.array(ex.w_q), np.array(ex.w_k), np.array(ex.w_v), False, False)
    view = handset_view(*args)
    st.session_state.received = {name: getattr(view, name).copy() for name in ("scores", "weights", "output")}
    if mutate:
        # Everything a careless caller could do to an array it was handed.
        view.scores[...] += 100.0
        view.weights[:] = 0.0
        view.output[0, 0] = -1.0
    st.session_state.again = handset_view(*args).scores.copy()


class _CountingFromMatrices:
    def __init__(self, original):
        self.original, self.calls = original, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.original(*args, **kwargs)


def test_a_cached_trace_mutated_by_one_session_is_unchanged_for_the_next(monkeypatch):
    from attnviz.modules import SelfAttention
    from attnviz.ui import worked as compute

    compute.handset_view.clear()
    spy = _CountingFromMatrices(SelfAttention.from_matrices)
    monkeypatch.setattr(SelfAttention, "from_matrices", spy)

    a = AppTest.from_function(_cached_trace_session, args=(True,), default_timeout=TIMEOUT).run()
    b = AppTest.from_function(_cached_trace_session, args=(False,), default_timeout=TIMEOUT).run()
    assert not a.exception and not b.exception
    assert spy.calls == 1, "the trace was computed more than once: the cache was not hit, the test proves nothing"

    printed = np.array(attnviz.WORKED_EXAMPLE_PRINTED["scores"], dtype=float)
    np.testing.assert_array_equal(a.session_state["received"]["scores"], printed)
    np.testing.assert_array_equal(a.session_state["again"], printed)  # same session, after mutating
    for name, value in a.session_state["received"].items():
        np.testing.assert_array_equal(b.session_state["received"][name], value, err_msg=name)


def test_learned_weights_are_copies_of_the_shared_module():
    from attnviz.ui import worked as compute

    first = compute.learned_weights(4, 3, 7)
    snapshot = {name: value.copy() for name, value in first.items()}
    for value in first.values():
        value += 100.0  # a caller scribbling on what it was given
    again = compute.learned_weights(4, 3, 7)
    for name, value in snapshot.items():
        np.testing.assert_array_equal(again[name], value, err_msg=name)
    module = compute._learned_module(4, 3, 7)  # the one shared object: nothing can train or edit it by accident
    assert not any(p.requires_grad for p in module.parameters())


def test_learned_variant_in_one_session_leaves_the_shared_module_unchanged():
    from attnviz.ui import worked as compute

    module = compute._learned_module(4, 3, 0)
    before = {name: p.detach().clone() for name, p in module.named_parameters()}
    a = open_page(PAGE)
    a.radio(key="worked_variant").set_value("Learned (random nn.Linear with bias)").run()
    edit(a, "worked_x", {0: {"d1": 9.0}})
    b = open_page(PAGE)
    b.radio(key="worked_variant").set_value("Learned (random nn.Linear with bias)").run()
    assert not a.exception and not b.exception
    assert not np.array_equal(scores(a), scores(b))
    for name, p in compute._learned_module(4, 3, 0).named_parameters():
        assert p.equal(before[name]), f"{name} of the shared learned module changed"


# ------------------------------------------------------------------------------------------- constants


def _assert_worked_example_unchanged() -> None:
    for name, value in ORIGINAL.items():
        np.testing.assert_array_equal(getattr(attnviz.WORKED_EXAMPLE, name), value, err_msg=name)


@pytest.mark.parametrize("name", sorted(ORIGINAL))
def test_worked_example_arrays_are_read_only(name):
    array_ = getattr(attnviz.WORKED_EXAMPLE, name)
    assert not array_.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        array_[0, 0] = 42.0
    with pytest.raises(ValueError, match="read-only"):
        array_ += 1.0
    _assert_worked_example_unchanged()


def test_presets_hand_out_fresh_writable_arrays():
    ex = preset(PRESETS[0], 3, 4, 3)
    for name in ORIGINAL:
        value = getattr(ex, name)
        assert value.flags.writeable and not np.shares_memory(value, getattr(WORKED_EXAMPLE, name)), name
        value += 1.0
    _assert_worked_example_unchanged()
