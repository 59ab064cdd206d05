"""A click on a heatmap cell explains it: the page draws the in-place chart (as in the browser) and the test sets
the chart's state the way its component does (``{"selection": {"x", "y", "z", "curve", "point"}}``)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from attnviz import i18n
from attnviz.cells import hover_text, latex_number
from attnviz.examples import WORKED_EXAMPLE
from attnviz.ui import chart
from tests.pages.conftest import ROOT, TIMEOUT, array, open_page
from tests.support.i18n import MISSING, assert_chinese


@pytest.fixture(autouse=True)
def _in_place_charts(monkeypatch):
    monkeypatch.setattr(chart, "FORCE_COMPONENT", True)


def charts(at) -> dict[str, dict]:
    """Every in-place chart's figure by its title."""
    out = {}
    for element in at.get("bidi_component"):
        if not element.proto.bytes:  # the plotly.js preload carries no figure
            continue
        payload = json.loads(element.proto.bytes.decode())
        if payload.get("figure"):
            out[payload["figure"]["layout"].get("title", {}).get("text", "")] = payload["figure"]  # (model view: none)
    return out


def click(at, key: str, x: str, y: str, z: float | None = None, curve: int = 0):
    at.session_state[key] = {"selection": {"x": x, "y": y, "z": z, "curve": curve, "point": None}}
    return at.run()


def latex(at) -> str:
    return "\n".join(item.value for item in at.latex)


def _reference(scale: float = 1.0):
    x, w_q, w_k, w_v = WORKED_EXAMPLE.x, WORKED_EXAMPLE.w_q, WORKED_EXAMPLE.w_k, WORKED_EXAMPLE.w_v
    q, k, v = x @ w_q, x @ w_k, x @ w_v
    s = q @ k.T
    e = np.exp(s * scale - (s * scale).max(axis=1, keepdims=True))
    w = e / e.sum(axis=1, keepdims=True)
    return q, k, v, s, w, w @ v


def test_clicking_a_score_follows_its_query_and_key_and_writes_it_out():
    at = open_page("pages/1_Worked_example.py")
    assert not at.exception
    fig = charts(at)["scores = Q·Kᵀ"]
    z = array(fig["data"][0]["z"])
    at = click(at, "worked_fig_scores", x="x3", y="x2", z=float(z[1, 2]))
    assert not at.exception
    assert at.session_state.worked_query == 1 and at.session_state.worked_key == 2
    q, k, *_ = _reference()
    text = latex(at)
    terms = r" + ".join(f"{a:g}\\cdot{b:g}" for a, b in zip(q[1], k[2], strict=True))
    assert f"s_{{2,3}} &= q_{{2}}\\cdot k_{{3}} = {terms}" in text
    assert f"= {q[1] @ k[2]:g}" in text
    shown = hover_text(float(z[1, 2]), fig["data"][0]["zhoverformat"])
    assert f"The heatmap's hover shows {shown}." in "\n".join(m.value for m in at.markdown)
    # The followed query's row formulas follow the click too (the query box is a special case of it).
    assert r"h_{2} &=" in text


def test_clicking_a_weight_writes_out_the_softmax_with_the_hovers_digits():
    at = open_page("pages/1_Worked_example.py")
    at = click(at, "worked_fig_weights", x="x1", y="x3")
    assert not at.exception
    *_, w, _ = _reference()
    fig = charts(at)["weights = softmax(scores)"]
    shown = hover_text(float(array(fig["data"][0]["z"])[2, 0]), fig["data"][0]["zhoverformat"])
    assert shown == f"{w[2, 0]:.4f}".rstrip("0")
    assert "w_{3,1} &=" in latex(at) and f"= {shown}" in latex(at)


def test_clicking_an_output_cell_follows_its_column():
    at = open_page("pages/1_Worked_example.py")
    at = click(at, "worked_fig_output", x="d2", y="x1")
    assert not at.exception
    assert at.session_state.worked_query == 0 and at.session_state.worked_dim == 1
    *_, out = _reference()
    assert r"h_{1}[2] &=" in latex(at)
    assert f"= {out[0, 1]:.4f}".rstrip("0") in latex(at)


def test_a_click_kept_from_a_larger_matrix_is_ignored():
    at = open_page("pages/1_Worked_example.py")
    at = click(at, "worked_fig_scores", x="x9", y="x7")
    assert not at.exception
    assert at.session_state.worked_query == 0 and at.session_state.worked_key == 0


def test_tokens_page_click_on_a_weight_explains_it_and_follows_the_query():
    at = open_page("pages/2_Tokens.py")
    assert not at.exception
    assert "The heatmap's hover shows" not in "\n".join(m.value for m in at.markdown)  # nothing before a click
    fig = next(f for title, f in charts(at).items() if title.startswith("weights"))
    labels = fig["data"][0]["y"]
    i, j = labels.index(next(label for label in labels if label.endswith(" it"))), 1
    at = click(at, "tokens_fig_weights", x=labels[j], y=labels[i])
    assert not at.exception
    assert at.session_state.tokens_query == i
    result, _ = at.session_state["tokens_last_good"]
    q, k = result.query.astype(np.float64), result.key.astype(np.float64)
    z = q @ k.T * result.scale
    w = np.exp(z[i] - z[i].max())
    w /= w.sum()
    shown = hover_text(float(array(fig["data"][0]["z"])[i, j]), fig["data"][0]["zhoverformat"])
    assert shown == hover_text(w[j])
    text = latex(at)
    assert f"w_{{{i + 1},{j + 1}}} &=" in text and f"= {shown}" in text
    assert f"The heatmap's hover shows {shown}." in "\n".join(m.value for m in at.markdown)


def _panel(fig: dict, head: int) -> tuple[list[str], list[str], np.ndarray, str]:
    trace = fig["data"][head]
    return trace["y"], trace["x"], array(trace["z"]), trace["zhoverformat"]


@pytest.mark.parametrize(
    ("key", "title", "stage"), [("mh_fig_scores", "scaled scores", "s"), ("mh_fig_weights", "weights", "w")]
)
def test_multihead_click_on_a_heads_cell_names_the_head_and_its_slices(key, title, stage):
    at = open_page("pages/3_Multi-head.py")
    assert not at.exception
    fig = next(f for t, f in charts(at).items() if t.startswith(title))
    head = 1
    rows, cols, z, spec = _panel(fig, head)
    at = click(at, key, x=cols[2], y=rows[3], curve=head)
    assert not at.exception
    d_head = at.session_state["mh_last_good"][0].d_head
    captions = "\n".join(c.value for c in at.caption)
    assert f"Head {head} of" in captions and f"columns {d_head}–{2 * d_head - 1} of W_q" in captions
    shown = hover_text(float(z[3, 2]), spec)
    assert f"The heatmap's hover shows {shown}." in "\n".join(m.value for m in at.markdown)
    assert f"{stage}_{{4,3}}" in latex(at)


def test_multihead_click_on_the_concatenation_explains_that_heads_output():
    at = open_page("pages/3_Multi-head.py")
    fig = next(f for t, f in charts(at).items() if t.startswith("head outputs"))
    trace = fig["data"][0]
    rows, cols, z = trace["y"], trace["x"], array(trace["z"])
    view = at.session_state["mh_last_good"][0]
    c = view.d_head + 1  # head 1, its second column
    at = click(at, "mh_fig_concat", x=cols[c], y=rows[2])
    assert not at.exception
    assert cols[c] == "h1 d1"
    shown = hover_text(float(z[2, c]), trace["zhoverformat"])
    assert f"The heatmap's hover shows {shown}." in "\n".join(m.value for m in at.markdown)
    assert f"output of query {rows[2]}, column d{c}" in "\n".join(m.value for m in at.markdown)
    assert "h_{3}[2] &=" in latex(at)
    assert "Head 1 of" in "\n".join(cap.value for cap in at.caption)


# ------------------------------------------------------------------------------------------ the attention lab

LAB = "pages/6_Attention_lab.py"


def _lab_reference(at) -> tuple[np.ndarray, np.ndarray]:
    """Q and K of the lab's current inputs in float64 (the page's own X and W, multiplied here)."""
    from attnviz.ui import lab

    inputs = lab.inputs(at.session_state["lab_last_good"][1])
    x, w_q, w_k = (t.numpy().astype(np.float64) for t in (inputs.x, inputs.w_q, inputs.w_k))
    return x @ w_q, x @ w_k


@pytest.mark.parametrize(("panel", "name"), [(0, "dot"), (1, "scaled dot"), (2, "cosine"), (3, "additive")])
def test_lab_click_on_a_weight_panel_writes_out_that_functions_softmax(panel, name):
    at = open_page(LAB)
    assert not at.exception
    assert "The heatmap's hover shows" not in "\n".join(m.value for m in at.markdown)
    fig = charts(at)["weights = softmax(score) for each score function"]
    trace = fig["data"][panel]
    rows, cols, z = trace["y"], trace["x"], array(trace["z"])
    at = click(at, "lab_score_weights", x=cols[1], y=rows[3], curve=panel)
    assert not at.exception
    shown = hover_text(float(z[3, 1]), trace["zhoverformat"])
    assert f"The heatmap's hover shows {shown}." in "\n".join(m.value for m in at.markdown)
    assert "w_{4,2} &=" in latex(at) and f"= {shown}" in latex(at)
    assert "\n".join(c.value for c in at.caption).count(name.capitalize()) >= 1  # the note names the function
    if name in ("dot", "scaled dot"):  # an independent float64 softmax of the row
        q, k = _lab_reference(at)
        s = q @ k.T / (math.sqrt(q.shape[1]) if name == "scaled dot" else 1.0)
        e = np.exp(s[3] - s[3].max())
        assert shown == hover_text(e[1] / e.sum())


@pytest.mark.parametrize(("panel", "name"), [(0, "dot"), (1, "scaled dot"), (2, "cosine")])
def test_lab_click_on_a_score_writes_out_q_dot_k(panel, name):
    at = open_page(LAB)
    fig = charts(at)[f"{name}: scores"]
    trace = fig["data"][0]
    rows, cols, z = trace["y"], trace["x"], array(trace["z"])
    at = click(at, f"lab_s_{panel}", x=cols[2], y=rows[4])
    assert not at.exception
    q, k = _lab_reference(at)
    if name == "cosine":
        q, k = q / np.linalg.norm(q, axis=1, keepdims=True), k / np.linalg.norm(k, axis=1, keepdims=True)
    score = q[4] @ k[2] / (math.sqrt(q.shape[1]) if name == "scaled dot" else 1.0)
    shown = hover_text(float(z[4, 2]), trace["zhoverformat"])
    assert shown == hover_text(score, trace["zhoverformat"])
    assert f"The heatmap's hover shows {shown}." in "\n".join(m.value for m in at.markdown)
    text = latex(at)
    assert "s_{5,3} &= q_{5}\\cdot k_{3}" in text and shown.replace("\u2212", "-") in text


def test_lab_additive_scores_are_not_written_out_and_a_stale_click_is_ignored():
    at = open_page(LAB)
    at = click(at, "lab_s_0", x="99 nope", y="98 nope")  # kept from inputs of another shape
    assert not at.exception
    assert "The heatmap's hover shows" not in "\n".join(m.value for m in at.markdown)
    labels = charts(at)["additive: scores"]["data"][0]["y"]
    at = click(at, "lab_s_3", x=labels[1], y=labels[2])  # tanh(q W_q + k W_k)·w_v is not a dot product
    assert not at.exception and not at.error
    assert "The heatmap's hover shows" not in "\n".join(m.value for m in at.markdown)


# ------------------------------------------------------------------------------------------- cross-attention


def test_cross_click_on_a_heads_weight_names_target_source_and_head():
    at = open_page("pages/7_Cross-attention.py")
    assert not at.exception
    fig = charts(at)["weights per head: target (rows) × source (columns)"]
    head = 2
    rows, cols, z, spec = _panel(fig, head)
    at = click(at, "cross_fig_heads", x=cols[1], y=rows[4], curve=head)
    assert not at.exception
    view = at.session_state["cross_last_good"]
    shown = hover_text(float(z[4, 1]), spec)
    markdown = "\n".join(m.value for m in at.markdown)
    assert f"The heatmap's hover shows {shown}." in markdown
    assert rows[4] in markdown and cols[1] in markdown  # the target token (row) and the source token (column)
    d_head = view.query.shape[1] // view.num_heads
    assert f"Head {head} of {view.num_heads}" in "\n".join(c.value for c in at.caption)
    assert f"columns {head * d_head}–{(head + 1) * d_head - 1} of W_q" in "\n".join(c.value for c in at.caption)
    # an independent float64 reference: the target's query row against the source's keys, this head's slice
    p = {k: v.astype(np.float64) for k, v in view.parameters.items()}
    cut = slice(head * d_head, (head + 1) * d_head)
    q = (view.query.astype(np.float64) @ p["w_q"] + p["b_q"])[:, cut]
    k = (view.source[0].astype(np.float64) @ p["w_k"] + p["b_k"])[: view.valid_lens[0], cut]
    s = q @ k.T / math.sqrt(d_head)
    e = np.exp(s[4] - s[4].max())
    assert shown == hover_text(e[1] / e.sum())
    assert "w_{5,2} &=" in latex(at) and f"= {shown}" in latex(at)


def test_cross_click_kept_from_other_texts_is_ignored():
    at = open_page("pages/7_Cross-attention.py")
    at = click(at, "cross_fig_heads", x="7 nope", y="0 The", curve=0)
    assert not at.exception and not at.error
    assert "The heatmap's hover shows" not in "\n".join(m.value for m in at.markdown)


def test_encoder_click_on_the_opened_head_names_head_slices_and_tokens():
    at = open_page("pages/5_Encoder.py")
    at.session_state["encoder_open_head"] = 1
    at.session_state["encoder_open_panel"] = True
    at.run()
    assert not at.exception
    source, _, view = at.session_state["encoder_last_good"]
    fig = charts(at)["layer 0 head 1: attention weights"]
    labels = [str(v).removeprefix("\u200e") for v in fig["data"][0]["y"]]
    assert labels == list(view.focus_labels)
    at = click(at, "encoder_fig_focus", x=labels[2], y=labels[4])
    assert not at.exception
    shown = hover_text(float(array(fig["data"][0]["z"])[4, 2]), fig["data"][0]["zhoverformat"])
    markdown = "\n".join(m.value for m in at.markdown)
    assert f"The heatmap's hover shows {shown}." in markdown
    d_head = view.d_model // view.num_heads
    captions = "\n".join(c.value for c in at.caption)
    assert f"Head 1 of {view.num_heads}" in captions and f"columns {d_head}–{2 * d_head - 1} of W_q" in captions
    # an independent float64 reference from the input rows and layer 0's weights (post-norm: attention reads X)
    from attnviz.encoder_share import encoder_export

    p = encoder_export(source.x, source.kind, num_layers=view.num_layers, num_heads=view.num_heads, d_ff=view.d_ff,
                       norm_first=False, activation="relu", seed=0, causal=False, valid_len=None, layer=0).parameters  # fmt: skip
    x = np.asarray(source.x, dtype=np.float64)
    cut = slice(d_head, 2 * d_head)
    q = (x @ p["layer0_w_q"] + p["layer0_b_q"])[:, cut]
    k = (x @ p["layer0_w_k"] + p["layer0_b_k"])[:, cut]
    s = q @ k.T / math.sqrt(d_head)
    e = np.exp(s[4] - s[4].max())
    assert shown == hover_text(e[2] / e.sum(), fig["data"][0]["zhoverformat"])
    assert "w_{5,3} &=" in latex(at) and f"= {shown}" in latex(at)


def test_encoder_click_kept_from_another_input_is_ignored():
    at = open_page("pages/5_Encoder.py")
    at.session_state["encoder_open_panel"] = True
    at = click(at, "encoder_fig_focus", x="99 nope", y="0 nope")
    assert not at.exception and not at.error
    assert "The heatmap's hover shows" not in "\n".join(m.value for m in at.markdown)


def test_the_same_cell_clicked_again_after_the_query_box_changed_is_followed_again():
    """A chart keeps its last point, so the click's time stamp (set by the chart's JS) tells a new click apart."""
    at = open_page("pages/1_Worked_example.py")
    point = {"x": "x3", "y": "x2", "z": 12.0, "curve": 0, "point": [1, 2]}
    at.session_state["worked_fig_scores"] = {"selection": {**point, "click": 1_000}}
    at.run()
    assert at.session_state.worked_query == 1 and at.session_state.worked_key == 2
    at.selectbox(key="worked_query").set_value(0).run()
    at.selectbox(key="worked_key").set_value(0).run()
    assert at.session_state.worked_query == 0 and at.session_state.worked_key == 0  # the kept point is not a click
    at.session_state["worked_fig_scores"] = {"selection": {**point, "click": 2_000}}
    at.run()
    assert not at.exception
    assert at.session_state.worked_query == 1 and at.session_state.worked_key == 2
    assert r"s_{2,3} &=" in latex(at)


def test_the_same_token_cell_clicked_again_is_followed_again():
    at = open_page("pages/2_Tokens.py")
    fig = next(f for title, f in charts(at).items() if title.startswith("weights"))
    labels = fig["data"][0]["y"]
    point = {"x": labels[0], "y": labels[2], "z": None, "curve": 0, "point": None}
    at.session_state["tokens_fig_weights"] = {"selection": {**point, "click": 1}}
    at.run()
    assert at.session_state.tokens_query == 2
    at.session_state["tokens_query"] = 0
    at.run()
    assert at.session_state.tokens_query == 0
    at.session_state["tokens_fig_weights"] = {"selection": {**point, "click": 2}}
    at.run()
    assert not at.exception
    assert at.session_state.tokens_query == 2


# ------------------------------------------------------------------------------------ the Positional-encoding page
PE_PAGE = "pages/4_Positional_encoding.py"


def _pe_reference(num_positions: int, d_model: int, base: float) -> np.ndarray:
    """The sinusoidal encoding in float64 numpy, column j = sin or cos of pos / base^(2·(j // 2)/d_model)."""
    pos = np.arange(num_positions, dtype=np.float64)[:, None]
    pair = np.arange(d_model) // 2
    angle = pos / base ** (2 * pair / d_model)
    return np.where(np.arange(d_model) % 2 == 0, np.sin(angle), np.cos(angle))


def _open_pe(lang: str | None = None, **state):
    at = AppTest.from_file(str(ROOT / PE_PAGE), default_timeout=TIMEOUT)
    if lang:
        at.query_params["lang"] = lang
    for key, value in state.items():
        at.session_state[key] = value
    MISSING.clear()
    return at.run()


def _hover_of(fig: dict, y: str, x: str) -> tuple[float, str]:
    trace = fig["data"][0]
    rows, cols = (
        [str(v).removeprefix("\u200e") for v in trace["y"]],
        [str(v).removeprefix("\u200e") for v in trace["x"]],
    )
    z = float(array(trace["z"])[rows.index(y), cols.index(x)])
    return z, hover_text(z, trace["zhoverformat"])


@pytest.mark.parametrize(("d_model", "base", "x", "y"), [(64, 10000.0, "5 cos", "3"), (9, 500.0, "8 sin", "41")])
def test_positional_click_on_the_encoding_writes_out_pair_frequency_angle_and_value(d_model, base, x, y):
    at = _open_pe(pe_d_model=d_model, pe_base=base)
    assert not at.exception
    assert "The heatmap's hover shows" not in "\n".join(m.value for m in at.markdown)  # nothing before a click
    assert not at.latex
    fig = charts(at)[f"PE (100 × {d_model})"]
    z, shown = _hover_of(fig, y, x)
    at = click(at, "pe_fig_encoding", x=x, y=y, z=z)
    assert not at.exception
    pos, column = int(y), int(x.split()[0])
    pair, function = column // 2, x.split()[1]
    omega = 1.0 / base ** (2 * pair / d_model)
    reference = _pe_reference(100, d_model, base)[pos, column]
    assert shown == hover_text(reference, fig["data"][0]["zhoverformat"])  # the hover and the float64 formula
    text = latex(at)
    assert f"i &= \\lfloor {column}/2 \\rfloor = {pair}" in text
    assert f"{base:g}^{{2\\cdot{pair}/{d_model}}}" in text and f"= {omega:.6g}" in text
    assert f"\\theta &= {pos}\\cdot\\omega_{{{pair}}} = {pos}\\cdot{omega:.6g} = {pos * omega:.6g}" in text
    assert f"\\mathrm{{PE}}_{{{pos},{column}}} &= \\{function}(\\theta) = \\{function}({pos * omega:.6g}) = " in text
    assert f"= {shown.replace(chr(0x2212), '-')}\\end{{aligned}}" in text
    assert f"The heatmap's hover shows {shown}." in "\n".join(m.value for m in at.markdown)
    if d_model % 2:
        assert "is the last sin, pair i = 4 has no cos partner" in "\n".join(c.value for c in at.caption)


@pytest.mark.parametrize(("d_model", "last"), [(64, None), (9, 4)])
def test_positional_click_on_the_similarity_sums_the_cosines_of_the_distance(d_model, last):
    at = _open_pe(pe_d_model=d_model)
    fig = charts(at)["PE·PEᵀ"]
    z, shown = _hover_of(fig, "3", "10")
    at = click(at, "pe_fig_similarity", x="10", y="3", z=z)
    assert not at.exception
    pe = _pe_reference(100, d_model, 10000.0)
    dot = float(pe[3] @ pe[10])
    assert abs(z - dot) < 1e-4 and shown == hover_text(dot, fig["data"][0]["zhoverformat"])
    omegas = 1.0 / 10000.0 ** (2 * np.arange((d_model + 1) // 2) / d_model)
    text = latex(at)
    assert f"\\cos((-7)\\cdot1) + \\cos((-7)\\cdot{omegas[1]:.6g})" in text
    assert f"&= {latex_number(np.cos(-7.0))} + {latex_number(np.cos(-7 * omegas[1]))}" in text
    assert f"= {shown.replace(chr(0x2212), '-')}\\end{{aligned}}" in text
    assert f"The heatmap's hover shows {shown}." in "\n".join(m.value for m in at.markdown)
    if last is not None:
        product = np.sin(3 * omegas[last]) * np.sin(10 * omegas[last])
        assert f"\\sin(3\\,\\omega_{{{last}}})\\,\\sin(10\\,\\omega_{{{last}}})" in text
        assert f" + {latex_number(product)} = " in text


def test_positional_clicked_cells_in_chinese():
    at = _open_pe("zh", pe_d_model=9)
    with i18n.use("zh"):
        at = click(at, "pe_fig_encoding", x="8 sin", y="3")
    assert_chinese(at)
    assert "的 sin" in "\n".join(m.value for m in at.markdown)
    with i18n.use("zh"):
        at = click(at, "pe_fig_similarity", x="10", y="3")
    assert_chinese(at)
    assert len(at.latex) == 2
    captions = "\n".join(c.value for c in at.caption)
    assert "没有配对的最后一个 sin 列（第 8 列）" in captions and "第 8 列是最后一个 sin 列" in captions
