"""The DC-IGN network and its SGVB loss (Kulkarni et al. 2015 §3, Figure 1).

Architecture of the original code (willwhitney/dc-ign, ``config.lua``
``init_network2_150_mv``, the network ``monovariant_main.lua`` trains), here for 150×150
grayscale images (:meth:`DCIGNConfig.full`):

* encoder: 3 × [5×5 valid convolution → 2×2 max-pool → ReLU], channels 1 → 96 → 48 → 24,
  sizes 150 → 146 → 73 → 69 → 34 → 30 → 15; flatten (24·15·15 = 5400) → two linear heads,
  μ and log σ², of 200 latents (``--dim_hidden 200``; §3.1);
* decoder: linear 200 → 5400 → ReLU → reshape 24×15×15, then 4 × [nearest-neighbour ×2
  up-sampling → 7×7 valid convolution], channels 24 → 48 → 96 → 96 → 1, sizes
  30 → 24 → 48 → 42 → 84 → 78 → 156 → 150; a ReLU after each of the first three decoder
  convolutions and a sigmoid after the last (the original's ``nn.Threshold(0, 1e-6)``
  everywhere but the output, which is ``cudnn.Sigmoid``; its threshold writes 1e-6 rather
  than 0 below zero, a difference we drop).

The configuration is parametric (image size, widths, kernels, latent dimension) with the
same structure, so a quick CPU profile can shrink it (:meth:`DCIGNConfig.quick`: 64×64,
widths 16/8/8, 3×3 encoder and (3, 3, 3, 5) decoder kernels; size chain
64 → 62 → 31 → 29 → 14 → 12 → 6 and 6 → 12 → 10 → 20 → 18 → 36 → 34 → 68 → 64). The decoder
starts at the encoder's final map size and width, as in the original.

The network returns *logits*; images are ``sigmoid(logits)``. The loss is the negative
SGVB bound (Kingma & Welling 2014) of one batch, summed as the original does
(``sizeAverage = false``): Σ binary cross-entropy over pixels and images + Σ KL(q(z|x) ‖
N(0, I)) over latents and images.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn
import torch.nn.functional as F

from genrepro.dcign.clamp import ActiveLike, clamp_latents


@dataclass(frozen=True)
class DCIGNConfig:
    """Network shape (Kulkarni et al. 2015 §3.1; original ``init_network2_150_mv``)."""

    image_size: int = 150
    enc_channels: tuple[int, ...] = (96, 48, 24)
    enc_kernel: int = 5
    dec_channels: tuple[int, ...] = (48, 96, 96)   # after decoder convs 1..n-1; the last → 1
    dec_kernels: tuple[int, ...] = (7, 7, 7, 7)
    latent_dim: int = 200
    in_channels: int = 1

    @classmethod
    def full(cls) -> DCIGNConfig:
        """The paper's 150×150 network (exactly the original's, with 200 latents)."""
        return cls()

    @classmethod
    def quick(cls) -> DCIGNConfig:
        """64×64, widths 16/8/8 (decoder 8 → 16 → 16 → 1): the same structure, CPU-sized."""
        return cls(image_size=64, enc_channels=(16, 8, 8), enc_kernel=3, dec_channels=(8, 16, 16),
                   dec_kernels=(3, 3, 3, 5))

    @classmethod
    def reduced(cls) -> DCIGNConfig:
        """The CPU-trainable reduction of the ``dcign-faces`` / ``-baseline`` / ``-chairs`` jobs:
        the quick network's 64×64 size chain and kernels, widths 24/12/12 (decoder 12 → 24 → 24
        → 1), 200 latents — a quarter of the paper's widths at 18 % of its image area."""
        return cls(image_size=64, enc_channels=(24, 12, 12), enc_kernel=3, dec_channels=(12, 24, 24),
                   dec_kernels=(3, 3, 3, 5))

    @classmethod
    def from_profile(cls, profile: str) -> DCIGNConfig:
        """The network of ``profile`` (settings in ``genrepro.profiles.TABLE['dcign']``)."""
        from genrepro import profiles

        s = profiles.get("dcign", profile)
        return cls(image_size=s.image_size, enc_channels=tuple(s.enc_channels),
                   enc_kernel=s.enc_kernel, dec_channels=tuple(s.dec_channels),
                   dec_kernels=tuple(s.dec_kernels), latent_dim=s.latent_dim)

    def encoder_sizes(self) -> list[int]:
        """Spatial sizes through the encoder: input, then after each conv and each pool."""
        sizes = [self.image_size]
        for _ in self.enc_channels:
            sizes += [sizes[-1] - self.enc_kernel + 1]
            sizes += [sizes[-1] // 2]
        return sizes

    def decoder_sizes(self) -> list[int]:
        """Spatial sizes through the decoder: start, then after each up-sampling and conv."""
        sizes = [self.encoder_sizes()[-1]]
        for k in self.dec_kernels:
            sizes += [2 * sizes[-1]]
            sizes += [sizes[-1] - k + 1]
        return sizes

    @property
    def feature_dim(self) -> int:
        """Flattened encoder output (5400 for the full network)."""
        return self.enc_channels[-1] * self.encoder_sizes()[-1] ** 2

    def check(self) -> None:
        """``ValueError`` unless the size chain is valid and the decoder returns ``image_size``."""
        if len(self.dec_channels) != len(self.dec_kernels) - 1:
            raise ValueError("dec_channels needs one entry fewer than dec_kernels (the last conv → 1)")
        if self.latent_dim < 1 or min(self.enc_channels + self.dec_channels) < 1:
            raise ValueError("latent_dim and every width must be >= 1")
        if not self.chain_closes():
            near = self.valid_image_sizes(max(4, self.image_size - 40), self.image_size + 40)
            hint = (f"image sizes that close with these kernels: {', '.join(map(str, near))}"
                    if near else "no image size within ±40 closes with these kernels: change "
                    "enc_kernel or dec_kernels")
            raise ValueError(f"size chain does not close: encoder {self.encoder_sizes()}, decoder "
                             f"{self.decoder_sizes()} (must end at image_size {self.image_size}); {hint}")

    def chain_closes(self) -> bool:
        """Whether every stage keeps a positive size and the decoder ends at ``image_size``."""
        enc, dec = self.encoder_sizes(), self.decoder_sizes()
        return min(enc + dec) >= 1 and dec[-1] == self.image_size

    def valid_image_sizes(self, lo: int, hi: int) -> list[int]:
        """The image sizes in ``[lo, hi]`` whose size chain closes with this config's kernels."""
        return [n for n in range(max(1, lo), hi + 1) if replace(self, image_size=n).chain_closes()]


class DCIGN(nn.Module):
    """Deep Convolutional Inverse Graphics Network (Kulkarni et al. 2015 §3, Figure 1).

    ``forward(x, active=None, invariance=0.01, sample=True)`` returns
    ``(logits, mu, logvar)``. With ``active`` given, the latent means are clamped with
    :func:`~genrepro.dcign.clamp_latents` before sampling (§3.1 step 5; see
    :meth:`latents`), and the ``mu`` returned — the one the KL term is computed on — is the
    *clamped* mean, as in the original: ``monovariant_main.lua`` computes its KLD on
    ``model:get(1).output``, the encoder's output *after* ``SelectiveOutputClamp``, and sends
    its gradient back through ``SelectiveGradientFilter``. So a clamped latent's KL gradient
    is discarded with the rest (it receives only the invariance pull); the KL term does not
    drag z2 towards 0 in the twelve batches out of thirteen where z2 is clamped. Without a
    clamp (the baseline) it is the encoder's own ``mu``.
    """

    def __init__(self, cfg: DCIGNConfig):
        super().__init__()
        cfg.check()
        self.cfg = cfg
        enc: list[nn.Module] = []
        c_in = cfg.in_channels
        for c in cfg.enc_channels:
            enc += [nn.Conv2d(c_in, c, cfg.enc_kernel), nn.MaxPool2d(2), nn.ReLU()]
            c_in = c
        self.encoder = nn.Sequential(*enc, nn.Flatten())
        self.mu = nn.Linear(cfg.feature_dim, cfg.latent_dim)
        self.logvar = nn.Linear(cfg.feature_dim, cfg.latent_dim)
        s = cfg.encoder_sizes()[-1]
        self.dec_in = nn.Sequential(nn.Linear(cfg.latent_dim, cfg.feature_dim), nn.ReLU(),
                                    nn.Unflatten(1, (cfg.enc_channels[-1], s, s)))
        dec: list[nn.Module] = []
        widths = (*cfg.dec_channels, cfg.in_channels)
        c_in = cfg.enc_channels[-1]
        for i, (c, k) in enumerate(zip(widths, cfg.dec_kernels)):
            dec += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c, k)]
            if i < len(widths) - 1:
                dec.append(nn.ReLU())
            c_in = c
        self.decoder = nn.Sequential(*dec)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, logvar)``, each ``(batch, latent_dim)``, in float32 (also under autocast)."""
        h = self.encoder(x)
        return self.mu(h).float(), self.logvar(h).float()

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Decoder logits ``(batch, 1, H, W)``; images are their sigmoid."""
        return self.decoder(self.dec_in(z))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Decoded images in [0, 1]."""
        return torch.sigmoid(self.decode_logits(z).float())

    @staticmethod
    def latents(mu: torch.Tensor, logvar: torch.Tensor, active: ActiveLike | None = None,
                invariance: float = 0.01, sample: bool = True,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """The decoder's input: ``clamp(mu) + exp(logvar / 2) · ε`` (Kulkarni et al. §3.1).

        Where the clamp goes: on the *mean* ``mu`` — the first input of the original's
        ``nn.Reparametrize`` is the branch that carries ``SelectiveOutputClamp`` — so in a
        single-factor batch every clamped latent has the same mean for all 20 images and
        carries no information about which image it is; ``logvar`` is not clamped and the
        noise ``ε`` is drawn per image (as in the original). The invariance gradient of the
        clamp (§3.2) therefore acts on ``mu``; ``logvar`` gets its ordinary gradient.
        ``active=None`` means no clamp (the plain VAE baseline, §4.1.1); ``sample=False``
        returns the (clamped) mean."""
        m = mu if active is None else clamp_latents(mu, active, invariance)
        if not sample:
            return m
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return m + torch.exp(0.5 * logvar) * eps

    def forward(self, x: torch.Tensor, active: ActiveLike | None = None, invariance: float = 0.01,
                sample: bool = True, generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x)
        return self.from_encoding(mu, logvar, active, invariance, sample, generator)

    def from_encoding(self, mu: torch.Tensor, logvar: torch.Tensor, active: ActiveLike | None = None,
                      invariance: float = 0.01, sample: bool = True,
                      generator: torch.Generator | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The rest of :meth:`forward` from the encoder's ``(mu, logvar)``: clamp ``mu`` (§3.2),
        sample, decode. Returns ``(logits, clamped mu, logvar)``."""
        m = mu if active is None else clamp_latents(mu, active, invariance)
        z = m if not sample else self.latents(m, logvar, None, sample=True, generator=generator)
        return self.decode_logits(z), m, logvar


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Σ KL(N(mu, exp(logvar)) ‖ N(0, 1)) over all entries (Kingma & Welling 2014, App. B)."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


def sgvb_loss(logits: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Negative SGVB bound of one batch, summed like the original (``sizeAverage = false``).

    Returns ``(loss, bce, kl)`` with ``bce`` = Σ binary cross-entropy of ``sigmoid(logits)``
    against ``x`` in [0, 1] (computed from the logits, in float32) and ``kl`` = Σ KL."""
    bce = F.binary_cross_entropy_with_logits(logits.float(), x.float(), reduction="sum")
    kl = kl_divergence(mu.float(), logvar.float())
    return bce + kl, bce, kl
