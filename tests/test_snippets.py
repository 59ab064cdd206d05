""" "Copy as code" generators, executed in a clean namespace and checked against independent references: the
tutorial's printed numbers, float64 numpy, and torch.nn.MultiheadAttention holding the same weights."""

from __future__ import annotations

import contextlib
import io
import math

import numpy as np
import pytest
import torch

from attnviz import snippets
from attnviz.examples import WORKED_EXAMPLE


def run(code: str) -> dict:
    """Execute a snippet with nothing but builtins; return its variables (its printing is swallowed)."""
    assert "attnviz" not in code.replace("attnviz_", "")
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(compile(code, "<snippet>", "exec"), namespace)  # our own generated code
    namespace["__printed__"] = out.getvalue()
    return namespace


def softmax(a: np.ndarray) -> np.ndarray:
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_worked_snippet_prints_the_tutorials_numbers():
    ex = WORKED_EXAMPLE
    ns = run(snippets.worked_snippet(ex.x, ex.w_q, ex.w_k, ex.w_v, scaled=False, causal=False))
    # The tutorial prints the scores of x1 as [2, 4, 4] and its output h1 ≈ [1.94, 6.68, 1.60].
    assert ns["scores"][0].tolist() == [2.0, 4.0, 4.0]
    np.testing.assert_allclose(ns["output"][0].numpy(), [1.94, 6.68, 1.60], atol=0.01)
    assert "scores = tensor([[ 2.,  4.,  4.]" in ns["__printed__"]


@pytest.mark.parametrize(("scaled", "causal"), [(True, False), (False, True), (True, True)])
def test_worked_snippet_against_float64_numpy(scaled, causal):
    rng = np.random.default_rng(3)
    x, wq, wk, wv = rng.normal(size=(5, 4)), rng.normal(size=(4, 3)), rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    b = {"b_q": rng.normal(size=3), "b_k": rng.normal(size=3), "b_v": rng.normal(size=2)}
    ns = run(snippets.worked_snippet(x, wq, wk, wv, scaled=scaled, causal=causal, biases=b))
    q, k, v = x @ wq + b["b_q"], x @ wk + b["b_k"], x @ wv + b["b_v"]
    s = q @ k.T * (1 / math.sqrt(3) if scaled else 1.0)
    if causal:
        s = np.where(np.tril(np.ones((5, 5), bool)), s, -np.inf)
    w = softmax(s)
    np.testing.assert_allclose(ns["weights"].numpy(), w, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ns["output"].numpy(), w @ v, rtol=1e-12, atol=1e-14)


def test_tokens_snippet_against_float64_numpy():
    rng = np.random.default_rng(4)
    x, wq, wk = (rng.normal(size=s).astype(np.float32) for s in ((6, 8), (8, 4), (8, 4)))
    bq, bk = rng.normal(size=4).astype(np.float32), rng.normal(size=4).astype(np.float32)
    ns = run(snippets.tokens_snippet(x, wq, wk, bq, bk, temperature=0.3, causal=True))
    s = (x.astype(float) @ wq + bq) @ (x.astype(float) @ wk + bk).T / (math.sqrt(4) * 0.3)
    w = softmax(np.where(np.tril(np.ones((6, 6), bool)), s, -np.inf))
    np.testing.assert_allclose(ns["weights"].numpy(), w, rtol=1e-4, atol=1e-6)
    assert ns["scale"] == pytest.approx(1 / (2 * 0.3))


@pytest.mark.parametrize(("causal", "valid_len", "bias"), [(False, None, True), (True, 3, True), (False, 2, False)])
def test_multihead_snippet_against_torch_multihead_attention(causal, valid_len, bias):
    torch.manual_seed(0)
    t, d_model, heads = 5, 8, 2
    ref = torch.nn.MultiheadAttention(d_model, heads, bias=bias, batch_first=True).eval()
    if bias:
        with torch.no_grad():
            ref.in_proj_bias.normal_()
            ref.out_proj.bias.normal_()
    w_q, w_k, w_v = (w.detach().T.numpy() for w in ref.in_proj_weight.chunk(3))  # torch: y = x Wᵀ
    weights = {"w_q": w_q, "w_k": w_k, "w_v": w_v, "w_o": ref.out_proj.weight.detach().T.numpy()}
    if bias:
        b_q, b_k, b_v = ref.in_proj_bias.detach().chunk(3)
        weights |= {
            "b_q": b_q.numpy(),
            "b_k": b_k.numpy(),
            "b_v": b_v.numpy(),
            "b_o": ref.out_proj.bias.detach().numpy(),
        }
    x = torch.randn(t, d_model)
    ns = run(
        snippets.multihead_snippet(x.numpy(), weights, num_heads=heads, bias=bias, causal=causal, valid_len=valid_len)
    )
    attn_mask = ~torch.ones(t, t, dtype=torch.bool).tril() if causal else None  # torch: True = not allowed
    padding = None if valid_len is None else (torch.arange(t) >= valid_len)[None]
    out, w = ref(x[None], x[None], x[None], attn_mask=attn_mask, key_padding_mask=padding, average_attn_weights=False)
    torch.testing.assert_close(ns["weights"], w[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(ns["output"], out[0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("n", "d", "base"), [(50, 16, 10000.0), (20, 9, 100.0), (3, 1, 10.0)])
def test_positional_snippet_against_the_formula(n, d, base):
    ns = run(snippets.positional_snippet(n, d, base))
    pos = np.arange(n)[:, None]
    pe = np.zeros((n, d))
    for j in range(d):
        angle = pos[:, 0] / base ** ((j - j % 2) / d)
        pe[:, j] = np.sin(angle) if j % 2 == 0 else np.cos(angle)
    np.testing.assert_allclose(ns["pe"].numpy(), pe, atol=1e-6)
    np.testing.assert_allclose(ns["similarity"].numpy(), pe @ pe.T, rtol=1e-5, atol=1e-4)


def test_inputs_above_the_limit_are_read_from_the_export(tmp_path, monkeypatch):
    import json

    x = np.arange(30_000, dtype=np.float32).reshape(300, 100) / 30_000
    w = np.eye(100, 4, dtype=np.float32)
    code = snippets.tokens_snippet(x, w, w, None, None, temperature=1.0, causal=False, json_file="state.json")
    assert len(code) < 3000 and "state.json" in code
    doc = {"computed": {name: {"values": a.tolist()} for name, a in (("x", x), ("w_q", w), ("w_k", w))}}
    (tmp_path / "state.json").write_text(json.dumps(doc))
    monkeypatch.chdir(tmp_path)
    ns = run(code)
    q = x.astype(float) @ w
    np.testing.assert_allclose(ns["weights"].numpy(), softmax(q @ q.T / 2.0), rtol=1e-4, atol=1e-7)


def test_lab_snippet_matches_a_float64_numpy_reference_of_the_four_score_functions():
    rng = np.random.default_rng(3)
    x, w_q, w_k, w_v = (
        rng.normal(size=(5, 4)),
        rng.normal(size=(4, 3)),
        rng.normal(size=(4, 3)),
        rng.normal(size=(4, 3)),
    )
    additive = {
        "additive_w_q": rng.normal(size=(3, 6)),
        "additive_w_k": rng.normal(size=(3, 6)),
        "additive_w_v": rng.normal(size=6),
    }
    ns = run(snippets.lab_snippet(x, w_q, w_k, w_v, additive))
    q, k = x @ w_q, x @ w_k
    unit = lambda m: m / np.linalg.norm(m, axis=1, keepdims=True)  # noqa: E731
    hidden = np.tanh((q @ additive["additive_w_q"])[:, None, :] + (k @ additive["additive_w_k"])[None, :, :])
    expected = np.stack([q @ k.T, q @ k.T / math.sqrt(3), unit(q) @ unit(k).T, hidden @ additive["additive_w_v"]])
    np.testing.assert_allclose(ns["scaled"].numpy(), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ns["weights"].numpy(), softmax(expected), rtol=1e-12, atol=1e-12)
    assert "scaled = tensor(" in ns["__printed__"] and "weights = tensor(" in ns["__printed__"]


@pytest.mark.parametrize(("c", "heads", "row", "col"), [(8, 4, 0, 0), (16, 2, 13, 19)])
def test_image_snippet_against_float64_numpy(c, heads, row, col):
    """The image page's attention step: softmax(Q Kᵀ / √d_head) per head in float64 numpy, the query's row as 20 × 20
    maps (token r·20 + c), and their mean."""
    rng = np.random.default_rng(c + row)
    tokens = rng.normal(size=(400, c)).astype(np.float32)
    w = {n: (rng.normal(size=(c, c)) / math.sqrt(c)).astype(np.float32) for n in ("w_q", "w_k", "w_v", "w_o")}
    ns = run(snippets.image_snippet(tokens, w, num_heads=heads, row=row, col=col))
    d = c // heads
    x = tokens.astype(np.float64)
    q = (x @ w["w_q"]).reshape(400, heads, d).transpose(1, 0, 2)
    k = (x @ w["w_k"]).reshape(400, heads, d).transpose(1, 0, 2)
    weights = softmax(q @ k.transpose(0, 2, 1) / math.sqrt(d))  # (H, 400, 400)
    expected = weights[:, row * 20 + col].reshape(heads, 20, 20)
    np.testing.assert_allclose(ns["query_map"].numpy(), expected, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(ns["query_mean"].numpy(), expected.mean(axis=0), rtol=1e-4, atol=1e-7)
    assert "query_map = tensor(" in ns["__printed__"]


def test_image_snippet_names_bad_inputs():
    w = {n: np.eye(4, dtype=np.float32) for n in ("w_q", "w_k", "w_v", "w_o")}
    with pytest.raises(ValueError, match="tokens"):
        snippets.image_snippet(np.zeros((399, 4)), w, num_heads=2, row=0, col=0)
    with pytest.raises(ValueError, match="col=20"):
        snippets.image_snippet(np.zeros((400, 4)), w, num_heads=2, row=0, col=20)
