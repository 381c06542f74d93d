"""The DC-IGN jobs' table: each job's name, run kind, data, scale and description (:data:`RUNS`) and
its overrides of the profile's network (:data:`JOB_MODEL`), training (:data:`JOB_TRAIN`) and
renders (:data:`JOB_DATA`); :class:`genrepro.jobs.dcign.DCIGNJob` runs them (Kulkarni et al. 2015
§3.2, §4.1, §4.2).

The CPU-trainable reduction (:meth:`~genrepro.dcign.DCIGNConfig.reduced`: 64×64, widths
24/12/12, the paper's structure, clamp, ratio, invariance and optimiser):

* ``dcign-faces`` — the clamped DC-IGN on rendered faces (§3.2, §4.1);
* ``dcign-baseline`` — the plain VAE of §4.1.1: the same network and batches, no clamp;
* ``dcign-chairs`` — the clamped DC-IGN on the chairs (§4.2), resized to 64×64.
* ``dcign-faces-mirror`` — ``dcign-faces`` plus our mirror tie on z1–z3 (``TrainConfig.mirror``,
  not in the paper; see :mod:`genrepro.dcign.train`): the paper's recipe leaves the sign of z2
  and z3 free per side of the face, and the tie fixes one sign for both.
* ``dcign-faces-mirror-inv`` — the mirror job with the clamped latents' invariance pull at 1.0
  instead of the paper's 1/100 (ours): it targets the per-face offset of z2 the tie leaves.
* ``dcign-faces-wide`` — ``dcign-faces`` at half the paper's widths (48/24/12, decoder 24 → 48 → 48
  → 1; :data:`JOB_MODEL`), about 2.4× the time per step: does the width sharpen the faces?
* ``dcign-faces-mirror-inv10`` — the same with the pull at 10 (the profile's
  ``mirror_invariance_strong``, ours): does a harder pull shrink that offset further?
* ``dcign-faces-mirror-moments`` — ``dcign-faces-mirror-inv`` plus our moment tie
  (``TrainConfig.moments``, the profile's ``moment_tie``): every azimuth, elevation or light
  batch spans its factor's whole range, so the active latent is held at level 0 and spread 1 over
  each such batch, against the per-face levels and gains the chapter's §6 measures.
* ``dcign-faces-mirror-inv-facelight`` — ``dcign-faces-mirror-inv`` on renders whose light turns
  with the face (``light_frame="face"``, :data:`JOB_DATA`; our renderer's light is fixed in the
  camera frame): a probe of the renders, not of the training. In the camera frame the light moves
  the image along a curve at |azimuth| 45°–60° (its first principal component tracks the light
  with |r| ≈ 0.45–0.55, ≈ 0.95 frontal; :func:`~genrepro.jobs.dcign_measures.light_in_images`),
  where the networks read the light worst; in the face frame along one direction at every pose
  (≈ 0.94), at the price of smaller changes and some flat steps near profile. The light factor is
  then the light's azimuth relative to the face, and its test faces are rendered the same way.
* ``dcign-faces-mirror-inv-swap`` — ``dcign-faces-mirror-inv`` plus our swap tie (``TrainConfig.swap``,
  the profile's ``swap_tie``): every clamped batch is decoded a second time with each image's
  clamped latents taken from its neighbour, so one image's own code must carry what the batch
  shares. Against the pose the identity latents carry (R² ≈ 0.9 from z4…z200) and the azimuth
  latent that folds back near profile, which keep Figure 5's sweep from turning a face to profile.
* ``dcign-faces-mirror-inv-swap-facelight`` — the swap job on the face-light probe's renders
  (``light_frame="face"``): the swap tie gave the best azimuth and elevation (test |r| 0.932,
  0.873) and the face-frame light the best light (0.876); does one network get all three?
* ``dcign-faces-mirror-inv-swap-facelight-80k`` — that job's schedule lengthened to 80,000 steps: it
  goes on from the 40,000-step job's complete checkpoint (:mod:`genrepro.jobs.dcign_extend`;
  exact, as one 80,000-step run), since its elevation |r| was still rising at the end.
* ``dcign-faces-mirror-inv-swap-facelight-80k-inv10`` — the 80,000-step network trained on to 90,000
  steps with the invariance pull at 10 (the profile's ``mirror_invariance_strong``) from step 80,000
  on (a retune, :data:`JOB_RETUNES`; ours): its z2 follows the elevation within a face (|r| ≈ 0.97)
  better than across faces (≈ 0.89), so a per-face offset is left; the harder pull on the clamped
  latents of identity batches is against that offset, applied once the factors have separated (from
  the start, in ``dcign-faces-mirror-inv10``, the elevation latent came and went).
* ``dcign-faces-mirror-inv-swap-facelight-80k-inv10-100k`` — that retune's schedule lengthened to
  100,000 steps and nothing else (an exact extension), since its elevation |r| was still rising at 90,000.
* ``dcign-faces-mirror-inv-swap-facelight-80k-inv10-100k-moments`` — the 100,000-step network trained on
  to 110,000 steps with our moment tie (the profile's ``moment_tie``) added from step 100,000 on (a
  retune): what its z2 still loses across faces is mostly the gain (the level spread left is ≈ 5°, the
  gain's sd ≈ 1/3 of its mean), and the moment tie asks each elevation batch for spread 1 and level 0.
* ``dcign-faces-mirror-inv-swap-facelight-lr1e-3`` — ``dcign-faces-mirror-inv-swap-facelight`` with Adam's
  learning rate doubled (the profile's ``fast_lr``, ours): that recipe's elevation latent needed
  80,000-100,000 steps (≈ 6 h here) to pass |r| 0.9 on unseen faces; do the factors separate sooner?
* ``dcign-faces-mirror-inv-swap-facelight-lr1e-3-cos`` — that probe with its learning rate decayed along a
  cosine from 1e-3 to the profile's ``fast_lr_final`` (1e-4) over the 40,000 steps (``TrainConfig.lr_final``,
  ours): at a constant 1e-3 the held-out elevation |r| swung by ±0.05 between checkpoints and fell back to
  the 5e-4 run's by 14,000 steps; a decaying rate settles where a constant one keeps moving.
* ``dcign-faces-mirror-inv-swap-facelight-el3`` — ``dcign-faces-mirror-inv-swap-facelight`` with three
  times as many elevation batches (AZ : EL : LIGHT : SHAPE 1 : 3 : 1 : 10, the profile's
  ``elevation_ratio``; the paper's 1 : 1 : 1 : 10, ours): at 40,000 steps that recipe passes |r| 0.9 on
  unseen faces in azimuth and light but not in elevation (0.87); does the elevation latent separate
  sooner when it is clamped in more batches?
* ``dcign-faces-wide-mirror-inv-swap-facelight`` — that job's recipe (mirror tie, 100× invariance,
  swap tie, face-frame light) at ``dcign-faces-wide``'s widths: at those widths the paper's recipe
  alone reads elevation |r| ≈ 0.8 where the narrow one reads ≈ 0.03; do the ties and the width add up?

The paper's own 150×150 network (``init_network2_150_mv``, :meth:`DCIGNConfig.full`), GPU jobs:
``dcign-faces-150`` (24,000 steps), ``dcign-baseline-150``, ``dcign-chairs-150`` (10,000).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from genrepro import profiles
from genrepro.dcign.model import DCIGNConfig

RUNS = {   # job name -> (TrainConfig run, data, scale, description)
    "dcign-faces": ("dcign", "faces", "reduced",
                    "DC-IGN (clamped) on rendered faces, reduced 64×64 (CPU), §3.2/§4.1, Figures 4–7"),
    "dcign-baseline": ("baseline", "faces", "reduced",
                       "plain VAE baseline on rendered faces, reduced 64×64 (CPU), §4.1.1, Figure 7"),
    "dcign-chairs": ("chairs", "chairs", "reduced", "DC-IGN on chairs, reduced 64×64 (CPU), §4.2, Figure 8"),
    "dcign-faces-150": ("dcign", "faces", "full", "DC-IGN (clamped) on rendered faces, 150×150, §3.2/§4.1, Figures 4–7"),
    "dcign-baseline-150": ("baseline", "faces", "full", "plain VAE baseline on rendered faces, 150×150, §4.1.1, Figure 7"),
    "dcign-chairs-150": ("chairs", "chairs", "full", "DC-IGN on chairs, 150×150, §4.2, Figure 8"),
    "dcign-faces-mirror": ("dcign", "faces", "reduced",
                           "DC-IGN (clamped) on rendered faces plus our mirror tie on z1–z3 (not in the paper), "
                           "reduced 64×64 (CPU), §3.2/§4.1"),
    "dcign-faces-mirror-inv": ("dcign", "faces", "reduced",
                               "DC-IGN (clamped) on rendered faces plus our mirror tie and a 100× "
                               "invariance (not in the paper), reduced 64×64 (CPU), §3.2/§4.1"),
    "dcign-faces-wide": ("dcign", "faces", "reduced",
                         "DC-IGN (clamped) on rendered faces, reduced 64×64 at half the paper's widths "
                         "(48/24/12; the reduced jobs: 24/12/12), CPU, §3.2/§4.1: are the faces sharper?"),
    "dcign-faces-mirror-inv10": ("dcign", "faces", "reduced",
                                 "DC-IGN (clamped) on rendered faces plus our mirror tie and a 1,000× "
                                 "invariance (not in the paper), reduced 64×64 (CPU), §3.2/§4.1"),
    "dcign-faces-mirror-moments": ("dcign", "faces", "reduced",
                                   "DC-IGN (clamped) on rendered faces plus our mirror tie, a 100× invariance "
                                   "and our moment tie (not in the paper), reduced 64×64 (CPU), §3.2/§4.1"),
    "dcign-faces-mirror-inv-facelight": ("dcign", "faces", "reduced",
                                         "DC-IGN (clamped) plus our mirror tie and a 100× invariance, on faces "
                                         "whose light turns with the face (our renderer: camera frame; a probe, "
                                         "not in the paper), reduced 64×64 (CPU), §3.2/§4.1"),
    "dcign-faces-mirror-inv-swap": ("dcign", "faces", "reduced",
                                    "DC-IGN (clamped) on rendered faces plus our mirror tie, a 100× invariance "
                                    "and our swap tie (not in the paper), reduced 64×64 (CPU), §3.2/§4.1"),
    "dcign-faces-mirror-inv-swap-facelight": ("dcign", "faces", "reduced",
                                              "DC-IGN (clamped) plus our mirror tie, a 100× invariance and our "
                                              "swap tie, on faces whose light turns with the face (not in the "
                                              "paper), reduced 64×64 (CPU), §3.2/§4.1"),
    "dcign-faces-mirror-inv-swap-facelight-lr1e-3": ("dcign", "faces", "reduced",
                                                     "dcign-faces-mirror-inv-swap-facelight (not in the paper) "
                                                     "with Adam's learning rate doubled to 1e-3 (ours), reduced "
                                                     "64×64 (CPU), §3.2/§4.1"),
    "dcign-faces-mirror-inv-swap-facelight-lr1e-3-cos": ("dcign", "faces", "reduced",
                                                         "dcign-faces-mirror-inv-swap-facelight (not in the paper) "
                                                         "with Adam's learning rate decayed along a cosine from 1e-3 "
                                                         "to 1e-4 (ours), reduced 64×64 (CPU), §3.2/§4.1"),
    "dcign-faces-mirror-inv-swap-facelight-el3": ("dcign", "faces", "reduced",
                                                  "dcign-faces-mirror-inv-swap-facelight (not in the paper) "
                                                  "with three times the elevation batches (AZ : EL : LIGHT : "
                                                  "SHAPE 1 : 3 : 1 : 10; the paper's 1 : 1 : 1 : 10, ours), "
                                                  "reduced 64×64 (CPU), §3.2/§4.1"),
    "dcign-faces-wide-mirror-inv-swap-facelight": ("dcign", "faces", "reduced",
                                                   "dcign-faces-mirror-inv-swap-facelight (not in the paper) at "
                                                   "dcign-faces-wide's widths (48/24/12), reduced 64×64 (CPU), "
                                                   "§3.2/§4.1"),
}
# The reduction's schedule (our choice, sized for ≈ 2 h a network on this 2-core CPU; the
# 150×150 jobs take the full profile's 24,000 / 24,000 / 10,000 steps).
REDUCED_STEPS = {"dcign": 40_000, "baseline": 40_000, "chairs": 20_000}
REDUCED_CHECKPOINT_EVERY = 1_000
# Field overrides of single jobs: the mirror tie (``TrainConfig.mirror``, ours, not the paper's)
# that gives z1–z3 one sign on both sides of the face, with the profile table's weight
# (``mirror_tie``, summed over the batch like the bound's BCE and KL).
# ``dcign-faces-mirror-inv`` adds the profile's ``mirror_invariance`` (1.0, the paper's 1/100
# × 100): in a batch where the identity varies and the pose is shared, the clamped z1–z3 are
# pulled to their batch mean that much harder, against the per-face offset of z2 the tie leaves.
_FULL = profiles.get("dcign", "full")
JOB_TRAIN = {"dcign-faces-mirror": {"mirror": float(_FULL.mirror_tie)}}
JOB_TRAIN["dcign-faces-mirror-inv"] = {**JOB_TRAIN["dcign-faces-mirror"], "invariance": float(_FULL.mirror_invariance)}
JOB_TRAIN["dcign-faces-mirror-inv10"] = {**JOB_TRAIN["dcign-faces-mirror"],
                                         "invariance": float(_FULL.mirror_invariance_strong)}
# ``dcign-faces-mirror-moments`` adds to the mirror-inv job the profile's ``moment_tie``
# (``TrainConfig.moments``, ours): one level and one gain of z1–z3 for every face.
JOB_TRAIN["dcign-faces-mirror-moments"] = {**JOB_TRAIN["dcign-faces-mirror-inv"], "moments": float(_FULL.moment_tie)}
JOB_TRAIN["dcign-faces-mirror-inv-facelight"] = dict(JOB_TRAIN["dcign-faces-mirror-inv"])
# ``dcign-faces-mirror-inv-swap`` adds to the mirror-inv job the profile's ``swap_tie`` (ours): the
# clamped latents of one image must reconstruct its neighbour in the batch.
JOB_TRAIN["dcign-faces-mirror-inv-swap"] = {**JOB_TRAIN["dcign-faces-mirror-inv"], "swap": float(_FULL.swap_tie)}
# ``dcign-faces-mirror-inv-swap-facelight``: the swap job's training on the light probe's renders.
JOB_TRAIN["dcign-faces-mirror-inv-swap-facelight"] = dict(JOB_TRAIN["dcign-faces-mirror-inv-swap"])
# Data overrides of single jobs (``FaceSource`` arguments): the light probes' face-frame light.
JOB_DATA = {"dcign-faces-mirror-inv-facelight": {"light_frame": "face"},
            "dcign-faces-mirror-inv-swap-facelight": {"light_frame": "face"}}
# ``dcign-faces-mirror-inv-swap-facelight-lr1e-3``: that job with the profile's ``fast_lr`` (ours), against
# the reduction's time: its elevation latent needs 80,000-100,000 steps at the original's 5e-4.
JOB_TRAIN["dcign-faces-mirror-inv-swap-facelight-lr1e-3"] = {**JOB_TRAIN["dcign-faces-mirror-inv-swap-facelight"],
                                                             "lr": float(_FULL.fast_lr)}
JOB_DATA["dcign-faces-mirror-inv-swap-facelight-lr1e-3"] = dict(JOB_DATA["dcign-faces-mirror-inv-swap-facelight"])
# ``...-lr1e-3-cos``: that probe with the rate decayed along a cosine to the profile's ``fast_lr_final`` (ours).
JOB_TRAIN["dcign-faces-mirror-inv-swap-facelight-lr1e-3-cos"] = {**JOB_TRAIN["dcign-faces-mirror-inv-swap-facelight-lr1e-3"],
                                                                 "lr_final": float(_FULL.fast_lr_final)}
JOB_DATA["dcign-faces-mirror-inv-swap-facelight-lr1e-3-cos"] = dict(JOB_DATA["dcign-faces-mirror-inv-swap-facelight"])
# ``...-el3``: that job's training on its renders, with the profile's ``elevation_ratio`` of batch kinds (ours).
JOB_TRAIN["dcign-faces-mirror-inv-swap-facelight-el3"] = dict(JOB_TRAIN["dcign-faces-mirror-inv-swap-facelight"])
JOB_DATA["dcign-faces-mirror-inv-swap-facelight-el3"] = {**JOB_DATA["dcign-faces-mirror-inv-swap-facelight"],
                                                         "ratio": tuple(_FULL.elevation_ratio)}
# ``dcign-faces-wide-mirror-inv-swap-facelight``: that training and those renders at the wide widths.
JOB_TRAIN["dcign-faces-wide-mirror-inv-swap-facelight"] = dict(JOB_TRAIN["dcign-faces-mirror-inv-swap-facelight"])
JOB_DATA["dcign-faces-wide-mirror-inv-swap-facelight"] = dict(JOB_DATA["dcign-faces-mirror-inv-swap-facelight"])
# Extensions (:mod:`genrepro.jobs.dcign_extend`): a job that goes on from another job's complete
# checkpoint with a longer schedule (:data:`EXTEND_STEPS`) and nothing else changed, except in a
# retune (:data:`JOB_RETUNES`): the named training fields changed from the parent's last step on.
JOB_EXTENDS = {"dcign-faces-mirror-inv-swap-facelight-80k": "dcign-faces-mirror-inv-swap-facelight",
               "dcign-faces-mirror-inv-swap-facelight-80k-inv10": "dcign-faces-mirror-inv-swap-facelight-80k",
               "dcign-faces-mirror-inv-swap-facelight-80k-inv10-100k": "dcign-faces-mirror-inv-swap-facelight-80k-inv10",
               "dcign-faces-mirror-inv-swap-facelight-80k-inv10-100k-moments":
                   "dcign-faces-mirror-inv-swap-facelight-80k-inv10-100k"}
EXTEND_STEPS = {"dcign-faces-mirror-inv-swap-facelight-80k": 2 * REDUCED_STEPS["dcign"],
                "dcign-faces-mirror-inv-swap-facelight-80k-inv10": 90_000,
                "dcign-faces-mirror-inv-swap-facelight-80k-inv10-100k": 100_000,
                "dcign-faces-mirror-inv-swap-facelight-80k-inv10-100k-moments": 110_000}
JOB_RETUNES = {"dcign-faces-mirror-inv-swap-facelight-80k-inv10": {"invariance": float(_FULL.mirror_invariance_strong)},
               "dcign-faces-mirror-inv-swap-facelight-80k-inv10-100k-moments": {"moments": float(_FULL.moment_tie)}}
for _ext, _parent in JOB_EXTENDS.items():   # a parent before its extensions
    JOB_TRAIN[_ext] = {**JOB_TRAIN.get(_parent, {}), **JOB_RETUNES.get(_ext, {}), "steps": EXTEND_STEPS[_ext]}
    if _parent in JOB_DATA:
        JOB_DATA[_ext] = dict(JOB_DATA[_parent])
# How a retuned field reads in a job's description (the invariance against the paper's 1/100).
_RETUNE_WORDS = {"invariance": lambda v: f"a {v / _FULL.invariance:,.0f}× invariance",
                 "moments": lambda v: "our moment tie" + ("" if v == _FULL.moment_tie else f" at {v:g}"),
                 "swap": lambda v: "our swap tie" + ("" if v == _FULL.swap_tie else f" at {v:g}"),
                 "mirror": lambda v: "our mirror tie" + ("" if v == _FULL.mirror_tie else f" at {v:g}")}


def _extension_description(ext: str, scale: str) -> str:
    """``RUNS``' description of an extension, from :data:`JOB_EXTENDS`, :data:`EXTEND_STEPS` and
    :data:`JOB_RETUNES` (so that it cannot disagree with them); ``scale``: its line's first job's."""
    parent, steps = JOB_EXTENDS[ext], EXTEND_STEPS[ext]
    if ext in JOB_RETUNES:
        begin = JOB_TRAIN[parent].get("steps", REDUCED_STEPS["dcign"])
        how = " and ".join(_RETUNE_WORDS[k](v) for k, v in JOB_RETUNES[ext].items())
        what = f"trained on to {steps:,} steps with {how} from step {begin:,} on (a retune)"
    else:
        what = f"with its schedule lengthened to {steps:,} steps"
    size = "reduced 64×64 (CPU)" if scale == "reduced" else "150×150"
    return f"{parent} (not in the paper) {what}, going on from that job's complete checkpoint, {size}, §3.2/§4.1"


_runs = {}
for _name, _spec in RUNS.items():   # each line of extensions right after the job it starts from
    _runs[_name] = _spec
    _end = _name
    while _kids := [e for e, p in JOB_EXTENDS.items() if p == _end]:
        if len(_kids) > 1:
            raise ValueError(f"{_end} has several extensions ({', '.join(_kids)}): one line each")
        _end = _kids[0]
        _runs[_end] = (*_spec[:3], _extension_description(_end, _spec[2]))
RUNS = _runs
# Network overrides of single jobs: the paper's recipe at half the paper's widths (the profile's
# ``wide_enc_channels`` / ``wide_dec_channels``), against the blur of the reduced widths (#14 e).
_WIDE = replace(DCIGNConfig.reduced(), enc_channels=tuple(_FULL.wide_enc_channels),
                dec_channels=tuple(_FULL.wide_dec_channels))
JOB_MODEL = {"dcign-faces-wide": _WIDE, "dcign-faces-wide-mirror-inv-swap-facelight": _WIDE}


# Jobs stopped before the end of their schedule by decision, the chapter saying why (§6): their partial
# publications are final, so ``--drop-resume`` may remove their resume state (genrepro.published.drop_resume).
STOPPED = {"dcign-faces-mirror-inv10": "its elevation latent came and went under the 1,000× pull",
           "dcign-faces-mirror-inv-swap-facelight-lr1e-3": "it trailed the 5e-4 run from ~20,000 steps"}


def faces_jobs() -> list[str]:
    """The jobs that train on rendered faces (the ones ``--measure`` and the |r| monitor apply to)."""
    return [n for n, spec in RUNS.items() if spec[1] == "faces"]


def retune_of(job: str) -> tuple[int, dict[str, Any], dict[str, float]] | None:
    """The latest retune in ``job``'s line of extensions (:data:`JOB_EXTENDS`), its own or an
    ancestor's: the step it began at, the retuned fields' values before it (``None``: the profile's)
    and the values it set (:data:`JOB_RETUNES`); ``None`` when there is none. All: :func:`retunes_of`."""
    found = retunes_of(job)
    return found[-1] if found else None


def retunes_of(job: str) -> list[tuple[int, dict[str, Any], dict[str, float]]]:
    """Every retune in ``job``'s line of extensions, the oldest first, each as :func:`retune_of`
    gives it (the 110,000-step moment-tie job: the pull at 10 from 80,000, the tie from 100,000)."""
    out = []
    while job in JOB_EXTENDS:
        if job in JOB_RETUNES:
            before = JOB_TRAIN[JOB_EXTENDS[job]]
            out.append((before["steps"], {k: before.get(k) for k in JOB_RETUNES[job]}, dict(JOB_RETUNES[job])))
        job = JOB_EXTENDS[job]
    return out[::-1]


def light_frame(job: str) -> str:
    """The frame of job ``job``'s light factor: ``"face"`` where :data:`JOB_DATA` turns the light
    with the face, else ``"camera"`` (the renderer's default, :class:`~genrepro.data.faces.FaceBatches`)."""
    return JOB_DATA.get(job, {}).get("light_frame", "camera")


__all__ = ["EXTEND_STEPS", "JOB_DATA", "JOB_EXTENDS", "JOB_MODEL", "JOB_RETUNES", "JOB_TRAIN", "REDUCED_CHECKPOINT_EVERY",
           "REDUCED_STEPS", "RUNS", "STOPPED", "faces_jobs", "light_frame", "retune_of", "retunes_of"]
