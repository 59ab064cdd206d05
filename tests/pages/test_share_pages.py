"""Share, save and reproduce, on every page: the address round trip, hostile addresses, the back button, JSON and
CSV uploads, and "copy as code" executed on its own and compared with the page's trace."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from attnviz import sharing
from attnviz.ui import cross, encoder, image, lab, tokens, worked
from tests.pages.conftest import ROOT, TIMEOUT, edit, error_text, share_open
from tests.pages.conftest import open_page as open_closed

WORKED, TOKENS, MH, PE, ENCODER, LAB, CROSS, TRAIN, IMAGE = (
    "pages/1_Worked_example.py",
    "pages/2_Tokens.py",
    "pages/3_Multi-head.py",
    "pages/4_Positional_encoding.py",
    "pages/5_Encoder.py",
    "pages/6_Attention_lab.py",
    "pages/7_Cross-attention.py",
    "pages/8_Train.py",
    "pages/9_Image_attention.py",
)


def open_page(path: str) -> AppTest:
    """``path`` run once with its "Share, export, import" panel open (it is built only while open)."""
    return open_closed(path, share=True)


def charts(at: AppTest) -> list[str]:
    """Every figure's JSON spec, in page order."""
    return [c.proto.spec for c in at.get("plotly_chart")]


def fresh(path: str, params: dict) -> AppTest:
    """A new session of ``path`` opened at an address holding ``params``."""
    from tests.pages.conftest import ROOT

    at = AppTest.from_file(str(ROOT / path), default_timeout=TIMEOUT)
    at.query_params = dict(params)
    for key, value in share_open().items():
        at.session_state[key] = value
    return at.run()


PANEL = {WORKED: "share_worked_open", MH: "share_mh_open", TRAIN: "share_train_open"}  # the expanders' keys


@pytest.mark.parametrize("path", list(PANEL))
def test_a_closed_share_panel_sends_nothing_but_the_address_still_follows(path):
    """Closed (the default), the panel's downloads, uploader and toggle are not built on a rerun; the address is
    written all the same, and opening the panel builds them."""
    closed = EDITS[path](open_closed(path))
    assert not closed.exception and not closed.error
    assert closed.query_params == EDITS[path](open_page(path)).query_params != {}
    assert [e.label for e in closed.expander if e.label == "Share, export, import"] == ["Share, export, import"]
    shared = lambda at: [u for u in at.get("file_uploader") if u.key.startswith("share_")]  # noqa: E731
    assert not closed.get("download_button") and not shared(closed)
    assert closed.session_state[PANEL[path]] is False
    closed.session_state[PANEL[path]] = True
    opened = closed.run()
    assert opened.get("download_button") and shared(opened)


def warnings(at: AppTest) -> str:
    return re.sub(r"\\(.)", r"\1", "\n".join(w.value for w in at.warning))


# ------------------------------------------------------------------------------------------- edited states


def edit_worked(at: AppTest) -> AppTest:
    at.sidebar.radio(key="worked_scaling").set_value(tuple(worked.SCALINGS)[1]).run()
    at.sidebar.checkbox(key="worked_causal").check().run()
    at.sidebar.number_input(key="worked_t").set_value(4).run()
    edit(at, "worked_x", {0: {"d1": -2.5}, 3: {"d4": 0.1}})
    edit(at, "worked_wk", {1: {"d2": 7.0}})
    at.sidebar.selectbox(key="worked_query").set_value(2).run()
    return at


def edit_tokens(at: AppTest) -> AppTest:
    at.text_area(key="tokens_text").input("the cat saw the dog and the cat ran").run()
    at.sidebar.number_input(key="tokens_temperature").set_value(0.5).run()
    at.sidebar.number_input(key="tokens_d_model").set_value(10).run()
    at.sidebar.toggle(key="tokens_causal").set_value(True).run()
    at.selectbox(key="tokens_query").set_value(3).run()
    return at


def edit_mh(at: AppTest) -> AppTest:
    at.sidebar.radio(key="mh_source").set_value("Worked example").run()
    at.sidebar.toggle(key="mh_causal").set_value(True).run()
    at.sidebar.number_input(key="mh_valid_len").set_value(2).run()
    edit(at, "mh_w_q_h1", {0: {"h1 d0": 3.0}})
    edit(at, "mh_w_o_h0", {2: {"d5": -1.25}})
    return at


def edit_pe(at: AppTest) -> AppTest:
    at.sidebar.number_input(key="pe_positions").set_value(30).run()
    at.sidebar.number_input(key="pe_d_model").set_value(9).run()
    at.sidebar.number_input(key="pe_base").set_value(500.0).run()
    at.text_input(key="pe_sentence").input("a cat and a dog").run()
    at.multiselect(key="pe_dims").set_value([0, 5]).run()
    at.toggle(key="pe_variant").set_value(True).run()
    return at


def edit_lab(at: AppTest) -> AppTest:
    at.sidebar.radio(key="lab_source").set_value(tuple(lab.SOURCES)[2]).run()  # random rows
    at.sidebar.number_input(key="lab_t").set_value(5).run()
    at.sidebar.number_input(key="lab_d_k").set_value(6).run()
    at.sidebar.number_input(key="lab_seed").set_value(7).run()
    at.select_slider(key="lab_scaling_d_k").set_value(256).run()
    at.select_slider(key="lab_tau").set_value(0.3).run()
    at.slider(key="lab_p").set_value(0.35).run()
    at.toggle(key="lab_train").set_value(False).run()
    at.radio(key="lab_mask").set_value("sliding window").run()
    at.number_input(key="lab_width").set_value(2).run()
    at.radio(key="lab_fill").set_value(tuple(lab.FILL_VALUES)[2]).run()
    at.toggle(key="lab_bug").set_value(False).run()
    return at


def edit_cross(at: AppTest) -> AppTest:
    at.button(key="cross_preset_3").click().run()  # German → English
    at.text_input(key="cross_source2").input("Das kleine Haus ist sehr alt und schön").run()
    at.sidebar.number_input(key="cross_d_model").set_value(12).run()
    at.sidebar.number_input(key="cross_heads").set_value(3).run()
    at.sidebar.number_input(key="cross_seed").set_value(5).run()
    return at


def edit_train(at: AppTest) -> AppTest:
    at.sidebar.selectbox(key="train_task").set_value("sort").run()
    at.sidebar.number_input(key="train_seq_len").set_value(6).run()
    at.sidebar.selectbox(key="train_d_model").set_value(64).run()
    at.sidebar.selectbox(key="train_heads").set_value(4).run()
    at.sidebar.number_input(key="train_layers").set_value(3).run()
    at.sidebar.selectbox(key="train_lr").set_value(1e-3).run()
    at.sidebar.number_input(key="train_seed").set_value(3).run()
    return at


def edit_encoder(at: AppTest) -> AppTest:
    at.sidebar.radio(key="encoder_source").set_value("Time series").run()
    at.sidebar.slider(key="encoder_series_steps").set_value(20).run()
    at.sidebar.slider(key="encoder_series_features").set_value(6).run()
    at.sidebar.selectbox(key="encoder_heads").set_value(2).run()
    at.sidebar.slider(key="encoder_layers").set_value(3).run()
    at.sidebar.number_input(key="encoder_d_ff").set_value(24).run()
    at.sidebar.radio(key="encoder_norm").set_value(tuple(encoder.NORMS)[1]).run()
    at.sidebar.radio(key="encoder_activation").set_value("gelu").run()
    at.sidebar.number_input(key="encoder_seed").set_value(5).run()
    at.sidebar.toggle(key="encoder_causal").set_value(True).run()
    at.sidebar.number_input(key="encoder_valid_len").set_value(15).run()
    at.selectbox(key="encoder_open_layer").set_value(1).run()
    at.selectbox(key="encoder_open_head").set_value(1).run()
    return at


def edit_image(at: AppTest) -> AppTest:
    at.sidebar.number_input(key="img_index").set_value(7).run()
    at.sidebar.number_input(key="img_row").set_value(3).run()
    at.sidebar.number_input(key="img_col").set_value(15).run()
    at.sidebar.radio(key="img_map").set_value("received").run()
    return at


EDITS = {
    WORKED: edit_worked,
    TOKENS: edit_tokens,
    MH: edit_mh,
    PE: edit_pe,
    LAB: edit_lab,
    CROSS: edit_cross,
    TRAIN: edit_train,
    IMAGE: edit_image,
    ENCODER: edit_encoder,
}


@pytest.mark.parametrize("path", list(EDITS))
def test_the_default_page_has_a_bare_address(path):
    at = open_page(path)
    assert not at.exception
    assert at.query_params == {}


@pytest.mark.parametrize("path", list(EDITS))
def test_an_address_reproduces_the_page(path):
    at = EDITS[path](open_page(path))
    assert not at.exception and not at.error
    params = at.query_params
    assert params, "an edited page writes its state to the address"
    copy = fresh(path, params)
    assert not copy.exception and not copy.warning
    assert copy.query_params == params
    assert charts(copy) == charts(at)
    assert len(charts(at)) >= (1 if path == TRAIN else 3)  # the Train page draws its untrained model only
    if path == TRAIN:  # and shows its settings in the sidebar
        from attnviz.ui import train

        assert all(copy.session_state[f.key] == at.session_state[f.key] for f in train.SHARE.fields)
    if path in (IMAGE, ENCODER):  # the sidebar (and the opened head) show the same settings
        spec = image.SHARE if path == IMAGE else encoder.SHARE
        assert all(copy.session_state[f.key] == at.session_state[f.key] for f in spec.fields)


def test_addresses_are_short():
    at = edit_worked(open_page(WORKED))
    assert len("&".join(f"{k}={v}" for k, v in at.query_params.items())) < 400
    assert set(at.query_params) == {
        "worked_scaling",
        "worked_causal",
        "worked_t",
        "worked_x",
        "worked_wk",
        "worked_query",
    }


# -------------------------------------------------------------------------------------------- hostile URLs

HOSTILE = {
    WORKED: {
        "worked_t": "1e9",
        "worked_d_in": "-3",
        "worked_causal": "maybe",
        "worked_variant": "<script>alert(1)</script>",
        "worked_x": "3x4.f4.AAAA",
        "worked_wq": "9999x9999.f8.",
        "worked_wk": "3x4.f4." + "A" * 64,  # a valid 3×4 where W is 4×3
        "worked_query": "nan",
        "evil": "1",
    },
    TOKENS: {
        "tokens_text": "x" * 100_000,
        "tokens_temperature": "nan",
        "tokens_d_model": "100000",
        "tokens_mode": "",
        "tokens_query": "-1",
    },
    MH: {
        "mh_heads": "inf",
        "mh_d_model": "0",
        "mh_valid_len": "abc",
        "mh_w_q": "8x8.f4.!!!!",
        "mh_w_o": "8x8.f4." + "A" * 10,
        "mh_source": "Sentence&x=1",
    },
    PE: {
        "pe_positions": "99999999999999",
        "pe_base": "-inf",
        "pe_dims": "1,2,3,4,5,6,7,8,9,10",
        "pe_variant": "2",
        "pe_sentence": "y" * 3000,
    },
    LAB: {
        "lab_source": "nonsense",
        "lab_t": "65",
        "lab_d_k": "-1",
        "lab_scaling_d_k": "3",
        "lab_tau": "0.25",
        "lab_p": "nan",
        "lab_train": "yes",
        "lab_mask": "Causal",  # the label, not its code
        "lab_fill": "-1e9",
        "lab_sentence": "z" * 9000,
        "lab_paint_8": "1",
    },
    CROSS: {
        "cross_target": "t" * 2001,
        "cross_d_model": "257",
        "cross_heads": "1.5",
        "cross_seed": "-4",
        "cross_source": "s" * 8193,
        "cross_preset_0": "1",
    },
    TRAIN: {
        "train_task": "nope",
        "train_seq_len": "99",
        "train_d_model": "48",
        "train_heads": "3",
        "train_layers": "9",
        "train_lr": "0.5",
        "train_steps": "0",
        "train_seed": "1e3",
    },
    IMAGE: {
        "img_source": "your-own-image.png",
        "img_index": "48",
        "img_row": "-1",
        "img_col": "2.5",
        "img_map": "queries",
        "img_size": "huge",
        "img_step": "nan",
        "img_upload": "AAAA",  # an uploaded image never comes from the address
    },
    ENCODER: {
        "encoder_source": "nonsense",
        "encoder_text": "x" * 2001,
        "encoder_layers": "13",
        "encoder_heads": "0",
        "encoder_d_ff": "1e3",
        "encoder_valid_len": "abc",
        "encoder_open_head": "99",
        "encoder_causal": "sometimes",
        "encoder_pasted_csv": "1,2\n3,4",  # the learner's numbers never come from the address
    },
}


@pytest.mark.parametrize("path", list(HOSTILE))
def test_a_hostile_address_falls_back_to_the_defaults_and_names_each_parameter(path):
    default = open_page(path)
    at = fresh(path, HOSTILE[path])
    assert not at.exception
    text = warnings(at)
    for key in HOSTILE[path]:
        assert f"URL parameter `{key}` ignored" in text, (key, text)
    assert charts(at) == charts(default)
    assert at.query_params == {}  # nothing of it is written back


def test_a_hostile_shape_next_to_good_settings_keeps_the_good_ones():
    at = fresh(WORKED, {"worked_t": "4", "worked_x": sharing.encode_matrix(np.ones((3, 4)))})
    assert "the settings make it 4×4" in warnings(at)
    assert at.session_state["worked_t"] == 4
    assert at.query_params == {"worked_t": "4"}


# ------------------------------------------------------------------------------------------- the back button


def test_a_changed_address_under_a_running_session_is_restored_in_full():
    """The back button reruns the page with the earlier address: every setting it does not hold is a default."""
    at = open_page(WORKED)
    default = charts(at)
    edit_worked(at)
    assert charts(at) != default
    at.query_params = {}  # what the browser sends after "back" to the first entry
    at.run()
    assert charts(at) == default
    assert at.session_state["worked_causal"] is False


def test_a_page_switch_and_back_keeps_the_edits():
    """Streamlit's page links drop the address's parameters: arriving with an empty address keeps the page's state."""
    at = open_page("app.py")
    at.switch_page("pages/1_Worked_example.py").run()
    edit_worked(at)
    edited = charts(at)
    for other in ("app.py",):  # a page that does not write the address
        at.switch_page(other)
        at.query_params = {}
        at.run()
    at.switch_page("pages/1_Worked_example.py")
    at.query_params = {}
    at.run()
    assert charts(at) == edited
    assert at.query_params, "the page writes its state back to the address"


def test_back_on_the_tokens_page_restores_the_earlier_text():
    at = open_page(TOKENS)
    at.text_area(key="tokens_text").input("one two three").run()
    first = dict(at.query_params)
    at.text_area(key="tokens_text").input("four five").run()
    at.query_params = first
    at.run()
    assert at.text_area(key="tokens_text").value == "one two three"


# ------------------------------------------------------------------------------------------------ uploads


def _state_json(at: AppTest, spec: sharing.StateSpec) -> str:
    settings = {f.key: at.session_state[f.key] for f in spec.fields if f.key in at.session_state}
    matrices = {m.key: (at.session_state[f"{m.key}__good"], None, None) for m in spec.matrices}
    return sharing.export_json(spec, settings, matrices, {})


def test_a_json_upload_restores_the_page():
    source = edit_worked(open_page(WORKED))
    at = open_page(WORKED)
    at.file_uploader(key="share_worked_upload").upload(
        "attnviz_worked.json", _state_json(source, worked.SHARE).encode()
    )
    at.run()
    assert not at.exception
    assert "was loaded" in "\n".join(s.value for s in at.success)
    assert charts(at) == charts(source)


def test_a_lab_json_upload_restores_its_settings():
    source = edit_lab(open_page(LAB))
    at = open_page(LAB)
    at.file_uploader(key="share_lab_upload").upload("attnviz_lab.json", _state_json(source, lab.SHARE).encode())
    at.run()
    assert not at.exception
    assert "was loaded: 17 settings, 0 matrices" in re.sub(r"\\(.)", r"\1", "\n".join(s.value for s in at.success))
    assert charts(at) == charts(source)


def test_a_bad_json_upload_changes_nothing():
    at = edit_worked(open_page(WORKED))
    before = charts(at)
    doc = json.loads(_state_json(at, worked.SHARE))
    doc["settings"]["worked_t"] = 400
    doc["matrices"]["worked_x"]["values"][0][0] = "NaN"
    at.file_uploader(key="share_worked_upload").upload("bad.json", json.dumps(doc).encode()).run()
    text = error_text(at)
    assert "setting `worked_t`: 400 is outside 1 … 12 — nothing was changed" in text
    assert charts(at) == before


def test_a_csv_upload_fills_one_table():
    at = open_page(WORKED)
    x = np.arange(12, dtype=float).reshape(3, 4) / 4
    text = sharing.matrix_csv(x, ["x1", "x2", "x3"], ["d1", "d2", "d3", "d4"])
    at.selectbox(key="share_worked_upload_target").set_value("worked_x").run()
    at.file_uploader(key="share_worked_upload").upload("x.csv", text.encode()).run()
    assert not at.exception
    np.testing.assert_array_equal(at.session_state["worked_x__good"], x)
    assert at.session_state["worked_last_good"].query.shape == (3, 3)
    np.testing.assert_allclose(
        at.session_state["worked_last_good"].query,
        x @ np.array(worked.default_matrices(worked.Settings(3, 4, 3, False, False, False, 0, 0, 0, 0))[1]),
    )


def test_a_csv_of_the_wrong_shape_changes_nothing():
    at = open_page(WORKED)
    before = charts(at)
    text = sharing.matrix_csv(np.ones((2, 2)), ["x1", "x2"], ["d1", "d2"])
    at.file_uploader(key="share_worked_upload").upload("x.csv", text.encode()).run()
    assert "X: the header must be a blank cell and the columns d1, d2, d3, d4" in error_text(at)
    assert charts(at) == before


def test_every_matrix_has_a_download():
    at = open_page(WORKED)
    labels = {b.proto.label.strip("`") for b in at.get("download_button")}
    assert labels >= {"State (JSON)", "X.csv", "W_q.csv", "scores.csv", "weights.csv", "output.csv"}
    at = open_page(MH)
    labels = {b.proto.label.strip("`") for b in at.get("download_button")}
    assert {"weights_h0.csv", "weights_h1.csv", "output.csv", "W_O.csv", "b_o.csv"} <= labels


# ------------------------------------------------------------------------------------------- copy as code


def run_snippet(at: AppTest, page_key: str, tmp_path) -> dict[str, np.ndarray]:
    """Show the page's "copy as code", run it alone (no attnviz on the path), return each printed tensor."""
    at.toggle(key=f"share_{page_key}_show_code").set_value(True).run()
    code = [c.value for c in at.code if c.language == "python"]
    assert len(code) == 1
    assert "attnviz" not in re.sub(r"attnviz_\w+\.json", "", code[0])  # only the export's file name
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-I", "-c", code[0]], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    blocks = re.split(r"^(\w+) = ", done.stdout, flags=re.M)
    printed = {}
    for name, body in zip(blocks[1::2], blocks[2::2], strict=True):
        body = re.sub(r"dtype=torch\.\w+", "", body)
        printed[name] = np.array(
            [float(v) for v in re.findall(r"-?inf|nan|[-+]?\d+(?:\.\d*)?(?:e[-+]?\d+)?", body)], dtype=float
        )
    return printed


def close(printed: np.ndarray, reference: np.ndarray) -> None:
    reference = np.asarray(reference, dtype=float).ravel()
    assert printed.shape == reference.shape
    finite = np.isfinite(reference)  # masked cells: NaN in the view, −inf/0 in the snippet
    np.testing.assert_allclose(printed[finite], reference[finite], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("edited", [False, True, "learned"])
def test_worked_code_prints_the_trace(edited, tmp_path):
    at = open_page(WORKED)
    if edited is True:
        edit_worked(at)
    elif edited == "learned":
        at.sidebar.radio(key="worked_variant").set_value(tuple(worked.VARIANTS)[1]).run()
        at.sidebar.checkbox(key="worked_causal").check().run()
    view = at.session_state["worked_last_good"]
    printed = run_snippet(at, "worked", tmp_path)
    close(printed["scores"], view.scores)
    close(printed["weights"], view.weights)
    close(printed["output"], view.output)


@pytest.mark.parametrize("edited", [False, True])
def test_tokens_code_prints_the_trace(edited, tmp_path):
    at = open_page(TOKENS)
    if edited:
        edit_tokens(at)
    result, _ = at.session_state["tokens_last_good"]
    printed = run_snippet(at, "tokens", tmp_path)
    close(printed["scale"], [result.scale])
    close(printed["scores"], result.scores)
    close(printed["weights"], result.weights)


@pytest.mark.parametrize("edited", [False, True])
def test_multihead_code_prints_the_trace(edited, tmp_path):
    at = open_page(MH)
    if edited:
        edit_mh(at)
    view = at.session_state["mh_last_good"][0]
    assert not view.pooled and view.window == view.t
    printed = run_snippet(at, "mh", tmp_path)
    close(printed["weights"], view.weights)
    close(printed["output"], view.output)


@pytest.mark.parametrize("edited", [False, True])
def test_positional_code_prints_the_encoding(edited, tmp_path):
    at = open_page(PE)
    if edited:
        edit_pe(at)
    from tests.pages.conftest import heatmap

    _, _, pe = heatmap(at, "PE (")
    _, _, similarity = heatmap(at, "PE·PEᵀ")
    printed = run_snippet(at, "pe", tmp_path)
    close(printed["pe"], pe)
    close(printed["similarity"], similarity)


@pytest.mark.parametrize("edited", [False, True, "worked example"])
def test_lab_code_prints_the_score_functions(edited, tmp_path):
    at = open_page(LAB)
    if edited is True:
        edit_lab(at)
    elif edited:
        at.sidebar.radio(key="lab_source").set_value(tuple(lab.SOURCES)[1]).run()
    settings = at.session_state["lab_last_good"][1]
    from tests.pages.conftest import heatmap

    printed = run_snippet(at, "lab", tmp_path)
    view = lab.score_view(lab.inputs(settings), seed=settings.seed)
    close(printed["scaled"], view.scores)
    close(printed["weights"], view.weights)
    # and what the page drew: the scores panels and the weights grid
    for h, name in enumerate(view.names):
        _, _, drawn = heatmap(at, f"{name}: scores")
        close(printed["scaled"].reshape(view.scores.shape)[h].ravel(), drawn)


def test_train_address_keeps_a_tasks_own_sizes_and_steps():
    at = open_page(TRAIN)
    at.sidebar.selectbox(key="train_task").set_value("sort").run()  # its defaults: steps 800
    assert at.session_state["train_steps"] == 800
    assert at.query_params == {"train_task": "sort"}  # the task's own defaults are not written
    assert fresh(TRAIN, at.query_params).session_state["train_steps"] == 800
    at.sidebar.number_input(key="train_steps").set_value(400).run()
    assert at.query_params == {"train_task": "sort", "train_steps": "400"}
    copy = fresh(TRAIN, at.query_params)
    assert copy.session_state["train_steps"] == 400 and copy.session_state["train_task"] == "sort"
    assert charts(copy) == charts(at)


def test_train_sizes_the_task_does_not_allow_are_named():
    at = fresh(TRAIN, {"train_task": "it", "train_seq_len": "8", "train_steps": "9000"})
    assert not at.exception
    text = warnings(at)
    assert "URL parameter `train_seq_len` ignored: 8 is outside 11 … 11 for the task" in text
    assert "URL parameter `train_steps` ignored: 9000 is outside 1 … 5000" in text
    assert at.session_state["train_task"] == "it" and at.session_state["train_seq_len"] == 11
    assert at.session_state["train_steps"] == 1500  # the task's default
    assert at.query_params == {"train_task": "it"}


@pytest.mark.parametrize("edited", [False, True])
def test_cross_code_prints_the_trace(edited, tmp_path):
    at = open_page(CROSS)
    if edited:
        edit_cross(at)
    view = at.session_state["cross_last_good"]
    assert len(view.valid_lens) == 2 and view.valid_lens[0] != view.valid_lens[1]  # a padded batch
    printed = run_snippet(at, "cross", tmp_path)
    close(printed["weights"], view.weights)  # torch's own module with key_padding_mask, run alone
    close(printed["output"], view.output)
    from tests.pages.conftest import array, figure

    heads = [t for t in figure(at, "weights per head")["data"] if t["type"] == "heatmap"]
    t_q, n = len(view.target_labels), view.valid_lens[0]
    drawn = np.stack([array(h["z"]) for h in heads])
    close(printed["weights"].reshape(view.weights.shape)[0, :, :, :n].ravel(), drawn.reshape(-1, t_q, n))


def test_cross_files():
    at = open_page(CROSS)
    labels = {b.proto.label.strip("`") for b in at.get("download_button")}
    expected = {"State (JSON)", "query.csv", "source_b0.csv", "source_b1.csv", "w_q.csv", "b_o.csv"}
    assert expected | {"weights_b0_h0.csv", "weights_b1_h3.csv", "output_b1.csv"} <= labels
    doc = json.loads(
        sharing.export_json(cross.SHARE, {}, {}, cross.shared_state(at.session_state["cross_last_good"])["computed"])
    )
    assert doc["computed"]["source"]["shape"][0] == 2 and doc["computed"]["weights_b0"]["shape"][0] == 4


def test_lab_files_name_the_score_functions():
    at = open_page(LAB)
    labels = {b.proto.label.strip("`") for b in at.get("download_button")}
    assert {
        "State (JSON)",
        "x.csv",
        "w_q.csv",
        "weights_dot.csv",
        "weights_additive.csv",
        "scaled_cosine.csv",
    } <= labels


def test_large_inputs_are_read_from_the_json_export(tmp_path):
    """Above the inline limit the snippet reads its inputs from the page's JSON export, and still reproduces it."""
    at = open_page(TOKENS)
    at.sidebar.number_input(key="tokens_d_model").set_value(512).run()
    at.text_area(key="tokens_text").input(" ".join(f"w{i}" for i in range(40))).run()
    result, settings = at.session_state["tokens_last_good"]
    state = tokens.shared_state(result, settings)  # what the page's JSON download holds
    (tmp_path / "attnviz_tokens.json").write_text(sharing.export_json(tokens.SHARE, {}, {}, state["computed"]))
    printed = run_snippet(at, "tokens", tmp_path)
    code = next(c.value for c in at.code if c.language == "python")
    assert 'json.load(f)["computed"]' in code and len(code) < 3000
    close(printed["weights"], result.weights)


def test_a_text_too_long_for_the_address_is_named():
    at = open_page(TOKENS)
    at.text_area(key="tokens_text").input("word " * 2000).run()
    assert "tokens_text" not in at.query_params
    assert "Not in the address" in "\n".join(c.value for c in at.caption)


@pytest.mark.parametrize("edited", [False, True])
def test_encoder_code_prints_the_opened_layer_and_the_output(edited, tmp_path):
    """nn.TransformerEncoder holding the exported weights, run alone, prints the page's trace: the opened layer's
    per-head weights (the full-size heatmap's numbers) and the last layer's output. The default model's weights are
    too many to print and are read from the JSON export; the edited one's are inline."""
    at = open_page(ENCODER)
    if edited:
        edit_encoder(at)
    source, _, view = at.session_state["encoder_last_good"]
    layer = at.session_state["encoder_open_layer"]
    state = encoder.shared_state(source, view)
    json_text = sharing.export_json(encoder.SHARE, {}, {}, {**state["computed"], **state["json_only"]})
    (tmp_path / "attnviz_encoder.json").write_text(json_text)
    printed = run_snippet(at, "encoder", tmp_path)
    code = next(c.value for c in at.code if c.language == "python")
    assert ('json.load(f)["computed"]' in code) is not edited
    assert view.focus_block == 1  # the full-size heatmap holds every weight
    close(printed["weights"], view.focus[layer])  # NaN (masked) cells are left out
    last = view.steps[-1]
    close(printed["output"].reshape(view.t, view.d_model)[: last.window].ravel(), last.output)
    if edited:
        assert view.causal and view.valid_len == 15 and view.norm_first and view.num_layers == 3 and layer == 1


def test_encoder_files_name_the_trace_fields():
    at = open_page(ENCODER)
    labels = {b.proto.label.strip("`") for b in at.get("download_button")}
    expected = {"State (JSON)", "x.csv", "layer0_weights_h3.csv", "layer0_norm1.csv", "layer0_ffn_hidden.csv"}
    assert expected | {"layer0_output.csv", "model_output.csv"} <= labels
    assert not any("w_q" in label for label in labels)  # every layer's weights: in the JSON alone


@pytest.mark.parametrize("edited", [False, True])
def test_image_code_prints_the_query_maps(edited, tmp_path):
    """torch.nn.MultiheadAttention holding the untrained model's exported attention weights, run alone on the
    exported 400 feature tokens, prints the page's per-head maps of the query and their mean (the page computes
    them with the project's own attention module)."""
    at = open_page(IMAGE)
    if edited:
        edit_image(at)
    choice, view = at.session_state["img_last_image"], at.session_state["img_last_view"]
    settings = image.Settings(
        source=at.session_state["img_source"], index=int(at.session_state["img_index"]), row=view.row, col=view.col,
        map_kind="query", widths=image.MODEL_SIZES[at.session_state["img_size"]], upload=None, upload_name="")  # fmt: skip
    state = image.shared_state(choice, view, settings)  # what the page's JSON download holds
    json_text = sharing.export_json(image.SHARE, {}, {}, {**state["computed"], **state["json_only"]})
    (tmp_path / "attnviz_img.json").write_text(json_text)
    printed = run_snippet(at, "img", tmp_path)
    code = next(c.value for c in at.code if c.language == "python")
    assert 'json.load(f)["computed"]' in code  # 400 × 64 tokens and four 64 × 64 weights: above the inline limit
    untrained = view.models[0]
    close(printed["query_map"], untrained.per_head)
    close(printed["query_mean"], untrained.mean)
    assert (view.row, view.col) == ((3, 15) if edited else (10, 10))


def test_image_files_name_the_maps():
    at = open_page(IMAGE)
    labels = {b.proto.label.strip("`") for b in at.get("download_button")}
    expected = {"State (JSON)", "untrained_query_map_h0.csv", "untrained_query_map_mean.csv"}
    assert expected | {"untrained_received_mean.csv", "untrained_probabilities.csv"} <= labels
    assert not any("tokens" in label or "w_q" in label for label in labels)  # in the JSON alone


def test_an_image_json_export_uploads_back():
    """The page's full JSON (settings, maps, tokens and attention weights) stays under the upload cap and restores
    the page's settings in a new session."""
    source = edit_image(open_page(IMAGE))
    choice, view = source.session_state["img_last_image"], source.session_state["img_last_view"]
    settings = image.Settings(
        source=image.SOURCES[0], index=7, row=view.row, col=view.col, map_kind="received",
        widths=image.MODEL_SIZES[source.session_state["img_size"]], upload=None, upload_name="")  # fmt: skip
    state = image.shared_state(choice, view, settings)
    snapshot = {f.key: source.session_state[f.key] for f in image.SHARE.fields if f.key in source.session_state}
    text = sharing.export_json(image.SHARE, snapshot, {}, {**state["computed"], **state["json_only"]})
    assert len(text.encode()) < 1_000_000
    assert len(json.loads(text)["computed"]["tokens"]["values"]) == 400
    at = open_page(IMAGE)
    at.file_uploader(key="share_img_upload").upload("attnviz_img.json", text.encode())
    at.run()
    assert not at.exception
    assert "was loaded" in "\n".join(s.value for s in at.success)
    assert charts(at) == charts(source)


@pytest.mark.parametrize(
    ("page", "params", "expected"),
    [
        # the codes the addresses held while these options were their English labels (the previous version)
        ("pages/6_Attention_lab.py", {"lab_mask": "padding-one-valid-length", "lab_source": "random-rows"},
         {"lab_mask": "padding, one length", "lab_source": "random"}),
        ("pages/9_Image_attention.py", {"img_map": "what-each-position-receives", "img_size": "small-and-fast"},
         {"img_map": "received", "img_size": "small"}),
    ],
)  # fmt: skip
def test_an_address_shared_by_the_previous_version_still_opens_the_same_settings(page, params, expected):
    at = AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception and not at.warning, [w.value for w in at.warning]
    for key, value in expected.items():
        assert at.session_state[key] == value
