"""GAN on MNIST at paper scale, on whatever device is at hand (a spot check of Table 1's row).

The GAN chapter's full profile trains the MNIST model *and* the TFD-size model (width 8000),
which needs a GPU. The MNIST model alone is small enough for a CPU: this script trains it with
the full profile's settings (``mnist.yaml``: 300 epochs of 500 minibatches of 100, lr 0.1 /
1.000004 per update, momentum 0.5 → 0.7 over epochs 1–250; validation Parzen every 5 epochs
with 10,000 samples, best checkpoint kept) and scores the best checkpoint with the protocol of
``parzen_ll.py`` (10,000 samples, σ chosen on 1,000 validation images, mean ± std/√N over the
10,000 test images), beside the paper's 225 ± 2 and the two baselines of Theis et al. (2016)
under the same protocol. It writes its section of ``benchmarks/README.md`` and a sample figure.

Training checkpoints after every epoch into ``artifacts/paper-scale/gan-mnist/<settings hash>``:
a run that is killed, or cut by ``--budget-min``, resumes where it stopped when started again.
A run cut by the budget is reported as such (epochs done of 300), never as the full profile.

    python benchmarks/paper_scale_gan.py [--budget-min 600] [--threads 2] [--device cpu|cuda]
                                         [--seed 0] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from genrepro import parzen, paths, profiles, scoreboard  # noqa: E402
from genrepro.chapter import settings_tag, source_digest  # noqa: E402
from genrepro.data import mnist  # noqa: E402
from genrepro.data.prep import atomic_file  # noqa: E402
from genrepro.device import device_name, tune_cpu_allocator  # noqa: E402
from genrepro.gan import GANConfig, TrainConfig, Trainer, analysis, sample_noise  # noqa: E402
from genrepro.plotting import image_grid  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from readme import update_section  # noqa: E402

TITLE = "GAN on MNIST at paper scale (spot check)"
FIGURE = Path(__file__).resolve().parent / "paper_scale_gan_samples.png"
QUANTITY = "MNIST Parzen log-likelihood (nats)"   # the Scoreboard row that quotes Table 1


class _OutOfTime(Exception):
    pass


def log(message: str) -> None:
    print(message, flush=True)


def train(tcfg: TrainConfig, x: dict[str, torch.Tensor], device: str, budget_s: float) -> tuple[Trainer, bool]:
    """Train (resuming from the last checkpoint) until done or out of budget; True when done."""
    gcfg = GANConfig.mnist()
    ckpt = paths.artifacts_dir() / "paper-scale" / "gan-mnist" / settings_tag(gcfg, tcfg, source_digest("genrepro.gan"))
    trainer = Trainer(gcfg, tcfg, x["train"], x["valid"], ckpt, device=device)
    t0 = time.perf_counter()

    def on_step(step: int) -> None:
        if time.perf_counter() - t0 > budget_s:
            raise _OutOfTime

    os.environ.setdefault("GENREPRO_PROGRESS", "log")   # one line per monitored epoch
    try:
        trainer.train(on_step=on_step)
        done = True
    except _OutOfTime:
        done = False
    if trainer.resumed_from is not None:
        log(f"resumed from epoch {trainer.resumed_from} in {paths.display(ckpt)}")
    return trainer, done


def kmeans_cached(x: np.ndarray, k: int, seed: int) -> np.ndarray:
    """k-means centroids (12 min on 2 CPU cores for 10,000 of 50,000 images), cached in artifacts/."""
    path = paths.artifacts_dir() / "paper-scale" / f"kmeans-k{k}-n{len(x)}-seed{seed}.npy"
    if path.is_file():
        return np.load(path)
    t = time.perf_counter()
    cents = analysis.kmeans_centroids(x, k, seed=seed)
    log(f"k-means ({k:,} centroids of {len(x):,} images) in {time.perf_counter() - t:.0f} s")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as f:
        np.save(f, cents)
    return cents


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget-min", type=float, default=600.0, help="wall-clock minutes of training in this call")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=None, help="for a smoke test only (default: the full profile's)")
    ap.add_argument("--no-write", action="store_true", help="print only; leave benchmarks/ as it is")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tune_cpu_allocator()
    S = profiles.get("gan", "full")
    data = mnist.load()
    flat = lambda a: torch.as_tensor(a.reshape(len(a), -1), dtype=torch.float32) / 255.0  # noqa: E731
    x = {"train": flat(data.x_train[:50000]), "valid": flat(data.x_train[50000:]), "test": flat(data.x_test)}
    tcfg = TrainConfig(epochs=args.epochs or S.epochs, steps_per_epoch=S.steps_per_epoch, monitor_every=S.monitor_every,
                       monitor_samples=S.monitor_samples, monitor_valid=S.monitor_valid, seed=args.seed)
    trainer, done = train(tcfg, x, args.device, args.budget_min * 60)
    hist = trainer.history
    if trainer.best is None:
        sys.exit(f"error: no validation score yet (epoch {trainer.epoch} of {tcfg.epochs}); run it again "
                 "with a larger --budget-min: it resumes from its checkpoint")
    epoch_s = float(np.median([h["seconds"] for h in hist]))
    best = trainer.load_best()
    log(f"{'done' if done else 'cut by the budget'} at epoch {trainer.epoch}/{tcfg.epochs}; best validation "
        f"Parzen {best['valid_parzen']:.1f} at epoch {best['epoch']}; median {epoch_s:.1f} s/epoch")

    def protocol(samples: torch.Tensor, name: str) -> dict:
        t = time.perf_counter()
        r = parzen.evaluate(x["test"][:S.parzen_test], x["valid"][:S.parzen_valid], samples)
        log(f"{name}: {r['mean']:.1f} ± {r['se']:.1f} (σ = {r['sigma']:.3f}, {time.perf_counter() - t:.1f} s)")
        return r

    ours = protocol(trainer.sample(S.parzen_samples, seed=args.seed + 1).cpu(), "GAN, best checkpoint")
    perm = torch.randperm(50000, generator=torch.Generator().manual_seed(args.seed))[:S.parzen_samples]
    real = protocol(x["train"][perm], f"{S.parzen_samples:,} real training images")
    cents = kmeans_cached(x["train"][:S.kmeans_fit].numpy(), S.kmeans_k, args.seed)
    km = protocol(torch.as_tensor(cents), f"k-means, {S.kmeans_k:,} centroids")

    with torch.no_grad():
        trainer.G.eval()
        fair = trainer.G(sample_noise(16, 100, torch.Generator().manual_seed(args.seed + 2)).to(args.device)).cpu()
    pairs = torch.stack([fair, x["train"][analysis.nearest_neighbours(fair, x["train"])]], 1)
    image_grid(pairs.reshape(-1, 28, 28).numpy(), ncols=8, titles=["sample", "nearest train"] * 16, scale=1.2,
               title=f"MNIST GAN at paper scale ({device_name(args.device)}), best checkpoint "
                     f"(epoch {best['epoch']}): samples and their nearest training images")
    if args.no_write or tcfg.epochs != S.epochs:
        return
    plt.savefig(FIGURE, dpi=80, bbox_inches="tight")
    mon = [h for h in hist if "valid_parzen" in h]
    curve = ", ".join(f"{h['epoch']}: {h['valid_parzen']:.0f}" for h in mon[:: max(1, len(mon) // 12)])
    total_h = sum(h["seconds"] for h in hist) / 3600
    status = (f"all {tcfg.epochs} epochs" if done else
              f"cut by the time budget at epoch {trainer.epoch} of {tcfg.epochs}")
    command = (f"python benchmarks/paper_scale_gan.py --budget-min {args.budget_min:g} --threads {args.threads} "
               f"--device {args.device}")
    device, today = device_name(args.device), time.strftime("%Y-%m-%d")
    cmd = (f"`{command}` on {device}; torch {torch.__version__}, Python {platform.python_version()}, {today}; "
           f"{total_h:.2f} h of training in all (epoch times summed over every call; "
           + (f"this call resumed from epoch {trainer.resumed_from})" if trainer.resumed_from is not None
              else "one call)"))
    best_note = f"best validation checkpoint (epoch {best['epoch']} of {trainer.epoch})"
    spot = dict(status=status + (f"; {best_note}" if done else f" — a lower bound; {best_note}"),
                device=device, command=command, date=today)
    scoreboard.write_spot_check("gan_mnist", [
        dict(quantity=QUANTITY, model="GAN, mnist.yaml (300 epochs)",
             value=ours["mean"], se=ours["se"], **spot),
        dict(quantity="MNIST Parzen log-likelihood (nats), Theis et al. baseline",
             model=f"{S.parzen_samples:,} real training images as samples", value=real["mean"], se=real["se"],
             **{**spot, "status": "no training; the GAN's Parzen protocol"}),
        dict(quantity="MNIST Parzen log-likelihood (nats), Theis et al. baseline",
             model=f"k-means, {S.kmeans_k:,} centroids", value=km["mean"], se=km["se"],
             **{**spot, "status": f"k-means of {S.kmeans_fit:,} training images; the GAN's Parzen protocol"})])
    training = status if done else f"**{status}** — a lower bound, not the full profile's result; run it again to resume"
    quoted = next(r.quoted for r in scoreboard.ROWS if r.quantity == QUANTITY)
    row = lambda name, r, paper: f"| {name} | {r['mean']:.1f} ± {r['se']:.1f} | {r['sigma']:.3f} | {paper} |"  # noqa: E731
    update_section(TITLE, "\n".join([
        "The MNIST half of the GAN chapter's full profile, run alone (the chapter's full profile also "
        "trains the TFD-size model, which needs a GPU). Settings as `mnist.yaml` and the full profile: "
        f"{tcfg.epochs} epochs × {50000 // tcfg.batch_size} minibatches of {tcfg.batch_size} on train[0:50000], "
        f"validation Parzen every {tcfg.monitor_every} epochs ({tcfg.monitor_samples:,} samples, "
        f"{tcfg.monitor_valid:,} validation images), best checkpoint kept; scored with `parzen_ll.py`'s "
        f"protocol ({S.parzen_samples:,} samples, σ on {S.parzen_valid:,} validation images, mean ± "
        f"std/√N over {S.parzen_test:,} test images). Training: {training}; median {epoch_s:.1f} s an "
        f"epoch; best validation Parzen {best['valid_parzen']:.1f} nats at epoch {best['epoch']}.",
        "", "| MNIST, Parzen log-likelihood of test data | nats | σ | paper (Table 1) |", "|---|---|---|---|",
        row(f"Adversarial nets, this run (best checkpoint, epoch {best['epoch']})", ours, quoted),
        row(f"{S.parzen_samples:,} real training images as 'samples' (Theis et al. 2016)", real, "—"),
        row(f"k-means, {S.kmeans_k:,} centroids of {S.kmeans_fit:,} training images (Theis et al. 2016)", km, "—"),
        "", f"Validation Parzen by epoch (every {max(1, len(mon) // 12) * tcfg.monitor_every}th epoch shown): "
        f"{curve}.", "", f"![samples]({FIGURE.name})", "", f"Command: {cmd}."]))
    log(f"wrote {paths.display(FIGURE)}, results/paper_scale/gan_mnist.json and the section '{TITLE}' "
        "of benchmarks/README.md")


if __name__ == "__main__":
    main()
