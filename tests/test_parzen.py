"""Tests for genrepro.parzen: exactness against a float64 brute force, bad input, API."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp

from genrepro import parzen

# Accuracy required of the estimator against a float64 brute force (nats).
MEAN_TOL, MAX_TOL = 1e-3, 1e-2


def brute(x, s, sigma: float) -> np.ndarray:
    """float64 reference: direct differences, then a stable log-mean-exp."""
    x, s = np.asarray(x, np.float64), np.asarray(s, np.float64)
    d2 = np.concatenate([((x[i:i + 64, None, :] - s[None]) ** 2).sum(-1)
                         for i in range(0, len(x), 64)])
    return (logsumexp(-d2 / (2 * sigma**2), axis=1) - math.log(len(s))
            - s.shape[1] * math.log(sigma * math.sqrt(2 * math.pi)))


def assert_close(got, ref):
    err = np.abs(np.asarray(got) - ref)
    assert err.mean() <= MEAN_TOL and err.max() <= MAX_TOL, (err.mean(), err.max())


def mnist_like(rng: np.random.Generator, n: int, d: int = 784) -> np.ndarray:
    """Sparse non-negative 'images' in [0, 1], quantised to /255 like MNIST."""
    proto = rng.random((10, d)) < 0.2
    imgs = proto[rng.integers(0, 10, n)] & (rng.random((n, d)) < 0.8)
    vals = np.where(imgs, rng.uniform(0.3, 1.0, (n, d)), 0.0)
    return (np.round(vals * 255) / 255).astype(np.float32)


@pytest.fixture(scope="module")
def mnist_data():
    rng = np.random.default_rng(0)
    return mnist_like(rng, 1500), mnist_like(rng, 120)  # samples, test points


# ----------------------------------------------------------------------------- exactness
@pytest.mark.parametrize("sigma", [0.1, 0.2154, 0.4642, 1.0])
def test_matches_bruteforce_mnist_like(mnist_data, sigma):
    samples, x = mnist_data
    got = parzen.log_likelihood(x, samples, sigma, device="cpu")
    assert got.shape == (len(x),) and got.dtype == np.float64
    ref = brute(x, samples, sigma)
    assert_close(got, ref)
    # The design leaves <= 1e-3 nats of float32 error; in practice it is far smaller.
    assert np.abs(got - ref).max() <= 1e-4


def test_matches_bruteforce_gaussian_data():
    rng = np.random.default_rng(1)
    s, x = rng.normal(size=(400, 12)), rng.normal(size=(90, 12))
    for sigma in (0.05, 0.3, 2.0):
        assert_close(parzen.log_likelihood(x, s, sigma, device="cpu"), brute(x, s, sigma))


def test_far_points_and_exact_samples(mnist_data):
    """Far points underflow a naive exp (sklearn KernelDensity, issue #25799)."""
    samples, x = mnist_data
    d = samples.shape[1]
    far = np.stack([np.full(d, 3.0), np.full(d, -50.0), np.full(d, 1e3),
                    x[0] + 100.0 * np.eye(d)[0],  # far along a direction of no variance
                    samples[3], samples[7].astype(np.float64) + 1e-6])
    for sigma in (0.1, 0.3, 1.0):
        got = parzen.log_likelihood(far, samples, sigma, device="cpu")
        ref = brute(far, samples, sigma)
        assert np.all(np.isfinite(got))
        assert np.abs(got - ref).max() <= MAX_TOL
        assert got[2] < -1e6  # hugely negative, never positive or -inf
    # Beyond float32 range (1e40): handled by the float64 path; compare relatively.
    huge = np.full((1, d), 1e40)
    np.testing.assert_allclose(parzen.log_likelihood(huge, samples, 0.3, device="cpu"),
                               brute(huge, samples, 0.3), rtol=1e-12)
    # A point equal to the only sample: the analytic maximum of the density.
    s = samples[:1].astype(np.float64)
    got = parzen.log_likelihood(s, s, 0.2, device="cpu")[0]
    assert got == pytest.approx(-d * math.log(0.2 * math.sqrt(2 * math.pi)), abs=1e-9)


def test_analytic_single_centre():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(20, 5)) * 30
    mu = np.zeros((1, 5))
    got = parzen.log_likelihood(x, mu, 0.7, device="cpu")
    ref = -(x**2).sum(1) / (2 * 0.49) - 5 * math.log(0.7 * math.sqrt(2 * math.pi))
    np.testing.assert_allclose(got, ref, rtol=1e-12)


def test_large_offset_and_duplicate_samples():
    rng = np.random.default_rng(3)
    # Data far from the origin: centring keeps float32 cancellation small.
    s = 1e4 + rng.normal(size=(300, 30))
    x = 1e4 + rng.normal(size=(50, 30))
    assert_close(parzen.log_likelihood(x, s, 0.5, device="cpu"), brute(x, s, 0.5))
    # Mode collapse: many identical samples (forces the float64 fallback path).
    dup = np.repeat(rng.random((3, 100)), 200, axis=0)
    xd = np.vstack([dup[:5] + 0.01 * rng.normal(size=(5, 100)), rng.random((5, 100))])
    for sigma in (0.1, 1.0):
        assert_close(parzen.log_likelihood(xd, dup, sigma, device="cpu"),
                     brute(xd, dup, sigma))


def test_chunking_does_not_change_result(mnist_data, monkeypatch):
    samples, x = mnist_data[0], mnist_data[1][:25]
    full = parzen.log_likelihood(x, samples, 0.2, device="cpu")
    monkeypatch.setattr(parzen, "_BLOCK_BYTES", 9 * 10 * 400)  # 10 rows x 400 samples
    small = parzen.log_likelihood(x, samples, 0.2, batch_size=10, device="cpu")
    np.testing.assert_allclose(small, full, rtol=0, atol=1e-6)


def test_reduced_precision_matmul_is_still_exact(mnist_data):
    """TF32/bf16 GEMMs are detected and compensated by a wider correction set."""
    samples, x = mnist_data
    old = torch.get_float32_matmul_precision()
    try:
        torch.set_float32_matmul_precision("medium")
        got = parzen.log_likelihood(x[:40], samples[:500], 0.15, device="cpu")
    finally:
        torch.set_float32_matmul_precision(old)
    assert_close(got, brute(x[:40], samples[:500], 0.15))


def test_input_types(mnist_data):
    samples, x = mnist_data
    ref = parzen.log_likelihood(x, samples, 0.3, device="cpu")
    for conv in (torch.from_numpy, lambda a: a.astype(np.float64),
                 lambda a: torch.from_numpy(a).double(), lambda a: a.tolist()):
        got = parzen.log_likelihood(conv(x), conv(samples), 0.3, device="cpu")
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-6)
    u8 = (np.random.default_rng(4).random((30, 16)) * 255).astype(np.uint8)
    assert_close(parzen.log_likelihood(u8[:10], u8, 20.0, device="cpu"),
                 brute(u8[:10], u8, 20.0))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu(mnist_data):
    samples, x = mnist_data
    for sigma in (0.1, 0.5):
        got = parzen.log_likelihood(x, samples, sigma, device="cuda")
        assert_close(got, brute(x, samples, sigma))
    on_gpu = parzen.log_likelihood(torch.from_numpy(x).cuda(), samples, 0.2)
    assert_close(on_gpu, brute(x, samples, 0.2))


# ----------------------------------------------------------------------------- protocol
def test_select_sigma_and_evaluate(mnist_data):
    samples, x = mnist_data
    valid, test = x[:60], x[60:]
    best, means = parzen.select_sigma(valid, samples, device="cpu")
    grid = np.logspace(-1, 0, 10)
    np.testing.assert_allclose(parzen.DEFAULT_SIGMAS, grid)
    assert means.shape == (10,) and best == grid[int(np.argmax(means))]
    for i in (0, 4, 9):  # one GEMM for all sigmas == separate calls
        single = parzen.log_likelihood(valid, samples, grid[i], device="cpu").mean()
        assert means[i] == pytest.approx(single, abs=1e-6)
    # An unsorted custom grid keeps its order.
    b2, m2 = parzen.select_sigma(valid, samples, [1.0, 0.1, 0.3], device="cpu")
    assert m2[1] == pytest.approx(means[0], abs=1e-6) and m2[0] == pytest.approx(means[9])
    res = parzen.evaluate(test, valid, samples, device="cpu")
    assert set(res) == {"sigma", "mean", "se", "sigmas", "valid_ll"}
    assert res["sigma"] == best
    ll = brute(test, samples, best)
    assert res["mean"] == pytest.approx(ll.mean(), abs=MEAN_TOL)
    assert res["se"] == pytest.approx(ll.std() / math.sqrt(len(test)), rel=1e-3)
    np.testing.assert_allclose(res["valid_ll"], means)
    assert parzen.PAPER_SIZES == {"samples": 10_000, "valid": 1_000, "test": 10_000}


# ----------------------------------------------------------------------------- bad input
S = np.random.default_rng(5).random((20, 4))


@pytest.mark.parametrize("sigma", [0.0, -1.0, float("nan"), float("inf"), [0.1, 0.2], "a"])
def test_bad_sigma(sigma):
    with pytest.raises(ValueError, match="sigma"):
        parzen.log_likelihood(S[:3], S, sigma, device="cpu")


@pytest.mark.parametrize("grid", [[], [0.1, -0.2], [0.1, float("nan")]])
def test_bad_sigma_grid(grid):
    with pytest.raises(ValueError, match="sigma"):
        parzen.select_sigma(S[:3], S, grid, device="cpu")


@pytest.mark.parametrize("x, samples, match", [
    (S[:3, :3], S, "dimension mismatch"),
    (np.empty((0, 4)), S, "empty"),
    (S[:3], np.empty((0, 4)), "empty"),
    (np.empty((3, 0)), np.empty((5, 0)), "empty"),
    (S[0], S, "2-D"),
    (S[None], S, "2-D"),
    (S[:3] > 0.5, S, "real numbers"),
    (S[:3] + 1j, S, "real numbers"),
    (np.where(np.eye(3, 4) > 0, np.nan, S[:3]), S, "NaN or infinite"),
    (S[:3], np.where(np.eye(20, 4) > 0, np.inf, S), "NaN or infinite"),
    (torch.tensor([[0.0, 1.0, -np.inf, 2.0]]), S, "NaN or infinite"),
    (np.array([["a", "b", "c", "d"]]), S, "x"),
])
def test_bad_arrays(x, samples, match):
    with pytest.raises(ValueError, match=match):
        parzen.log_likelihood(x, samples, 0.5, device="cpu")


def test_bad_batch_size_and_bad_sets():
    with pytest.raises(ValueError, match="batch_size"):
        parzen.log_likelihood(S[:3], S, 0.5, batch_size=0, device="cpu")
    with pytest.raises(ValueError, match="NaN"):
        parzen.evaluate(S[:3], np.full((2, 4), np.nan), S, device="cpu")
    with pytest.raises(ValueError, match="dimension"):
        parzen.evaluate(S[:3, :2], S[:3], S, device="cpu")
