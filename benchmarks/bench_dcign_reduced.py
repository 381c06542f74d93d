#!/usr/bin/env python
"""DC-IGN's CPU reduction (Kulkarni et al. 2015 §3.2): what one training step of a reduced job costs.

The DC-IGN issue asks for a reduced configuration that trains on this 2-core CPU in ≤ 2 h. This
times one step of a reduced faces job (default: ``dcign-faces-mirror-inv-swap-facelight``, our
recipe that passes |r| 0.9 on all three factors only after 100,000 steps; the paper's recipe is
``--job dcign-faces``) in its parts, on the job's own rendered batches:

* **render**: ``FaceSource.batch`` (20 faces at 64×64, rendered at twice the size and reduced);
* **step, eager**: ``Trainer.train_step`` on pre-rendered batches (encode, mirror, clamp, sample,
  decode, swap decode, losses, backward, Adam), the four batch kinds in the job's order;
* **step, compiled**: the same with ``TrainConfig.compile`` (the encoder and decoder compiled in
  place by ``torch.compile``, inductor; needs a C++ compiler): does it pay on the CPU?

each at every ``--threads`` count, and prints the hours of 40,000 and 100,000 steps at each speed.
Other jobs on the machine inflate the figures: the README line records the load average.

    python benchmarks/bench_dcign_reduced.py [--job NAME] [--steps 60] [--threads 1,2] [--no-compile]
"""

from __future__ import annotations

import argparse
import os
import platform
from dataclasses import replace
import tempfile
import time

import torch
from bench_dcign import time_steps as time_trainer
from readme import update_section

from genrepro.dcign import Trainer
from genrepro.jobs.dcign import DCIGNJob


class _Prerendered:
    """The job's first ``n`` batches, rendered once (so that a step is timed without its render)."""

    def __init__(self, source, n: int):
        self.batches = [source.batch(s) for s in range(n)]
        self._settings = source.settings()

    def batch(self, step: int):
        return self.batches[step % len(self.batches)]

    def settings(self) -> dict:
        return self._settings


def time_render(source, steps: int) -> float:
    t0 = time.perf_counter()
    for s in range(steps):
        source.batch(1000 + s)
    return (time.perf_counter() - t0) / steps


def time_steps(job: DCIGNJob, src: _Prerendered, steps: int, warmup: int, compiled: bool) -> float:
    """Seconds per step of ``job``'s trainer, eager or with ``TrainConfig.compile`` (the full-size
    benchmark's timing loop, ``bench_dcign.time_steps``)."""
    with tempfile.TemporaryDirectory() as tmp:
        torch._dynamo.reset()
        trainer = Trainer(job.model_config(), replace(job.train_config(), compile=compiled), src, tmp)
        return time_trainer(trainer, src, steps, warmup)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--job", default="dcign-faces-mirror-inv-swap-facelight")
    ap.add_argument("--steps", type=int, default=60, help="timed steps per measurement")
    ap.add_argument("--warmup", type=int, default=10, help="untimed steps first (compiling happens here)")
    ap.add_argument("--threads", default="1,2", help="comma-separated torch thread counts")
    ap.add_argument("--no-compile", action="store_true", help="time the eager step only")
    ap.add_argument("--no-write", action="store_true", help="print only; leave benchmarks/README.md")
    args = ap.parse_args()
    job = DCIGNJob(args.job)
    if job.scale != "reduced" or job.data != "faces":
        raise SystemExit(f"error: {args.job} is not a reduced faces job; try dcign-faces or "
                         "dcign-faces-mirror-inv-swap-facelight")
    threads = [int(t) for t in args.threads.split(",")]
    source = job.source(torch.device("cpu"))
    src = _Prerendered(source, 26)
    load_before = os.getloadavg()[0]
    rows = []
    for t in threads:
        torch.set_num_threads(t)
        render = time_render(source, max(10, args.steps // 3))
        eager = time_steps(job, src, args.steps, args.warmup, compiled=False)
        comp = None if args.no_compile else time_steps(job, src, args.steps, args.warmup, compiled=True)
        rows.append((t, render, eager, comp))
        print(f"{t} thread(s): render {render * 1e3:.0f} ms/batch, step eager {eager * 1e3:.0f} ms"
              + ("" if comp is None else f", compiled {comp * 1e3:.0f} ms ({eager / comp:.2f}×)"), flush=True)
    load_after = os.getloadavg()[0]

    def hours(step_s: float, n: int) -> str:
        return f"{n * step_s / 3600:.1f} h"

    c = job.model_config()
    table = ["| threads | render | step, eager | step, compiled | 40,000 steps (best, with render) | 100,000 steps |",
             "|---|---|---|---|---|---|"]
    for t, render, eager, comp in rows:
        best = min(eager, comp) if comp is not None else eager
        table.append(f"| {t} | {render * 1e3:.0f} ms | {eager * 1e3:.0f} ms | "
                     + ("—" if comp is None else f"{comp * 1e3:.0f} ms ({eager / comp:.2f}×)")
                     + f" | {hours(best + render, 40_000)} | {hours(best + render, 100_000)} |")
    text = "\n".join([
        f"One training step of `{args.job}` (reduced {c.image_size}×{c.image_size}, widths "
        f"{'/'.join(map(str, c.enc_channels))}, batch 20; {job.description}), on the job's own renders. "
        "Target: a reduced network that disentangles (|r| ≥ 0.9 on all three factors) in ≤ 2 h on this "
        "2-core CPU.", "", *table, "",
        f"Timed: {args.steps} steps after {args.warmup} warm-up steps, on the job's first 26 batches rendered "
        "once; the render is timed apart on later batches. *Compiled*: `TrainConfig.compile` (encoder and "
        "decoder compiled in place by `torch.compile`, inductor); the reduced jobs train eager.", "",
        f"Command: `python benchmarks/bench_dcign_reduced.py --job {args.job} --steps {args.steps} "
        f"--threads {args.threads}{' --no-compile' if args.no_compile else ''}`; torch {torch.__version__}, "
        f"Python {platform.python_version()}, `nproc` = {os.cpu_count()}, measured {time.strftime('%Y-%m-%d')}; "
        f"1-minute load average {load_before:.1f} before / {load_after:.1f} after (other jobs inflate the figures)."])
    print(text)
    if not args.no_write:
        update_section("DC-IGN reduction on the CPU", text)


if __name__ == "__main__":
    main()
