"""One place where chapters choose their compute device."""

from __future__ import annotations

import platform

import torch


def default_device() -> torch.device:
    """CUDA when a GPU is present, else the CPU: the same notebook runs on both."""
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def device_name(device: torch.device | str | None = None) -> str:
    """A human-readable name: the GPU model, or ``CPU (<processor>, <n> threads)``."""
    device = torch.device(device) if device is not None else default_device()
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    proc = platform.processor() or platform.machine()
    return f"CPU ({proc}, {torch.get_num_threads()} threads)"
