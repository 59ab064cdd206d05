"""encoder_share: the Encoder page's model rebuilt from its settings, the opened layer's full arrays, and the
"copy as code" script, each checked against torch's own nn.TransformerEncoder."""

from __future__ import annotations

import math
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from attnviz.encoder import TimeSeriesTransformer
from attnviz.encoder_share import LAYER_ARRAYS, PARAMETER_NAMES, build_encoder, encoder_export
from attnviz.snippets import INLINE_NUMBERS, encoder_snippet

torch.set_num_threads(1)

SETTINGS = {"num_layers": 3, "num_heads": 2, "d_ff": 12, "activation": "gelu", "seed": 4}


def _x(t: int = 7, d: int = 6) -> np.ndarray:
    return np.random.default_rng(1).normal(size=(t, d)).astype(np.float32)


def _torch_reference(x, e, *, norm_first, causal, valid_len, layer):
    """nn.TransformerEncoderLayer's built from the exported weights (x @ W, so W.T in torch): output and the
    opened layer's per-head weights."""
    t, d = x.shape
    attn_mask = torch.ones(t, t, dtype=torch.bool).tril().logical_not() if causal else None
    padding = None if valid_len is None else (torch.arange(t) >= valid_len)[None, :]
    h = torch.from_numpy(x)[None]
    weights = None
    with torch.no_grad():
        for i in range(SETTINGS["num_layers"]):
            p = {n: torch.from_numpy(e.parameters[f"layer{i}_{n}"]) for n in PARAMETER_NAMES}
            m = torch.nn.TransformerEncoderLayer(d, SETTINGS["num_heads"], SETTINGS["d_ff"], dropout=0.0,
                                                 activation="gelu", batch_first=True, norm_first=norm_first).eval()  # fmt: skip
            m.self_attn.in_proj_weight.copy_(torch.cat([p["w_q"].T, p["w_k"].T, p["w_v"].T]))
            m.self_attn.in_proj_bias.copy_(torch.cat([p["b_q"], p["b_k"], p["b_v"]]))
            m.self_attn.out_proj.weight.copy_(p["w_o"].T)
            m.self_attn.out_proj.bias.copy_(p["b_o"])
            m.linear1.weight.copy_(p["w_1"].T)
            m.linear1.bias.copy_(p["b_1"])
            m.linear2.weight.copy_(p["w_2"].T)
            m.linear2.bias.copy_(p["b_2"])
            a = m.norm1(h) if norm_first else h
            if i == layer:
                _, w = m.self_attn(a, a, a, attn_mask=attn_mask, key_padding_mask=padding, average_attn_weights=False)
                weights = w[0].numpy()
            h = m(h, src_mask=attn_mask, src_key_padding_mask=padding)
    return h[0].numpy(), weights


@pytest.mark.parametrize(("norm_first", "causal", "valid_len"), [(False, False, None), (True, True, 5)])
def test_the_export_matches_torch(norm_first, causal, valid_len):
    x = _x()
    e = encoder_export(x, "tokens", norm_first=norm_first, causal=causal, valid_len=valid_len, layer=1, **SETTINGS)
    output, weights = _torch_reference(x, e, norm_first=norm_first, causal=causal, valid_len=valid_len, layer=1)
    np.testing.assert_allclose(e.output, output, atol=1e-5)
    np.testing.assert_allclose(e.arrays["weights"], weights, atol=1e-6)
    assert set(e.arrays) == set(LAYER_ARRAYS) and e.arrays["ffn_hidden"].shape == (7, 12)
    assert e.arrays["weights"].shape == (2, 7, 7)
    # the layer's own steps add up as the trace says (post-norm: residual1 = input + attention_output)
    if not norm_first:
        np.testing.assert_allclose(e.arrays["residual1"], e.arrays["input"] + e.arrays["attention_output"], atol=1e-6)
    mean = e.arrays["norm2"].mean(-1)
    np.testing.assert_allclose(mean, 0, atol=1e-5)  # γ = 1, β = 0: every row of a LayerNorm output has mean 0


def test_a_clicked_weight_is_the_softmax_of_its_scaled_scores():
    x = _x()
    e = encoder_export(x, "tokens", norm_first=False, causal=False, valid_len=None, layer=0, **SETTINGS)
    cell = e.explain(1, 4, 2, labels=tuple(f"t{i}" for i in range(7)))
    d_head = 3
    p = {k: v.astype(np.float64) for k, v in e.parameters.items()}
    q = (x.astype(np.float64) @ p["layer0_w_q"] + p["layer0_b_q"])[:, d_head:]
    k = (x.astype(np.float64) @ p["layer0_w_k"] + p["layer0_b_k"])[:, d_head:]
    s = q[4] @ k.T / math.sqrt(d_head)
    w = np.exp(s - s.max()) / np.exp(s - s.max()).sum()
    assert cell.head == 1
    assert math.isclose(float(e.arrays["weights"][1, 4, 2]), w[2], rel_tol=1e-5)
    with pytest.raises(ValueError, match="head=2"):
        e.explain(2, 0, 0)


def test_a_series_runs_seed_000s_encoder():
    series = build_encoder("series", 6, norm_first=False, **SETTINGS)
    model = TimeSeriesTransformer(6, 3, 2, 12, activation="gelu", seed=4).encoder
    for (name, a), (_, b) in zip(series.named_parameters(), model.named_parameters(), strict=True):
        assert torch.equal(a, b), name


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="layer=3"):
        encoder_export(_x(), "tokens", norm_first=False, causal=False, valid_len=None, layer=3, **SETTINGS)
    with pytest.raises(ValueError, match="valid_len=8"):
        encoder_export(_x(), "tokens", norm_first=False, causal=False, valid_len=8, layer=0, **SETTINGS)
    with pytest.raises(ValueError, match="kind='image'"):
        build_encoder("image", 6, norm_first=False, **SETTINGS)
    with pytest.raises(ValueError, match=r"x must have shape"):
        encoder_export(np.zeros(4), "tokens", norm_first=False, causal=False, valid_len=None, layer=0, **SETTINGS)


def test_the_snippet_alone_prints_the_export(tmp_path):
    x = _x()
    e = encoder_export(x, "tokens", norm_first=True, causal=True, valid_len=5, layer=2, **SETTINGS)
    assert sum(p.size for p in e.parameters.values()) < INLINE_NUMBERS  # every number inline
    code = encoder_snippet(e.x, e.parameters, norm_first=True, causal=True, valid_len=5, layer=2,
                           **{k: v for k, v in SETTINGS.items() if k != "seed"})  # fmt: skip
    assert "attnviz" not in code.replace("attnviz_encoder.json", "")
    done = subprocess.run([sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    printed = {
        name: np.array([float(v) for v in re.findall(r"-?\d+\.\d+(?:e[-+]?\d+)?", body)])
        for name, body in re.findall(r"^(\w+) = tensor\((.*?)\)\n", done.stdout, flags=re.M | re.S)
    }
    np.testing.assert_allclose(printed["weights"], e.arrays["weights"].ravel(), atol=2e-6)
    np.testing.assert_allclose(printed["output"], e.output.ravel(), atol=2e-5, rtol=1e-5)
