#!/usr/bin/env python
"""DC-IGN training throughput (Kulkarni et al. 2015 §3.2): the full 150×150 network.

Times ``genrepro.dcign.Trainer.train_step`` (encode, clamp, sample, decode, summed BCE + KL,
backward, Adam) on batches of 20 at 150×150 with the paper's network (``DCIGNConfig.full()``:
encoder 96/48/24, decoder 24 → 48 → 96 → 96 → 1, 200 latents), cycling through the four
batch kinds' active sets. The images are fixed random [0, 1] tensors: the network's cost
does not depend on their content, and rendering (``bench_render.py``) is timed apart. On a
GPU, ``--amp`` (bf16 autocast), ``--tf32`` and ``--channels-last`` switch on the usual
speed-ups. Target: the full faces run (``profiles['dcign'].steps`` batches) in ≤ 10 min on
one H100.

    python benchmarks/bench_dcign.py [--steps 3] [--device cpu|cuda] [--amp] [--tf32] [--channels-last]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time

import torch
from readme import update_section

from genrepro import profiles
from genrepro.data.faces import KINDS
from genrepro.dcign import Batch, DCIGNConfig, TrainConfig, Trainer, face_active


class _Fixed:
    """A batch source with fixed random images, one per kind (the cost is content-free)."""

    def __init__(self, size: int, device: torch.device):
        g = torch.Generator().manual_seed(0)
        self.x = [torch.rand(20, 1, size, size, generator=g).to(device) for _ in KINDS]

    def batch(self, step: int) -> Batch:
        k = step % len(KINDS)
        return Batch(self.x[k], KINDS[k], face_active(KINDS[k]))

    def settings(self) -> dict:
        return {"data": "random"}


def time_steps(trainer: Trainer, src: _Fixed, steps: int, warmup: int) -> float:
    sync = torch.cuda.synchronize if trainer.device.type == "cuda" else (lambda: None)
    for s in range(warmup):
        trainer.train_step(src.batch(s))
    sync()
    t0 = time.perf_counter()
    for s in range(steps):
        trainer.train_step(src.batch(s))
    sync()
    return (time.perf_counter() - t0) / steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    ap.add_argument("--amp", action="store_true", help="bf16 autocast (CUDA)")
    ap.add_argument("--tf32", action="store_true", help="allow TF32 matmuls/convolutions (CUDA)")
    ap.add_argument("--channels-last", action="store_true", help="channels-last tensors (CUDA)")
    ap.add_argument("--no-write", action="store_true", help="print only; leave benchmarks/README.md")
    args = ap.parse_args()
    dev = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.tf32:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
    cfg = DCIGNConfig.full()
    tcfg = TrainConfig(steps=args.steps, amp=args.amp, channels_last=args.channels_last)
    src = _Fixed(cfg.image_size, dev)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(cfg, tcfg, src, tmp, device=dev)
        step = time_steps(trainer, src, args.steps, args.warmup)
    load_after = os.getloadavg()[0]
    ips = 20 / step
    full_steps = profiles.get("dcign", "full").steps
    name = (torch.cuda.get_device_name(dev) if dev.type == "cuda"
            else f"CPU ({platform.machine()}, {torch.get_num_threads()} threads)")
    opts = ", ".join(o for o, on in (("bf16 autocast", args.amp), ("TF32", args.tf32),
                                     ("channels-last", args.channels_last)) if on) or "fp32"
    line = (f"DC-IGN training step (full 150×150 network, batch 20, clamp + SGVB + Adam): "
            f"**{step:.2f} s/step = {ips:.1f} images/s** on {name} ({opts}); the full faces run "
            f"({full_steps:,} steps) would take {full_steps * step / 3600:.1f} h at this speed")
    print(line)
    if args.no_write:
        return
    cmd = " ".join(["python benchmarks/bench_dcign.py", f"--steps {args.steps}", f"--device {args.device}"]
                   + (["--threads", str(args.threads)] if args.threads else [])
                   + [f for f, on in (("--amp", args.amp), ("--tf32", args.tf32),
                                      ("--channels-last", args.channels_last)) if on])
    update_section("DC-IGN", "\n".join([
        line, "",
        f"Timed: {args.steps} steps after {args.warmup} warm-up step(s), fixed random images "
        "(the network's cost does not depend on content; rendering the training batches on the "
        "fly is timed apart, see Renderer), the four batch kinds' clamps in turn.", "",
        f"Command: `{cmd}`; torch {torch.__version__}, Python {platform.python_version()}, "
        f"`nproc` = {os.cpu_count()}, measured {time.strftime('%Y-%m-%d')}; 1-minute load average "
        f"{load_before:.1f} before / {load_after:.1f} after (other jobs inflate the figure). "
        "Target: the full faces run in ≤ 10 min on one H100 — GPU figures come when a GPU is at "
        "hand: `python benchmarks/bench_dcign.py --steps 200 --warmup 20 --device cuda --amp "
        "--tf32 --channels-last`."]))


if __name__ == "__main__":
    main()
