"""The DC-IGN training procedure's latent clamp (Kulkarni et al. 2015 §3.1 step 5, §3.2).

Within a batch in which only one generative factor changes (say the azimuth), the latents
that should *not* respond to that factor are replaced, in the forward pass, by their mean
over the batch, so the decoder has to explain every difference between the images with the
few *active* latents (§3.1 step 5). In the backward pass the active latents receive their
true gradient, while each clamped latent receives instead an *invariance* gradient
``invariance · (z_i − mean_batch z)`` that pulls the batch's encodings of that latent
together (§3.2, with the paper's strength 1/100; our paraphrase, not a quotation).

Sign convention. The original Torch code (willwhitney/dc-ign,
``modules/SelectiveGradientFilter.lua``) writes ``gradInput = strength · (input − mean)``
too, but that code climbs the variational lower bound (its criterion gradient is multiplied
by −1 and ``rmsprop.lua`` takes steps ``x ← x − lr · m`` with a *negative* learning rate),
so there that term moves the clamped latents *away* from the batch mean. We minimise the
negative bound (a loss) with ordinary gradient descent, so the same formula here moves them
*towards* the mean, which is what §3.2 asks for. The original also clamps to the batch's
*first* sample (``SelectiveOutputClamp.lua``); we clamp to the batch mean as §3.1 states.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import torch

ActiveLike = Sequence[int] | range | np.ndarray | torch.Tensor

__all__ = ["active_mask", "check_active", "clamp_latents"]


def check_active(active: ActiveLike, dim: int) -> list[int]:
    """``active`` as a sorted list of distinct latent indices in ``[0, dim)``.

    Raises ``ValueError`` for an empty selection, a non-integer entry (floats and bools
    included), an index out of range or a duplicate."""
    if isinstance(active, torch.Tensor):
        if active.dtype.is_floating_point or active.dtype.is_complex or active.dtype == torch.bool:
            raise ValueError(f"active latent indices must be integers, got a {active.dtype} tensor")
        items = active.reshape(-1).tolist()
    elif isinstance(active, np.ndarray):
        if not np.issubdtype(active.dtype, np.integer):
            raise ValueError(f"active latent indices must be integers, got a {active.dtype} array")
        items = active.reshape(-1).tolist()
    elif isinstance(active, (str, bytes)) or not isinstance(active, (Sequence, range)):
        raise ValueError(f"active must be a sequence of latent indices, got {type(active).__name__}")
    else:
        items = list(active)
    if not items:
        raise ValueError("active is empty: at least one latent must stay free")
    for i in items:
        if isinstance(i, bool) or not isinstance(i, numbers.Integral):
            raise ValueError(f"active latent indices must be integers, got {i!r}")
    items = [int(i) for i in items]
    bad = [i for i in items if not 0 <= i < dim]
    if bad:
        raise ValueError(f"active latent indices {bad} out of range for {dim} latents")
    if len(set(items)) != len(items):
        dup = sorted({i for i in items if items.count(i) > 1})
        raise ValueError(f"active latent indices repeat: {dup}")
    return sorted(items)


def active_mask(active: ActiveLike, dim: int, device: torch.device | str | None = None) -> torch.Tensor:
    """A boolean ``(dim,)`` mask, True at the (validated) active latents."""
    mask = torch.zeros(dim, dtype=torch.bool, device=device)
    mask[check_active(active, dim)] = True
    return mask


class _ClampLatents(torch.autograd.Function):
    """Forward: inactive columns → batch mean. Backward: active columns pass the incoming
    gradient; inactive columns get ``invariance · (z − mean)`` (the incoming gradient there
    is discarded, as in the original ``SelectiveGradientFilter``)."""

    @staticmethod
    def forward(ctx, z: torch.Tensor, mask: torch.Tensor,  # type: ignore[override]
                invariance: float) -> torch.Tensor:
        mean = z.mean(0, keepdim=True)
        ctx.save_for_backward(z - mean, mask)
        ctx.invariance = invariance
        return torch.where(mask, z, mean.expand_as(z))

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        dev, mask = ctx.saved_tensors
        return torch.where(mask, grad, (ctx.invariance * dev).to(grad.dtype)), None, None


def clamp_latents(z: torch.Tensor, active: ActiveLike, invariance: float = 0.01) -> torch.Tensor:
    """Clamp every latent not in ``active`` to its batch mean (Kulkarni et al. 2015 §3.1, §3.2).

    ``z``: ``(batch, dim)``. Forward: ``out[:, j] = z[:, j]`` for ``j`` in ``active``, else
    ``z[:, j].mean()``. Backward: ``∂/∂z[:, j]`` is the incoming gradient for active ``j``
    and ``invariance · (z[:, j] − z[:, j].mean())`` for clamped ``j`` — with gradient
    *descent* on a loss this pulls the batch's clamped latents together (the original Lua
    code's identical-looking term pushes them apart, because it climbs the bound; see the
    module docstring). ``invariance`` = 1/100 in §3.2; 0 blocks the clamped latents' gradient.

    Raises ``ValueError`` for an invalid ``active`` (empty, non-integer, out of range,
    duplicated) or a ``z`` that is not 2-D."""
    if z.dim() != 2:
        raise ValueError(f"z must be (batch, latents), got shape {tuple(z.shape)}")
    if not np.isfinite(invariance) or invariance < 0:
        raise ValueError(f"invariance must be a finite number >= 0, got {invariance!r}")
    mask = active_mask(active, z.shape[1], z.device)
    return _ClampLatents.apply(z, mask, float(invariance))
