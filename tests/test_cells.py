"""One cell's arithmetic: its numbers against an independent float64 numpy recomputation, its printed value
against the heatmap's hover format, and the multi-head slices against torch.nn.MultiheadAttention."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attnviz.attention import attend
from attnviz.cells import STAGES, explain_cell, explain_head, explain_trace, hover_text, latex_number
from attnviz.examples import WORKED_EXAMPLE, WORKED_EXAMPLE_PRINTED
from attnviz.figures import heatmap_grid, matrix_heatmap
from attnviz.modules import MultiHeadAttention
from tests.pages.conftest import array

torch.set_num_threads(1)


def _reference(x, w_q, w_k, w_v, scale, allowed=None):
    """Self-attention in float64 numpy, written independently of attnviz."""
    q, k, v = x @ w_q, x @ w_k, x @ w_v
    s = q @ k.T
    z = s * scale
    if allowed is not None:
        z = np.where(allowed, z, -np.inf)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    w = e / e.sum(axis=1, keepdims=True)
    return q, k, v, s, z, w, w @ v


def _worked_trace(scale=1.0, causal=False):
    x, w_q, w_k, w_v = (
        torch.tensor(m) for m in (WORKED_EXAMPLE.x, WORKED_EXAMPLE.w_q, WORKED_EXAMPLE.w_k, WORKED_EXAMPLE.w_v)
    )
    mask = torch.ones(3, 3, dtype=torch.bool).tril() if causal else None
    return attend(x @ w_q, x @ w_k, x @ w_v, mask=mask, scale=scale)


def _hover_of(fig, i, j, panel=0):
    """What plotly's hover shows for cell (i, j): the shipped float32 z in the trace's zhoverformat."""
    trace = fig.to_plotly_json()["data"][panel]
    z = array(trace["z"])
    return hover_text(float(z[i, j]), trace["zhoverformat"])


# --------------------------------------------------------------------------------------------- the number format


@pytest.mark.parametrize(
    ("value", "spec", "text"),
    [
        (4.0, ".4~f", "4"),
        (0.46831053, ".4~f", "0.4683"),
        (0.03125, ".4~f", "0.0313"),  # an exact tie rounds away from zero, like JavaScript's toFixed
        (-0.03125, ".4~f", "\u22120.0313"),  # plotly's minus sign
        (-0.00001, ".4~f", "0"),  # rounds to zero: no sign (d3-format)
        (2.5, ".4f", "2.5000"),
        (1234567.0, ".4~e", "1.2346e+6"),
        (-1.5e-7, ".4~e", "\u22121.5e\u22127"),
        (99999.5, ".4~e", "1e+5"),
        (float("inf"), ".4~f", ""),
    ],
)
def test_hover_text_is_d3_as_plotly_prints_it(value, spec, text):
    assert hover_text(value, spec) == text


def test_hover_text_rounds_through_float32_like_the_shipped_figure():
    value = 0.123456789
    assert hover_text(value) == "0.1235"
    assert hover_text(np.float32(1 / 3)) == "0.3333"


def test_latex_number_brackets_negatives_and_writes_powers():
    assert latex_number(-1.5) == "(-1.5)"
    assert latex_number(1234567.0, ".4~e") == r"1.2346\times10^{6}"


def test_bad_spec_is_named():
    with pytest.raises(ValueError, match=r"spec='\.4g'"):
        hover_text(1.0, ".4g")


# ------------------------------------------------------------------------------------ the worked example's cells


def test_worked_score_cell_is_the_tutorials_dot_product():
    cell = explain_trace(_worked_trace(), "scores", 0, 1)
    assert cell.terms == (4.0, 0.0, 0.0)  # q1 = [1, 0, 2], k2 = [4, 4, 0]
    assert cell.value == WORKED_EXAMPLE_PRINTED["scores"][0][1] == cell.recomputed
    assert cell.text == "4"
    assert r"1\cdot4 + 0\cdot4 + 2\cdot0" in cell.latex
    assert cell.title == "score of query x1 and key x2"


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("causal", [False, True])
def test_every_cell_matches_float64_numpy_and_the_hover(stage, causal):
    scale = 1 / np.sqrt(3)
    trace = _worked_trace(scale=scale, causal=causal)
    allowed = np.tril(np.ones((3, 3), dtype=bool)) if causal else None
    q, k, v, s, z, w, out = _reference(
        WORKED_EXAMPLE.x, WORKED_EXAMPLE.w_q, WORKED_EXAMPLE.w_k, WORKED_EXAMPLE.w_v, scale, allowed
    )
    reference = {"scores": s, "scaled": s * scale, "weights": w, "output": out}[stage]
    fig = matrix_heatmap(getattr(trace, stage), kind="weights" if stage == "weights" else "signed")
    for i in range(3):
        for j in range(3):
            cell = explain_trace(trace, stage, i, j)
            assert cell.recomputed == pytest.approx(reference[i, j], rel=1e-12, abs=1e-12)
            assert cell.text == _hover_of(fig, i, j), (stage, i, j)
            if stage in ("scores", "scaled"):
                np.testing.assert_allclose(cell.terms, q[i] * k[j], rtol=1e-12)
            elif stage == "weights":
                ok = allowed[i] if causal else np.ones(3, dtype=bool)
                expected = np.where(ok, np.exp(np.where(ok, z[i], 0) - z[i][ok].max()), 0.0)
                np.testing.assert_allclose(cell.terms, expected, rtol=1e-12)
                assert cell.excluded == tuple(np.flatnonzero(~ok))
            else:
                np.testing.assert_allclose(cell.terms, w[i] * v[:, j], rtol=1e-12, atol=1e-15)


def test_a_masked_weight_is_zero_and_says_so():
    cell = explain_trace(_worked_trace(causal=True), "weights", 0, 2)
    assert cell.value == 0.0 and cell.recomputed == 0.0
    assert cell.excluded == (1, 2)
    assert r"\text{x2: masked, excluded}" in cell.latex
    assert r"\text{(key x3 is masked)}" in cell.latex


def test_output_cell_names_excluded_keys():
    cell = explain_trace(_worked_trace(causal=True), "output", 1, 0, labels=("a", "b_", "c"))
    assert "masked keys excluded (weight 0): c" in cell.latex
    assert cell.title == "output of query b_, column d1"
    assert r"\text{" not in cell.title


def test_a_fully_masked_row_has_zero_weights():
    q = torch.tensor([[1.0, 2.0]])
    trace = attend(q, q, q, mask=torch.tensor([[False]]))
    cell = explain_trace(trace, "weights", 0, 0)
    assert cell.value == 0.0 and "every key of this query is masked" in cell.latex


def test_labels_are_escaped_in_latex():
    trace = _worked_trace()
    cell = explain_trace(trace, "weights", 0, 0, labels=("0 $x", "1 a_b", "2 {c}"))
    assert r"\text{0 \$x: }" in cell.latex and r"1 a\_b" in cell.latex and r"2 \{c\}" in cell.latex


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stage": "mask"}, "stage='mask'"),
        ({"row": 3}, "row=3"),
        ({"col": -1}, "col=-1"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    arrays = {"query": np.eye(3), "key": np.eye(3), "value": np.eye(3), "scale": 1.0}
    arrays |= {"masked": np.eye(3), "weights": np.eye(3) / 3}
    args = {"stage": "scores", "row": 0, "col": 0} | kwargs
    with pytest.raises(ValueError, match=message):
        explain_cell(args.pop("stage"), args.pop("row"), args.pop("col"), **arrays)


def test_cosine_scores_are_refused_by_name():
    q = torch.eye(2)
    with pytest.raises(ValueError, match="score='cosine'"):
        explain_trace(attend(q, q, q, score="cosine"), "scores", 0, 0)


def test_huge_scores_use_the_hovers_scientific_notation():
    q = torch.tensor([[3e4, 0.0], [0.0, 1.0]], dtype=torch.float64)
    trace = attend(q, q, q, scale=1.0)
    cell = explain_trace(trace, "scores", 0, 0)
    fig = matrix_heatmap(trace.scores)
    assert cell.text == _hover_of(fig, 0, 0) == "9e+8"
    assert r"9\times10^{8}" in cell.latex


# --------------------------------------------------------------------------------------------- multi-head cells


def test_head_cell_uses_its_slice_of_the_weights_and_matches_torch():
    torch.manual_seed(0)
    d_model, heads, t = 6, 3, 4
    module = MultiHeadAttention(d_model, heads, bias=True, seed=1).double()
    x = torch.randn(t, d_model, dtype=torch.float64)
    trace = module(x)
    params = {name: p.detach().numpy() for name, p in module.named_parameters()}
    xn = x.numpy()
    d_head = d_model // heads
    reference = torch.nn.MultiheadAttention(d_model, heads, bias=True, batch_first=True).double()
    with torch.no_grad():
        reference.in_proj_weight.copy_(torch.from_numpy(np.concatenate([params[n].T for n in ("w_q", "w_k", "w_v")])))
        reference.in_proj_bias.copy_(torch.from_numpy(np.concatenate([params[n] for n in ("b_q", "b_k", "b_v")])))
        _, torch_weights = reference(x[None], x[None], x[None], average_attn_weights=False)
    for h in range(heads):
        cols = slice(h * d_head, (h + 1) * d_head)
        q = xn @ params["w_q"][:, cols] + params["b_q"][cols]
        k = xn @ params["w_k"][:, cols] + params["b_k"][cols]
        v = xn @ params["w_v"][:, cols] + params["b_v"][cols]
        s = q @ k.T
        z = s / np.sqrt(d_head)
        w = np.exp(z - z.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        fig = heatmap_grid(trace.weights)
        for i, j in ((0, 0), (1, 3), (3, 2)):
            score = explain_head(trace, "scaled", h, i, j)
            assert score.recomputed == pytest.approx(z[i, j], rel=1e-12)
            np.testing.assert_allclose(score.terms, q[i] * k[j], rtol=1e-12)
            weight = explain_head(trace, "weights", h, i, j)
            assert weight.recomputed == pytest.approx(float(torch_weights[0, h, i, j]), rel=1e-9)
            assert weight.text == _hover_of(fig, i, j, panel=h)
            assert weight.head == h and f"columns {cols.start}–{cols.stop - 1} of W_q" in weight.note
        out = explain_head(trace, "output", h, 2, 1)
        assert out.recomputed == pytest.approx((w @ v)[2, 1], rel=1e-12)
        assert out.title == f"output of query x3, column d{h * d_head + 1}"


def test_cell_at_finds_a_click_by_its_labels():
    from attnviz.cells import cell_at

    rows, cols = ("x1", "x2", "x3"), ("d1", "d2")
    assert cell_at({"x": "d2", "y": "x3", "z": 1.0, "curve": 0}, rows, cols) == (2, 1, 0)
    assert cell_at({"x": "d1", "y": "x1", "curve": 2}, rows, cols) == (0, 0, 2)  # a grid's panel
    assert cell_at(None, rows, cols) is None  # no click yet
    assert cell_at({"x": "d3", "y": "x1", "curve": 0}, rows, cols) is None  # kept from a wider matrix
    assert cell_at({"x": 1, "y": 0, "curve": None}, ("0", "1"), ("0", "1")) == (0, 1, 0)  # numeric labels


def test_cross_attention_cells_name_the_keys_by_their_own_labels():
    """T_q ≠ T_k: the query row is labelled by the target tokens, the key column by the source tokens."""
    rng = np.random.default_rng(5)
    q, k, v = rng.normal(size=(2, 3)), rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    z = q @ k.T / np.sqrt(3)
    allowed = np.array([True, True, True, False])  # the last source position is padding
    masked = np.where(allowed, z, -np.inf)
    e = np.where(allowed, np.exp(masked - masked.max(axis=1, keepdims=True)), 0.0)
    w = e / e.sum(axis=1, keepdims=True)
    common = {"query": q, "key": k, "value": v, "scale": 1 / np.sqrt(3), "masked": masked, "weights": w}
    target, source = ("0 I", "1 love"), ("0 我", "1 爱", "2 你", "3 <pad>")
    cell = explain_cell("weights", 1, 2, labels=target, key_labels=source, **common)
    assert cell.title == "weight of query 1 love on key 2 你"
    assert cell.recomputed == pytest.approx(w[1, 2], rel=1e-12)
    output = explain_cell("output", 0, 1, labels=target, key_labels=source, **common)
    assert output.lines[-1] == "&\\text{masked keys excluded (weight 0): 3 <pad>}"  # a source label, not a target's
    assert output.recomputed == pytest.approx((w @ v)[0, 1], rel=1e-12)
    head = MultiHeadAttention(4, 2, seed=0)
    with torch.no_grad():
        trace = head(torch.randn(1, 2, 4), torch.randn(1, 4, 4), torch.randn(1, 4, 4))
    assert "on key 3 <pad>" in explain_head(trace, "weights", 1, 0, 3, labels=target, key_labels=source).title
