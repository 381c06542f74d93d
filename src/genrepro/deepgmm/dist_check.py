"""Launch a distributed Deep GMM fit and check it against one process (beyond the paper; see
:mod:`genrepro.deepgmm.distributed`)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from genrepro.deepgmm.fit import fit
from genrepro.deepgmm.run_data import make_data
from genrepro.deepgmm.state import max_abs_diff, model_from_state

__all__ = ["check_against_single", "launch"]


def launch(out: str | Path, nproc: int = 2, n: int = 4000, dim: int = 8,
           layers: Sequence[int] = (3, 3, 4), iterations: int = 3, seed: int = 0,
           extra: Sequence[str] = (), timeout: float = 300.0, threads: int = 1) -> dict:
    """Run ``torchrun --standalone --nproc_per_node=nproc -m genrepro.deepgmm.dist_main`` (via
    ``python -m torch.distributed.run``, rendezvous on loopback) and return the result file
    written by rank 0 (see :mod:`genrepro.deepgmm.dist_main`), with the launcher's wall time
    under ``"launch_s"``. Raises ``subprocess.TimeoutExpired`` after ``timeout`` seconds and
    RuntimeError (with the output) when a worker fails."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    if sys.platform.startswith("linux") and Path("/sys/class/net/lo").exists():
        env.setdefault("GLOO_SOCKET_IFNAME", "lo")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc_per_node={nproc}", "-m", "genrepro.deepgmm.dist_main",
           "--points", str(n), "--dim", str(dim), "--layers", ",".join(str(k) for k in layers),
           "--iterations", str(iterations), "--seed", str(seed), "--out", str(out),
           "--timeout", str(int(timeout)), *extra]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"torchrun failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n"
                           f"{proc.stderr[-4000:]}")
    res = torch.load(out, weights_only=False)
    res["launch_s"] = time.perf_counter() - t0
    return res


def check_against_single(result: dict | str | Path, x: torch.Tensor | np.ndarray | None = None,
                         threads: int | None = None) -> dict:
    """Refit in this process with :func:`~genrepro.deepgmm.fit.fit` on the whole data from the
    distributed run's initial parameters (``result["init"]``) and settings (``stats_chunk``
    included), and compare. ``result`` is the dict (or file) written by
    :mod:`genrepro.deepgmm.dist_main`; ``x`` the whole data (default: regenerated from the
    result's settings). The refit runs with ``threads`` torch intra-op threads (default: the
    workers' count, ``result["threads"]``; torchrun starts them with OMP_NUM_THREADS=1) —
    the rounding of torch's reductions depends on it, and an ill-conditioned M-step turns
    that into visible differences. Returns {"max_abs_diff", "single": the fitted model,
    "history", "time_s"}."""
    if not isinstance(result, dict):
        result = torch.load(result, weights_only=False)
    a = result["args"]
    if x is None:
        x = make_data(a)
    single = model_from_state(result["init"])
    threads = threads or result.get("threads")
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    try:
        t0 = time.perf_counter()
        hist = fit(single, x, a["iterations"], e_step=a["e_step"], maxiter=a["maxiter"],
                   seed=a["seed"], stats_chunk=a.get("stats_chunk") or None)
        dt = time.perf_counter() - t0
    finally:
        torch.set_num_threads(before)
    return {"max_abs_diff": max_abs_diff(single, model_from_state(result["state"])),
            "single": single, "history": hist, "time_s": dt}
