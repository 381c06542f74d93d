"""The data of a distributed Deep GMM run (:mod:`genrepro.deepgmm.dist_main`), rebuilt
identically on every rank and by :func:`~genrepro.deepgmm.distributed.check_against_single`."""

from __future__ import annotations

import math

import numpy as np
import torch


def make_data(a: dict) -> torch.Tensor:
    """The run's whole data set (identical on every rank): ``a["data"]``'s first ``a["n"]``
    rows, or ``a["n"]`` points of a mixture of 8 random Gaussians in ``a["dim"]`` dimensions."""
    if a.get("data"):
        path = str(a["data"])
        arr = np.load(path) if path.endswith(".npy") else torch.load(path, weights_only=False)
        x = torch.as_tensor(np.asarray(arr), dtype=torch.float64)
        return x[: a["n"]] if a.get("n") else x
    n, D = int(a["n"]), int(a["dim"])
    g = torch.Generator().manual_seed(int(a["seed"]) + 4242)
    k = 8
    centres = 4 * torch.randn(k, D, generator=g, dtype=torch.float64)
    mix = torch.randn(k, D, D, generator=g, dtype=torch.float64) / math.sqrt(D) + torch.eye(D)
    lab = torch.randint(0, k, (n,), generator=g)
    z = torch.randn(n, D, generator=g, dtype=torch.float64)
    return centres[lab] + torch.einsum("nab,nb->na", mix[lab], z)
