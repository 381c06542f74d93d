#!/usr/bin/env python
"""One GAN training step (MNIST model, batch 100: one D update + one G update) on this CPU.

Target (GAN issue): ≤ 30 ms a step on the 2-core CPU; the step is GEMM-bound. Peer in the
same run: the bare GEMMs of that step (counted from the layer shapes, see gemm_floor) timed
with torch.matmul, so the ratio says how close the step is to the machine's matrix-multiply
speed; the rest is elementwise work, dropout masks, maxout and the momentum update.
The step is timed twice in one process: first with glibc's default allocator settings, then
after ``genrepro.device.tune_cpu_allocator()`` (what every chapter calls), with the minor page
faults per step for each.

    python benchmarks/bench_gan.py [--steps 100] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time

import torch
from readme import update_section

from genrepro.device import tune_cpu_allocator
from genrepro.gan import GANConfig, TrainConfig, Trainer


def faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def best_of_3(trainer: Trainer, x: torch.Tensor, steps: int) -> tuple[float, float]:
    """(best seconds per step of 3 runs, minor page faults per step over all 3)."""
    f0 = faults()
    best = min(time_steps(trainer, x, steps) for _ in range(3))
    return best, (faults() - f0) / (3 * (steps + 5))


def time_steps(trainer: Trainer, x: torch.Tensor, steps: int) -> float:
    for _ in range(5):
        trainer.train_step(x, 0.5)
    sync = torch.cuda.synchronize if x.is_cuda else (lambda: None)
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        trainer.train_step(x, 0.5)
    sync()
    return (time.perf_counter() - t0) / steps


def gemm_floor(cfg: GANConfig, batch: int, device: torch.device, reps: int = 20) -> float:
    """Seconds for the step's matrix products alone, counted from the layer shapes.

    The step (one G forward, two D forwards on real and generated data, D's loss backward to
    D's weights, G's loss backward through D to G's weights) costs per D layer 2 forward,
    2 weight-gradient and 3 input-gradient products, and per G layer 1 of each."""
    g_shapes = list(zip((cfg.noise_dim, *cfg.g_hidden), (*cfg.g_hidden, cfg.data_dim)))
    d_in = (cfg.data_dim, *cfg.d_units)
    d_shapes = [(i, u * cfg.d_pieces) for i, u in zip(d_in, cfg.d_units)] + [(cfg.d_units[-1], 1)]
    work = [(s, 2, 2, 3) for s in d_shapes] + [(s, 1, 1, 1) for s in g_shapes]
    mats = [(torch.randn(batch, i, device=device), torch.randn(i, o, device=device),
             torch.randn(batch, o, device=device), f, w, g) for (i, o), f, w, g in work]

    def run() -> None:
        for a, w, dy, n_fwd, n_wgrad, n_igrad in mats:
            for _ in range(n_fwd):
                _ = a @ w
            for _ in range(n_wgrad):
                _ = a.T @ dy
            for _ in range(n_igrad):
                _ = dy @ w.T

    run()
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(reps):
        run()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / reps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--no-write", action="store_true", help="print only; leave benchmarks/README.md")
    args = ap.parse_args()
    dev = torch.device(args.device)
    cfg = GANConfig.mnist()
    x = torch.rand(100, 784, device=dev)
    trainer = Trainer(cfg, TrainConfig(), torch.rand(1000, 784), x, "/tmp/bench-gan-ckpt", device=dev)
    load_before = os.getloadavg()[0]
    default, default_faults = best_of_3(trainer, x, args.steps)
    tuned_ok = tune_cpu_allocator()
    step, step_faults = best_of_3(trainer, x, args.steps)
    floor = min(gemm_floor(cfg, 100, dev) for _ in range(3))
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"CPU, {os.cpu_count()} cores"
    line = (f"GAN training step (MNIST model, batch 100, D + G update), best of 3 × {args.steps} steps: "
            f"**{step * 1e3:.1f} ms** on {name} "
            f"(target ≤ 30 ms on the 2-core CPU); its GEMMs alone: {floor * 1e3:.1f} ms "
            f"(step / GEMMs = {step / floor:.2f}×)")
    table = ["| allocator | ms / step (best of 3) | minor page faults / step |", "|---|---|---|",
             f"| glibc defaults | {default * 1e3:.1f} | {default_faults:,.0f} |",
             f"| `tune_cpu_allocator()`{'' if tuned_ok else ' (not applied: no glibc)'} | "
             f"{step * 1e3:.1f} | {step_faults:,.0f} |"]
    print(line)
    print("\n".join(table))
    if not args.no_write:
        update_section("GAN training step", "\n".join([
            line, "", *table, "",
            "Each chapter calls `genrepro.device.tune_cpu_allocator()` (glibc `mallopt`: freed "
            "blocks up to 32 MiB stay in the process), so the step the chapter trains with is the "
            "second row. Without it glibc hands every freed gradient back to the kernel and the "
            "next step faults it in again.", "",
            f"Command: `python benchmarks/bench_gan.py --steps {args.steps} --device {args.device}`; "
            f"torch {torch.__version__}, Python {platform.python_version()}, "
            f"measured {time.strftime('%Y-%m-%d')}; 1-minute load average {load_before:.1f} before the run "
            "(other processes inflate the figure; the GEMM ratio is the steadier number). "
            "Not measured here: the full MNIST run on one GPU (target ≤ 10 min) — needs a GPU session."]))


if __name__ == "__main__":
    main()
