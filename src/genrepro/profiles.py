"""The one profile table: every quick and full setting of every chapter, side by side.

``quick`` runs each chapter in about two minutes on a 2-core laptop CPU and still shows
real (if small) results; ``full`` is the paper's setting (meant for a GPU). A chapter
reads its settings with :func:`get`; the book shows them with :func:`table_markdown`, so a
reader sees the paper's value beside the quick one and where it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PROFILES: tuple[str, ...] = ("quick", "full")


@dataclass(frozen=True)
class Setting:
    """One hyperparameter: its quick and full (paper) value and where the full value comes from."""

    quick: Any
    full: Any
    source: str = ""

    def value(self, profile: str) -> Any:
        return self.quick if profile == "quick" else self.full


# chapter -> name -> Setting. Keep every chapter's settings here, never in notebooks.
TABLE: dict[str, dict[str, Setting]] = {
    "datasets": {
        "grid_examples": Setting(32, 64, "display only"),
        "stats_examples": Setting(10_000, 70_000, "pixel statistics over this many images"),
    },
    # data_prep/faces.py (genrepro.data.faces): rendered morphable faces for DC-IGN, and
    # the 48×48 "rendered faces (stand-in for TFD)" flat set for the GAN chapter.
    "faces": {
        "image_size": Setting(64, 150, "Kulkarni et al. 2015 §4.1: 150×150 grayscale faces"),
        "batch_size": Setting(20, 20, "Kulkarni et al. 2015 §3.2: batches of 20, one factor varied"),
        "test_batches_per_kind": Setting(8, 350, "original DC-IGN code: 350 test batches per kind"),
        "train_batches": Setting(200, 12_000, "original DC-IGN code: ≈12,000 training batches"),
        "flat_size": Setting(48, 48, "Goodfellow et al. 2014 §5: TFD faces are 48×48"),
        "flat_n": Setting(5_000, 100_000, "TFD stand-in; TFD's unlabelled set has ≈100k faces"),
    },
    # data_prep/chairs.py (genrepro.data.chairs): the DC-IGN chairs, 62 views per model.
    "chairs": {
        "image_size": Setting(64, 150, "Kulkarni et al. 2015 §4.2: 150×150 grayscale"),
        "max_models": Setting(24, None, "Aubry et al. 2014: 1393 chairs; None = every "
                              "seating model of sweethome3d-furniture (94)"),
        "test_fraction": Setting(0.2, 0.2, "our choice: whole models held out for testing"),
        "seed": Setting(0, 0, "model subset and train/test split"),
        "supersample": Setting(2, 1, "anti-aliasing: render k× larger, average k×k blocks "
                               "(Aubry's 600 px renders were downsampled); 1 keeps full "
                               "prep on a CPU under 10 min"),
    },
    # data_prep/bsds300.py + genrepro.data.patches: the Deep GMM chapter's 8×8 patches
    # (van den Oord & Schrauwen 2014 §5, Uria et al. 2013 protocol); also the Figure 4b
    # "tiny images" counts. The natural-photo stand-in uses the same counts.
    "deepgmm_data": {
        "n_train": Setting(20_000, 500_000, "van den Oord & Schrauwen 2014 Figure 4: "
                           "500,000 training patches"),
        "n_valid": Setting(5_000, 50_000, "validation split of Uria et al.'s BSDS300 "
                           "patch set (50,000; as used by Papamakarios et al. 2017)"),
        "n_test": Setting(10_000, 250_000, "test split of Uria et al.'s BSDS300 patch set "
                          "(250,000; Papamakarios et al. 2017)"),
        "seed": Setting(0, 0, "our choice: patch locations and dequantisation noise"),
    },
    # book/gan.ipynb — Goodfellow et al. 2014, original code goodfeli/adversarial.
    "gan": {
        "epochs": Setting(4, 300, "mnist.yaml has no stopping rule; momentum saturates at epoch 250"),
        "job_epochs": Setting(4, 1000, "the gan-mnist job trains on past the chapter's 300 "
                              "(lr still 0.0135 at epoch 1,000; the best validation epoch is kept)"),
        "steps_per_epoch": Setting(250, None, "None = one pass over train[0:50000] in batches of 100"),
        "monitor_every": Setting(1, 5, "our choice: epochs between validation Parzen scores"),
        "monitor_samples": Setting(1_000, 10_000, "parzen_ll.py -n 10000"),
        "monitor_valid": Setting(500, 1_000, "parzen_ll.py -l 1000 (σ chosen on 1,000 validation)"),
        "parzen_samples": Setting(2_000, 10_000, "parzen_ll.py: 10,000 samples from G"),
        "parzen_valid": Setting(500, 1_000, "parzen_ll.py: σ cross-validated on 1,000 validation examples"),
        "parzen_test": Setting(2_000, 10_000, "parzen_ll.py: the 10,000 MNIST test examples"),
        "kmeans_k": Setting(500, 10_000, "Theis et al. 2016: as many centroids as samples"),
        "kmeans_fit": Setting(10_000, 50_000, "training examples k-means is fitted on"),
        "toy_steps": Setting(1_500, 10_000, "our choice (Figure 1 has no stated schedule)"),
        "toy_d_steps": Setting(400, 5_000, "D trained alone to convergence for Proposition 1"),
        "faces_epochs": Setting(2, 100, "tfd_pretrain/train.yaml ran 22 epochs after pretraining"),
        "faces_g_width": Setting(400, 8000, "tfd_pretrain: G ReLU 8000 → sigmoid 8000 → sigmoid 2304"),
        "faces_d_units": Setting(120, 1200, "tfd_pretrain: D maxout 1200×5 → maxout 1200×5"),
        "tfd_folds": Setting(1, 5, "paper: standard error across TFD's 5 folds (real TFD only)"),
    },
    # book/deepgmm.ipynb — van den Oord & Schrauwen 2014 (genrepro.deepgmm).
    # book/deepgmm.ipynb — van den Oord & Schrauwen 2014 (no public code; our reading of §3–§5).
    "deepgmm": {
        "layer_sizes": Setting((5, 5, 8), (5, 5, 20), "Figure 2's net; (5, 5, 20) is the benchmarked net"),
        "em_iterations": Setting(4, 100, "issue: up to 100 hard-EM iterations (stopped on validation)"),
        "patience": Setting(None, 5, "our choice: stop after 5 iterations without validation gain"),
        "lbfgs_maxiter": Setting(30, 1000, "§3.2: L-BFGS, up to 1000 iterations per node"),
        "warm_passes": Setting(1, 1, "§3.3: 1 pass warm-started from the previous best path"),
        "restart_passes": Setting(2, 2, "§3.3: 2 passes from a random restart"),
        "reg": Setting(1e-6, 1e-6, "covariance floor as sklearn's reg_covar: hard-EM paths with "
                       "fewer points than dimensions are otherwise singular"),
        "trace_passes": Setting(5, 10, "Figure 2 (passes axis): our choice"),
        "trace_restarts": Setting(5, 10, "Figure 2 (restarts axis): our choice"),
        "fig4_tops": Setting((4, 8), (10, 25, 50, 100, 200), "Figure 4: top-layer components "
                             "(our grid); Table 1 takes the best on validation per depth"),
        "fig4_lower": Setting(5, 5, "Figure 4: the other layers at 5 components"),
        "fig4_tiny_tops": Setting((4, 8), (10, 25, 50, 100, 200), "Figure 4b (tiny images): our grid"),
        "n_samples": Setting(64, 64, "patches drawn from the model for display"),
        "dist_n": Setting(2_000, 20_000, "distributed-EM check: points (2 workers)"),
        "dist_layers": Setting((3, 3, 4), (5, 5, 8), "distributed-EM check: net"),
        "dist_iterations": Setting(3, 5, "distributed-EM check: hard-EM iterations"),
    },
    # book/dcign.ipynb — Kulkarni et al. 2015 (genrepro.dcign), original code
    # willwhitney/dc-ign: config.lua init_network2_150_mv, monovariant_main.lua, rmsprop.lua.
    "dcign": {
        "image_size": Setting(64, 150, "§4.1/§4.2: 150×150 grayscale; quick = the quick data's size"),
        "enc_channels": Setting((16, 8, 8), (96, 48, 24), "init_network2_150_mv: feature_maps "
                                "96 → 96/2 → 96/4"),
        "enc_kernel": Setting(3, 5, "init_network2_150_mv: 5×5 valid convs (quick: 3×3 closes "
                              "the 64-px chain 64→62→31→29→14→12→6)"),
        "dec_channels": Setting((8, 16, 16), (48, 96, 96), "init_network2_150_mv: decoder "
                                "24 → 48 → 96 → 96 → 1"),
        "dec_kernels": Setting((3, 3, 3, 5), (7, 7, 7, 7), "init_network2_150_mv: 7×7 valid convs "
                               "after ×2 up-sampling (quick: 6→12→10→20→18→36→34→68→64)"),
        "latent_dim": Setting(200, 200, "§3.1; monovariant_main.lua --dim_hidden 200"),
        "batch_size": Setting(20, 20, "§3.2; monovariant_main.lua --bsize 20"),
        "lr": Setting(5e-4, 5e-4, "monovariant_main.lua --learning_rate -0.0005 (ascent)"),
        "betas": Setting((0.9, 0.99), (0.9, 0.99), "rmsprop.lua (Adam in effect): "
                         "momentumDecay 0.1, updateDecay 0.01"),
        "invariance": Setting(0.01, 0.01, "§3.2: invariance gradient scaled by 1/100"),
        "mirror_tie": Setting(10.0, 10.0, "ours, not in the paper: weight of the mirror tie on z1–z3 "
                              "in the chapter's §6 variant only (job dcign-faces-mirror); the "
                              "paper-recipe networks train without it"),
        "mirror_invariance": Setting(1.0, 1.0, "ours, not in the paper: the invariance strength of "
                                     "the §6 variant dcign-faces-mirror-inv (mirror tie plus 100× the "
                                     "paper's 1/100), which pulls z1–z3 of faces that share a pose "
                                     "together"),
        "mirror_invariance_strong": Setting(10.0, 10.0, "ours, not in the paper: the invariance "
                                            "strength of the §6 probe dcign-faces-mirror-inv10 (mirror "
                                            "tie plus 1,000× the paper's 1/100)"),
        "moment_tie": Setting(10.0, 10.0, "ours, not in the paper: weight of the moment tie (level 0, "
                              "spread 1 of the one active z1–z3 over an azimuth, elevation or light "
                              "batch) in the §6 probe dcign-faces-mirror-moments, with the "
                              "mirror tie and invariance of dcign-faces-mirror-inv"),
        "swap_tie": Setting(1.0, 1.0, "ours, not in the paper: weight of the swap tie (each image of a "
                            "clamped batch decoded a second time with the clamped latents of its "
                            "neighbour) in the §6 probe dcign-faces-mirror-inv-swap, with the mirror "
                            "tie and invariance of dcign-faces-mirror-inv"),
        "variant_steps": Setting(100, 24_000, "ours: steps of each §6 variant the chapter trains itself "
                                 "(quick: enough to run its code; full: the profile's steps; the "
                                 "published variants are the 40,000-step jobs)"),
        "fast_lr": Setting(1e-3, 1e-3, "ours, not in the paper: the learning rate of the §6 probe "
                           "dcign-faces-mirror-inv-swap-facelight-lr1e-3, twice the original's 5e-4, with "
                           "everything else of dcign-faces-mirror-inv-swap-facelight: do the factors "
                           "separate in fewer steps (the reduction's ≤ 2 h)?"),
        "fast_lr_final": Setting(1e-4, 1e-4, "ours, not in the paper (whose learning rate is constant): "
                                 "where the §6 probe dcign-faces-mirror-inv-swap-facelight-lr1e-3-cos ends its "
                                 "cosine decay from fast_lr, a tenth of it, over its 40,000 steps"),
        "elevation_ratio": Setting((1, 3, 1, 10), (1, 3, 1, 10), "ours, not in the paper (§3.2: "
                                   "1 : 1 : 1 : 10): AZ : EL : LIGHT : SHAPE batches of the §6 probe "
                                   "dcign-faces-mirror-inv-swap-facelight-el3, three times the elevation "
                                   "batches of dcign-faces-mirror-inv-swap-facelight, whose elevation "
                                   "latent is the one that needs 80,000-100,000 steps to pass |r| 0.9"),
        "wide_enc_channels": Setting((48, 24, 12), (48, 24, 12), "ours: the encoder of the probe "
                                     "dcign-faces-wide, half the paper's 96/48/24 at the reduced "
                                     "64×64 (the reduced jobs: 24/12/12)"),
        "wide_dec_channels": Setting((24, 48, 48), (24, 48, 48), "ours: its decoder, half the "
                                     "paper's 48 → 96 → 96 → 1 (the reduced jobs: 12 → 24 → 24 → 1)"),
        "face_ratio": Setting((1, 1, 1, 10), (1, 1, 1, 10), "§3.2: AZ : EL : LIGHT : SHAPE batches"),
        "chair_ratio": Setting((1, 1), (1, 1), "our choice (§4.2 gives none): azimuth-varied : "
                               "chair-varied batches"),
        "steps": Setting(300, 24_000, "our choice: ≈2 passes' worth of the original's ≈12,000 "
                         "training batches (rendered fresh); full sized for ≤ 10 min on one H100"),
        "baseline_steps": Setting(200, 24_000, "§4.1.1: the plain VAE sees the same batches"),
        "chairs_steps": Setting(200, 10_000, "our choice (§4.2 states no schedule)"),
        "checkpoint_every": Setting(100, 2_000, "our choice: steps between checkpoints"),
        "log_every": Setting(50, 500, "our choice: steps per history record"),
        "calibration_batches": Setting(8, 100, "our choice: training AZ batches fitting the "
                                       "azimuth → z1 map for novel views"),
        "seed": Setting(0, 0, "our choice: init, noise, batch kinds and training renders"),
    },
    # Summary pages: no settings of their own, but they validate the profile too.
    "scoreboard": {},
    "status": {},
}


class Settings(dict):
    """A read-only mapping of a chapter's settings that also allows attribute access."""

    def __setitem__(self, key: str, value: Any) -> None:
        raise TypeError("settings are read-only: change them in genrepro.profiles.TABLE")

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def check_profile(profile: str) -> str:
    """Return ``profile`` if it is known, else raise a ``ValueError`` that lists the valid ones."""
    if profile not in PROFILES:
        valid = ", ".join(repr(p) for p in PROFILES)
        raise ValueError(f"unknown profile {profile!r}; valid profiles are: {valid}")
    return profile


def get(chapter: str, profile: str) -> Settings:
    """The settings of ``chapter`` in ``profile`` (a ``ValueError`` for an unknown either)."""
    check_profile(profile)
    if chapter not in TABLE:
        raise ValueError(f"no settings for chapter {chapter!r}; known: {', '.join(sorted(TABLE))}")
    return Settings({k: s.value(profile) for k, s in TABLE[chapter].items()})


def table_markdown(chapter: str) -> str:
    """A Markdown table of ``chapter``'s settings: quick beside full, with the source."""
    rows = ["| setting | quick | full (paper) | source |", "|---|---|---|---|"]
    for name, s in TABLE[chapter].items():
        rows.append(f"| `{name}` | {s.quick!r} | {s.full!r} | {s.source} |")
    return "\n".join(rows)
