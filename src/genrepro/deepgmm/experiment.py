"""The Deep GMM chapter's experiments as functions (van den Oord & Schrauwen 2014, §4–§5).

* :func:`fit_until` — hard-EM with the heuristic E-step for up to ``max_iterations``,
  stopped when the validation best-path log-likelihood has not improved for ``patience``
  iterations (the paper runs EM to convergence; "up to 100 iterations" in our full profile).
* :func:`sweep` — Figure 4: test log-likelihood against the number of top-layer
  (data-side) components for nets of 1, 2 and 3 layers, the other layers at 5 components.
* :func:`patches_to_images` — 63-d preprocessed patches back to 8×8 images for display.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from genrepro import progress as prog
from genrepro.deepgmm.fit import fit
from genrepro.deepgmm.model import DeepGMM


def fit_until(model: DeepGMM, x: torch.Tensor | np.ndarray, valid: torch.Tensor | np.ndarray,
              max_iterations: int, patience: int | None, maxiter: int, seed: int = 0,
              tol: float = 1e-3, warm_passes: int = 1, restart_passes: int = 2,
              time_limit_s: float | None = None,
              callback: Callable[[DeepGMM, dict], None] | None = None,
              e_step: str = "heuristic", resume: Sequence[dict] = ()) -> list[dict]:
    """Hard-EM (heuristic E-step, L-BFGS M-step) until ``max_iterations`` or, when
    ``patience`` is set, until the validation score stalls (gain < ``tol`` nats), or, with
    ``time_limit_s``, after the first iteration that ends past that many seconds.
    ``callback`` is :func:`~genrepro.deepgmm.fit.fit`'s, called after every iteration. The
    last record's ``"stopped"`` says why: "patience", "time_limit" or "max_iterations".
    The validation score is the best-path log-likelihood (what hard-EM maximises); with
    ``e_step="soft"`` (ordinary EM, e.g. for a GMM baseline) it is the exact log-likelihood,
    which soft EM always records.

    ``resume``: the records of earlier calls on this model (restored from a checkpoint with its
    parameters and ``model._paths``); the loop continues from the iteration after them, with
    the same seeds and the same patience count as one uninterrupted call. The returned list
    holds the earlier records too."""
    key = "valid_exact" if e_step == "soft" else "valid_best"
    t0 = time.perf_counter()
    best, stall, records = -math.inf, 0, []
    for rec in resume:
        records.append(rec)
        best, stall = (rec[key], 0) if rec[key] > best + tol else (best, stall + 1)
    if records and records[-1].get("stopped") in ("patience", "max_iterations"):
        return records
    for it in range(len(records), max_iterations):
        rec = fit(model, x, 1, e_step=e_step, valid=valid, maxiter=maxiter, seed=seed + it,
                  warm_passes=warm_passes, restart_passes=restart_passes, callback=callback)[0]
        records.append(rec)
        if rec[key] > best + tol:
            best, stall = rec[key], 0
        else:
            stall += 1
        if patience is not None and stall >= patience:
            rec["stopped"] = "patience"
            break
        if time_limit_s is not None and time.perf_counter() - t0 > time_limit_s:
            rec["stopped"] = "time_limit"
            break
    else:
        if records:
            records[-1]["stopped"] = "max_iterations"
    return records


@dataclass
class SweepResult:
    """One (depth, top size) point of Figure 4 with its fitted model."""

    layers: tuple[int, ...]
    valid: float
    test: float
    test_se: float
    iterations: int
    seconds: float
    model: DeepGMM = field(repr=False)


def sweep(train: np.ndarray, valid: np.ndarray, test: np.ndarray, tops: Sequence[int],
          depths: Sequence[int] = (1, 2, 3), lower: int = 5, max_iterations: int = 10,
          patience: int | None = None, maxiter: int = 1000, seed: int = 0, reg: float = 0.0,
          warm_passes: int = 1, restart_passes: int = 2) -> list[SweepResult]:
    """Figure 4: fit nets ``(lower,)*(depth-1) + (top,)`` and score them exactly on test
    (mean log-likelihood in nats ± standard error)."""
    out = []
    for depth in depths:
        for top in tops:
            layers = (lower,) * (depth - 1) + (int(top),)
            t0 = time.perf_counter()
            model = DeepGMM(train.shape[1], layers, seed=seed, init_data=train, reg=reg)
            recs = fit_until(model, train, valid, max_iterations, patience, maxiter, seed,
                             warm_passes=warm_passes, restart_passes=restart_passes)
            ll_valid = float(model.log_prob(valid).mean())
            ll = model.log_prob(test).double()
            res = SweepResult(layers, ll_valid, float(ll.mean()), float(ll.std() / math.sqrt(len(ll))),
                              len(recs), time.perf_counter() - t0, model)
            prog.log(f"layers {layers}: valid {res.valid:.2f}, test {res.test:.2f} ± {res.test_se:.2f} "
                     f"nats ({res.iterations} EM iterations, {res.seconds:.0f} s)")
            out.append(res)
    return out


def best_per_depth(results: Sequence[SweepResult]) -> dict[int, SweepResult]:
    """For each depth, the sweep point with the best validation log-likelihood (Table 1)."""
    best: dict[int, SweepResult] = {}
    for r in results:
        d = len(r.layers)
        if d not in best or r.valid > best[d].valid:
            best[d] = r
    return best


def patches_to_images(x: np.ndarray | torch.Tensor) -> np.ndarray:
    """(n, 63) mean-removed patches → (n, 8, 8): the dropped 64th pixel is minus the sum of
    the others (the 64 values sum to zero after mean removal)."""
    x = np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x, dtype=np.float64)
    full = np.concatenate([x, -x.sum(1, keepdims=True)], axis=1)
    return full.reshape(-1, 8, 8)
