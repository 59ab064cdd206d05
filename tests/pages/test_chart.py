"""The in-place chart element: what it sends is exactly ``st.plotly_chart``'s spec, and its identity is its key."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import plotly.io
import pytest
from streamlit.testing.v1 import AppTest

from attnviz.ui import chart
from tests.pages.conftest import TIMEOUT


def _script() -> None:
    import streamlit as st

    from attnviz.ui.chart import plotly_chart
    from attnviz.ui.render import PLOTLY_CONFIG

    z = st.session_state.get("z", [[1.0, 2.0], [3.0, 4.0]])
    fig = {"data": [{"type": "heatmap", "z": z}], "layout": {"title": {"text": "scores = Q·Kᵀ"}, "height": 300}}
    plotly_chart(fig, key="test_fig", width="stretch", config=PLOTLY_CONFIG, theme=None)


def _component_payload(at: AppTest) -> tuple[str, dict]:
    """(element id, decoded bytes) of the one in-place chart element on the page."""
    elements = at.get("bidi_component")
    assert len(elements) == 1, f"{len(elements)} chart components"
    proto = elements[0].proto
    return proto.id, json.loads(proto.bytes.decode())


def test_apptest_reads_the_spec_as_from_st_plotly_chart():
    at = AppTest.from_function(_script, default_timeout=TIMEOUT).run()
    assert not at.exception
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    spec = json.loads(charts[0].proto.spec)
    assert spec["data"][0]["z"] == [[1.0, 2.0], [3.0, 4.0]]
    assert json.loads(charts[0].proto.config) == {
        "displaylogo": False,
        "showSendToCloud": False,
        "modeBarButtonsToRemove": ["select2d", "lasso2d"],
    }


def test_component_sends_the_same_spec_and_keeps_its_identity(monkeypatch):
    monkeypatch.setattr(chart, "FORCE_COMPONENT", True)
    at = AppTest.from_function(_script, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert at.get("plotly_chart") == []
    first_id, payload = _component_payload(at)
    fig = {"data": [{"type": "heatmap", "z": [[1.0, 2.0], [3.0, 4.0]]}], "layout": {"title": {"text": "scores = Q·Kᵀ"}}}
    fig["layout"]["height"] = 300
    assert payload["figure"] == json.loads(plotly.io.to_json(fig, validate=False))
    meta = payload["meta"]
    assert meta["filename"] == "attnviz_scores_Q_K"
    assert meta["scale"] >= 2
    assert meta["config"]["modeBarButtonsToRemove"] == ["select2d", "lasso2d"]
    assert meta["config"]["showSendToCloud"] is False  # plotly.js 3's "Share chart..." (a cloud upload) is hidden
    assert meta["plotly"].endswith("/component/attnviz.ui.chart.plotly_js/plotly.min.js")
    assert meta["select"] is False

    at.session_state["z"] = [[5.0, 6.0], [7.0, 8.0]]
    at.run()
    second_id, payload = _component_payload(at)
    assert payload["figure"]["data"][0]["z"] == [[5.0, 6.0], [7.0, 8.0]]
    assert second_id == first_id, "a new figure under the same key must keep the element (updated in place)"


def test_plotly_js_is_the_installed_packages_copy():
    assert chart.PLOTLY_JS.is_file()
    assert "window.Plotly" in chart.PLOTLY_JS.read_text(encoding="utf-8")[-2000:]


def test_filename_from_title_or_key():
    assert chart._filename(go.Figure(layout={"title": {"text": "weights (row-wise softmax)"}}), "k") == (
        "attnviz_weights_row_wise_softmax"
    )
    assert chart._filename({"layout": {}}, "worked_fig_qkv") == "attnviz_worked_fig_qkv"


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"key": ""}, "key=''"), ({"key": "k", "on_select": "x"}, "on_select")]
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        chart.plotly_chart({"data": []}, **kwargs)


def test_a_cached_figure_keeps_its_json_and_a_fresh_one_does_not(monkeypatch):
    from attnviz.figures import matrix_heatmap
    from attnviz.ui import cache

    z = [[0.25, -1.5], [3.0, float("nan")]]
    fresh = matrix_heatmap(z, ["a", "b"], ["c", "d"], title="scores")
    # The JSON is plotly's own serialization, whether it is kept or not.
    assert chart.figure_spec(fresh) == plotly.io.to_json(fresh, validate=False)
    fresh.update_layout(title={"text": "changed"})  # a figure the page built itself may change: never kept
    assert json.loads(chart.figure_spec(fresh))["layout"]["title"]["text"] == "changed"

    built = []

    def build(values, rows, cols, **options):
        built.append(1)
        return matrix_heatmap(values, rows, cols, **options)

    build.__module__, build.__qualname__ = "tests", "build"
    kept = cache.figure(build, np.array(z), ("a", "b"), ("c", "d"), title="scores")
    expected = plotly.io.to_json(matrix_heatmap(z, ["a", "b"], ["c", "d"], title="scores"), validate=False)
    assert chart.figure_spec(kept) == expected
    # The second draw of the same cached figure sends the JSON kept from the first, not a new serialization.
    monkeypatch.setattr(chart.plotly.io, "to_json", lambda *a, **k: pytest.fail("serialized again"))
    assert cache.figure(build, np.array(z), ("a", "b"), ("c", "d"), title="scores") is kept
    assert chart.figure_spec(kept) == expected
    assert len(built) == 1


def test_the_script_is_sent_without_comments_or_indentation():
    sent = chart._compact(chart._JS)
    assert "//" not in sent and "\n " not in sent
    assert len(sent) < 0.8 * len(chart._JS)
    # Every line of code is kept, in order.
    code = [line.split("  // ", 1)[0].strip() for line in chart._JS.splitlines()]
    assert sent.splitlines() == [line for line in code if line and not line.startswith("//")]
    assert "export default function (component) {" in sent.splitlines()
