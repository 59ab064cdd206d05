"""The Cross-attention page's view: labels, padding columns, per-head crop, and the torch check."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from attnviz.cross_views import cross_view
from attnviz.modules import MultiHeadAttention
from attnviz.tokens import embed, tokenize


def test_view_against_nn_multihead_attention():
    view = cross_view("I love you", ("我爱你", "爱"), d_model=8, num_heads=2, seed=3)
    assert view.target_labels == ("0 I", "1 love", "2 you")
    assert view.source_labels == (("0 我", "1 爱", "2 你"), ("0 爱", "1 <pad>", "2 <pad>"))
    assert view.valid_lens == (3, 1) and view.num_heads == 2
    # independent reference: torch's module with the same weights, padded input built by hand
    module = MultiHeadAttention(8, 2, seed=3)
    reference = nn.MultiheadAttention(8, 2, batch_first=True)
    with torch.no_grad():
        reference.in_proj_weight.copy_(torch.cat([module.w_q.T, module.w_k.T, module.w_v.T]))
        reference.in_proj_bias.copy_(torch.cat([module.b_q, module.b_k, module.b_v]))
        reference.out_proj.weight.copy_(module.w_o.T)
        reference.out_proj.bias.copy_(module.b_o)
        query = embed(tokenize("I love you"), 8, seed=3).expand(2, -1, -1)
        source = torch.zeros(2, 3, 8)
        source[0] = embed(["我", "爱", "你"], 8, seed=3)
        source[1, :1] = embed(["爱"], 8, seed=3)
        padding = torch.tensor([[False, False, False], [False, True, True]])
        _, weights = reference.eval()(query, source, source, key_padding_mask=padding, average_attn_weights=False)
    np.testing.assert_allclose(view.weights, weights.numpy(), atol=1e-6)
    np.testing.assert_allclose(view.mean_weights, weights.mean(dim=1).numpy(), atol=1e-6)
    assert np.all(view.weights[1, :, :, 1:] == 0.0) and view.padding_weight == 0.0
    assert view.check.passed
    assert view.head_weights(1).shape == (2, 3, 1) and view.real_labels(1) == ("0 爱",)
    np.testing.assert_allclose(view.head_weights(1), 1.0)  # one visible key takes all the weight


@pytest.mark.parametrize(
    ("target", "sources", "message"),
    [
        ("", ("我",), "the target is empty"),
        ("I", ("  ",), "the source is empty"),
        ("I", ("我", ""), "the second source is empty"),
        ("a " * 200, ("我",), "the target has 200 tokens; the most this page handles is 128"),
    ],
)
def test_bad_input(target, sources, message):
    with pytest.raises(ValueError, match=message):
        cross_view(target, sources, d_model=8, num_heads=2, seed=0)
