"""Deep GMM at wide layers: the two costs that grow with a layer's width, each against its peer in
the same run.

* **M-step, one node's objective** (van den Oord & Schrauwen 2014, eq. 13–14; ``node_objective``):
  the trace term Σ_g S_g⁻¹ B Γ_g over the node's G lower groups, as G small matrix products
  (2·G·D³ flops) or as one D² × D² Kronecker matrix-vector product (D⁴ multiply-adds, but 126 MB
  read a call at D = 63). ``NodeStats`` picks the form by G; this prints both at several G, and
  the cost of building the Kronecker matrix (one product, or the sum of ``np.kron`` it replaced).
* **E-step chunks** (§3.3's heuristic search, ``heuristic_e_step``): at a layer of N_j options the
  memory budget alone leaves a chunk budget/(N_j·D) points (20 at N_j = 200); ``_MIN_ROWS`` is the
  floor. Timed on a (5, 5, 200) net (its k-means start) with the floor and with none.

Rows are ``bench_deepgmm.patch_like`` data (float64, as the jobs fit); the groups' statistics are
random SPD matrices of the real sizes (the cost does not depend on the values).

    python benchmarks/bench_deepgmm_wide.py [--threads 1] [--n 50000] [--no-readme]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from genrepro.deepgmm import DeepGMM, estep
from genrepro.deepgmm.mstep import NodeStats, node_objective

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_deepgmm import patch_like  # noqa: E402
from readme import update_section  # noqa: E402

TITLE = "Deep GMM at wide layers"
D = 63
GROUPS = (40, 100, 250, 500)


def node_stats(G: int, kron: bool, seed: int = 0) -> NodeStats:
    rng = np.random.default_rng(seed)
    M = rng.normal(size=(G, D, D)) / 8 + np.eye(D)
    X = rng.normal(size=(G, D, D))
    return NodeStats(rng.integers(100, 5000, G).astype(float), rng.normal(size=(G, D)),
                     X @ X.transpose(0, 2, 1), np.linalg.inv(M @ M.transpose(0, 2, 1)), rng.normal(size=(G, D)), kron=kron)


def per_call_ms(f, calls: int, rounds: int = 3) -> float:
    """The best of ``rounds`` averages over ``calls`` calls (the least disturbed by other load)."""
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(calls):
            f()
        best = min(best, (time.perf_counter() - t) / calls * 1e3)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--n", type=int, default=50_000, help="rows searched by the E-step")
    ap.add_argument("--no-readme", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    load0 = os.getloadavg()[0]

    rows = []
    A = np.random.default_rng(1).normal(size=(D, D)) / 8 + np.eye(D)
    for G in GROUPS:
        prod, kron = node_stats(G, False), node_stats(G, True)
        t = time.perf_counter()
        kron.K
        build = time.perf_counter() - t
        f0, g0, _ = node_objective(A, prod)
        f1, g1, _ = node_objective(A, kron)
        rel = max(abs(f1 - f0) / abs(f0), float(np.abs(g1 - g0).max() / np.abs(g0).max()))
        t_p, t_k = per_call_ms(lambda: node_objective(A, prod), 20), per_call_ms(lambda: node_objective(A, kron), 20)
        picks = "Kronecker" if NodeStats(*[getattr(prod, k) for k in ("counts", "means", "scatters", "prec", "m")]).kron \
            else "products"
        rows.append((G, t_p, t_k, build, rel, picks))
        print(f"G = {G}: products {t_p:.1f} ms, Kronecker {t_k:.1f} ms a call (its matrix built in {build:.2f} s); "
              f"relative difference {rel:.1e}; NodeStats picks {picks}", flush=True)
    st = node_stats(100, True)
    t = time.perf_counter()
    old = sum(np.kron(p, s) for p, s in zip(st.prec, st.scatters))
    t_old = time.perf_counter() - t
    t = time.perf_counter()
    new = st.K
    t_new = time.perf_counter() - t
    build_diff = float(np.abs(new - old).max() / np.abs(old).max())
    print(f"Kronecker matrix at G = 100: one product {t_new:.2f} s, sum of np.kron {t_old:.2f} s "
          f"({t_old / t_new:.0f}×; relative difference {build_diff:.1e})", flush=True)
    del old, new, st

    xn, source = patch_like(max(args.n, 20_000))
    x = torch.from_numpy(xn).to(torch.float64)
    model = DeepGMM(D, (5, 5, 200), init_data=x[:20_000], seed=0)
    x = x[:args.n]
    prev = estep.heuristic_e_step(model, x, seed=1)[0]
    floor = estep._MIN_ROWS
    times, out = {}, {}
    for _ in range(2):
        for rows_min in (1, floor):
            estep._MIN_ROWS = rows_min
            t = time.perf_counter()
            out[rows_min] = estep.heuristic_e_step(model, x, prev=prev, seed=5)
            times[rows_min] = min(times.get(rows_min, float("inf")), time.perf_counter() - t)
    estep._MIN_ROWS = floor
    same = bool(torch.equal(out[1][0], out[floor][0]))
    sdiff = float((out[1][1] - out[floor][1]).abs().max())
    print(f"E-step of (5, 5, 200) on {args.n:,} rows: floor {floor} {times[floor]:.2f} s, none {times[1]:.2f} s "
          f"({times[1] / times[floor]:.2f}×; same paths: {same}, scores within {sdiff:.1e})", flush=True)
    load1 = os.getloadavg()[0]
    if args.no_readme:
        return
    table = "\n".join(f"| {G} | {t_p:.1f} ms | {t_k:.1f} ms ({b:.2f} s to build) | {t_k / t_p:.1f}× | {rel:.0e} | {pk} |"
                      for G, t_p, t_k, b, rel, pk in rows)
    body = f"""
Two costs that grow with a layer's width (`benchmarks/bench_deepgmm_wide.py`; van den Oord & Schrauwen 2014,
eq. 13–14 and §3.3), each against its peer in the same run, float64, D = {D}.

**M-step, one node's objective and gradient** (`node_objective`) over G lower groups: the trace term as G small
matrix products (2·G·D³ flops) or as one D² × D² Kronecker matrix-vector product (126 MB read a call). Best of 3
averages of 20 calls; random SPD statistics of the real sizes.

| groups G | products | Kronecker | Kronecker / products | relative difference | `NodeStats` picks |
|---|---|---|---|---|---|
{table}

The Kronecker matrix itself, at G = 100: one product {t_new:.2f} s, the sum of `np.kron` it replaced
{t_old:.2f} s ({t_old / t_new:.0f}×). Before 2026-12-07 the form was picked at G > D/2: every top node of a
(10, 10, 100) net (G = 100) built its matrix by that sum and held it (12.6 GB for 100 nodes).

**E-step chunks** at a wide layer: the heuristic search of a (5, 5, 200) net (its k-means start) on {args.n:,}
rows of {source}, warm-started: chunks of at least {floor} points {times[floor]:.2f} s, the memory budget's
alone (20 points at the 200-option layer) {times[1]:.2f} s (**{times[1] / times[floor]:.2f}×**); the same
paths: {same}, scores within {sdiff:.1e}. Best of 2.

Command: `python benchmarks/bench_deepgmm_wide.py --threads {args.threads} --n {args.n}`
(CPU ({platform.machine()}), torch {torch.__version__}, numpy {np.__version__}, Python {platform.python_version()},
`nproc` = {os.cpu_count()}, {time.strftime('%Y-%m-%d')}; 1-min load average {load0:.1f} before / {load1:.1f} after).
"""
    update_section(TITLE, body)


if __name__ == "__main__":
    main()
