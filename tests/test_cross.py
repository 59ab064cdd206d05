"""Cross-attention (target queries, source keys/values, padded batch) against torch.nn.MultiheadAttention."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from attnviz.cross import CROSS_PRESETS, PAD_TOKEN, check_cross_against_torch, cross_attention, embed_padded
from attnviz.modules import MultiHeadAttention
from attnviz.tokens import embed, tokenize


def _torch_reference(module, query, source, valid_lens):
    torch_mha = nn.MultiheadAttention(module.d_model, module.num_heads, batch_first=True, dtype=module.w_q.dtype)
    with torch.no_grad():
        torch_mha.in_proj_weight.copy_(torch.cat([module.w_q.T, module.w_k.T, module.w_v.T]))
        torch_mha.in_proj_bias.copy_(torch.cat([module.b_q, module.b_k, module.b_v]))
        torch_mha.out_proj.weight.copy_(module.w_o.T)
        torch_mha.out_proj.bias.copy_(module.b_o)
        padding = torch.arange(source.shape[1])[None, :] >= torch.as_tensor(valid_lens)[:, None]
        return torch_mha.eval()(query, source, source, key_padding_mask=padding, average_attn_weights=False)


def test_padded_batch_matches_torch_key_padding_mask():
    module = MultiHeadAttention(16, 4, seed=1).double()
    target = tokenize("The cat sat on the mat.")
    sources = [tokenize("猫坐在垫子上。"), tokenize("我爱你")]
    result = cross_attention(module, target, sources, seed=2)
    assert result.trace.weights.shape == (2, 4, 7, 7)
    assert result.valid_lens == (7, 3)
    assert result.source_tokens[1] == ("我", "爱", "你", PAD_TOKEN, PAD_TOKEN, PAD_TOKEN, PAD_TOKEN)
    # independent inputs: embed each sentence, pad with zero rows by hand
    query = embed(target, 16, seed=2, dtype=torch.float64).expand(2, -1, -1)
    source = torch.zeros(2, 7, 16, dtype=torch.float64)
    source[0] = embed(sources[0], 16, seed=2, dtype=torch.float64)
    source[1, :3] = embed(sources[1], 16, seed=2, dtype=torch.float64)
    out, weights = _torch_reference(module, query, source, [7, 3])
    assert torch.allclose(result.trace.weights, weights, atol=1e-12, rtol=0)
    assert torch.allclose(result.trace.output, out, atol=1e-12, rtol=0)
    # the padding columns of row 1 are exactly zero in every head and query
    assert torch.equal(result.trace.weights[1, :, :, 3:], torch.zeros(4, 7, 4, dtype=torch.float64))
    assert result.padding_weight == 0.0
    check = check_cross_against_torch(module, result)
    assert check.passed and check.max_weight_diff < 1e-12


def test_single_source_one_head_is_softmax_of_scaled_scores():
    module = MultiHeadAttention(8, 2, seed=0).double()
    target, source = tokenize("I love you"), tokenize("我爱你")
    result = cross_attention(module, target, [source])
    q = embed(target, 8, dtype=torch.float64) @ module.w_q.detach() + module.b_q.detach()  # (T_q, d_model)
    k = embed(source, 8, dtype=torch.float64) @ module.w_k.detach() + module.b_k.detach()  # (T_k, d_model)
    for h in range(2):
        cols = slice(4 * h, 4 * h + 4)
        expected = torch.softmax(q[:, cols] @ k[:, cols].T / math.sqrt(4), dim=-1)  # rows = target tokens
        assert torch.allclose(result.trace.weights[0, h], expected, atol=1e-12, rtol=0)
    assert result.valid_lens == (3,) and result.padding_weight == 0.0


def test_rows_are_target_and_columns_source_when_lengths_differ():
    module = MultiHeadAttention(8, 2, seed=0)
    result = cross_attention(module, tokenize("a b c d e"), [tokenize("x y")])
    assert result.trace.weights.shape[-2:] == (5, 2)  # (T_q target, T_k source)
    assert torch.allclose(result.trace.weights.sum(-1), torch.ones(1, 2, 5))


def test_check_detects_a_wrong_trace():
    module = MultiHeadAttention(8, 2, seed=0)
    result = cross_attention(module, tokenize("a b"), [tokenize("x y z"), tokenize("x")])
    other = cross_attention(MultiHeadAttention(8, 2, seed=5), tokenize("a b"), [tokenize("x y z"), tokenize("x")])
    assert check_cross_against_torch(module, result).passed
    assert not check_cross_against_torch(module, other).passed


def test_presets_tokenize_to_both_sides():
    for name, (target, source, second) in CROSS_PRESETS.items():
        assert tokenize(target) and tokenize(source), name
        assert 0 < len(tokenize(second)) < len(tokenize(source)), name  # the batch needs padding
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in source) for _, source, _ in CROSS_PRESETS.values())


@pytest.mark.parametrize(
    ("target", "sources", "message"),
    [
        ([], [["x"]], "the target has no tokens"),
        (["a"], [[]], "the source has no tokens"),
        (["a"], [["x"], []], "the second source has no tokens"),
        (["a"] * 11, [["x"]], "the target has 11 tokens; the most this page handles is 10"),
        (["a"], [], "no source sentences"),
    ],
)
def test_bad_input_is_named(target, sources, message):
    with pytest.raises(ValueError, match=message):
        cross_attention(MultiHeadAttention(8, 2), target, sources, max_tokens=10)


def test_embed_padded_pads_with_zero_rows():
    batch, lens = embed_padded([["a", "b"], ["c"]], 4)
    assert lens.tolist() == [2, 1] and batch.shape == (2, 2, 4)
    assert torch.equal(batch[1, 1], torch.zeros(4)) and torch.equal(batch[0], embed(["a", "b"], 4))
