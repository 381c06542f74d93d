"""The paper's theory on 1-D data (Goodfellow et al. 2014, Figure 1 and §4).

* Figure 1: a small GAN learns a 1-D Gaussian; p_data, p_g and D are drawn as training goes.
* Proposition 1: for a fixed G, the optimal discriminator is D*(x) = p_data / (p_data + p_g).
* Theorem 1: C(G) = max_D V(G, D) = −log 4 + 2·JSD(p_data ‖ p_g).

In 1-D every density here is computed, not sampled: p_data is an exact Gaussian and p_g is
the push-forward of the uniform noise through G, obtained by quadrature on a fine z grid
(each z cell's probability mass binned at G(z)), so both sides of Theorem 1 are numerical
integrals on an x grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class Toy1D:
    """The 1-D problem: data N(mean, std²), noise uniform on [−1, 1], small MLPs for G and D."""

    data_mean: float = 4.0
    data_std: float = 0.5
    hidden: int = 32
    x_min: float = 0.0
    x_max: float = 8.0
    bins: int = 400
    batch: int = 256
    lr: float = 5e-4
    k: int = 5          # D steps per G step (Algorithm 1's k; 1 collapses p_g to a spike here)


def mlp(d_in: int, hidden: int, d_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                         nn.Linear(hidden, d_out))


class ToyGAN:
    """G: z ~ U[−1, 1] → x; D: x → logit. Adam on both, k discriminator steps per G step
    (Algorithm 1). With k = 1 this small G collapses to a narrow spike; k = 5 learns p_data."""

    def __init__(self, cfg: Toy1D, seed: int):
        self.cfg = cfg
        torch.manual_seed(seed)
        self.G = mlp(1, cfg.hidden, 1)
        with torch.no_grad():  # start G away from the data, as in Figure 1 (a)
            self.G[-1].bias.fill_(cfg.data_mean - 2.0)
        self.D = mlp(1, cfg.hidden, 1)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
        self.edges = np.linspace(cfg.x_min, cfg.x_max, cfg.bins + 1)
        self.x = 0.5 * (self.edges[1:] + self.edges[:-1])
        self.dx = self.edges[1] - self.edges[0]

    def data(self, n: int) -> torch.Tensor:
        return self.cfg.data_mean + self.cfg.data_std * torch.randn(n, 1)

    def noise(self, n: int) -> torch.Tensor:
        return 2 * torch.rand(n, 1) - 1

    def d_step(self) -> float:
        x, z = self.data(self.cfg.batch), self.noise(self.cfg.batch)
        with torch.no_grad():
            fake = self.G(z)
        lr, lf = self.D(x), self.D(fake)
        loss = F.binary_cross_entropy_with_logits(lr, torch.ones_like(lr)) + \
            F.binary_cross_entropy_with_logits(lf, torch.zeros_like(lf))
        self.opt_d.zero_grad()
        loss.backward()
        self.opt_d.step()
        return float(loss.detach())

    def g_step(self) -> float:
        logit = self.D(self.G(self.noise(self.cfg.batch)))
        loss = F.binary_cross_entropy_with_logits(logit, torch.ones_like(logit))  # −log D(G(z))
        self.opt_g.zero_grad()
        loss.backward()
        self.opt_g.step()
        return float(loss.detach())

    def train(self, steps: int, k: int | None = None) -> None:
        """``steps`` iterations of Algorithm 1: k D updates, then one G update."""
        for _ in range(steps):
            for _ in range(self.cfg.k if k is None else k):
                self.d_step()
            self.g_step()

    # -- exact densities on the x grid -------------------------------------------------------
    def p_data(self) -> np.ndarray:
        c = self.cfg
        return np.exp(-0.5 * ((self.x - c.data_mean) / c.data_std) ** 2) / (c.data_std * math.sqrt(2 * math.pi))

    @torch.no_grad()
    def p_g(self, z_points: int = 200_001) -> np.ndarray:
        """Density of G(z), z ~ U[−1, 1], by quadrature: each z cell's mass binned at G(z)."""
        z = (-1 + (torch.arange(z_points, dtype=torch.float64) + 0.5) * 2 / z_points).float().unsqueeze(1)
        gx = self.G(z).squeeze(1).double().numpy()
        mass, _ = np.histogram(gx, bins=self.edges, weights=np.full(z_points, 1.0 / z_points))
        return mass / self.dx

    @torch.no_grad()
    def d_of_x(self) -> np.ndarray:
        return torch.sigmoid(self.D(torch.as_tensor(self.x, dtype=torch.float32).unsqueeze(1))).squeeze(1).numpy()


def optimal_discriminator(p_data: np.ndarray, p_g: np.ndarray) -> np.ndarray:
    """Proposition 1: D*_G(x) = p_data(x) / (p_data(x) + p_g(x)) (NaN where both vanish)."""
    s = p_data + p_g
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(s > 0, p_data / s, np.nan)


def value(p_data: np.ndarray, p_g: np.ndarray, d: np.ndarray, dx: float) -> float:
    """V(G, D) = E_pdata[log D(x)] + E_pg[log(1 − D(x))] by numerical integration (eq. 1)."""
    d = np.clip(d, 1e-12, 1 - 1e-12)
    return float(np.sum(p_data * np.log(d) + p_g * np.log1p(-d)) * dx)


def c_of_g(p_data: np.ndarray, p_g: np.ndarray, dx: float) -> float:
    """C(G) = V(G, D*_G), the left side of Theorem 1, integrated directly."""
    s = p_data + p_g
    with np.errstate(invalid="ignore", divide="ignore"):
        a = np.where(p_data > 0, p_data * np.log(p_data / s), 0.0)
        b = np.where(p_g > 0, p_g * np.log(p_g / s), 0.0)
    return float(np.sum(a + b) * dx)


def jsd(p: np.ndarray, q: np.ndarray, dx: float) -> float:
    """Jensen–Shannon divergence ½KL(p‖m) + ½KL(q‖m), m = (p + q)/2, in nats."""
    m = 0.5 * (p + q)
    with np.errstate(invalid="ignore", divide="ignore"):
        kp = np.where(p > 0, p * np.log(p / m), 0.0)
        kq = np.where(q > 0, q * np.log(q / m), 0.0)
    return float(0.5 * np.sum(kp) * dx + 0.5 * np.sum(kq) * dx)


class GaussianG(nn.Module):
    """A fixed generator with an exactly Gaussian p_g: G(z) = mean + std·√2·erfinv(z), z ~ U[−1, 1]."""

    def __init__(self, mean: float, std: float):
        super().__init__()
        self.mean, self.std = mean, std

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.mean + self.std * math.sqrt(2.0) * torch.erfinv(z.clamp(-1 + 1e-7, 1 - 1e-7))


def proposition1_check(cfg: Toy1D, seed: int, d_steps: int, g_mean: float = 3.3,
                       g_std: float = 0.8, batch: int = 512) -> dict:
    """Proposition 1, checked: fix G (here with an exactly Gaussian p_g overlapping p_data),
    train a fresh D alone on samples (Adam, cosine-decayed learning rate), and compare it
    with D*_G. Errors are |D − D*| averaged under the mixture ½(p_data + p_g) — where D is
    trained — and its maximum where the mixture exceeds 5 % of its peak."""
    gan = ToyGAN(cfg, seed)
    gan.G = GaussianG(g_mean, g_std)
    opt = torch.optim.Adam(gan.D.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, d_steps)
    for _ in range(d_steps):
        x, z = gan.data(batch), gan.noise(batch)
        with torch.no_grad():
            fake = gan.G(z)
        lr, lf = gan.D(x), gan.D(fake)
        loss = F.binary_cross_entropy_with_logits(lr, torch.ones_like(lr)) + \
            F.binary_cross_entropy_with_logits(lf, torch.zeros_like(lf))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    pd, pg = gan.p_data(), gan.p_g()
    d_star, d = optimal_discriminator(pd, pg), gan.d_of_x()
    err = np.nan_to_num(np.abs(d - d_star))
    mix = 0.5 * (pd + pg)
    support = mix > 0.05 * mix.max()
    return {"weighted_abs_error": float(np.sum(err * mix) / np.sum(mix)),
            "max_abs_error": float(err[support].max()), "g_mean": g_mean, "g_std": g_std,
            "x": gan.x, "d": d, "d_star": d_star, "support": support, "p_data": pd, "p_g": pg}


def theorem1_check(gan: ToyGAN) -> dict:
    """Both sides of Theorem 1, and V(G, D) of the trained D (≤ C(G) up to integration error)."""
    pd, pg = gan.p_data(), gan.p_g()
    lhs, j = c_of_g(pd, pg, gan.dx), jsd(pd, pg, gan.dx)
    return {"C_G": lhs, "rhs": -math.log(4) + 2 * j, "jsd": j,
            "V_trained_D": value(pd, pg, gan.d_of_x(), gan.dx)}
