"""AdditiveAttention against d2l's AdditiveAttention written out independently in float64."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from attnviz.additive import AdditiveAttention
from attnviz.attention import TRACE_FIELDS, attend, trace_from_scores


def d2l_masked_softmax(x, valid_lens):
    """d2l's masked_softmax (−1e6 fill), on a copy."""
    if valid_lens is None:
        return torch.softmax(x, dim=-1)
    shape = x.shape
    if valid_lens.dim() == 1:
        valid_lens = torch.repeat_interleave(valid_lens, shape[1])
    else:
        valid_lens = valid_lens.reshape(-1)
    flat = x.reshape(-1, shape[-1]).clone()
    mask = torch.arange(flat.size(1), dtype=torch.float32)[None, :] < valid_lens[:, None]
    flat[~mask] = -1e6
    return torch.softmax(flat.reshape(shape), dim=-1)


class D2lAdditiveAttention(nn.Module):
    """d2l.ai's AdditiveAttention (nn.Linear orientation, bias=False), dropout 0."""

    def __init__(self, key_size, query_size, num_hiddens):
        super().__init__()
        self.W_k = nn.Linear(key_size, num_hiddens, bias=False, dtype=torch.float64)
        self.W_q = nn.Linear(query_size, num_hiddens, bias=False, dtype=torch.float64)
        self.w_v = nn.Linear(num_hiddens, 1, bias=False, dtype=torch.float64)

    def forward(self, queries, keys, values, valid_lens):
        queries, keys = self.W_q(queries), self.W_k(keys)
        features = queries.unsqueeze(2) + keys.unsqueeze(1)
        features = torch.tanh(features)
        scores = self.w_v(features).squeeze(-1)
        self.attention_weights = d2l_masked_softmax(scores, valid_lens)
        return torch.bmm(self.attention_weights, values), scores


def _d2l_copy(module: AdditiveAttention) -> D2lAdditiveAttention:
    d_q, h = module.w_q.shape
    d_k = module.w_k.shape[0]
    ref = D2lAdditiveAttention(d_k, d_q, h)
    with torch.no_grad():
        ref.W_q.weight.copy_(module.w_q.detach().T.double())
        ref.W_k.weight.copy_(module.w_k.detach().T.double())
        ref.w_v.weight.copy_(module.w_v.detach().double().unsqueeze(0))
    return ref


def _inputs(b=2, t_q=3, t_k=5, d_q=4, d_k=6, d_v=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(b, t_q, d_q, generator=g, dtype=torch.float64),
        torch.randn(b, t_k, d_k, generator=g, dtype=torch.float64),
        torch.randn(b, t_k, d_v, generator=g, dtype=torch.float64),
    )


@pytest.mark.parametrize("valid_lens", [None, torch.tensor([2, 5]), torch.tensor([[1, 2, 3], [5, 4, 1]])])
def test_matches_d2l_additive_attention(valid_lens):
    g = torch.Generator().manual_seed(3)
    module = AdditiveAttention.from_matrices(
        torch.randn(4, 8, generator=g, dtype=torch.float64),
        torch.randn(6, 8, generator=g, dtype=torch.float64),
        torch.randn(8, generator=g, dtype=torch.float64),
    )
    q, k, v = _inputs()
    trace = module(q, k, v, valid_lens=valid_lens)
    out_ref, scores_ref = _d2l_copy(module)(q, k, v, valid_lens)
    assert torch.allclose(trace.scores, scores_ref, atol=1e-12, rtol=0)
    assert torch.allclose(trace.weights, _ref_weights(module, q, k, v, valid_lens), atol=1e-12, rtol=0)
    assert torch.allclose(trace.output, out_ref, atol=1e-12, rtol=0)
    assert trace.scale == 1.0 and trace.score == "additive" and trace.temperature == 1.0
    assert torch.equal(trace.scaled, trace.scores)


def _ref_weights(module, q, k, v, valid_lens):
    ref = _d2l_copy(module)
    ref(q, k, v, valid_lens)
    return ref.attention_weights


def test_scores_are_the_formula_cell_by_cell():
    module = AdditiveAttention(3, 2, 4, seed=7).double()
    g = torch.Generator().manual_seed(9)
    q = torch.randn(2, 3, generator=g, dtype=torch.float64)
    k = torch.randn(3, 2, generator=g, dtype=torch.float64)
    v = torch.randn(3, 2, generator=g, dtype=torch.float64)
    trace = module(q, k, v)
    wq, wk, wv = (t.detach().tolist() for t in (module.w_q, module.w_k, module.w_v))
    for i in range(2):
        for j in range(3):
            hidden = [
                math.tanh(
                    sum(q[i, a].item() * wq[a][c] for a in range(3)) + sum(k[j, a].item() * wk[a][c] for a in range(2))
                )
                for c in range(4)
            ]
            assert trace.scores[i, j].item() == pytest.approx(sum(hv * wv[c] for c, hv in enumerate(hidden)), abs=1e-12)
    assert set(TRACE_FIELDS) <= set(vars(trace))


def test_random_init_is_seeded_and_linear_like():
    a, b, c = AdditiveAttention(4, 6, 8, seed=1), AdditiveAttention(4, 6, 8, seed=1), AdditiveAttention(4, 6, 8, seed=2)
    assert torch.equal(a.w_q, b.w_q) and torch.equal(a.w_v, b.w_v)
    assert not torch.equal(a.w_q, c.w_q)
    assert a.w_q.shape == (4, 8) and a.w_k.shape == (6, 8) and a.w_v.shape == (8,)
    assert float(a.w_q.detach().abs().max()) <= 1 / math.sqrt(4)
    assert float(a.w_k.detach().abs().max()) <= 1 / math.sqrt(6)
    assert float(a.w_v.detach().abs().max()) <= 1 / math.sqrt(8)


def test_trace_from_scores_masks_exactly_as_attend():
    g = torch.Generator().manual_seed(4)
    q, k, v = (torch.randn(2, 4, 3, generator=g, dtype=torch.float64) for _ in range(3))
    mask = torch.rand(2, 4, 4, generator=g) > 0.4
    mask[0, 1] = False  # a fully masked row
    lens = torch.tensor([3, 2])
    ours = trace_from_scores(q, k, v, q @ k.transpose(-2, -1), scale=0.5, mask=mask, valid_lens=lens)
    theirs = attend(q, k, v, scale=0.5, mask=mask, valid_lens=lens)
    for name in TRACE_FIELDS:
        a, b = getattr(ours, name), getattr(theirs, name)
        if isinstance(a, torch.Tensor):
            assert torch.equal(a, b.expand_as(a)), name
        else:
            assert a == b, name
    assert bool(ours.fully_masked[0, 1]) and ours.weights[0, 1].abs().sum() == 0


def test_masked_additive_row_and_inputs_unchanged():
    module = AdditiveAttention(4, 6, 5, seed=0).double()
    q, k, v = _inputs()
    copies = [t.clone() for t in (q, k, v)]
    mask = torch.ones(3, 5, dtype=torch.bool)
    mask[2] = False
    trace = module(q, k, v, mask=mask)
    assert trace.fully_masked[:, 2].all() and not torch.isnan(trace.weights).any()
    assert torch.equal(trace.output[:, 2], torch.zeros(2, 3, dtype=torch.float64))
    for before, after in zip(copies, (q, k, v), strict=True):
        assert torch.equal(before, after)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: AdditiveAttention.from_matrices(torch.ones(3, 4), torch.ones(2, 5), torch.ones(4)),
            "W_k must have h=4",
        ),
        (
            lambda: AdditiveAttention.from_matrices(torch.ones(3, 4), torch.ones(2, 4), torch.ones(5)),
            r"w_v must have shape \(4,\)",
        ),
        (
            lambda: AdditiveAttention.from_matrices(torch.ones(3), torch.ones(2, 4), torch.ones(4)),
            "W_q must be a matrix",
        ),
        (
            lambda: AdditiveAttention.from_matrices(
                torch.tensor([[1.0, float("nan")]]), torch.ones(2, 2), torch.ones(2)
            ),
            "W_q has a non-finite",
        ),
        (lambda: AdditiveAttention(0, 2, 3), "d_q=0"),
        (
            lambda: AdditiveAttention(2, 2, 3)(torch.ones(2, 3), torch.ones(2, 2), torch.ones(2, 2)),
            "query has width 3 but W_q has 2 rows",
        ),
        (
            lambda: AdditiveAttention(2, 2, 3)(torch.ones(2, 2), torch.ones(2, 2), torch.ones(3, 2)),
            "value must have shape",
        ),
        (
            lambda: AdditiveAttention(2, 2, 3)(torch.tensor([[float("nan"), 0.0]]), torch.ones(2, 2), torch.ones(2, 2)),
            "query has a non-finite",
        ),
        (
            lambda: AdditiveAttention(2, 2, 3)(
                torch.ones(2, 2), torch.ones(2, 2), torch.ones(2, 2), mask=torch.ones(2, 2)
            ),
            "mask must be boolean",
        ),
    ],
)
def test_errors_name_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()
