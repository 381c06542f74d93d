"""The generator and discriminator of Goodfellow et al. (2014), as in the original code.

MNIST (``mnist.yaml`` of goodfeli/adversarial): G maps 100-d noise, uniform on [−√3, √3]
(the final ``mnist.yaml``; ``noise="gaussian"`` gives N(0, 1), the ``Generator`` default of the
weeks before the arXiv version), through ReLU 1200 → ReLU 1200 → sigmoid 784, weights uniform ±0.05, the output bias set to
the logit of the training pixel means (pylearn2's ``init_sigmoid_bias_from_marginals``).
D is maxout 240×5 → maxout 240×5 → sigmoid, weights uniform ±0.005, with dropout: inputs
kept with probability 0.8 (scaled by 1.25), hidden units kept with 0.5 (scaled by 2).
TFD (``tfd_pretrain/train.yaml``): G ReLU 8000 → sigmoid 8000 → sigmoid 2304; D maxout
1200×5 → maxout 1200×5 → sigmoid; every layer's incoming weight vectors kept at norm
≤ 1.9365 (``max_col_norm``); learning rate 0.05. (The original also pretrained G's first
layer; we do not, and the chapter says so.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


NOISE_KINDS = ("uniform", "gaussian")


@dataclass(frozen=True)
class GANConfig:
    """Architecture of a fully connected GAN (paper §5; original ``*.yaml`` files)."""

    data_dim: int = 784
    noise_dim: int = 100
    g_hidden: tuple[int, ...] = (1200, 1200)
    g_activations: tuple[str, ...] = ("relu", "relu")
    g_irange: float = 0.05
    d_units: tuple[int, ...] = (240, 240)
    d_pieces: int = 5
    d_irange: float = 0.005
    d_input_keep: float = 0.8
    d_hidden_keep: float = 0.5
    max_col_norm: float | None = None   # pylearn2's constraint on each unit's incoming weights
    noise: str = "uniform"              # G's prior p_z: "uniform" on [−√3, √3] or "gaussian" N(0, 1)

    def __post_init__(self) -> None:
        if self.noise not in NOISE_KINDS:
            raise ValueError(f"noise must be one of {NOISE_KINDS}, got {self.noise!r}")

    @staticmethod
    def mnist() -> "GANConfig":
        return GANConfig()

    @staticmethod
    def tfd(data_dim: int = 2304, g_width: int = 8000, d_units: int = 1200) -> "GANConfig":
        return GANConfig(data_dim=data_dim, g_hidden=(g_width, g_width),
                         g_activations=("relu", "sigmoid"), d_units=(d_units, d_units),
                         max_col_norm=1.9365)


@torch.no_grad()
def constrain_col_norms(module: nn.Module, max_norm: float) -> None:
    """pylearn2's ``max_col_norm``: rescale each unit's incoming weight vector (a row of a
    torch ``Linear`` weight) to norm ≤ ``max_norm`` after every update."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            norms = layer.weight.norm(dim=1, keepdim=True)
            layer.weight.mul_((max_norm / norms.clamp_min(1e-12)).clamp(max=1.0))


def sample_noise(n: int, dim: int, generator: torch.Generator | None = None,
                 device: torch.device | str = "cpu", kind: str = "uniform") -> torch.Tensor:
    """z from G's prior (§3, p_z): uniform on [−√3, √3]^dim (unit variance; the final
    ``mnist.yaml``) or, with ``kind="gaussian"``, N(0, I) (pylearn2's ``Generator`` default)."""
    if kind == "gaussian":
        return torch.randn(n, dim, generator=generator, device=device)
    if kind != "uniform":
        raise ValueError(f"noise kind must be one of {NOISE_KINDS}, got {kind!r}")
    u = torch.rand(n, dim, generator=generator, device=device)
    return (2.0 * u - 1.0) * math.sqrt(3.0)


def _uniform_(layer: nn.Linear, irange: float) -> nn.Linear:
    nn.init.uniform_(layer.weight, -irange, irange)
    nn.init.zeros_(layer.bias)
    return layer


class Generator(nn.Module):
    """G(z; θ_g): an MLP from noise to data space with a sigmoid output (paper §3, §5)."""

    def __init__(self, cfg: GANConfig, pixel_means: torch.Tensor | None = None):
        super().__init__()
        self.cfg = cfg
        layers: list[nn.Module] = []
        width = cfg.noise_dim
        for h, act in zip(cfg.g_hidden, cfg.g_activations):
            layers += [_uniform_(nn.Linear(width, h), cfg.g_irange),
                       nn.ReLU() if act == "relu" else nn.Sigmoid()]
            width = h
        out = _uniform_(nn.Linear(width, cfg.data_dim), cfg.g_irange)
        if pixel_means is not None:
            p = torch.as_tensor(pixel_means, dtype=torch.float32).reshape(-1).clamp(1e-6, 1 - 1e-6)
            with torch.no_grad():
                out.bias.copy_(torch.log(p) - torch.log1p(-p))
        self.net = nn.Sequential(*layers, out)

    def noise(self, n: int, generator: torch.Generator | None = None,
              device: torch.device | str = "cpu") -> torch.Tensor:
        """``n`` draws of z from this generator's prior (``cfg.noise``)."""
        return sample_noise(n, self.cfg.noise_dim, generator, device, kind=self.cfg.noise)

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(z))


class Dropout(nn.Module):
    """Dropout as pylearn2's ``Dropout`` cost: each unit kept with probability ``keep`` and
    scaled by 1/keep during training, the identity in eval mode.

    Same distribution as torch's ``Dropout(p=1 − keep)``; the mask comes from one
    ``torch.rand`` compare, about twice as fast on the CPU as ``bernoulli_``."""

    def __init__(self, keep: float):
        super().__init__()
        if not 0.0 < keep <= 1.0:
            raise ValueError(f"keep probability must be in (0, 1], got {keep}")
        self.keep = keep

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.keep == 1.0:
            return x
        mask = (torch.rand_like(x) < self.keep).to(x.dtype).mul_(1.0 / self.keep)
        return x * mask

    def extra_repr(self) -> str:
        return f"keep={self.keep}"


class Maxout(nn.Module):
    """A maxout layer (Goodfellow et al. 2013): the max over ``pieces`` linear units."""

    def __init__(self, d_in: int, units: int, pieces: int, irange: float):
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = _uniform_(nn.Linear(d_in, units * pieces), irange)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # max(...).values routes each gradient to one arg-max (as Theano's max) and is a little
        # faster on the CPU than amax, which spreads it over ties
        return self.linear(x).view(x.shape[0], self.units, self.pieces).max(-1).values


class Discriminator(nn.Module):
    """D(x; θ_d): maxout MLP with dropout, returning the logit of P(x is real) (paper §5)."""

    def __init__(self, cfg: GANConfig):
        super().__init__()
        self.cfg = cfg
        layers: list[nn.Module] = [Dropout(cfg.d_input_keep)]
        width = cfg.data_dim
        for i, u in enumerate(cfg.d_units):
            if i > 0:
                layers.append(Dropout(cfg.d_hidden_keep))
            layers.append(Maxout(width, u, cfg.d_pieces, cfg.d_irange))
            width = u
        layers += [Dropout(cfg.d_hidden_keep), _uniform_(nn.Linear(width, 1), cfg.d_irange)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)
