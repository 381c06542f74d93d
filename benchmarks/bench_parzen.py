"""Benchmark of genrepro.parzen on the GAN paper's MNIST Parzen protocol.

Goodfellow et al. (2014), §5 / Table 1: 10,000 samples as kernel centres, sigma chosen
over np.logspace(-1, 0, 10) on 1,000 validation images, mean log-likelihood on the
10,000 test images.  Uses real MNIST when data/mnist/mnist.npz exists (valid =
x_train[50000:51000], test = x_test, samples = x_train[:10000], scaled to [0, 1]), else
random data with MNIST-like statistics.  Compares with scikit-learn's
``KernelDensity(bandwidth=sigma).score_samples`` (timed on a subset, extrapolated
linearly) and with a float64 brute force, then writes the "## Parzen estimator"
section of benchmarks/README.md.

    python benchmarks/bench_parzen.py --threads 1,2     # [--no-readme] [--sk-test 200]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.special import logsumexp
from sklearn.neighbors import KernelDensity

from genrepro import parzen

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from readme import README, update_section  # noqa: E402  (shared section writer)

TITLE = "Parzen estimator"


def load_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    path = ROOT / "data" / "mnist" / "mnist.npz"
    if path.exists():
        with np.load(path) as f:
            tr = f["x_train"].reshape(-1, 784).astype(np.float32) / 255
            te = f["x_test"].reshape(-1, 784).astype(np.float32) / 255
        return tr[:10000], tr[50000:51000], te, "MNIST (data/mnist/mnist.npz)"
    rng = np.random.default_rng(0)  # ~19% non-zero pixels in 10 prototype shapes
    proto = rng.random((10, 784)) < 0.24

    def draw(n: int) -> np.ndarray:
        on = proto[rng.integers(0, 10, n)] & (rng.random((n, 784)) < 0.8)
        return np.where(on, rng.uniform(0.3, 1.0, (n, 784)), 0).astype(np.float32)

    return draw(10000), draw(1000), draw(10000), "random MNIST-like data (no mnist.npz)"


def brute(x: np.ndarray, s: np.ndarray, sigma: float) -> np.ndarray:
    x, s = x.astype(np.float64), s.astype(np.float64)
    d2 = np.concatenate([((x[i:i + 16, None] - s[None]) ** 2).sum(-1)
                         for i in range(0, len(x), 16)])
    return (logsumexp(-d2 / (2 * sigma**2), axis=1) - math.log(len(s))
            - s.shape[1] * math.log(sigma * math.sqrt(2 * math.pi)))


def best_of(n: int, fn) -> tuple[float, object]:
    best, out = math.inf, None
    for _ in range(n):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default="1,2", help="torch thread counts to time, e.g. 1,2")
    ap.add_argument("--sk-test", type=int, default=200, help="test rows timed for sklearn")
    ap.add_argument("--sk-valid", type=int, default=50, help="valid rows per sigma (sklearn)")
    ap.add_argument("--no-readme", action="store_true")
    args = ap.parse_args()
    samples, valid, test, source = load_data()
    dev = torch.device("cpu")
    d = samples.shape[1]
    load0 = os.getloadavg()[0]
    print(f"data: {source}; samples {samples.shape}, valid {valid.shape}, test {test.shape}")

    # --- ours: the full protocol, best of 3 per thread count (after a warm-up) -------
    rows, t_ours = [], math.inf
    for n_threads in [int(t) for t in args.threads.split(",")]:
        torch.set_num_threads(n_threads)
        parzen.evaluate(test[:200], valid[:100], samples, device=dev)
        t_full, res = best_of(3, lambda: parzen.evaluate(test, valid, samples, device=dev))
        t_sel, _ = best_of(3, lambda: parzen.select_sigma(valid, samples, device=dev))
        rows.append((n_threads, t_full, t_sel))
        t_ours = min(t_ours, t_full)
        print(f"ours, {n_threads} thread(s): full protocol {t_full:.2f} s (best of 3; "
              f"sigma selection alone {t_sel:.2f} s)")
    sigma = res["sigma"]
    print(f"  sigma={sigma:.4f}  test ll {res['mean']:.2f} +- {res['se']:.2f} nats")

    # --- scikit-learn: subset timings, extrapolated linearly -----------------------
    grid = parzen.DEFAULT_SIGMAS
    nv, nt = args.sk_valid, args.sk_test
    t = time.perf_counter()
    sk_valid = [KernelDensity(bandwidth=s).fit(samples).score_samples(valid[:nv]) for s in grid]
    t_sk_valid = (time.perf_counter() - t) * len(valid) / nv
    kde = KernelDensity(bandwidth=sigma).fit(samples)
    t = time.perf_counter()
    sk_test = kde.score_samples(test[:nt])
    t_sk_test = (time.perf_counter() - t) * len(test) / nt
    t_sk = t_sk_valid + t_sk_test
    print(f"sklearn KernelDensity.score_samples: {t_sk:.0f} s extrapolated linearly from "
          f"{nv} valid rows x {len(grid)} sigmas and {nt} test rows; ratio {t_sk / t_ours:.0f}x")

    # --- accuracy against a float64 brute force ------------------------------------
    ref_t = brute(test[:nt], samples, sigma)
    err_t = np.abs(parzen.log_likelihood(test[:nt], samples, sigma, device=dev) - ref_t)
    err_sk = np.abs(sk_test - ref_t)
    ref_v = np.stack([brute(valid[:nv], samples, s) for s in grid])
    err_v = np.abs(parzen._grid(valid[:nv], parzen._Samples(samples, dev), grid, None) - ref_v)
    err_sk_v = np.abs(np.stack(sk_valid) - ref_v)
    far = np.stack([np.full(d, 3.0, np.float32), test[0] + 3, test[0] + 100 * np.eye(d)[0]])
    ref_far = brute(far, samples, sigma)
    err_far = np.abs(parzen.log_likelihood(far, samples, sigma, device=dev) - ref_far)
    err_far_sk = np.abs(kde.score_samples(far) - ref_far)
    err_ours, err_mean = max(err_t.max(), err_v.max()), err_t.mean()
    print(f"max |error| vs float64 brute force ({nt} test rows at sigma, {nv} valid rows x "
          f"10 sigmas): ours {err_ours:.1e} (test mean {err_mean:.1e}), sklearn "
          f"{max(err_sk.max(), err_sk_v.max()):.1e}; 3 far points: ours {err_far.max():.1e}, "
          f"sklearn {err_far_sk.max():.1e} (brute force {np.round(ref_far).tolist()})")
    load1 = os.getloadavg()[0]
    print(f"load average (1 min) before/after: {load0:.1f} / {load1:.1f}")
    if args.no_readme:
        return

    table = "\n".join(
        f"| `parzen.evaluate`, {n} thread{'s' * (n > 1)} | {tf:.2f} s | {ts:.2f} s | "
        f"{t_sk / tf:.0f}× |" for n, tf, ts in rows)
    body = f"""\
`genrepro.parzen` on the GAN paper's Parzen protocol (Goodfellow et al. 2014, §5 / Table 1):
{len(samples):,} kernel centres, σ chosen over `np.logspace(-1, 0, 10)` on {len(valid):,}
validation rows, mean log-likelihood ± standard error on {len(test):,} test rows, d = {d}.
Data: {source}; the centres stand in for generator samples.
Result: σ = {sigma:.4f}, test log-likelihood {res['mean']:.2f} ± {res['se']:.2f} nats.

| estimator | full protocol (best of 3) | σ selection alone | sklearn / this |
|---|---|---|---|
{table}
| sklearn `KernelDensity(bandwidth=σ).score_samples` | {t_sk:.0f} s (extrapolated) | {t_sk_valid:.0f} s | 1× |

Accuracy (max abs error vs a float64 brute force, {nt} test rows at the chosen σ and {nv}
validation rows × 10 σ): this estimator {err_ours:.1e} nats (test mean {err_mean:.1e});
sklearn {max(err_sk.max(), err_sk_v.max()):.1e} nats.  On 3 points far from every centre
(constant 3.0, a test image + 3, a test image + 100 in one pixel), where a naive exp
underflows: {err_far.max():.1e} vs sklearn {err_far_sk.max():.1e} nats (scikit-learn issue
#25799).  The sklearn time is extrapolated linearly from {nv} validation rows × 10 σ and {nt}
test rows (all 20,000 evaluations would take minutes).

Command: `python benchmarks/bench_parzen.py --threads {args.threads}` (torch {torch.__version__},
{platform.processor() or platform.machine()}, `nproc` = {os.cpu_count()},
{time.strftime("%Y-%m-%d")}); 1-min load average {load0:.1f} before / {load1:.1f} after (this
run adds up to 2).  Target: ≤ 2 s for the full protocol on 2 cores; its float32 GEMMs alone
are 1.6e11 flop.  When other jobs share the 2 cores, wall times inflate, most of all with 2
threads (every torch op ends in an OpenMP barrier that waits for a descheduled thread):
under a load of ~4-8 the 2-thread run took 4-8 s while 1 thread stayed at ~2.1-2.4 s.
"""
    update_section(TITLE, body)
    print(f"wrote the '## {TITLE}' section of {README.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
