"""The load test's protocol client (benchmarks/ws_client.py): its frontend bookkeeping, and two sessions against a
real server for a few seconds."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json

import pytest
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from benchmarks.ws_client import (
    MessageCache,
    ProtocolClient,
    ProtocolError,
    RunResult,
    editor_column_names,
    editor_state_json,
    initial_widget_state,
)


def test_editor_state_is_the_frontends_json():
    # JavaScript orders integer keys ascending and writes 2.0 as 2.
    state = editor_state_json({1: {"2": 5.5}, 0: {"3": -2.0, "0": 0.125}})
    assert state == '{"edited_rows":{"0":{"0":0.125,"3":-2},"1":{"2":5.5}},"added_rows":[],"deleted_rows":[]}'


def test_editor_columns_map_labels_to_names():
    element = Element()
    element.dataframe.columns = json.dumps({"0": {"label": "d1"}, "1": {"label": "d2"}, "_index": {"required": True}})
    assert editor_column_names(element) == {"d1": "0", "d2": "1"}


def test_initial_widget_states():
    radio = Element()
    radio.radio.id, radio.radio.default = "$$ID-1-r", 1
    radio.radio.options.extend(["a", "b"])
    assert initial_widget_state(radio).string_value == "b"
    number = Element()
    number.number_input.id, number.number_input.default = "$$ID-2-n", 1.0
    number.number_input.value, number.number_input.set_value = 3.0, True
    assert number.number_input.data_type == number.number_input.DataType.Value("INT")
    assert initial_widget_state(number).int_value == 3
    checkbox = Element()
    checkbox.checkbox.id = "$$ID-3-c"
    assert initial_widget_state(checkbox).WhichOneof("value") == "bool_value"
    button = Element()
    button.button.id = "$$ID-4-b"
    assert initial_widget_state(button) is None  # a trigger: sent only when clicked


def test_message_cache_resolves_references_and_ages_entries():
    cache = MessageCache()
    msg = ForwardMsg(hash="h1")
    msg.metadata.cacheable = True
    msg.delta.new_element.markdown.body = "big"
    cache.process(msg, msg.SerializeToString())
    assert cache.hashes() == ["h1"]
    ref = ForwardMsg(ref_hash="h1")
    ref.metadata.delta_path.extend([0, 3])
    resolved, hit = cache.process(ref, ref.SerializeToString())
    assert hit and resolved.delta.new_element.markdown.body == "big" and list(resolved.metadata.delta_path) == [0, 3]
    for _ in range(3):  # unused for more than max_cached_message_age finished runs: evicted
        cache.finished_run(max_age=2)
    assert cache.hashes() == []
    with pytest.raises(ProtocolError):
        cache.process(ref, ref.SerializeToString())


def test_message_cache_ages_only_the_fragments_that_ran():
    cache = MessageCache()
    for key, fragment in (("page", ""), ("frag", "f1")):
        msg = ForwardMsg(hash=key)
        msg.metadata.cacheable = True
        msg.delta.fragment_id = fragment
        cache.process(msg, msg.SerializeToString())
    for _ in range(3):
        cache.finished_run(max_age=2, fragment_ids=("f1",))
    assert cache.hashes() == ["page"]


def _delta(path: list[int], element: Element, fragment: str = "", script: str = "page") -> bytes:
    msg = ForwardMsg()
    msg.metadata.delta_path.extend(path)
    msg.metadata.active_script_hash = script
    msg.delta.new_element.CopyFrom(element)
    msg.delta.fragment_id = fragment
    return msg.SerializeToString()


def _finished(status: str, fragments: tuple[str, ...] = ()) -> bytes:
    msg = ForwardMsg(script_finished=ForwardMsg.ScriptFinishedStatus.Value(status))
    msg.metadata.run.fragment_ids.extend(fragments)
    return msg.SerializeToString()


def test_client_keeps_the_page_like_the_frontend():
    """A fragment run replaces only the fragment's elements; widget states follow the elements on the page."""
    client = ProtocolClient("http://127.0.0.1:1")
    checkbox, editor, note = Element(), Element(), Element()
    checkbox.checkbox.id = "$$ID-1-side"
    editor.dataframe.id = "$$ID-2-table"
    note.markdown.body = "old"

    client.runs += 1
    result = RunResult(sent_at=0.0)
    frames = [_delta([1, 0], checkbox), _delta([0, 0], editor, "f"), _delta([0, 1], note, "f")]
    assert not any(client._handle(frame, result) for frame in frames)
    assert client._handle(_finished("FINISHED_SUCCESSFULLY"), result)
    assert set(client.widget_states) == {"$$ID-1-side"}  # a data editor has no state until edited

    client.edit_cell("$$ID-2-table", 0, "1", 2.5)
    assert client.changed_fragments == {"f"}
    client.runs += 1
    result = RunResult(sent_at=0.0, fragment_id="f")
    client._handle(_delta([0, 0], editor, "f"), result)  # the fragment no longer draws the note
    assert client._handle(_finished("FINISHED_FRAGMENT_RUN_SUCCESSFULLY", ("f",)), result)
    assert result.ok and sorted(result.page) == [(0, 0), (1, 0)]
    states = {w.id: w for w in client._widget_states().widgets}
    assert set(states) == {"$$ID-1-side", "$$ID-2-table"}
    assert json.loads(states["$$ID-2-table"].string_value)["edited_rows"] == {"0": {"1": 2.5}}

    client.runs += 1
    result = RunResult(sent_at=0.0)
    client._handle(_delta([1, 0], checkbox), result)  # a full run without the table
    client._handle(_finished("FINISHED_SUCCESSFULLY"), result)
    assert sorted(result.page) == [(1, 0)] and not client.editor_edits


def test_only_loopback_servers():
    with pytest.raises(ValueError):
        ProtocolClient("http://example.com:8501")


@pytest.mark.timeout(120)
def test_two_protocol_sessions_edit_and_switch_pages():
    """Two sessions, 5 s, a real server: every edit repaints the scores, every page switch works, no errors."""
    from benchmarks.load import run_load

    # Its own thread and event loop: the browser tests' Playwright keeps a loop running in this thread.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        result = pool.submit(asyncio.run, run_load(sessions=2, seconds=5, client="protocol")).result()
    assert result["client"] == "protocol"
    assert result["errors"] == 0, result["error_samples"]
    assert result["sessions_started"] == 2
    assert len(result["per_session"]) == 2
    for session in result["per_session"]:
        assert session["live_at_s"] is not None, session
        assert session["scores_changed"] >= 1, session
        assert session["switches"] >= 1, session
    assert result["edits_scores_changed"] == result["edits"]
    assert result["server_rss_mb"]["start"] and result["server_rss_mb"]["end"]
