"""One place where chapters choose their compute device."""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
import sys

import torch

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3   # glibc's mallopt parameter numbers
_allocator_tuned = False


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


def tune_cpu_allocator(mmap_threshold: int = 32 * 2**20, trim_threshold: int = 1 << 30) -> bool:
    """Keep freed memory in the process instead of handing it back to the OS (glibc only).

    With glibc's defaults every tensor over a few hundred KiB is returned to the kernel when
    freed, so a training loop that allocates the same gradients every step page-faults its way
    through them again (≈ 3,000 minor faults, 12 MB, per step of the MNIST GAN on CPU, a
    quarter of its time). This is the fix PyTorch's CPU performance-tuning guide gets with
    jemalloc/tcmalloc, done at run time with ``mallopt``: allocations up to ``mmap_threshold``
    come from the heap, and the heap is trimmed only when ``trim_threshold`` bytes are free.
    The process may keep up to ``trim_threshold`` of freed memory. Returns whether it applied
    (False off Linux/glibc, where it does nothing); calling it again is harmless.
    """
    global _allocator_tuned
    if _allocator_tuned:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):   # musl and other libcs have no mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold)) == 1 and \
        mallopt(_M_TRIM_THRESHOLD, int(trim_threshold)) == 1
    _allocator_tuned = ok
    return ok
