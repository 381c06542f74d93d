"""The Deep Gaussian Mixture Model of van den Oord & Schrauwen (NIPS 2014), §2–3.

A Deep GMM has layers j = 0..k−1 (the paper's 1..k); layer j holds N_j square transforms
A_{j,i} (D×D) and biases b_{j,i}. A sample draws z ~ N(0, I_D), a path p = (i_0, …, i_{k−1})
with probability π_p, and applies layer 0 first (eq. 1–3)::

    x = A_{k−1,i_{k−1}}(… A_{1,i_1}(A_{0,i_0} z + b_{0,i_0}) + b_{1,i_1} …) + b_{k−1,i_{k−1}}

so path p is the Gaussian N(μ_p, A_p A_pᵀ) with A_p = A_{k−1,i_{k−1}}⋯A_{0,i_0}, and the model
is a GMM with ∏N_j components that share parameters (§2, eq. 4). Paths are numbered in
row-major order of ``layer_sizes`` (layer 0 is the slowest axis), so ``log_pi`` has shape
``tuple(layer_sizes)`` and ``log_pi.reshape(-1)[p]`` is the weight of flat path p.

Numerics: each path's covariance is factored without forming A_p A_pᵀ — a QR of A_pᵀ gives
A_pᵀ = QR, hence Σ_p = RᵀR and L_p = Rᵀ (signs fixed so diag(L_p) > 0) is its Cholesky factor.
:meth:`DeepGMM.log_prob` then needs only triangular solves against L_p and log-sum-exps, in
chunks of points and of paths, so memory stays bounded for any number of points.

Initialisation (``init_data`` given; our choice, the paper does not state one): the last
layer (data side) is a k-means fit of the data (sklearn ``KMeans``, ≤ ``init_max`` points):
b = centroid, A = Cholesky factor of the cluster covariance (+ 1e-6·tr/D ridge). Every
lower layer starts near the identity — A = R·diag(exp(s)) with R a small random rotation
(expm of a skew matrix with entries ~ N(0, init_scale²/D)) and s ~ N(0, init_scale²) — with
biases ~ N(0, init_scale²) in the whitened space those layers act in, so the paths below
one top node start as slightly different copies of its Gaussian and hard-EM separates
them. Without data: A = I and b ~ N(0, I) in the last layer. π starts uniform.

This module imports none of the algorithms: fitting is :func:`genrepro.deepgmm.fit.fit` /
:func:`~genrepro.deepgmm.fit.fit_sgd`, the E-steps and Figure 2's trace are in
:mod:`genrepro.deepgmm.estep`, all functions of a :class:`DeepGMM`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

_LOG2PI = math.log(2 * math.pi)


def _as_generator(seed: int) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(int(seed))
    return g


class DeepGMM:
    """A Deep GMM (van den Oord & Schrauwen 2014) with parameters as float64 torch tensors.

    ``A[j]`` has shape (N_j, D, D), ``b[j]`` (N_j, D); ``log_pi`` (shape ``layer_sizes``)
    holds the joint path log-probabilities. With ``factorised=True`` the model keeps one
    log-probability vector per layer (π_p = ∏_j π_{j,i_j}) and ``log_pi`` is their outer sum.
    ``reg`` adds reg·I to every path's data-space scatter in the M-step (like sklearn's
    ``reg_covar``; 0 by default). A node that receives no points keeps its A and b and its
    paths get π_p = 0 (see :mod:`genrepro.deepgmm.mstep`). Fitting lives in
    :mod:`genrepro.deepgmm.fit` (``fit``, ``fit_sgd``) and :mod:`genrepro.deepgmm.estep`.
    """

    def __init__(self, dim: int, layer_sizes: Sequence[int], seed: int = 0,
                 init_data: torch.Tensor | np.ndarray | None = None, factorised: bool = False,
                 reg: float = 0.0, init_scale: float = 0.1, init_max: int = 20_000,
                 device: torch.device | str = "cpu", dtype: torch.dtype = torch.float64):
        if dim < 1 or not layer_sizes or any(int(n) < 1 for n in layer_sizes):
            raise ValueError(f"need dim ≥ 1 and layer sizes ≥ 1, got {dim}, {list(layer_sizes)}")
        if reg < 0:
            raise ValueError(f"reg must be ≥ 0, got {reg}")
        self.dim, self.layer_sizes = int(dim), tuple(int(n) for n in layer_sizes)
        self.factorised, self.reg = bool(factorised), float(reg)
        self.device, self.dtype = torch.device(device), dtype
        self.seed = int(seed)
        self.history: list[dict] = []
        self.evaluations = 0            # path evaluations (per point) of the last E-step
        self.scored = 0.0               # of which made (the rest skipped as unchanged; estep.py)
        self._paths: torch.Tensor | None = None   # hard assignment of the last fitted data
        g = _as_generator(seed)
        D, k = self.dim, self.depth
        self.A: list[torch.Tensor] = []
        self.b: list[torch.Tensor] = []
        for j, n in enumerate(self.layer_sizes):
            if j < k - 1:
                self.A.append(_near_identity(n, D, init_scale, g))
                self.b.append(init_scale * torch.randn(n, D, generator=g, dtype=torch.float64))
            else:
                self.A.append(torch.eye(D, dtype=torch.float64).repeat(n, 1, 1))
                self.b.append(torch.randn(n, D, generator=g, dtype=torch.float64))
        if init_data is not None:
            x = self._check(init_data, min_points=self.layer_sizes[-1])
            self._init_top_from_data(x, init_max, g)
        self.A = [a.to(self.device, dtype) for a in self.A]
        self.b = [v.to(self.device, dtype) for v in self.b]
        if self.factorised:
            self.log_pi_layers = [torch.full((n,), -math.log(n), device=self.device, dtype=dtype)
                                  for n in self.layer_sizes]
        else:
            self._log_pi = torch.full(self.layer_sizes, -math.log(self.n_paths),
                                      device=self.device, dtype=dtype)

    # -- structure -----------------------------------------------------------------------
    @property
    def depth(self) -> int:
        return len(self.layer_sizes)

    @property
    def n_paths(self) -> int:
        return math.prod(self.layer_sizes)

    def strides(self) -> list[int]:
        """Flat path index = Σ_j i_j·stride_j (row-major over ``layer_sizes``)."""
        return [math.prod(self.layer_sizes[j + 1:]) for j in range(self.depth)]

    def flat_index(self, paths: torch.Tensor) -> torch.Tensor:
        """(n, k) per-layer choices → (n,) flat path indices."""
        s = torch.tensor(self.strides(), device=paths.device, dtype=torch.long)
        return (paths.long() * s).sum(-1)

    def unflatten(self, flat: torch.Tensor) -> torch.Tensor:
        """(n,) flat path indices → (n, k) per-layer choices."""
        out = [(flat // s) % n for s, n in zip(self.strides(), self.layer_sizes)]
        return torch.stack(out, -1)

    @property
    def log_pi(self) -> torch.Tensor:
        """Joint path log-probabilities, shape ``layer_sizes`` (outer sum if factorised)."""
        if not self.factorised:
            return self._log_pi
        out = torch.zeros((), device=self.device, dtype=self.dtype)
        for j, lp in enumerate(self.log_pi_layers):
            out = out.unsqueeze(-1) + lp.view(*([1] * j), -1)
        return out

    @log_pi.setter
    def log_pi(self, value: torch.Tensor) -> None:
        if self.factorised:
            raise AttributeError("a factorised model keeps log_pi_layers; set those instead")
        value = torch.as_tensor(value, device=self.device, dtype=self.dtype).reshape(self.layer_sizes)
        self._log_pi = value - torch.logsumexp(value.reshape(-1), 0)

    # -- the equivalent flat GMM (eq. 4) ---------------------------------------------------
    def path_transforms(self, upto: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """A_p (P, D, D) and μ_p (P, D) of every path through layers 0..upto−1 (all by
        default), in row-major order; layer 0 is applied first (eq. 1–3)."""
        upto = self.depth if upto is None else upto
        return compose(self.A[:upto], self.b[:upto], self.dim, self.A[0])

    def path_cholesky(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(L_p, μ_p, log det Σ_p): Σ_p = A_p A_pᵀ = L_p L_pᵀ via a QR of A_pᵀ (no A Aᵀ formed)."""
        M, mu = self.path_transforms()
        R = torch.linalg.qr(M.mT.to(torch.float64), mode="r")[1]
        sign = torch.sign(torch.diagonal(R, dim1=-2, dim2=-1))
        sign = torch.where(sign == 0, torch.ones_like(sign), sign)
        L = (R * sign.unsqueeze(-1)).mT                      # rows of R scaled: L = Rᵀ diag(s)
        logdet = 2 * torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(-1)
        return L.to(self.dtype), mu, logdet.to(self.dtype)

    def to_gmm(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(weights (P,), means (P, D), covariances (P, D, D)) of the equivalent flat GMM."""
        M, mu = self.path_transforms()
        return self.log_pi.reshape(-1).exp(), mu, M @ M.mT

    # -- likelihoods -----------------------------------------------------------------------
    def _check(self, x: torch.Tensor | np.ndarray, min_points: int = 1) -> torch.Tensor:
        x = torch.as_tensor(x)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"expected data of shape (n, {self.dim}), got {tuple(x.shape)}")
        if not x.is_floating_point():
            x = x.to(torch.float64)
        if x.shape[0] < min_points:
            raise ValueError(f"need at least {min_points} points (no fewer points than "
                             f"components), got {x.shape[0]}")
        if not bool(torch.isfinite(x).all()):
            raise ValueError("data contain NaN or infinite values")
        return x.to(self.device)

    def path_log_likelihoods(self, x: torch.Tensor | np.ndarray, paths: torch.Tensor | None = None,
                             chunk: int = 4096) -> torch.Tensor:
        """log N(x_n; μ_p, Σ_p) (π not included). ``paths=None``: all paths, shape (n, P);
        ``paths`` (n,) flat or (n, k) per-layer: each point's own path, shape (n,)."""
        x = self._check(x)
        L, mu, logdet = self.path_cholesky()
        L, mu, logdet = L.to(x.dtype), mu.to(x.dtype), logdet.to(x.dtype)
        if paths is None:
            return torch.cat([self._all_paths_ll(x[s:s + chunk], L, mu, logdet)
                              for s in range(0, x.shape[0], chunk)], 0)
        paths = torch.as_tensor(paths, device=self.device)
        flat = self.flat_index(paths) if paths.ndim == 2 else paths.long()
        if flat.shape[0] != x.shape[0]:
            raise ValueError("need one path per point")
        out = torch.empty(x.shape[0], device=self.device, dtype=x.dtype)
        for p in torch.unique(flat).tolist():
            idx = torch.nonzero(flat == p).squeeze(1)
            r = torch.linalg.solve_triangular(L[p], (x[idx] - mu[p]).T, upper=False)
            out[idx] = -0.5 * (r.square().sum(0) + logdet[p] + self.dim * _LOG2PI)
        return out

    def _all_paths_ll(self, x: torch.Tensor, L: torch.Tensor, mu: torch.Tensor,
                      logdet: torch.Tensor, budget: int = 1 << 24) -> torch.Tensor:
        n, D = x.shape
        pc = max(1, budget // max(1, n * D))
        cols = []
        for s in range(0, L.shape[0], pc):
            r = (x.T.unsqueeze(0) - mu[s:s + pc].unsqueeze(-1))            # (pc, D, n)
            r = torch.linalg.solve_triangular(L[s:s + pc], r, upper=False)
            cols.append(-0.5 * (r.square().sum(1) + logdet[s:s + pc, None] + D * _LOG2PI))
        return torch.cat(cols, 0).T

    def log_prob(self, x: torch.Tensor | np.ndarray, chunk: int = 4096) -> torch.Tensor:
        """Exact log p(x_n) = log Σ_p π_p N(x_n; μ_p, Σ_p) over all paths (eq. 4), (n,)."""
        x = self._check(x)
        L, mu, logdet = (t.to(x.dtype) for t in self.path_cholesky())
        lp = self.log_pi.reshape(-1).to(x.dtype)
        live = torch.nonzero(lp > -math.inf).squeeze(1)      # paths with π_p = 0 add nothing
        L, mu, logdet, lp = L[live], mu[live], logdet[live], lp[live]
        out = []
        for s in range(0, x.shape[0], chunk):
            ll = self._all_paths_ll(x[s:s + chunk], L, mu, logdet)
            out.append(torch.logsumexp(ll + lp, 1))
        return torch.cat(out, 0)

    def score(self, x: torch.Tensor | np.ndarray) -> float:
        """Mean exact log-likelihood per point (nats)."""
        return float(self.log_prob(x).mean())

    # -- sampling --------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """n samples (n, D) and their flat paths (n,): z ~ N(0, I), p ~ π, x = A_p z + μ_p."""
        g = _as_generator(seed)
        w = self.log_pi.reshape(-1).exp().to(torch.float64).cpu()
        paths = torch.multinomial(w, n, replacement=True, generator=g)
        z = torch.randn(n, self.dim, generator=g, dtype=torch.float64).to(self.device, self.dtype)
        paths = paths.to(self.device)
        per_layer = self.unflatten(paths)
        x = z
        for j in range(self.depth):
            out = torch.empty_like(x)
            for i in range(self.layer_sizes[j]):
                idx = torch.nonzero(per_layer[:, j] == i).squeeze(1)
                out[idx] = x[idx] @ self.A[j][i].T + self.b[j][i]
            x = out
        return x, paths

    # -- initialisation --------------------------------------------------------------------
    def _init_top_from_data(self, x: torch.Tensor, init_max: int, g: torch.Generator) -> None:
        from sklearn.cluster import KMeans
        xs = x.detach().cpu().to(torch.float64)
        if xs.shape[0] > init_max:
            xs = xs[torch.randperm(xs.shape[0], generator=g)[:init_max]]
        xs = xs.numpy()
        n_top, D = self.layer_sizes[-1], self.dim
        km = KMeans(n_top, n_init=1, random_state=self.seed).fit(xs)
        ridge = 1e-6 * float(np.trace(np.cov(xs.T, bias=True).reshape(D, D))) / D + 1e-12
        A, b = np.empty((n_top, D, D)), km.cluster_centers_.copy()
        for i in range(n_top):
            xi = xs[km.labels_ == i]
            cov = np.cov(xi.T, bias=True).reshape(D, D) if len(xi) > 1 else np.zeros((D, D))
            # a cluster too small to span D dimensions borrows the pooled covariance's shape
            if len(xi) <= D:
                cov = (len(xi) * cov + D * np.cov(xs.T, bias=True).reshape(D, D)) / (len(xi) + D)
            A[i] = np.linalg.cholesky(cov + ridge * np.eye(D))
        self.A[-1], self.b[-1] = torch.from_numpy(A), torch.from_numpy(b)

    def state_dict(self) -> dict:
        return {"dim": self.dim, "layer_sizes": self.layer_sizes, "factorised": self.factorised,
                "reg": self.reg, "A": [a.cpu() for a in self.A], "b": [v.cpu() for v in self.b],
                "log_pi": (self.log_pi_layers if self.factorised else self._log_pi)}


def compose(A: Sequence[torch.Tensor], b: Sequence[torch.Tensor], dim: int,
            like: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """A_p and μ_p of every path through the layers (A[0], b[0]), … applied in that order
    (differentiable; an empty list gives the identity path)."""
    like = A[0] if len(A) else (like if like is not None else torch.empty(0, dtype=torch.float64))
    M = torch.eye(dim, device=like.device, dtype=like.dtype).unsqueeze(0)
    m = torch.zeros(1, dim, device=like.device, dtype=like.dtype)
    for Aj, bj in zip(A, b):
        M = torch.matmul(Aj.unsqueeze(0), M.unsqueeze(1)).reshape(-1, dim, dim)
        m = (torch.einsum("iab,pb->pia", Aj, m) + bj.unsqueeze(0)).reshape(-1, dim)
    return M, m


def _near_identity(n: int, D: int, scale: float, g: torch.Generator) -> torch.Tensor:
    """n matrices R·diag(exp(s)): R = expm(small skew matrix), s small (a near-identity init)."""
    W = scale * torch.randn(n, D, D, generator=g, dtype=torch.float64) / math.sqrt(D)
    R = torch.linalg.matrix_exp(W - W.mT)
    s = scale * torch.randn(n, 1, D, generator=g, dtype=torch.float64)
    return R * s.exp()
