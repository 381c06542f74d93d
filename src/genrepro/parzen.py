"""Parzen-window (Gaussian kernel density) log-likelihood estimates.

This is the evaluation protocol of Goodfellow et al. (2014), *Generative Adversarial
Nets*, §5 and Table 1, which follows Breuleux, Bengio & Vincent (2011), *Quickly
generating representative samples from an RBM-derived process*: fit an isotropic Gaussian
Parzen window to samples drawn from the generator and report the log-likelihood of test
data under it.  The reference implementation is ``parzen_ll.py`` in
``goodfeli/adversarial``.  For a point ``x`` in ``R^d`` and samples ``s_1..s_M``

    log p(x) = logmeanexp_i( -||x - s_i||^2 / (2 sigma^2) ) - d * log(sigma * sqrt(2 pi)).

The paper's MNIST protocol: 10,000 samples from G, the bandwidth ``sigma`` chosen by
cross-validation on 1,000 validation examples over ``np.logspace(-1, 0, 10)``, then the
mean log-likelihood over the 10,000 test examples with its standard error
``std / sqrt(N)``.  :func:`evaluate` implements it; callers pass the three sets.

Numerics.  Squared distances are ``||x||^2 + ||s||^2 - 2 x.s`` with the cross term from
one float32 GEMM on data centred at the sample mean, so the expensive part runs at
sgemm speed.  The float32 cancellation error is *controlled*, not ignored: for each row
the entries whose kernel weight can matter given a bound on that error (always the
nearest sample, and more when the bound is large relative to ``sigma^2``) are recomputed
exactly in float64 as ``sum((x - s)^2)``; the log-sum-exp is taken relative to the exact
nearest distance.  The error bound per GEMM entry is the statistical
``u sqrt(d) |x - mu| |s - mu|`` (u = 2^-24, or that of TF32/bf16 when enabled), about 5x
the largest error observed on MNIST; the leftover float32 error is then <= 1e-3 nats per
point by construction and ~1e-6 nats measured on MNIST against a float64 brute force, also
for points far from every sample (where naive ``exp`` underflows and scikit-learn's
``KernelDensity`` goes wrong, scikit-learn issue #25799) and for points equal to a
sample.  Blocks whose correction set would be large (e.g. many duplicate samples) are
redone with a float64 GEMM.  Work is chunked over both ``x`` and the samples with a
running log-sum-exp, so memory stays bounded (about ``_BLOCK_BYTES`` per block).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

__all__ = ["log_likelihood", "select_sigma", "evaluate", "DEFAULT_SIGMAS", "PAPER_SIZES"]

DEFAULT_SIGMAS: np.ndarray = np.logspace(-1, 0, 10)
"""The bandwidth grid of ``parzen_ll.py`` (``--sigma_start -1 --sigma_end 0 --cross_val 10``)."""

PAPER_SIZES: dict[str, int] = {"samples": 10_000, "valid": 1_000, "test": 10_000}
"""Set sizes of the GAN paper's MNIST Parzen evaluation (Goodfellow et al. 2014, §5)."""

_TOL = 1e-3  # bound (nats) on the float32 error left in one log-likelihood (error model)
_BLOCK_BYTES = 128 * 2**20  # workspace for one (rows x samples) block (9 bytes/entry)
_PAIR_BYTES = 4 * 2**20  # batch of exact float64 recomputations (small: stays in cache)
_FALLBACK_FRACTION = 0.02  # redo a block in float64 if more entries than this need fixing
_CUT = 30.0  # terms below e^-_CUT of the nearest sample's weigh < M e^-30: negligible

ArrayLike = Any  # numpy array, torch tensor or nested sequence


# ----------------------------------------------------------------------------- inputs
def _check_sigmas(sigmas: ArrayLike) -> np.ndarray:
    if isinstance(sigmas, torch.Tensor):
        sigmas = sigmas.detach().cpu().numpy()
    try:
        arr = np.asarray(sigmas, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"sigma must be a positive finite number, got {sigmas!r}") from exc
    if arr.size == 0:
        raise ValueError("the sigma grid is empty")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"sigma must be positive and finite, got {arr.tolist()}")
    return arr


def _to_tensor(a: ArrayLike, name: str, device: torch.device) -> torch.Tensor:
    """Validate an (N, d) input; float32/float64 keep their dtype, other reals -> float64."""
    if isinstance(a, torch.Tensor):
        t = a.detach()
    else:
        try:
            t = torch.as_tensor(np.asarray(a))
        except (TypeError, ValueError, RuntimeError) as exc:
            raise ValueError(f"{name} must be a numeric (N, d) array, got {type(a)!r}") from exc
    if t.dtype == torch.bool or t.is_complex() or not (t.is_floating_point() or t.dtype in (
            torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)):
        raise ValueError(f"{name} must hold real numbers, got dtype {t.dtype}")
    if t.ndim != 2:
        raise ValueError(f"{name} must be 2-D (N, d), got shape {tuple(t.shape)}")
    if t.shape[0] == 0 or t.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {tuple(t.shape)})")
    dtype = t.dtype if t.dtype in (torch.float32, torch.float64) else torch.float64
    t = t.to(device=device, dtype=dtype).contiguous()
    # A finite sum proves all entries finite; only if it is not (NaN/inf, or overflow of
    # huge values) run the element-wise test, which allocates an (N, d) mask.
    if not bool(torch.isfinite(t.sum())) and not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return t


def _pick_device(device: torch.device | str | None, *arrays: ArrayLike) -> torch.device:
    if device is not None:
        return torch.device(device)
    for a in arrays:
        if isinstance(a, torch.Tensor) and a.device.type != "cpu":
            return a.device
    from genrepro.device import default_device

    return default_device()


def _unit_roundoff(device: torch.device) -> float:
    """Unit roundoff of float32 GEMMs on ``device``, honouring TF32/bf16 settings."""
    u = 2.0**-24
    prec = torch.get_float32_matmul_precision()  # "highest" = IEEE float32
    if prec == "high":
        u = 2.0**-11
    elif prec == "medium":
        u = 2.0**-8
    backend = getattr(torch.backends, "cuda" if device.type == "cuda" else "mkldnn", None)
    mode = str(getattr(getattr(backend, "matmul", None), "fp32_precision", "ieee"))
    if mode == "tf32":
        u = max(u, 2.0**-11)
    elif mode == "bf16":
        u = max(u, 2.0**-8)
    return u


# ----------------------------------------------------------------------------- core
class _Samples:
    """Kernel centres prepared once: raw rows (for exact distances), the centre ``mu``
    (their mean rounded to float32, so ``x - mu`` is formed alike for any input dtype),
    norms ``n2`` of the centred rows and ``c32`` = float32 ``[s - mu, -||s - mu||^2/2]``:
    one GEMM with ``[x - mu, 1]`` then yields ``h = (x-mu).(s-mu) - ||s-mu||^2/2``
    without a separate bias pass.  Built in chunks, without (M, d) temporaries."""

    def __init__(self, samples: ArrayLike, device: torch.device) -> None:
        self.raw = _to_tensor(samples, "samples", device)
        self.m, self.d = self.raw.shape
        self.device = device
        self.mu = self.raw.mean(dim=0, dtype=torch.float64).float().double()
        self.c32 = torch.empty(self.m, self.d + 1, dtype=torch.float32, device=device)
        self.n2 = torch.empty(self.m, dtype=torch.float64, device=device)
        step = max(1, _PAIR_BYTES // (8 * self.d))
        for a in range(0, self.m, step):
            c = self.c32[a:a + step, :-1]
            c.copy_(self.raw[a:a + step] - self.mu.to(self.raw.dtype))
            self.n2[a:a + step] = c.double().square_().sum(1)
            self.c32[a:a + step, -1] = -0.5 * self.n2[a:a + step]


def _exact_sqdist(x: torch.Tensor, s: torch.Tensor, rows: torch.Tensor,
                  cols: torch.Tensor) -> torch.Tensor:
    """float64 ``||x[rows] - s[cols]||^2`` by direct differences (no cancellation)."""
    out = torch.empty(rows.numel(), dtype=torch.float64, device=x.device)
    step = max(1, _PAIR_BYTES // (16 * x.shape[1]))
    for a in range(0, rows.numel(), step):
        diff = x[rows[a:a + step]].double() - s[cols[a:a + step]].double()
        out[a:a + step] = diff.square_().sum(1)
    return out


def _block_lse(ws: dict[str, torch.Tensor], xb: torch.Tensor, xc32: torch.Tensor,
               nxb: torch.Tensor, smp: _Samples, b0: int, b1: int, sig2: torch.Tensor,
               u32: float, use64: bool = False) -> torch.Tensor:
    """``logsumexp_i(-||x - s_i||^2 / (2 sigma^2))`` over samples ``b0:b1``, every sigma.

    ``xb`` are raw rows, ``xc32 = [x - mu, 1]`` and ``nxb = ||x - mu||^2``; ``sig2``
    holds ascending squared bandwidths; ``ws`` preallocated float32/bool workspaces
    (fresh large buffers cost page faults on every block).  Returns a (K, rows) float64
    tensor.  ``h`` comes from one GEMM, float32 unless ``use64``; for every entry
    ``-||x - s||^2/2 = h - ||x - mu||^2/2``.
    """
    bx, d = xb.shape
    dev, nb, m = xb.device, b1 - b0, smp.m
    nsb = smp.n2[b0:b1]
    if use64:
        xc = xb.double() - smp.mu
        sc = smp.raw[b0:b1].double() - smp.mu
        nsb = sc.square().sum(1)
        h, u = torch.addmm(-0.5 * nsb, xc, sc.T), 2.0**-53
        buf = torch.empty_like(h)
        del xc, sc
    else:
        h = ws["h"][: bx * nb].view(bx, nb)
        torch.mm(xc32, smp.c32[b0:b1].T, out=h)
        u, buf = u32, ws["buf"][: bx * nb].view(bx, nb)
    hmax, arg = h.max(dim=1)
    if not use64 and not bool(torch.isfinite(hmax).all()):  # float32 overflow: huge inputs
        return _block_lse(ws, xb, xc32, nxb, smp, b0, b1, sig2, u32, use64=True)
    # Statistical bound on |error| of each h entry (GEMM cancellation plus rounding).
    smax = float(nsb.max().sqrt())
    err_h = u * (math.sqrt(d) + 2.0) * (nxb.sqrt() * smax + 0.5 * smax * smax)
    # Entries within `margin` of the row maximum (h units) are recomputed exactly in
    # float64.  Each other weight is off by a factor <= e^err_l; when err_l > _TOL they
    # must carry total weight <= M e^-tau (relative to the nearest sample's 1), so that
    # their float32 error adds <= _TOL nats.
    err_l = 2.0 * err_h[None, :] / sig2[:, None]  # (K, bx) error of a log-weight
    tau = torch.where(err_l > _TOL, torch.log(m * err_l / _TOL), 0.0)
    margin = (tau * sig2[:, None]).max(dim=0).values.to(h.dtype)
    # Terms with (h - hmax)/sigma^2 < -_CUT are negligible.  For the small sigmas where
    # few entries pass that cut (estimated on a column subsample) work on the compacted
    # entries only ("sparse"); the remaining sigmas use dense passes.
    cuts = _CUT * sig2
    sub = h[:, :: max(1, nb // 256)] - hmax[:, None]
    frac = (sub[None] >= -cuts.to(h.dtype)[:, None, None]).float().mean(dim=(1, 2))
    n_sparse = int((frac <= 0.05).sum())
    keep = torch.empty_like(h, dtype=torch.bool) if use64 else ws["keep"][: bx * nb].view(bx, nb)
    while True:
        cut = margin if n_sparse == 0 else torch.clamp(margin, min=float(cuts[n_sparse - 1]))
        torch.ge(h, (hmax - cut)[:, None], out=keep)
        if n_sparse == 0 or int(torch.count_nonzero(keep)) <= 0.25 * keep.numel():
            break
        n_sparse = 0  # the subsample misjudged: fall back to dense passes
    rows, cols = keep.nonzero(as_tuple=True)
    dv = h[rows, cols] - hmax[rows]  # same float ops as the dense delta below
    corr = dv >= -margin[rows]
    n_corr = int(torch.count_nonzero(corr))
    if not use64 and n_corr > max(4 * bx, _FALLBACK_FRACTION * h.numel()):
        # e.g. many (near-)duplicate samples: redo this block with a float64 GEMM
        return _block_lse(ws, xb, xc32, nxb, smp, b0, b1, sig2, u32, use64=True)
    rc, cc = rows[corr], cols[corr]
    dex = _exact_sqdist(xb, smp.raw[b0:b1], rc, cc)
    at_arg = cc == arg[rc]  # the row maxima are always among the corrected entries
    dref = torch.empty(bx, dtype=torch.float64, device=dev)
    dref[rc[at_arg]] = dex[at_arg]  # exact distance of each row's approximate nearest
    dmin = dref.clone().scatter_reduce_(0, rc, dex, reduce="amin")
    ru, dvu, dvc = rows[~corr], dv[~corr].double(), dv[corr]
    if n_sparse < sig2.numel():
        delta = h.sub_(hmax[:, None])  # in place: h is not needed any more
    out = torch.empty(sig2.numel(), bx, dtype=torch.float64, device=dev)
    for k, s2 in enumerate(sig2.tolist()):
        if k < n_sparse:
            unc = torch.zeros(bx, dtype=torch.float64, device=dev)
            unc.index_add_(0, ru, torch.exp(torch.clamp(dvu / s2, min=-_CUT)))
        else:
            # Clamp first: exp of arguments below ~-87 takes a slow (subnormal) path on
            # CPUs; clamped terms add < M e^-30 relative.  The corrected entries' float32
            # terms are subtracted again (same float ops: they cancel to ~1e-7 relative).
            tot = torch.mul(delta, 1.0 / s2, out=buf).clamp_(min=-_CUT).exp_().sum(1)
            c32 = torch.mul(dvc, 1.0 / s2).clamp_(min=-_CUT).exp_().double()
            unc = tot.double().index_add_(0, rc, c32, alpha=-1.0).clamp_(min=0.0)
        unc *= torch.exp(-(dref - dmin) / (2.0 * s2))
        cor = torch.zeros(bx, dtype=torch.float64, device=dev)
        cor.index_add_(0, rc, torch.exp(-(dex - dmin[rc]) / (2.0 * s2)))
        out[k] = torch.log(unc + cor) - dmin / (2.0 * s2)
    return out


def _grid(x: ArrayLike, smp: _Samples, sig: np.ndarray, batch_size: int | None) -> np.ndarray:
    """Parzen log-likelihoods for several bandwidths at once: a (K, N) float64 array.

    The (sigma-independent) GEMM block is computed once and reused for every sigma,
    which makes cross-validating sigma cheap.  Blocks of rows x samples are combined by
    a running log-sum-exp over sample chunks.
    """
    dev, m, d = smp.device, smp.m, smp.d
    xt = _to_tensor(x, "x", dev)
    n = xt.shape[0]
    if xt.shape[1] != d:
        raise ValueError(f"dimension mismatch: x has d={xt.shape[1]}, samples have d={d}")
    if batch_size is not None and (int(batch_size) != batch_size or batch_size < 1):
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    order = np.argsort(sig, kind="stable")  # _block_lse wants ascending sigmas
    sig2 = torch.as_tensor(sig[order] ** 2, dtype=torch.float64, device=dev)
    u32 = _unit_roundoff(dev)

    per_entry = 9  # bytes per block entry: float32 h + float32 buffer + bool mask
    bx = int(batch_size or max(1, min(n, _BLOCK_BYTES // (per_entry * min(m, 16384)))))
    bx = min(bx, n)
    bs = max(1, min(m, _BLOCK_BYTES // (per_entry * bx)))
    ws = {"h": torch.empty(bx * bs, dtype=torch.float32, device=dev),
          "buf": torch.empty(bx * bs, dtype=torch.float32, device=dev),
          "keep": torch.empty(bx * bs, dtype=torch.bool, device=dev)}
    out = torch.empty(sig.size, n, dtype=torch.float64, device=dev)
    inv = torch.as_tensor(order, device=dev)
    for a in range(0, n, bx):
        xb = xt[a:a + bx]
        xc32 = torch.ones(xb.shape[0], d + 1, dtype=torch.float32, device=dev)
        xc32[:, :-1] = xb - smp.mu.to(xb.dtype)
        nxb = torch.linalg.vector_norm(xc32[:, :-1], dim=1).double().square_()
        acc = None
        for b in range(0, m, bs):
            part = _block_lse(ws, xb, xc32, nxb, smp, b, min(b + bs, m), sig2, u32)
            acc = part if acc is None else torch.logaddexp(acc, part)
        out[inv, a:a + bx] = acc
    const = math.log(m) + d * np.log(sig * math.sqrt(2.0 * math.pi))
    return out.cpu().numpy() - const[:, None]


# ----------------------------------------------------------------------------- public API
def _prepared(samples: ArrayLike | _Samples, device: torch.device | str | None,
              x: ArrayLike) -> _Samples:
    if isinstance(samples, _Samples):
        return samples
    return _Samples(samples, _pick_device(device, x, samples))


def log_likelihood(x: ArrayLike, samples: ArrayLike, sigma: float, *,
                   batch_size: int | None = None,
                   device: torch.device | str | None = None) -> np.ndarray:
    """Parzen-window log-likelihood of each row of ``x`` (Goodfellow et al. 2014, §5).

    ``log p(x) = logmeanexp_i(-||x - s_i||^2 / 2 sigma^2) - d log(sigma sqrt(2 pi))``,
    the estimator of Breuleux et al. (2011) used for Table 1 of the GAN paper.

    Args:
        x: (N, d) points to evaluate (numpy array or torch tensor).
        samples: (M, d) kernel centres, e.g. samples drawn from a generator.
        sigma: kernel bandwidth (standard deviation), > 0.
        batch_size: rows of ``x`` per block (default: chosen to keep memory bounded).
        device: torch device; default: that of a CUDA tensor input, else
            :func:`genrepro.device.default_device`.

    Returns:
        A 1-D float64 array of N log-likelihoods (nats).

    Raises:
        ValueError: for sigma <= 0 or not finite, non-2-D, empty or non-finite inputs,
            or a dimension mismatch between ``x`` and ``samples``.
    """
    if isinstance(sigma, (np.ndarray, torch.Tensor, list, tuple)) and np.size(sigma) != 1:
        raise ValueError(f"sigma must be a single number, got {sigma!r}")
    sig = _check_sigmas(sigma)
    return _grid(x, _prepared(samples, device, x), sig, batch_size)[0]


def select_sigma(valid: ArrayLike, samples: ArrayLike, sigmas: ArrayLike | None = None, *,
                 batch_size: int | None = None,
                 device: torch.device | str | None = None) -> tuple[float, np.ndarray]:
    """Choose the bandwidth maximising the mean validation log-likelihood.

    The cross-validation of ``parzen_ll.py`` (Goodfellow et al. 2014, §5: σ "obtained by
    cross validation on the validation set"); the default grid is
    ``np.logspace(-1, 0, 10)``.  The GEMM is done once and reused for all σ.

    Returns:
        ``(best_sigma, mean_valid_ll)`` with one mean log-likelihood per σ in the grid
        (in the grid's order).
    """
    grid = _check_sigmas(DEFAULT_SIGMAS if sigmas is None else sigmas)
    means = _grid(valid, _prepared(samples, device, valid), grid, batch_size).mean(axis=1)
    return float(grid[int(np.argmax(means))]), means


def evaluate(test: ArrayLike, valid: ArrayLike, samples: ArrayLike,
             sigmas: ArrayLike | None = None, *, batch_size: int | None = None,
             device: torch.device | str | None = None) -> dict[str, Any]:
    """The full Parzen protocol of Goodfellow et al. (2014), §5 / Table 1.

    σ is selected on ``valid`` (:func:`select_sigma`), then the test log-likelihood is
    reported as its mean and standard error ``std(ll) / sqrt(N_test)`` (numpy ``std``,
    ddof=0, as in ``parzen_ll.py``).  The paper uses 10,000 samples from G, 1,000
    validation and 10,000 test examples (:data:`PAPER_SIZES`); callers choose the sets.

    Returns:
        ``{"sigma", "mean", "se", "sigmas", "valid_ll"}``: the chosen σ, mean test
        log-likelihood, its standard error, the σ grid and mean validation ll per σ.
    """
    grid = _check_sigmas(DEFAULT_SIGMAS if sigmas is None else sigmas)
    smp = _prepared(samples, device, test)
    sigma, valid_ll = select_sigma(valid, smp, grid, batch_size=batch_size)
    ll = log_likelihood(test, smp, sigma, batch_size=batch_size)
    return {
        "sigma": sigma,
        "mean": float(ll.mean()),
        "se": float(ll.std() / math.sqrt(ll.shape[0])),
        "sigmas": grid,
        "valid_ll": valid_ll,
    }
