"""The Encoder page's display model against torch's own modules and float64 numpy references."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

from attnviz.encoder import Encoder, TimeSeriesTransformer
from attnviz.encoder_views import (
    GRID_CELLS,
    EncoderInput,
    encoder_view,
    head_summary,
    layer_steps,
    random_input,
    seed_bug_view,
    sentence_input,
    series_input,
    worked_input,
)
from attnviz.series import seed_batch, synthetic_series

KW = {"norm_first": False, "activation": "relu", "seed": 0, "causal": False, "valid_len": None}


def _torch_layers(encoder: Encoder, x: torch.Tensor, mask=None, padding=None):
    """torch's per-layer weights (B, H, T, T) and hidden states, from nn.TransformerEncoder's own layers."""
    reference = encoder.to_torch()
    weights, states = [], [x]
    h = x
    attn_mask = None if mask is None else ~mask
    with torch.no_grad():
        for layer in reference.layers:
            a = layer.norm1(h) if layer.norm_first else h
            _, w = layer.self_attn(
                a, a, a, attn_mask=attn_mask, key_padding_mask=padding, need_weights=True, average_attn_weights=False
            )
            weights.append(w[0].double().numpy())
            h = layer(h, src_mask=attn_mask, src_key_padding_mask=padding)
            states.append(h)
    return np.stack(weights), [s[0].double().numpy() for s in states], reference


def test_sentence_view_matches_torch_and_numpy_references():
    source = sentence_input("the cat sat on the mat because it was tired", 16, 3)
    view = encoder_view(source, num_layers=3, num_heads=4, d_ff=32, **KW)
    x = torch.from_numpy(source.x).unsqueeze(0)
    weights, states, _ = _torch_layers(Encoder(3, 16, 4, 32, seed=0), x)
    t = len(source.labels)
    assert view.grid_block == 1 and view.grid.shape == (3, 4, t, t)
    np.testing.assert_allclose(view.grid, weights, atol=1e-5)
    w = np.clip(weights, 1e-300, None)
    entropy = -(weights * np.log2(w)).sum(-1).mean(-1)  # (L, H)
    np.testing.assert_allclose(view.entropy, entropy, atol=1e-4)
    i, j = np.indices((t, t))
    np.testing.assert_allclose(view.distance, (weights * np.abs(i - j)).sum(-1).mean(-1), atol=1e-4)
    np.testing.assert_allclose(view.self_weight, np.diagonal(weights, axis1=-2, axis2=-1).mean(-1), atol=1e-5)
    assert view.max_entropy == pytest.approx(math.log2(t))
    for layer, state in enumerate(states):
        unit = state / np.linalg.norm(state, axis=-1, keepdims=True)
        np.testing.assert_allclose(view.similarity[layer], unit @ unit.T, atol=1e-5)
        off = ~np.eye(t, dtype=bool)
        assert view.mean_similarity[layer] == pytest.approx((unit @ unit.T)[off].mean(), abs=1e-5)
    assert view.check.passed and view.head_view_ok


def test_steps_match_torch_pieces_post_norm():
    source = random_input(10, 8, 1)
    view = encoder_view(source, num_layers=2, num_heads=2, d_ff=24, **KW)
    encoder = Encoder(2, 8, 2, 24, seed=0)
    _, states, reference = _torch_layers(encoder, torch.from_numpy(source.x).unsqueeze(0))
    layer = reference.layers[1]
    h = torch.from_numpy(states[1]).float().unsqueeze(0)  # layer 1's input
    with torch.no_grad():
        attn = layer.self_attn(h, h, h, need_weights=False)[0]
        r1 = h + attn
        n1 = layer.norm1(r1)
        pre = layer.linear1(n1)
        hidden = torch.relu(pre)
        ffn = layer.linear2(hidden)
        r2 = n1 + ffn
        out = layer.norm2(r2)
    steps = layer_steps(view, 1)
    for name, expected in (
        ("input", h),
        ("attention_output", attn),
        ("residual1", r1),
        ("norm1_output", n1),
        ("ffn_output", ffn),
        ("residual2", r2),
        ("norm2_output", out),
        ("output", out),
    ):
        np.testing.assert_allclose(getattr(steps, name), expected[0].numpy(), atol=1e-5, err_msg=name)
    np.testing.assert_allclose(steps.ffn_hidden, hidden[0].numpy(), atol=1e-5)
    np.testing.assert_allclose(steps.norm1_mean, r1[0].double().mean(-1).numpy(), atol=1e-5)
    np.testing.assert_allclose(
        steps.norm1_std, np.sqrt(r1[0].double().var(-1, unbiased=False).numpy() + 1e-5), atol=1e-5
    )
    zero = float((pre <= 0).double().mean())
    assert f"{zero:.0%} of the {10 * 24:,} hidden activations are exactly 0" in steps.sentences["ffn_hidden"]
    assert steps.shapes["ffn_hidden"] == "T × d_ff = 10 × 24"
    assert set(steps.sentences) == set(steps.shapes)
    assert "It is the stack's output." in steps.sentences["output"]
    with pytest.raises(ValueError, match="layer=2 must be from 0 to 1"):
        layer_steps(view, 2)


def test_pre_norm_gelu_sentences_and_wide_ffn_pooled():
    view = encoder_view(
        worked_input(), num_layers=1, num_heads=2, d_ff=600, **{**KW, "norm_first": True, "activation": "gelu"}
    )
    steps = view.steps[0]
    assert steps.ffn_block == 3 and steps.ffn_hidden.shape == (3, 200)
    assert "GELU" in steps.sentences["ffn_hidden"] and "pre-norm" in steps.sentences["output"]
    assert view.check.passed and view.d_model == 4


def test_512_tokens_pooled_and_shares_sum_to_one():
    view = encoder_view(random_input(512, 64, 0), num_layers=1, num_heads=8, d_ff=64, **KW)
    assert view.grid_block == 8 and view.grid.shape == (1, 8, GRID_CELLS, GRID_CELLS)
    np.testing.assert_allclose(view.grid.sum(-1), 1.0, atol=1e-4)
    assert view.focus_block == 2 and view.focus.shape == (1, 8, 256, 256)
    assert view.grid_labels[0] == "0–7" and not view.head_view_ok
    assert view.steps[0].window == 64 and view.similarity.shape == (2, 64, 64)
    assert view.check.passed


def test_causal_and_padding_blank_cells_and_zero_weights():
    view = encoder_view(
        random_input(6, 8, 2), num_layers=2, num_heads=2, d_ff=8, **{**KW, "causal": True, "valid_len": 4}
    )
    assert np.isnan(view.grid[:, :, 0, 1]).all()  # causal: token 0 may not see token 1
    assert np.isnan(view.grid[:, :, 5, 4]).all()  # padding key 4
    assert np.isfinite(view.grid[:, :, 5, 3]).all()
    assert view.check.passed and view.valid_len == 4


def test_time_series_seed_preset_and_bug_view():
    values = synthetic_series(64, 9, seed=0).values
    source = series_input(values, "Synthetic")
    assert source.kind == "series" and source.x.shape == (64, 9)
    z = (values - values.mean(0)) / values.std(0)
    from attnviz.positional import seed_odd_variant_encoding

    np.testing.assert_allclose(source.x, z + seed_odd_variant_encoding(64, 9, dtype=torch.float64).numpy(), atol=1e-5)
    batch = seed_batch(synthetic_series(512, 9, seed=0).values)
    view = encoder_view(source, num_layers=2, num_heads=3, d_ff=2048, **KW)
    model = TimeSeriesTransformer(9, 2, 3, 2048, seed=0)
    weights, _, _ = _torch_layers(model.encoder, torch.from_numpy(source.x).unsqueeze(0))
    np.testing.assert_allclose(view.grid, weights, atol=1e-5)
    bug = seed_bug_view(batch, num_layers=2, num_heads=3, d_ff=2048, seed=0)
    assert bug.seed_weights.shape == (3, 16, 16) and bug.right_weights.shape == (3, 32, 32)
    seed_encoder = model.encoder.to_torch(batch_first=False)
    src = torch.from_numpy(batch).float() + model.positional(16).unsqueeze(1)
    with torch.no_grad():
        _, w = seed_encoder.layers[0].self_attn(src, src, src, need_weights=True, average_attn_weights=False)
    np.testing.assert_allclose(bug.seed_weights, w[0].numpy(), atol=1e-5)
    for text in ("(16, 32, 9)", "(32, 3, 16, 16)", "(16, 3, 32, 32)", "(16, 288)", "288 inputs"):
        assert text in bug.paragraph


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: encoder_view(worked_input(), num_layers=2, num_heads=3, d_ff=8, **KW),
            "d_model=4 is not divisible by num_heads=3",
        ),
        (lambda: encoder_view(worked_input(), num_layers=0, num_heads=2, d_ff=8, **KW), "num_layers=0"),
        (
            lambda: encoder_view(worked_input(), num_layers=1, num_heads=2, d_ff=8, **{**KW, "valid_len": 5}),
            "valid length=5 must be from 1 to T=3",
        ),
        (lambda: random_input(513, 8, 0), "random tokens=513 must be from 1 to 512"),
        (lambda: sentence_input("   ", 8, 0), "no tokens"),
        (lambda: series_input(np.zeros((600, 3)), "x"), "600 time steps; at most 512"),
        (
            lambda: encoder_view(
                EncoderInput(np.zeros((513, 4), np.float32), ("a",) * 513, "", "tokens"),
                num_layers=1,
                num_heads=1,
                d_ff=4,
                **KW,
            ),
            "513 tokens",
        ),
    ],
)
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_many_panels_pool_the_model_view_further():
    view = encoder_view(random_input(64, 16, 0), num_layers=12, num_heads=16, d_ff=16, **KW)
    assert view.grid.shape[:2] == (12, 16)
    assert view.grid.shape[-1] * view.grid.shape[-2] * 12 * 16 <= 32 * 64 * 64
    np.testing.assert_allclose(view.grid.sum(-1), 1.0, atol=1e-4)


def test_views_are_read_only_for_the_caches_that_share_them():
    view = encoder_view(random_input(5, 8, 0), num_layers=1, num_heads=2, d_ff=8, **KW)
    for array in (view.grid, view.focus, view.entropy, view.similarity, view.steps[0].ffn_hidden):
        with pytest.raises(ValueError, match="read-only"):
            array[..., 0] = 1


def test_head_summary_names_the_extreme_heads():
    from attnviz.encoder_views import head_summary

    view = encoder_view(random_input(12, 8, 3), num_layers=2, num_heads=2, d_ff=8, **KW)
    text = head_summary(view)
    flat = int(np.argmax(view.entropy))
    assert f"Most spread out: layer {flat // 2} head {flat % 2} ({view.entropy.max():.2f} bits" in text
    far = int(np.argmax(view.distance))
    assert f"Looks farthest: layer {far // 2} head {far % 2} (|i − j| = {view.distance.max():.1f}" in text


# --- the sentences in Chinese ---------------------------------------------------------------------------------------

_NUMBER = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?(?:e[-+]?\d+)?%?")


def _english_words(text: str) -> list[str]:
    """The English words of ``text`` besides code (in backticks) and the symbols kept in either language."""
    from tests.support.i18n import KEPT_WORDS

    plain = re.sub(r"`[^`]*`|<[^>]+>", " ", text)
    return [w for w in re.findall(r"[A-Za-z][A-Za-z_']{2,}", plain) if w.lower().strip("_'") not in KEPT_WORDS]


def _texts(source_args, **model) -> list[str]:
    """Every sentence the page computes from one run's numbers: the input's note, the per-head summary, each layer's
    steps (and the seed's batch-axis paragraph for a series)."""
    kind, args = source_args
    make = {"sentence": sentence_input, "worked": worked_input, "random": random_input}
    if kind == "series":
        source = series_input(synthetic_series(*args).values, "x")
    else:
        source = make[kind](*args)
    view = encoder_view(source, **model)
    texts = [source.note, head_summary(view)]
    for steps in view.steps:
        texts += [steps.sentences[name] for name in sorted(steps.sentences)]
    if kind == "series":
        batch = seed_batch(synthetic_series(512, args[1], seed=0).values)
        texts.append(seed_bug_view(batch, num_layers=1, num_heads=model["num_heads"], d_ff=16, seed=0).paragraph)
    return texts


CASES = [
    (("sentence", ("the cat sat on the mat", 8, 0)), dict(num_layers=2, num_heads=2, d_ff=16, **KW)),
    (
        ("worked", ()),
        dict(
            num_layers=1, num_heads=1, d_ff=8, norm_first=True, activation="gelu", seed=3, causal=False, valid_len=None
        ),
    ),
    (
        ("random", (300, 16, 5)),
        dict(
            num_layers=3,
            num_heads=4,
            d_ff=600,
            norm_first=False,
            activation="relu",
            seed=1,
            causal=True,
            valid_len=None,
        ),
    ),
    (
        ("series", (40, 6)),
        dict(
            num_layers=2, num_heads=3, d_ff=32, norm_first=True, activation="relu", seed=0, causal=False, valid_len=30
        ),
    ),
]


@pytest.mark.parametrize(("source", "model"), CASES, ids=["sentence", "worked-prenorm-gelu", "random-causal", "series"])
def test_sentences_in_chinese_keep_every_number_and_no_english(source, model):
    """For several inputs and models, each sentence computed from the numbers reads in Chinese: no English word left
    (code and symbols aside), no placeholder left unfilled, and exactly the English sentence's numbers in it."""
    from attnviz import i18n

    english = _texts(source, **model)
    from tests.support.i18n import missing_translations

    with missing_translations() as missing, i18n.use("zh"):
        chinese = _texts(source, **model)
    assert not missing, sorted(missing)
    assert len(chinese) == len(english)
    for en, zh in zip(english, chinese, strict=True):
        assert zh != en and re.search("[\u4e00-\u9fff]", zh), zh
        assert not _english_words(zh), (_english_words(zh), zh)
        assert "{" not in zh and "}" not in zh, zh
        assert sorted(_NUMBER.findall(zh)) == sorted(_NUMBER.findall(en)), (en, zh)


def test_head_summary_in_chinese_names_the_extreme_heads():
    """The per-head summary's heads, in Chinese, are the arg-extremes of the tables (computed here with numpy)."""
    from attnviz import i18n

    view = encoder_view(sentence_input("one two three four five six", 8, 0), num_layers=2, num_heads=4, d_ff=16,
                        **KW)  # fmt: skip
    with i18n.use("zh"):
        text = head_summary(view)
    spread = np.unravel_index(np.argmax(view.entropy), view.entropy.shape)
    selfish = np.unravel_index(np.argmax(view.self_weight), view.self_weight.shape)
    assert f"最分散的是第 {spread[0]} 层第 {spread[1]} 个头" in text
    assert f"最常看自己的是第 {selfish[0]} 层第 {selfish[1]} 个头" in text
    assert f"{view.self_weight[selfish]:.0%} 的注意力权重" in text
