"""What the chapter shows besides training: nearest neighbours (Figure 2), interpolations
(Figure 3) and the baselines of Theis, van den Oord & Bethge (2016) for the Parzen table."""

from __future__ import annotations

import numpy as np
import torch
from genrepro.gan.model import Generator


@torch.no_grad()
def sample(G: Generator, n: int, seed: int, batch: int = 5000,
           device: torch.device | str = "cpu") -> torch.Tensor:
    """``n`` draws from G on their own RNG stream: the noise of
    :meth:`genrepro.gan.Trainer.sample` for the same ``seed``, so a published generator
    reproduces the samples its Parzen score was computed from (§5, Table 1)."""
    gen = torch.Generator(device="cpu").manual_seed(seed)
    G.eval()
    return torch.cat([G(G.noise(min(batch, n - i), gen).to(device))
                      for i in range(0, n, batch)]).cpu()


@torch.no_grad()
def nearest_neighbours(queries: torch.Tensor, train: torch.Tensor, chunk: int = 4096) -> np.ndarray:
    """Index of each query's nearest training example by Euclidean distance (Figure 2)."""
    q = queries.float()
    best = []
    t = train.to(q.device).float()
    t_sq = (t * t).sum(1)
    for i in range(0, len(q), chunk):
        qi = q[i: i + chunk]
        d = t_sq[None, :] - 2.0 * qi @ t.T  # ‖q‖² is constant per row
        best.append(d.argmin(1).cpu())
    return torch.cat(best).numpy()


@torch.no_grad()
def interpolate(G: Generator, n_rows: int, steps: int, seed: int,
                device: torch.device | str = "cpu") -> torch.Tensor:
    """Figure 3: G at ``steps`` points on the straight line between pairs of random z."""
    gen = torch.Generator().manual_seed(seed)
    a = G.noise(n_rows, gen)
    b = G.noise(n_rows, gen)
    t = torch.linspace(0, 1, steps)
    z = (1 - t)[None, :, None] * a[:, None, :] + t[None, :, None] * b[:, None, :]
    G.eval()
    out = G(z.reshape(-1, G.cfg.noise_dim).to(device)).cpu()
    return out.reshape(n_rows, steps, -1)


def kmeans_centroids(x: np.ndarray, k: int, seed: int, max_iter: int = 30) -> np.ndarray:
    """k-means centroids of the training data: a 'model' that scores well under Parzen
    estimates while being a poor generator (Theis et al. 2016, §3.2)."""
    from sklearn.cluster import KMeans   # here, so the GPU bundle imports this module without sklearn

    km = KMeans(n_clusters=k, n_init=1, max_iter=max_iter, random_state=seed)
    km.fit(np.asarray(x, dtype=np.float32))
    return km.cluster_centers_.astype(np.float32)
