"""The √d_k experiment against closed forms: Var(q·k) = d_k, softmax Jacobian = diag(p) − p pᵀ."""

from __future__ import annotations

import math

import pytest
import torch

from attnviz.scaling import MAX_D_K, dot_product_samples, scaling_experiment, softmax_jacobian_norm


@pytest.mark.parametrize("d_k", [1, 16, 256, 1024])
def test_dot_product_variance_is_d_k(d_k):
    raw, scaled = dot_product_samples(d_k, num_queries=400, num_keys=100, seed=3)  # (400, 100)
    # 40 000 independent products; the relative standard error of the sample variance is about sqrt((2 + 6/d_k) / 40 000) <= 1.4 %
    assert raw.var().item() == pytest.approx(d_k, rel=0.06)
    assert scaled.var().item() == pytest.approx(1.0, rel=0.06)
    assert raw.mean().item() == pytest.approx(0.0, abs=0.05 * math.sqrt(d_k))
    assert torch.allclose(scaled * math.sqrt(d_k), raw, rtol=1e-12, atol=0)


def test_samples_are_seeded_and_float64():
    a, _ = dot_product_samples(8, seed=1)
    b, _ = dot_product_samples(8, seed=1)
    c, _ = dot_product_samples(8, seed=2)
    assert a.dtype == torch.float64 and torch.equal(a, b) and not torch.equal(a, c)


def closed_form_jacobian(z: torch.Tensor) -> torch.Tensor:
    """diag(p) − p pᵀ, p = softmax(z) written with exp / sum, float64."""
    e = torch.exp(z - z.max())
    p = e / e.sum()
    return torch.diag(p) - torch.outer(p, p)


def test_autograd_jacobian_norm_matches_closed_form():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(7, 5, generator=g, dtype=torch.float64) * torch.tensor(
        [[0.1], [1.0], [3.0], [10.0], [30.0], [0.0], [2.0]], dtype=torch.float64
    )
    expected = torch.stack([closed_form_jacobian(row).norm() for row in logits])
    assert torch.allclose(softmax_jacobian_norm(logits), expected, atol=1e-12, rtol=0)
    # uniform logits: ‖I/n − 11ᵀ/n²‖_F = sqrt((n − 1) / n²) · ... closed form sqrt(n·(1/n − 1/n²)² + (n² − n)/n⁴)
    n = 5
    uniform = math.sqrt(n * (1 / n - 1 / n**2) ** 2 + (n * n - n) / n**4)
    assert softmax_jacobian_norm(torch.zeros(1, n, dtype=torch.float64)).item() == pytest.approx(uniform, abs=1e-12)


def test_experiment_statistics_against_references():
    points = scaling_experiment([1, 4, 64], num_queries=32, num_keys=8, seed=5)
    for point in points:
        raw, scaled = dot_product_samples(point.d_k, num_queries=32, num_keys=8, seed=5)
        for name, logits in (("unscaled", raw), ("scaled", scaled)):
            # independent float64 references: explicit softmax, −Σ p log2 p, closed-form Jacobian
            e = torch.exp(logits - logits.max(dim=-1, keepdim=True).values)
            p = e / e.sum(dim=-1, keepdim=True)
            entropy = -(p * torch.log2(p.clamp_min(1e-300))).sum(dim=-1)
            jac = torch.stack([closed_form_jacobian(row).norm() for row in logits])
            assert getattr(point, f"variance_{name}") == pytest.approx(logits.var().item(), rel=1e-12)
            assert getattr(point, f"max_weight_{name}") == pytest.approx(p.max(dim=-1).values.mean().item(), abs=1e-12)
            assert getattr(point, f"entropy_{name}") == pytest.approx(entropy.mean().item(), abs=1e-9)
            assert getattr(point, f"jacobian_{name}") == pytest.approx(jac.mean().item(), abs=1e-12)
    assert points[0].variance_scaled == pytest.approx(points[0].variance_unscaled)  # d_k = 1: scaling is a no-op


def test_unscaled_saturates_and_its_gradient_collapses():
    points = scaling_experiment([1, 16, 256, 1024], num_queries=128, num_keys=16, seed=0)
    first, last = points[0], points[-1]
    # unscaled: toward one-hot, entropy toward 0, Jacobian toward 0
    assert last.max_weight_unscaled > 0.95 > first.max_weight_unscaled
    assert last.entropy_unscaled < 0.2
    assert last.jacobian_unscaled < 0.2 * first.jacobian_unscaled
    assert last.jacobian_unscaled < 0.2 * last.jacobian_scaled
    # scaled: the same statistics at every d_k (within sampling noise)
    for p in points:
        assert p.max_weight_scaled == pytest.approx(first.max_weight_scaled, rel=0.25)
        assert p.jacobian_scaled == pytest.approx(first.jacobian_scaled, rel=0.25)
        assert p.entropy_scaled <= math.log2(16)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"d_ks": [0]}, "d_k=0"),
        ({"d_ks": [MAX_D_K + 1]}, f"d_k={MAX_D_K + 1} must be between 1 and {MAX_D_K}"),
        ({"d_ks": [2.5]}, "d_k=2.5 must be a whole number"),
        ({"d_ks": []}, "d_ks is empty"),
        ({"d_ks": [4], "num_keys": 1}, "num_keys=1"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        scaling_experiment(**kwargs)


def test_jacobian_norm_needs_rows():
    with pytest.raises(ValueError, match=r"logits must have shape \(N, T_k\)"):
        softmax_jacobian_norm(torch.zeros(3))
