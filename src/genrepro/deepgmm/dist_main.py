"""Entry point of distributed Deep GMM hard-EM (:mod:`genrepro.deepgmm.distributed`)::

    torchrun --standalone --nproc_per_node=2 -m genrepro.deepgmm.dist_main \\
        --points 4000 --dim 8 --layers 3,3,4 --iterations 3 --seed 0 --out result.pt \\
        [--stats-chunk 1000] [--check]

Every rank builds the same data (synthetic blobs from ``--seed``, or the first ``--points`` rows of
``--data``, a .npy or .pt array of shape (N, D)), initialises the model (rank 0's parameters
are broadcast so all ranks start identically), takes its contiguous shard and runs
:func:`~genrepro.deepgmm.distributed.fit_distributed` (by default with ``--stats-chunk 1000``:
shards start at multiples of 1000 points and the statistics are folded block by block in
global order, so the result equals ``fit(..., stats_chunk=1000)`` in one process bit for bit;
``--stats-chunk 0`` uses the all-gather combination instead). Rank 0 writes ``--out``: a dict with
``state`` (final :meth:`DeepGMM.state_dict`), ``init`` (initial one), ``history``,
``world_size``, ``args``, ``fit_s``, ``backend``, ``threads`` (torch intra-op threads)
and, with ``--check``, ``max_abs_diff``
against a single-process :func:`~genrepro.deepgmm.fit.fit` (run by rank 0 afterwards) and
``single_fit_s``. Without torchrun it runs as one process (world size 1). The process group
uses gloo on CPU and nccl with ``--device cuda``; collectives time out after ``--timeout`` s.
"""

from __future__ import annotations

import argparse
import copy
import time

import torch

from genrepro.deepgmm.dist_check import check_against_single
from genrepro.deepgmm.distributed import (
    broadcast_parameters,
    fit_distributed,
    init_distributed,
    shard,
)
from genrepro.deepgmm.model import DeepGMM
from genrepro.deepgmm.run_data import make_data


def parse(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--points", dest="n", type=int, default=4000,
                   help="number of points, all ranks together (torchrun claims any --n…)")
    p.add_argument("--dim", type=int, default=8, help="dimension of the synthetic data")
    p.add_argument("--data", default=None, help=".npy/.pt array (N, D) instead of synthetic data")
    p.add_argument("--layers", default="3,3,4", help="N_j per layer, layer 0 (z side) first")
    p.add_argument("--iterations", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--e-step", dest="e_step", default="heuristic",
                   choices=("heuristic", "exact", "soft"))
    p.add_argument("--maxiter", type=int, default=1000, help="L-BFGS iterations per node")
    p.add_argument("--reg", type=float, default=0.0, help="covariance floor (DeepGMM(reg=...))")
    p.add_argument("--stats-chunk", dest="stats_chunk", type=int, default=1000,
                   help="B > 0 (default 1000): statistics per block of B points, folded across "
                        "ranks in global order — bit-identical to fit(..., stats_chunk=B); "
                        "0: all-gather each rank's statistics and combine (equal to rounding, "
                        "which the M-step's L-BFGS can amplify)")
    p.add_argument("--device", default="cpu", help="cpu (gloo) or cuda (nccl, one GPU per rank)")
    p.add_argument("--timeout", type=float, default=300.0, help="collective timeout, seconds")
    p.add_argument("--out", default="deepgmm_dist.pt")
    p.add_argument("--check", action="store_true",
                   help="rank 0 also refits in one process and records max_abs_diff")
    a = vars(p.parse_args(argv))
    a["layers"] = tuple(int(k) for k in str(a["layers"]).split(","))
    return a


def main(argv: list[str] | None = None) -> dict | None:
    a = parse(argv)
    device = torch.device(a["device"])
    if device.type == "cuda":
        import os
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        device = torch.device("cuda", torch.cuda.current_device())
    rank, world = init_distributed(device, a["timeout"])
    x = make_data(a)
    model = DeepGMM(x.shape[1], a["layers"], seed=a["seed"], init_data=x, device=device, reg=a["reg"])
    broadcast_parameters(model, 0)
    init = copy.deepcopy(model.state_dict())
    chunk = a["stats_chunk"] or None
    xs, offset = shard(x, rank, world, align=chunk or 1)
    t0 = time.perf_counter()
    hist = fit_distributed(model, xs.to(device), a["iterations"], offset=offset, n_total=len(x),
                           e_step=a["e_step"], maxiter=a["maxiter"], seed=a["seed"],
                           stats_chunk=chunk)
    fit_s = time.perf_counter() - t0
    backend = None
    if world > 1:
        import torch.distributed as dist
        backend = dist.get_backend()
        dist.barrier()
        dist.destroy_process_group()
    if rank != 0:
        return None
    res = {"state": model.state_dict(), "init": init, "history": hist, "world_size": world,
           "args": a, "fit_s": fit_s, "backend": backend, "threads": torch.get_num_threads()}
    if a["check"]:
        chk = check_against_single(res, x)
        res["max_abs_diff"], res["single_fit_s"] = chk["max_abs_diff"], chk["time_s"]
        res["single_history"] = chk["history"]
        print(f"max |Δθ| (torchrun × {world} vs one process) = {chk['max_abs_diff']:.3e}")
    torch.save(res, a["out"])
    print(f"rank 0 of {world}: {a['iterations']} iterations in {fit_s:.2f} s → {a['out']}")
    return res


if __name__ == "__main__":
    main()
