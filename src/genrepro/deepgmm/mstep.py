"""The M-step of the Deep GMM from sufficient statistics (van den Oord & Schrauwen 2014, §3.2).

π_p = N_p/N (per layer, π_{j,i} = N_{j,i}/N, when factorised). Then, layer by layer from the
top (data side) down, every node (j, i) maximises the expected log-likelihood of the points
routed through it with all other layers fixed. A path through the node reads
x = L_h(A y + b) + c_h, where y = M_g z + m_g comes from the layers below (mean m_g,
covariance S_g = M_g M_gᵀ; g = the choices below j) and L_h, c_h from the layers above
(h = the choices above j). Points mapped back through the fixed layers above,
u = L_h⁻¹(x − c_h), are N(A m_g + b, A S_g Aᵀ), so the node minimises

    f(A, b) = Σ_g N_g log|det A| + ½ Σ_g tr(S_g⁻¹ B G_g Bᵀ) + const,      B = A⁻¹,
    G_g = Γ_g + N_g e_g e_gᵀ,   e_g = ū_g − A m_g − b,

which needs only each group's count N_g, mean ū_g and scatter Γ_g (paths with the same g
pooled): no per-point work inside the optimiser (the paper's Kronecker form, eq. 13–14:
Σ_g tr(S_g⁻¹ B Γ_g Bᵀ) = vec(B)ᵀ(Σ_g S_g⁻¹ ⊗ Γ_g)vec(B), used when there are many groups).
Closed forms (derived here, checked against autograd in tests/test_deepgmm.py):

    b*(A) = A β,  β = (Σ_g N_g S_g⁻¹)⁻¹ Σ_g N_g S_g⁻¹ (B ū_g − m_g)
    ∇_A f = Bᵀ(N I − Q Bᵀ − U),   Q = Σ_g S_g⁻¹ B Γ_g,
            U = Σ_g N_g S_g⁻¹ d_g (d_g + m_g)ᵀ,   d_g = B e_g,

and by the envelope theorem ∇_A f(A, b*(A)) is the same expression at b = b*(A), so L-BFGS
(scipy ``L-BFGS-B``, the paper's optimiser) runs over A alone. Layer 0 (S = I, m = 0, one
group) has the exact optimum b = ū, A = chol(Γ/N). Per-path data statistics are mapped to
any layer's u-space by the affine maps of the layers above (ū = L⁻¹(x̄ − c),
Γᵘ = L⁻¹ΓˣL⁻ᵀ), so the whole M-step costs O(P·D³ + L-BFGS) whatever the number of points.

Empty nodes/paths: a node that receives no points keeps its A and b (sklearn instead resets
an empty component's mean to the responsibility-weighted mean of its ≈0 responsibilities and
its covariance to ``reg_covar``·I, with weight ≈ 10·eps/N); its paths get π_p = 0 (log π =
−inf, never chosen again by hard-EM, skipped by ``log_prob``). A node whose optimisation
fails (non-finite value, no improvement, singular Γ/N at layer 0) keeps its A and only moves
b to b*(A), which never lowers the objective. ``reg`` (model attribute, 0 by default) adds
N_p·reg·I to each path's data-space scatter — sklearn's ``reg_covar`` for one layer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.linalg import cho_factor, cho_solve, lu_factor, lu_solve
from scipy.optimize import minimize

from genrepro.deepgmm.model import _LOG2PI, DeepGMM


@dataclass
class PathStats:
    """Per-path data-space statistics: counts (P,), means (P, D), scatters (P, D, D)."""

    counts: torch.Tensor
    means: torch.Tensor
    scatters: torch.Tensor

    @property
    def total(self) -> float:
        return float(self.counts.sum())


def combine_stats(parts: Sequence[PathStats]) -> PathStats:
    """Exact combination of the statistics of disjoint sets of points, in the given order, in
    float64 — the parallel formula of Chan, Golub & LeVeque (1979), no raw moments formed::

        N = Σ_r N_r,   x̄ = Σ_r N_r x̄_r / N,   Γ = Σ_r Γ_r + Σ_r N_r (x̄_r − x̄)(x̄_r − x̄)ᵀ

    (per path; a path without points gets mean 0 and scatter 0, as in :func:`hard_stats`).
    One part is returned unchanged. Used for chunked statistics (``chunk``) and for
    distributed EM (:mod:`genrepro.deepgmm.distributed`)."""
    if len(parts) == 1:
        return parts[0]
    f64 = torch.float64
    counts = torch.zeros_like(parts[0].counts, dtype=f64)
    wsum = torch.zeros_like(parts[0].means, dtype=f64)
    for s in parts:
        counts = counts + s.counts.to(f64)
        wsum = wsum + s.counts.to(f64)[:, None] * s.means.to(f64)
    mean = torch.where(counts[:, None] > 0, wsum / counts.clamp_min(1e-300)[:, None],
                       torch.zeros_like(wsum))
    scat = torch.zeros_like(parts[0].scatters, dtype=f64)
    for s in parts:
        d = s.means.to(f64) - mean
        scat = scat + s.scatters.to(f64) + s.counts.to(f64)[:, None, None] * (d[:, :, None] * d[:, None, :])
    return PathStats(counts, mean, scat)


def fold_stats(acc: PathStats | None, parts: Sequence[PathStats]) -> PathStats | None:
    """Left fold acc ⊕ parts[0] ⊕ parts[1] ⊕ … with ⊕ = :func:`combine_stats` of two (``acc``
    None: start from parts[0]). Chunked statistics are this fold over consecutive chunks, so
    splitting the chunks between workers at chunk boundaries gives the same bits."""
    for s in parts:
        acc = s if acc is None else combine_stats([acc, s])
    return acc


def _chunked(fn, x: torch.Tensor, other: torch.Tensor, chunk: int | None, *args) -> PathStats:
    if chunk is None or x.shape[0] <= chunk:
        return fn(x, other, *args)
    if chunk < 1:
        raise ValueError(f"chunk must be ≥ 1, got {chunk}")
    return fold_stats(None, [fn(x[s:s + chunk], other[s:s + chunk], *args)
                             for s in range(0, x.shape[0], chunk)])


def hard_stats(x: torch.Tensor, paths: torch.Tensor, n_paths: int, chunk: int | None = None
               ) -> PathStats:
    """Statistics of a hard assignment (flat paths (n,)), centred per path, in float64.
    ``chunk``: computed per block of ``chunk`` consecutive points and folded in order
    (:func:`fold_stats`) — equal up to rounding, and reproducible bit for bit by distributed
    EM whose shards start at multiples of ``chunk``."""
    return _chunked(_hard_stats, x, paths, chunk, n_paths)


def _hard_stats(x: torch.Tensor, paths: torch.Tensor, n_paths: int) -> PathStats:
    D = x.shape[1]
    counts = torch.bincount(paths, minlength=n_paths).to(torch.float64)
    means = torch.zeros(n_paths, D, dtype=torch.float64, device=x.device)
    scat = torch.zeros(n_paths, D, D, dtype=torch.float64, device=x.device)
    order = torch.argsort(paths)
    start = 0
    for p, cnt in enumerate(counts.long().tolist()):
        if cnt:
            xs = x[order[start:start + cnt]].to(torch.float64)
            means[p] = xs.mean(0)
            xs = xs - means[p]
            scat[p] = xs.T @ xs
            start += cnt
    return PathStats(counts.cpu(), means.cpu(), scat.cpu())


def soft_stats(x: torch.Tensor, resp: torch.Tensor, chunk: int | None = None) -> PathStats:
    """Responsibility-weighted statistics (soft EM), resp (n, P); ``chunk`` as in
    :func:`hard_stats`."""
    return _chunked(_soft_stats, x, resp, chunk)


SOFT_FLOOR = 1e-10   # responsibilities below this are left out of the scatters


def _soft_stats(x: torch.Tensor, resp: torch.Tensor) -> PathStats:
    """Counts and means from every responsibility; each path's scatter Γ_p only from the
    points with r_np > :data:`SOFT_FLOOR` — the rest weigh less than n·1e-10 points in all,
    below the rounding of the float32 scores the responsibilities come from — so the cost
    is the points a path actually explains, not n per path (100× less for a 200-component
    GMM on BSDS300 patches)."""
    x, r64 = x.to(torch.float64), resp.to(torch.float64)
    counts = r64.sum(0)
    means = (r64.T @ x) / counts.clamp_min(1e-300)[:, None]
    scat = torch.zeros(resp.shape[1], x.shape[1], x.shape[1], dtype=torch.float64, device=x.device)
    for p in range(resp.shape[1]):
        idx = (resp[:, p] > SOFT_FLOOR).nonzero().squeeze(1)
        if len(idx):
            xs = x[idx] - means[p]
            scat[p] = (xs * r64[idx, p, None]).T @ xs
    return PathStats(counts.cpu(), means.cpu(), scat.cpu())


@dataclass
class NodeStats:
    """One node's pooled statistics in its u-space: per lower group g the count N_g, mean ū_g,
    scatter Γ_g, lower precision S_g⁻¹ and lower mean m_g; ``const`` completes f to −Σ log p."""

    counts: np.ndarray
    means: np.ndarray
    scatters: np.ndarray
    prec: np.ndarray
    m: np.ndarray
    const: float = 0.0
    kron: bool | None = None        # None: Kronecker form when it is cheaper (G > 4D)
    _K: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.N = float(self.counts.sum())
        self.Kc = cho_factor(np.einsum("g,gab->ab", self.counts, self.prec))
        G, D = self.means.shape
        if self.kron is None:
            # Σ_g S_g⁻¹ B Γ_g costs 2·G·D³ flops as G small matrix products, the Kronecker form a
            # D² × D² matrix-vector product (memory-bound: 126 MB a call at D = 63). Measured per
            # call on the 2-core CPU (numpy, one thread, beside two training jobs), D = 63: at 40
            # and 100 groups the products took 2–7 ms against 10–20 ms, and the two met between
            # 250 and 500 groups. (The rule was G > D/2 before 2026-12-07: every node of a
            # (10, 10, 100) net's top layer took the slower form and built a 126 MB matrix.)
            self.kron = G > 4 * D and D ** 4 * 8 <= 2 ** 29

    @property
    def K(self) -> np.ndarray:
        """Σ_g S_g⁻¹ ⊗ Γ_g (D² × D², the Kronecker form of eq. 13–14's trace term), built on
        first use and kept while the node is optimised: a layer builds its nodes' statistics
        together and optimises them one at a time, and :func:`_m_step` lets each node go once it
        is done, so one node's matrix is held at a time (at D = 63 it is 126 MB; the 100 top
        nodes of a (10, 10, 100) net held 12.6 GB when every node built its own up front)."""
        if self._K is None:   # one product, K[(a,c),(b,d)] = Σ_g P_g[a,b] Γ_g[c,d] (12× faster than Σ np.kron)
            G, D = self.means.shape
            K = self.prec.reshape(G, D * D).T @ self.scatters.reshape(G, D * D)
            self._K = np.ascontiguousarray(K.reshape(D, D, D, D).transpose(0, 2, 1, 3)).reshape(D * D, D * D)
        return self._K


def node_objective(A: np.ndarray, st: NodeStats, b: np.ndarray | None = None
                   ) -> tuple[float, np.ndarray, np.ndarray]:
    """f(A, b) (−log-likelihood of the node's points, eq. 13–14), ∇_A f, and the bias used:
    b*(A) when ``b`` is None (then ∇_A is the gradient of the profiled objective)."""
    D = A.shape[0]
    try:
        lu, piv = lu_factor(A, check_finite=False)
    except ValueError:
        return math.inf, np.zeros_like(A), np.zeros(D)
    diag = np.abs(np.diag(lu))
    if not np.all(np.isfinite(diag)) or np.any(diag == 0):
        return math.inf, np.zeros_like(A), np.zeros(D)
    B = lu_solve((lu, piv), np.eye(D), check_finite=False)
    N, P, m = st.counts, st.prec, st.m
    Bu = st.means @ B.T
    if b is None:
        beta = cho_solve(st.Kc, np.einsum("g,gab,gb->a", N, P, Bu - m))
        b = A @ beta
    else:
        beta = B @ b
    d = Bu - m - beta
    Pd = np.einsum("gab,gb->ga", P, d)
    if st.kron:
        Q = (st.K @ B.ravel()).reshape(D, D)
    else:
        Q = np.matmul(np.matmul(P, B), st.scatters).sum(0)
    f = st.N * np.log(diag).sum() + 0.5 * np.sum(Q * B) + 0.5 * np.sum(N * (d * Pd).sum(1)) + st.const
    UV = (N[:, None] * Pd).T @ (d + m)                 # U + V = Σ_g N_g S_g⁻¹ d_g (d_g + m_g)ᵀ
    grad = B.T @ (st.N * np.eye(D) - Q @ B.T - UV)
    return float(f), grad, b


def optimise_node(A0: np.ndarray, st: NodeStats, maxiter: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """Minimise f over A with L-BFGS-B from A0 (b profiled out), in the coordinates A = A0·T
    (T starts at I): a linear change of variables that whitens the node's data by its current
    transform, so the problem L-BFGS sees is better conditioned (on 50,000 patch-like rows
    20–50 % fewer iterations than optimising A directly). Falls back to A0 (with b*(A0))
    when the result is not finite or not better."""
    f0, _, b0 = node_objective(A0, st)
    D, N = A0.shape[0], st.N

    def fun(t: np.ndarray) -> tuple[float, np.ndarray]:
        f, g, _ = node_objective(A0 @ t.reshape(D, D), st)
        if not math.isfinite(f):
            return 1e300, np.zeros(D * D)
        return f / N, (A0.T @ g).ravel() / N          # ∇_T f(A0 T) = A0ᵀ ∇_A f

    res = minimize(fun, np.eye(D).ravel(), jac=True, method="L-BFGS-B",
                   options={"maxiter": maxiter})
    A1 = A0 @ res.x.reshape(D, D)
    f1, _, b1 = node_objective(A1, st)
    info = {"nit": int(res.nit), "f0": f0, "f1": f1}
    if not (math.isfinite(f1) and f1 <= f0):
        return A0, b0, {**info, "kept": True}
    return A1, b1, {**info, "kept": False}


def upper_transforms(model: DeepGMM, j: int) -> tuple[torch.Tensor, torch.Tensor]:
    """L_h (H, D, D), c_h (H, D) of the layers above j (row-major over their choices):
    x = L_h w + c_h for w the output of layer j."""
    D = model.dim
    L = torch.eye(D, dtype=torch.float64).unsqueeze(0)
    c = torch.zeros(1, D, dtype=torch.float64)
    for l in range(model.depth - 1, j, -1):
        A, b = model.A[l].cpu().to(torch.float64), model.b[l].cpu().to(torch.float64)
        L_new = torch.matmul(L.unsqueeze(0), A.unsqueeze(1))             # (N_l, H, D, D)
        c_new = torch.einsum("hab,ib->iha", L, b) + c.unsqueeze(0)
        L, c = L_new.reshape(-1, D, D), c_new.reshape(-1, D)
    return L, c


def layer_node_stats(model: DeepGMM, stats: PathStats, j: int,
                     kron: bool | None = None) -> list[NodeStats | None]:
    """NodeStats of every node of layer j (None for a node without points)."""
    D, nj = model.dim, model.layer_sizes[j]
    M, mlow = model.path_transforms(upto=j)
    M, mlow = M.cpu().to(torch.float64), mlow.cpu().to(torch.float64)
    L, c = upper_transforms(model, j)
    G, H = M.shape[0], L.shape[0]
    cnt = stats.counts.reshape(G, nj, H)
    xbar = stats.means.reshape(G, nj, H, D)
    scat = stats.scatters.reshape(G, nj, H, D, D).clone()
    if model.reg > 0:
        scat += model.reg * cnt[..., None, None] * torch.eye(D, dtype=torch.float64)
    ubar = torch.linalg.solve(L, (xbar - c).unsqueeze(-1)).squeeze(-1)   # (G, nj, H, D)
    t = torch.linalg.solve(L, scat)
    su = torch.linalg.solve(L, t.mT)                                     # L⁻¹ Γ L⁻ᵀ
    logdetL = torch.linalg.slogdet(L)[1]                                 # (H,)
    Sg = M @ M.mT
    prec = torch.cholesky_inverse(torch.linalg.cholesky(Sg))
    logdetS = torch.linalg.slogdet(Sg)[1]
    Ng = cnt.sum(2)                                                      # (G, nj)
    mean_g = (cnt[..., None] * ubar).sum(2) / Ng.clamp_min(1e-300)[..., None]
    dev = ubar - mean_g.unsqueeze(2)
    scat_g = su.sum(2) + torch.einsum("gih,giha,gihb->giab", cnt, dev, dev)
    out: list[NodeStats | None] = []
    for i in range(nj):
        live = torch.nonzero(Ng[:, i] > 0).squeeze(1)
        if live.numel() == 0:
            out.append(None)
            continue
        n_i = Ng[live, i]
        const = float((cnt[live, i] * logdetL).sum() + 0.5 * (n_i * logdetS[live]).sum()
                      + 0.5 * n_i.sum() * D * _LOG2PI)
        out.append(NodeStats(n_i.numpy(), mean_g[live, i].numpy(), scat_g[live, i].numpy(),
                             prec[live].numpy(), mlow[live].numpy(), const, kron))
    return out


class SingularModelError(ValueError):
    """A path's covariance became singular (too few points for its dimension, reg = 0)."""


def m_step(model: DeepGMM, stats: PathStats, maxiter: int = 1000, kron: bool | None = None
           ) -> dict:
    """π from the counts, then every node layer by layer from the top (data side) down.
    Returns {"nit": L-BFGS iterations per layer, "kept": nodes that kept their parameters,
    "empty": nodes without points}. Raises :class:`SingularModelError` (a ValueError naming
    the fix) when a covariance becomes singular, which hard-EM can do with ``reg = 0`` when a
    path holds fewer points than dimensions."""
    try:
        return _m_step(model, stats, maxiter, kron)
    except torch.linalg.LinAlgError as e:
        raise SingularModelError(
            f"a path covariance became singular in the M-step ({e}); the smallest path holds "
            f"{int(stats.counts[stats.counts > 0].min())} points in {model.dim} dimensions. "
            "Use DeepGMM(..., reg=1e-6) (a covariance floor, as scikit-learn's reg_covar), more "
            "data, or fewer components.") from e


def set_pi(model: DeepGMM, counts: torch.Tensor) -> None:
    """π_p = N_p / N from per-path counts (or, factorised, each layer's marginal counts)."""
    cnt = counts.to(torch.float64).reshape(model.layer_sizes)
    N = cnt.sum()
    if model.factorised:
        for j in range(model.depth):
            dims = tuple(l for l in range(model.depth) if l != j)
            marg = cnt.sum(dims) if dims else cnt
            model.log_pi_layers[j] = (marg / N).log().to(model.device, model.dtype)
    else:
        model._log_pi = (cnt / N).log().to(model.device, model.dtype)


def _m_step(model: DeepGMM, stats: PathStats, maxiter: int, kron: bool | None) -> dict:
    set_pi(model, stats.counts)
    info: dict = {"nit": [], "kept": 0, "empty": 0}
    for j in reversed(range(model.depth)):
        nodes = layer_node_stats(model, stats, j, kron)
        A_new, b_new = model.A[j].clone(), model.b[j].clone()
        nit = 0
        for i, st in enumerate(nodes):
            if st is None:
                info["empty"] += 1
                continue
            A0 = model.A[j][i].cpu().to(torch.float64).numpy()
            if j == 0:
                A1, b1, kept = _closed_form(A0, st)
            else:
                A1, b1, r = optimise_node(A0, st, maxiter)
                nit, kept = nit + r["nit"], r["kept"]
            info["kept"] += int(kept)
            nodes[i] = st = None              # done: frees its Kronecker matrix (NodeStats.K)
            A_new[i] = torch.from_numpy(np.ascontiguousarray(A1)).to(A_new)
            b_new[i] = torch.from_numpy(np.ascontiguousarray(b1)).to(b_new)
        model.A[j], model.b[j] = A_new, b_new
        info["nit"].insert(0, nit)
    return info


def _closed_form(A0: np.ndarray, st: NodeStats) -> tuple[np.ndarray, np.ndarray, bool]:
    """Layer 0 (S = I, m = 0, one group): b = ū, A = chol(Γ/N) — the exact maximiser."""
    b = st.means[0].copy()
    try:
        return np.linalg.cholesky(st.scatters[0] / st.N), b, False
    except np.linalg.LinAlgError:
        return A0, b, True
