"""Deep GMM parameters as plain tensors (van den Oord & Schrauwen 2014, §2: the A, b and π of
every layer): an exact checksum, the largest difference between two models, and loading a
:meth:`~genrepro.deepgmm.model.DeepGMM.state_dict` back. Used by the jobs (resuming a
checkpoint) and by the distributed fit (keeping ranks in step)."""

from __future__ import annotations

import math

import torch

from genrepro.deepgmm.model import DeepGMM

__all__ = ["load_state", "max_abs_diff", "model_from_state", "param_checksum", "param_tensors"]


def param_tensors(model: DeepGMM) -> list[torch.Tensor]:
    """Every A, b and log π of ``model``, in a fixed order."""
    lp = list(model.log_pi_layers) if model.factorised else [model._log_pi]
    return list(model.A) + list(model.b) + lp


def param_checksum(model: DeepGMM) -> torch.Tensor:
    """An exact, order-independent checksum of the parameters' bits (float64 of integers
    < 2⁵³): for each tensor, Σ_i w_i·(16-bit pieces of its float64 bits), w_i = 1 + i mod 251.
    Equal parameters give equal checksums on every rank whatever the thread count."""
    out = []
    for t in param_tensors(model):
        bits = t.detach().to(torch.float64).cpu().contiguous().view(torch.int64).reshape(-1)
        w = 1 + torch.arange(bits.numel(), dtype=torch.int64) % 251
        for k in range(4):
            piece = (bits >> (16 * k)) & 0xFFFF
            out.append(int((piece * w).sum()))
    return torch.tensor(out, dtype=torch.float64)


def max_abs_diff(a: DeepGMM, b: DeepGMM) -> float:
    """max |difference| over all A, b and log π of two models (log π = −∞ on both sides
    counts as equal; on one side only as ∞)."""
    worst = 0.0
    for s, t in zip(param_tensors(a), param_tensors(b)):
        s, t = s.detach().cpu().to(torch.float64), t.detach().cpu().to(torch.float64)
        same_inf = torch.isinf(s) & torch.isinf(t) & (s == t)
        d = torch.where(same_inf, torch.zeros_like(s), (s - t).abs())
        d = torch.nan_to_num(d, nan=math.inf)
        worst = max(worst, float(d.max()) if d.numel() else 0.0)
    return worst


def load_state(model: DeepGMM, state: dict) -> DeepGMM:
    """Set A, b and log π of ``model`` from :meth:`DeepGMM.state_dict` (in place)."""
    model.A = [a.to(model.device, model.dtype).clone() for a in state["A"]]
    model.b = [v.to(model.device, model.dtype).clone() for v in state["b"]]
    if model.factorised:
        model.log_pi_layers = [lp.to(model.device, model.dtype).clone() for lp in state["log_pi"]]
    else:
        model._log_pi = state["log_pi"].to(model.device, model.dtype).clone()
    return model


def model_from_state(state: dict, device: torch.device | str = "cpu") -> DeepGMM:
    """A :class:`DeepGMM` with the parameters of a :meth:`DeepGMM.state_dict`."""
    m = DeepGMM(state["dim"], state["layer_sizes"], factorised=state["factorised"],
                reg=state["reg"], device=device)
    return load_state(m, state)
