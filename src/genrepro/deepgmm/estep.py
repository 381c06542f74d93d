"""E-steps of the Deep GMM (van den Oord & Schrauwen 2014, §3.1 and §3.3).

* :func:`exact_e_step` scores every path for every point: soft responsibilities
  r_np ∝ π_p N(x_n; μ_p, Σ_p) or the hard best path (affordable for small nets only: the cost
  is n·P·D²).
* :func:`heuristic_e_step` is the paper's hard-EM search (§3.3): coordinate ascent over the
  layers — change one layer's choice with the others fixed and keep the best of its N_j
  options — run for one pass warm-started from each point's previous best path and for two
  passes from a random restart, keeping the better result. A pass costs Σ_j N_j path
  evaluations per point, so the search costs exactly 3·Σ_j N_j (the exact search ∏_j N_j).
  The count is returned and kept in ``model.evaluations``. Within a call, a point whose other
  layers have not changed since its layer j was last searched is not searched on j again: the
  candidates and their scores are the ones already compared, so its choice would not change
  (the paths are those of the full search; ``model.scored`` counts the evaluations made).

A path's score is log π_p + log N(x; μ_p, Σ_p) = log π_p − ½|W_p(x − μ_p)|² − ½ log det Σ_p
− (D/2) log 2π with W_p = L_p⁻¹ the inverse Cholesky factor (from triangular solves against
I in float64, then cast to the data's dtype). The search groups the points whose other
layers agree and scores all N_j candidates of a group with one matrix product, x·[W_q]ᵀ
— on this CPU a GEMM is 2.5× faster than the equivalent batched triangular solves. Works
unchanged on CUDA (all tensors live on the model's device).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from genrepro.deepgmm.model import _LOG2PI, DeepGMM

# Elements of the largest temporary (points·candidates·D). On the CPU a chunk the size of the
# L2 cache (1 MiB of float32) keeps the score's GEMM output in cache for the reduction that
# follows: with it (and the skip below, which saves ≈ 7%) the E-step of benchmarks/README.md
# fell from 8.3 s to 3.9 s against 64 MiB chunks. A GPU wants big ones.
_BUDGET = {"cpu": 1 << 18, "cuda": 1 << 24}


def _budget(device: torch.device) -> int:
    return _BUDGET.get(device.type, 1 << 24)


# Fewest points a chunk holds. At a wide layer the budget alone leaves a handful of points per
# chunk (N_j = 200, D = 63: 20), so the per-chunk overhead dominates. 128 points made the
# heuristic E-step of the published (5, 5, 200) protocol net 1.4–1.7× faster on the 2-core CPU
# (float64, one thread beside two training jobs, 50,000 BSDS300 training patches: 12.0–12.2 s
# against 16.8–20.6 s, 2 runs each; the same paths and scores). Layers of up to 32 options
# (D = 63) keep the budget's chunks.
_MIN_ROWS = 128


# all_scores (every path for every point; exact scoring of small nets) keeps 64 MiB chunks: with
# hundreds of paths a 1 MiB one would hold a single point.
_ALL_BUDGET = 1 << 24


def path_tables(model: DeepGMM, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """W_p = L_p⁻¹ (P, D, D), c_p = W_p μ_p (P, D) and the constant log π_p − ½ log det Σ_p −
    (D/2) log 2π (P,), so that score_p(x) = const_p − ½|W_p x − c_p|²."""
    L, mu, logdet = model.path_cholesky()
    L, mu = L.to(torch.float64), mu.to(torch.float64)
    eye = torch.eye(model.dim, device=L.device, dtype=torch.float64).expand_as(L)
    W = torch.linalg.solve_triangular(L, eye, upper=False)
    c = (W @ mu.unsqueeze(-1)).squeeze(-1)
    const = model.log_pi.reshape(-1).to(torch.float64) - 0.5 * logdet.to(torch.float64) \
        - 0.5 * model.dim * _LOG2PI
    return W.to(dtype), c.to(dtype), const.to(dtype)


def _score(x: torch.Tensor, W: torch.Tensor, c: torch.Tensor, const: torch.Tensor) -> torch.Tensor:
    """Scores (n, q) of points x (n, D) under q candidate paths (tables W, c, const)."""
    q, D = c.shape
    y = (x @ W.reshape(q * D, D).T).view(x.shape[0], q, D)
    return const - 0.5 * y.sub_(c).square_().sum(-1)


def all_scores(model: DeepGMM, x: torch.Tensor, tables=None) -> torch.Tensor:
    """log π_p + log N(x_n; μ_p, Σ_p) for every point and path, (n, P)."""
    W, c, const = tables if tables is not None else path_tables(model, x.dtype)
    P, D = c.shape
    n_chunk = max(1, _ALL_BUDGET // (P * D))
    p_chunk = max(1, _ALL_BUDGET // (min(n_chunk, x.shape[0]) * D))
    rows = []
    for s in range(0, x.shape[0], n_chunk):
        xs = x[s:s + n_chunk]
        rows.append(torch.cat([_score(xs, W[t:t + p_chunk], c[t:t + p_chunk], const[t:t + p_chunk])
                               for t in range(0, P, p_chunk)], 1))
    return torch.cat(rows, 0)


@torch.no_grad()
def exact_e_step(model: DeepGMM, x: torch.Tensor, soft: bool = False
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact E-step over all ∏N_j paths. Hard: (best flat path (n,), its score (n,)).
    Soft: (responsibilities (n, P), log p(x_n) (n,))."""
    s = all_scores(model, x)
    model.evaluations = model.n_paths
    if soft:
        lp = torch.logsumexp(s, 1)
        return (s - lp[:, None]).exp(), lp
    best, idx = s.max(1)
    return idx, best


def _layer_step(model: DeepGMM, x: torch.Tensor, choice: torch.Tensor, score: torch.Tensor,
                j: int, tables, rows: torch.Tensor | None = None) -> None:
    """One coordinate-ascent step on layer j, in place: for each point (of ``rows``, default
    all) try all N_j choices of layer j with its other layers fixed and keep the best (the
    current one included)."""
    W, c, const = tables
    nj, stride = model.layer_sizes[j], model.strides()[j]
    D = model.dim
    sub = choice if rows is None else choice[rows]
    rest = model.flat_index(sub) - sub[:, j] * stride
    order = torch.argsort(rest)
    keys, counts = torch.unique_consecutive(rest[order], return_counts=True)
    if rows is not None:
        order = rows[order]
    offs = torch.arange(nj, device=x.device) * stride
    chunk = max(_MIN_ROWS, _budget(x.device) // (nj * D))
    start = 0
    for key, cnt in zip(keys.tolist(), counts.tolist()):
        cand = key + offs
        Wq, cq, kq = W[cand], c[cand], const[cand]
        for s in range(start, start + cnt, chunk):
            idx = order[s:min(s + chunk, start + cnt)]
            best, arg = _score(x[idx], Wq, cq, kq).max(1)
            choice[idx, j] = arg
            score[idx] = best
        start += cnt


def coordinate_ascent(model: DeepGMM, x: torch.Tensor, choice: torch.Tensor, passes: int,
                      tables=None, trace: list | None = None) -> tuple[torch.Tensor, torch.Tensor, int]:
    """``passes`` sweeps of coordinate ascent over the layers (data side first) from the
    per-layer choices ``choice`` (n, k). Returns (choice, score, evaluations per point of the
    search); ``trace`` (a list) receives the mean score after each pass.

    From the second pass on, layer j is searched again only for the points whose choice at
    another layer changed since j was last searched (the others would keep their choice);
    ``model.scored`` is set to the evaluations made, per point."""
    tables = tables if tables is not None else path_tables(model, x.dtype)
    choice = choice.clone()
    n = x.shape[0]
    score = torch.full((n,), -math.inf, device=x.device, dtype=x.dtype)
    changed = torch.full((n,), -1, dtype=torch.long, device=x.device)   # layer step of the last change
    searched = [-1] * model.depth                                        # layer step of j's last search
    step, scored = 0, 0
    for _ in range(passes):
        for j in reversed(range(model.depth)):
            rows = None if searched[j] < 0 else torch.nonzero(changed > searched[j]).squeeze(1)
            before = choice[:, j].clone()
            _layer_step(model, x, choice, score, j, tables, rows)
            changed[choice[:, j] != before] = step
            searched[j] = step
            scored += model.layer_sizes[j] * (n if rows is None else len(rows))
            step += 1
        if trace is not None:
            trace.append(float(score.mean()))
    model.scored = scored / max(n, 1)
    return choice, score, passes * sum(model.layer_sizes)


def random_choice(model: DeepGMM, n: int, seed: int, offset: int = 0,
                  n_total: int | None = None) -> torch.Tensor:
    """Uniformly random per-layer choices (n, k) — the random restart.

    The draws are a function of (seed, global point index) only: with ``n_total`` (the size of
    the whole data set, default ``offset + n``) the choices of all ``n_total`` points are drawn
    (n_total·k small ints, cheap) and rows ``offset:offset + n`` returned, so a shard of the
    data gets exactly the restarts its points get in a single-process run (distributed EM,
    :mod:`genrepro.deepgmm.distributed`). ``offset=0, n_total=None`` is the original stream."""
    n_total = offset + n if n_total is None else int(n_total)
    if offset < 0 or offset + n > n_total:
        raise ValueError(f"rows {offset}:{offset + n} lie outside 0:{n_total}")
    g = torch.Generator()
    g.manual_seed(int(seed))
    cols = [torch.randint(0, nj, (n_total,), generator=g)[offset:offset + n]
            for nj in model.layer_sizes]
    return torch.stack(cols, 1).to(model.device)


@torch.no_grad()
def heuristic_e_step(model: DeepGMM, x: torch.Tensor, prev: torch.Tensor | None = None,
                     seed: int = 0, warm_passes: int = 1, restart_passes: int = 2,
                     offset: int = 0, n_total: int | None = None
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """The paper's hard-EM search (§3.3): ``warm_passes`` of coordinate ascent from ``prev``
    (flat paths (n,); a second random restart when None) and ``restart_passes`` from a random
    restart; each point keeps the better. Returns (flat paths, scores); sets
    ``model.evaluations`` = (warm_passes + restart_passes)·Σ_j N_j — or N for a one-layer net,
    where one pass is already exact.

    ``x`` may be a shard — rows ``offset:offset + n`` of a data set of ``n_total`` points: the
    random restarts then depend on (seed, global index) only (see :func:`random_choice`) and,
    the search being per point, the shard's paths are those of a single-process run."""
    tables = path_tables(model, x.dtype)
    n = x.shape[0]
    if model.depth == 1 and warm_passes + restart_passes > 0:
        # one layer (a GMM): a pass scores every component, so its choice is already the
        # exact best and further passes or restarts recompute the same scores — skip them
        # (same paths as the full search, 1/3 of its work; ``model.evaluations`` = N)
        zero = torch.zeros(n, 1, dtype=torch.long, device=x.device)
        choice, score, model.evaluations = coordinate_ascent(model, x, zero, 1, tables)
        return model.flat_index(choice), score
    start = (model.unflatten(prev.to(model.device).long()) if prev is not None
             else random_choice(model, n, seed + 7919, offset, n_total))
    c1, s1, e1 = coordinate_ascent(model, x, start, warm_passes, tables)
    scored = model.scored
    c2, s2, e2 = coordinate_ascent(model, x, random_choice(model, n, seed, offset, n_total),
                                   restart_passes, tables)
    model.scored += scored
    take = s2 > s1
    choice = torch.where(take[:, None], c2, c1)
    model.evaluations = e1 + e2
    return model.flat_index(choice), torch.where(take, s2, s1)


@torch.no_grad()
def heuristic_trace(model: DeepGMM, x: torch.Tensor, passes: int = 5, restarts: int = 5,
                    restart_passes: int = 2, seed: int = 0, exact_limit: float = 5e7
                    ) -> dict[str, np.ndarray | float | None]:
    """What the paper's Figure 2 plots: the mean best-path log-likelihood (log π_p + log N)
    found by coordinate ascent after each of ``passes`` passes from one random start
    (``"passes"``), and the best over 1..``restarts`` random restarts of ``restart_passes``
    passes each (``"restarts"``); ``"exact"`` is the true best (all paths) when n·P·D ≤
    ``exact_limit``, else None."""
    x = model._check(x)
    tables = path_tables(model, x.dtype)
    by_pass: list[float] = []
    coordinate_ascent(model, x, random_choice(model, x.shape[0], seed), passes, tables, by_pass)
    best = torch.full((x.shape[0],), -math.inf, device=x.device, dtype=x.dtype)
    by_restart = []
    for r in range(restarts):
        _, s, _ = coordinate_ascent(model, x, random_choice(model, x.shape[0], seed + 1 + r),
                                    restart_passes, tables)
        best = torch.maximum(best, s)
        by_restart.append(float(best.mean()))
    exact = None
    if x.shape[0] * model.n_paths * model.dim <= exact_limit:
        exact = float(exact_e_step(model, x)[1].mean())
    return {"passes": np.array(by_pass), "restarts": np.array(by_restart), "exact": exact,
            "evaluations_per_pass": sum(model.layer_sizes)}
