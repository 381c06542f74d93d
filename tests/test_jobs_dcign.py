"""DC-IGN jobs (Kulkarni et al. 2015 §3.2, §4): budget cuts, resume, publishing, loading."""

from __future__ import annotations

import dataclasses
from functools import partial
from pathlib import Path

import pytest
import torch

from genrepro import published
from genrepro.dcign import Batch, DCIGNConfig
from genrepro.jobs import Budget, OutOfBudget, write_published
from genrepro.jobs.dcign import DCIGNJob

# 32 px: 32 →(3) 30 → 15 →(3) 13 → 6; decoder 6 → 12 →(3) 10 → 20 →(3) 18 → 36 →(5) 32 (as test_dcign)
TINY = DCIGNConfig(image_size=32, enc_channels=(4, 4), enc_kernel=3, dec_channels=(4, 4),
                   dec_kernels=(3, 3, 5), latent_dim=200)
TRAIN = {"steps": 7, "checkpoint_every": 5, "log_every": 2}
CPU = torch.device("cpu")


class NoiseSource:
    """Batches that are a pure function of (seed, step), like the real sources, but instant."""

    def __init__(self, size: int, seed: int = 0):
        self.size, self.seed = size, seed

    def settings(self) -> dict:
        return {"data": "noise", "size": self.size, "seed": self.seed}

    def batch(self, step: int) -> Batch:
        g = torch.Generator().manual_seed(1000 * self.seed + step)
        az = step % 3 == 0
        return Batch(torch.rand(20, 1, self.size, self.size, generator=g), "AZ" if az else "SHAPE",
                     [0] if az else list(range(3, 200)))


def tiny_job(name: str = "dcign-faces") -> DCIGNJob:
    return DCIGNJob(name, cfg=TINY, train=TRAIN, source=lambda job, device: NoiseSource(32))


class StepBudget(Budget):
    """Runs out once training reaches ``stop`` steps (a deterministic cut for tests)."""

    def __init__(self, stop: int):
        super().__init__(seconds=1e9)
        self.stop = stop

    def check(self, step: int = 0, *_: object) -> None:
        if step >= self.stop:
            raise OutOfBudget


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("GENREPRO_ARTIFACTS", str(tmp_path / "artifacts"))
    monkeypatch.setenv("GENREPRO_DATA", str(tmp_path / "data"))     # nothing prepared there
    monkeypatch.setenv("GENREPRO_PROGRESS", "off")
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _final(job: DCIGNJob) -> dict:
    return torch.load(job.last_path, map_location="cpu", weights_only=False)


def _same_run(a: dict, b: dict) -> None:
    assert a["step"] == b["step"]
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    for sa, sb in zip(a["opt"]["state"].values(), b["opt"]["state"].values()):
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert torch.equal(a["gen"], b["gen"])
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
    assert strip(a["history"]) == strip(b["history"])


def test_budget_cut_between_checkpoints_resumes_bit_identically(tmp_path, monkeypatch):
    whole = tiny_job()
    assert whole.run(Budget(1e9), CPU, progress=False).complete
    reference = _final(whole)

    monkeypatch.setenv("GENREPRO_ARTIFACTS", str(tmp_path / "cut"))
    job = tiny_job()
    st = job.run(StepBudget(3), CPU, progress=False)   # before the trainer's own checkpoint at 5
    assert (st.done, st.total, st.unit) == (3, 7, "steps") and not st.complete
    assert _final(job)["step"] == 3 and job.status().state == "partial (3/7 steps)"
    assert job.run(StepBudget(6), CPU, progress=False).done == 6
    assert job.run(Budget(1e9), CPU, progress=False).complete
    _same_run(_final(job), reference)
    assert job.run(Budget(1e9), CPU, progress=False).done == 7   # complete: a no-op


def test_a_partial_publication_resumes_bit_identically_where_the_checkpoint_is_missing(tmp_path, monkeypatch):
    """A fresh clone has the publication, not the checkpoint: it goes on from the published step
    (weights, Adam state, noise generator, history) as if never cut; a complete publication of a
    job that nothing extends carries no resume state (the extension tests: one that is extended
    does), so a refit (``--force``) starts from scratch, and an altered resume file is refused."""
    whole = tiny_job()
    assert whole.run(Budget(1e9), CPU, progress=False).complete
    reference = _final(whole)

    root = tmp_path / "published"
    monkeypatch.setattr("genrepro.jobs.base.published_root", lambda: root)
    monkeypatch.setenv("GENREPRO_ARTIFACTS", str(tmp_path / "first-machine"))
    job = tiny_job()
    job.run(StepBudget(3), CPU, progress=False)
    write_published(job, CPU, "cmd", log=lambda s: None)
    rec = published.record("dcign-faces")
    assert "resume.safetensors" in rec["files"] and rec["resume"]["step"] == 3

    monkeypatch.setenv("GENREPRO_ARTIFACTS", str(tmp_path / "second-machine"))
    fresh = tiny_job()
    assert fresh.checkpoint() is None and fresh.status().done == 3 and fresh.started()
    assert fresh.run(Budget(1e9), CPU, progress=False).complete
    _same_run(_final(fresh), reference)
    assert fresh.trained_on() == job.trained_on()
    write_published(fresh, CPU, "cmd", log=lambda s: None)
    done = published.record("dcign-faces")
    assert set(done["files"]) == {"model.safetensors"} and "resume" not in done and done["provenance"]["complete"]
    monkeypatch.setenv("GENREPRO_ARTIFACTS", str(tmp_path / "fourth-machine"))
    assert tiny_job().status().done == 0 and not tiny_job().adopt_published() and tiny_job().checkpoint() is None

    # an altered resume file: refused with the fix, and no checkpoint is written
    monkeypatch.setenv("GENREPRO_ARTIFACTS", str(tmp_path / "first-machine"))   # still at step 3
    write_published(job, CPU, "cmd", log=lambda s: None, force=True)
    f = root / "dcign-faces" / "resume.safetensors"
    data = bytearray(f.read_bytes())
    data[-1] ^= 0xFF
    f.write_bytes(bytes(data))
    monkeypatch.setenv("GENREPRO_ARTIFACTS", str(tmp_path / "third-machine"))
    third = tiny_job()
    with pytest.raises(published.PublishedModelError, match="git checkout"):
        third.run(Budget(1e9), CPU, progress=False)
    assert third.checkpoint() is None


def test_checkpoint_from_another_device_type_is_reseeded_not_refused():
    job = tiny_job()
    job.run(StepBudget(2), CPU, progress=False)
    st = _final(job)
    st["gen"] = torch.zeros(16, dtype=torch.uint8)   # the size of a CUDA generator's state
    torch.save(st, job.last_path)
    assert job.run(Budget(1e9), CPU, progress=False).complete
    assert job.reseeded()[0]["step"] == 2 and job.reseeded()[0]["device"] == "cpu"


def test_settings_tag_is_the_same_on_every_device_and_differs_between_runs():
    faces, base = DCIGNJob("dcign-faces-150"), DCIGNJob("dcign-baseline-150")
    tc = faces.train_config()
    assert tc.amp and tc.channels_last and tc.clamp and not base.train_config().clamp
    assert faces.tag() != base.tag() != DCIGNJob("dcign-chairs-150").tag()
    assert faces.tag() == DCIGNJob("dcign-faces-150").tag()
    assert faces.data_files() == ["faces/manifest.json", "faces/face_model.npz"]
    assert faces.gpu_only and faces.model_config() == DCIGNConfig.full() and tc.steps == 24_000
    with pytest.raises(ValueError, match="known"):
        DCIGNJob("dcign-cars")


def test_reduced_jobs_are_the_cpu_reduction_and_say_so():
    from genrepro.jobs import Status
    from genrepro.jobs.dcign import REDUCED_STEPS

    faces, base, chairs = (DCIGNJob(n) for n in ("dcign-faces", "dcign-baseline", "dcign-chairs"))
    assert not any(j.gpu_only for j in (faces, base, chairs))
    assert faces.model_config() == DCIGNConfig.reduced() and faces.model_config().image_size == 64
    assert faces.train_config().steps == REDUCED_STEPS["dcign"] and not faces.train_config().amp
    assert faces.train_config().clamp and not base.train_config().clamp
    assert len({faces.tag(), base.tag(), chairs.tag(), DCIGNJob("dcign-faces-150").tag()}) == 4
    assert faces.data_spec()["monitor"]["batches"] > 0 and "monitor" not in chairs.data_spec()
    label = faces.scale_label(Status(5, 40, "steps"))
    assert label.startswith("reduced 64×64") and "paper: 150×150" in label and "partial: 5/40" in label
    assert DCIGNJob("dcign-faces-150").scale_label(Status(5, 40, "steps")).startswith("paper settings")


class FakeEncoder(torch.nn.Module):
    """A stand-in DC-IGN for the analysis helpers: 4×4 images, 10 latents, μ set by ``fill(x, mu)``."""

    def __init__(self, fill):
        super().__init__()
        from types import SimpleNamespace
        self.cfg = SimpleNamespace(image_size=4, latent_dim=10)
        self.fill = fill
        self.w = torch.nn.Parameter(torch.zeros(1))

    def encode(self, x):
        mu = torch.zeros(len(x), 10)
        self.fill(x, mu)
        return mu, mu


def test_factor_correlations_finds_the_latent_that_tracks_each_factor():
    """A fake encoder whose μ[:, 0] is the azimuth (z1 tracks it) and μ[:, 7] the light."""
    from types import SimpleNamespace

    from genrepro.jobs.dcign_measures import factor_correlations

    def latents(x, mu):
        mu[:, 0] = x[:, 0, 0, 0] * 3        # pixel (0, 0) holds the azimuth, scaled
        mu[:, 7] = -x[:, 0, 0, 1] * 5       # pixel (0, 1) holds the light, sign flipped
    Fake = partial(FakeEncoder, latents)
    g = torch.Generator().manual_seed(0)

    def batch(factor):
        v = torch.rand(20, generator=g)
        img = torch.rand(20, 1, 4, 4, generator=g) * 0.01
        img[:, 0, 0, {"azimuth": 0, "light": 1}[factor]] = v
        return SimpleNamespace(images=img, **{"azimuth": v, "elevation": v, "light": v})
    batches = {"AZ_VARIED": [batch("azimuth")], "LIGHT_VARIED": [batch("light")]}
    clamped = factor_correlations(Fake(), batches, clamped=True)
    assert clamped["abs_r"]["azimuth"] > 0.999 and clamped["latent"] == {"azimuth": 0, "light": 2}
    assert clamped["abs_r"]["light"] < 0.5          # z3 (index 2) is constant here
    assert clamped["within_r"]["azimuth"] > 0.999
    # a latent whose direction depends on the face: perfect within each batch, ≈ 0 pooled
    flip = [batch("azimuth"), batch("azimuth")]
    flip[1].images[:, 0, 0, 0] = 1 - flip[1].images[:, 0, 0, 0]
    flip[1].azimuth = flip[1].azimuth.clone()
    flipped = factor_correlations(Fake(), {"AZ_VARIED": flip}, clamped=True)
    assert flipped["within_r"]["azimuth"] > 0.999 and flipped["abs_r"]["azimuth"] < 0.5
    free = factor_correlations(Fake(), batches, clamped=False)
    assert free["latent"] == {"azimuth": 0, "light": 7} and free["abs_r"]["light"] > 0.999


def test_signs_by_side_splits_the_within_batch_sign_by_the_side_the_face_is_turned():
    """z2 = +elevation for faces turned right, −elevation for faces turned left (the paper recipe's
    split), and one sign once the encoder is tied."""
    from types import SimpleNamespace

    from genrepro.jobs.dcign_measures import signs_by_side

    g = torch.Generator().manual_seed(0)

    def batch(az):
        el = torch.rand(20, generator=g)
        img = torch.rand(20, 1, 4, 4, generator=g) * 0.01
        img[:, 0, 0, 0] = el
        img[:, 0, 0, 1] = float(az > 0)
        return SimpleNamespace(images=img, elevation=el, azimuth=torch.full((20,), float(az)))
    batches = [batch(az) for az in (-60, -20, -5, 10, 40, 70)]
    split = FakeEncoder(lambda x, mu: mu[:, 1].copy_(x[:, 0, 0, 0] * (2 * x[:, 0, 0, 1] - 1)))
    s = signs_by_side(split, batches, "EL_VARIED")
    assert s["azimuth"].tolist() == [-60, -20, -5, 10, 40, 70]
    assert s["agree"] == 0.5 and s["left"] < -0.999 and s["right"] > 0.999
    tied = FakeEncoder(lambda x, mu: mu[:, 1].copy_(-x[:, 0, 0, 0]))
    s = signs_by_side(tied, batches, "EL_VARIED")
    assert s["agree"] == 1.0 and s["left"] < -0.999 and s["right"] < -0.999


def test_per_face_fits_separates_offsets_from_slopes_that_follow_the_light():
    """z2 = offset(face) + gain(light) · elevation: the fits recover both, the offset-free |r| is
    the pooled one without the offsets, and the gain is seen to follow |light|."""
    from types import SimpleNamespace

    from genrepro.jobs.dcign_measures import per_face_fits

    g = torch.Generator().manual_seed(0)
    lights = [-60.0, -30.0, 0.0, 10.0, 45.0, 70.0]

    def batch(i, light):
        el = torch.rand(20, generator=g) * 60 - 30
        img = torch.zeros(20, 1, 4, 4)
        img[:, 0, 0, 0] = el
        img[:, 0, 0, 1] = light
        img[:, 0, 0, 2] = float(i)
        return SimpleNamespace(images=img, elevation=el, azimuth=torch.full((20,), 5.0 * i),
                               light=torch.full((20,), light))
    batches = [batch(i, li) for i, li in enumerate(lights)]

    def enc(x, mu):   # gain falls with |light|, offset = 10 · face index
        mu[:, 1] = x[:, 0, 0, 0] * (2 - x[:, 0, 0, 1].abs() / 70) + 10 * x[:, 0, 0, 2]
    fits = per_face_fits(FakeEncoder(enc), batches, "EL_VARIED")
    assert fits["without_offsets_r"] > fits["pooled_r"] + 0.1 and fits["without_offsets_r"] > 0.9
    assert fits["slope_follows"]["|light|"] < -0.99 and abs(fits["slope_follows"]["light"]) < 0.5
    assert fits["offset_follows"]["azimuth"] > 0.99          # the offset grows with the face index
    assert 0.1 < fits["slope_cv"] < 1 and fits["offset_sd"] > 5
    # one level and one gain for every face: nothing to lose
    clean = per_face_fits(FakeEncoder(lambda x, mu: mu[:, 1].copy_(x[:, 0, 0, 0])), batches, "EL_VARIED")
    assert clean["pooled_r"] > 0.999 and clean["slope_cv"] < 1e-6 and clean["offset_sd"] < 1e-6
    with pytest.raises(ValueError, match="at least 3 batches"):
        per_face_fits(FakeEncoder(enc), batches[:2], "EL_VARIED")
    with pytest.raises(ValueError, match="kind must be one of"):
        per_face_fits(FakeEncoder(enc), batches, "SHAPE_VARIED")


def test_within_r_by_pose_bands_the_within_face_r_by_how_far_the_face_is_turned():
    """z3 reads the light exactly in faces turned less than 45° and not at all beyond: the bands
    say so; an empty band is None; the azimuth kind and bad edges are refused."""
    from types import SimpleNamespace

    from genrepro.jobs.dcign_measures import within_r_by_pose

    g = torch.Generator().manual_seed(0)

    def batch(az):
        li = torch.rand(20, generator=g) * 180 - 90
        img = torch.zeros(20, 1, 4, 4)
        img[:, 0, 0, 0] = li
        img[:, 0, 0, 1] = abs(az)
        img[:, 0, 0, 2] = torch.rand(20, generator=g)       # what z3 reads when the light is lost
        return SimpleNamespace(images=img, light=li, azimuth=torch.full((20,), float(az)))
    batches = [batch(az) for az in (-40, -10, 0, 30, 50, -60, 80, -85)]

    def enc(x, mu):
        lost = x[:, 0, 0, 1] >= 45
        mu[:, 2] = torch.where(lost, x[:, 0, 0, 2], x[:, 0, 0, 0])
    bands = within_r_by_pose(FakeEncoder(enc), batches, "LIGHT_VARIED", edges=(0, 45, 75, 90))
    assert [b["band"] for b in bands] == [(0.0, 45.0), (45.0, 75.0), (75.0, 90.0)]
    assert [b["faces"] for b in bands] == [4, 2, 2]
    assert bands[0]["mean_abs_r"] > 0.999 and bands[1]["mean_abs_r"] < 0.7 and bands[2]["mean_abs_r"] < 0.7
    assert within_r_by_pose(FakeEncoder(enc), batches[:3], "LIGHT_VARIED")[2]["mean_abs_r"] is None
    with pytest.raises(ValueError, match="EL_VARIED or LIGHT_VARIED"):
        within_r_by_pose(FakeEncoder(enc), batches, "AZ_VARIED")
    with pytest.raises(ValueError, match="increasing"):
        within_r_by_pose(FakeEncoder(enc), batches, "LIGHT_VARIED", edges=(0, 45, 45))


def test_publish_and_load_round_trip(tmp_path):
    job = tiny_job()
    job.run(StepBudget(4), CPU, progress=False)
    root = tmp_path / "published"
    write_published(job, CPU, "python -m genrepro.train dcign-faces", root=root, log=lambda s: None)
    model, rec = published.load("dcign-faces", root=root)
    assert rec["model"] == "genrepro.dcign.DCIGN" and rec["weights_dtype"] == "float32"
    assert rec["provenance"]["status"] == "partial (4/7 steps)" and not rec["provenance"]["complete"]
    assert rec["metrics"]["steps"] == 4 and rec["metrics"]["final_loss"] == rec["history"][-1]["loss"]
    assert rec["dcign_config"]["image_size"] == 32 and rec["train_config"]["amp"] is False   # reduced: CPU
    mine, _ = job.trained_model()
    x = torch.rand(3, 1, 32, 32, generator=torch.Generator().manual_seed(1))
    assert not model.training and model.mu.weight.dtype == torch.float32
    assert torch.equal(model.encode(x)[0], mine.encode(x)[0])


def test_a_net_too_large_for_the_gpu_machines_files_is_published_in_half_precision_without_resume_state(
        tmp_path, monkeypatch):
    """Past the 16 MiB a file may have to come back from the GPU machine, the weights go out in
    fp16 and the optimiser state stays behind: neither oversized file is ever written."""
    import safetensors.torch as st_torch
    from safetensors.torch import save

    from genrepro.jobs import dcign as dcign_jobs

    job = tiny_job()
    job.run(StepBudget(3), CPU, progress=False)
    fp32 = len(save({k: v.float().contiguous() for k, v in job.trained_model()[0].state_dict().items()}))
    monkeypatch.setattr(dcign_jobs, "MAX_FILE_BYTES", fp32 - 1)
    written, orig = [], st_torch.save_file   # the job imports save_file when it publishes
    monkeypatch.setattr(st_torch, "save_file", lambda t, f, *a, **k: (written.append(Path(f).name), orig(t, f, *a, **k)))
    root = tmp_path / "published"
    write_published(job, CPU, "cmd", root=root, log=lambda s: None)
    assert written == ["model.safetensors"]
    model, rec = published.load("dcign-faces", root=root)
    assert rec["weights_dtype"] == "float16" and "resume" not in rec
    assert sorted(p.name for p in (root / "dcign-faces").iterdir()) == ["model.safetensors", "record.json"]
    mine, _ = job.trained_model()
    assert torch.equal(model.mu.weight, mine.mu.weight.half().float())


def test_altered_weights_are_rejected(tmp_path):
    job = tiny_job()
    job.run(StepBudget(2), CPU, progress=False)
    root = tmp_path / "published"
    target = write_published(job, CPU, "cmd", root=root, log=lambda s: None)
    f = target / "model.safetensors"
    data = bytearray(f.read_bytes())
    data[-1] ^= 0xFF
    f.write_bytes(bytes(data))
    with pytest.raises(published.PublishedModelError, match="SHA-256"):
        published.load("dcign-faces", root=root)


def test_chairs_job_publishes_without_prepared_test_chairs(tmp_path):
    job = tiny_job("dcign-chairs")
    job.run(StepBudget(2), CPU, progress=False)
    write_published(job, CPU, "cmd", root=tmp_path / "pub", log=lambda s: None)
    rec = published.record("dcign-chairs", root=tmp_path / "pub")
    assert rec["metrics"]["test_mse"] is None and "data_prep/chairs.py" in rec["metrics"]["test_mse_note"]


def test_readout_r2_scores_unseen_faces_not_memorised_ones():
    """A latent code that only names the face, with one value of the factor per face: a read-out
    split by image would learn each face's value; split by face it predicts nothing."""
    import numpy as np

    from genrepro.jobs.dcign_measures import readout_r2

    rng = np.random.default_rng(0)
    faces_, per = 40, 20
    code = np.repeat(rng.standard_normal((faces_, 60)), per, 0)       # identity only
    value = np.repeat(rng.uniform(-30, 30, faces_), per)              # the face's constant factor
    by_face = np.repeat(np.arange(faces_) < faces_ // 2, per)
    by_image = rng.permutation(len(code)) < len(code) // 2
    assert readout_r2(code, value, by_image) > 0.95
    assert readout_r2(code, value, by_face) < 0.3
    # a code that carries the factor linearly is read out on unseen faces too
    carried = np.c_[code[:, :10], value + rng.normal(0, 1, len(value))]
    assert readout_r2(carried, value, by_face) > 0.95
    with pytest.raises(ValueError, match="fit"):
        readout_r2(code, value, np.ones(len(code), bool))


def test_pose_in_identity_latents_finds_elevation_carried_by_an_identity_latent():
    """A fake encoder: z2 (index 1) holds the elevation with a sign set by the face, and an
    identity latent (index 5) holds the elevation itself; the read-out finds it in z4…z200."""
    from genrepro.data.faces import FaceBatch
    from genrepro.jobs.dcign_measures import pose_in_identity_latents

    def latents(x, mu):
        mu[:, 1] = x[:, 0, 0, 0] * x[:, 0, 0, 1]    # elevation × the face's sign
        mu[:, 5] = x[:, 0, 0, 0]                      # elevation, in an identity latent
        mu[:, 6] = x[:, 0, 1, 1]                      # the face's identity
    Fake = partial(FakeEncoder, latents)
    g = torch.Generator().manual_seed(0)

    def batch(kind):
        el = torch.rand(20, generator=g) * 60 - 30
        if kind != "EL_VARIED":
            el = el[:1].expand(20).clone()
        img = torch.zeros(20, 1, 4, 4)
        img[:, 0, 0, 0] = el
        img[:, 0, 0, 1] = 1.0 if torch.rand(1, generator=g) < 0.5 else -1.0
        img[:, 0, 1, 1] = torch.randn(1, generator=g)
        return FaceBatch(kind, img, azimuth=torch.randn(1, generator=g).expand(20), elevation=el,
                         light=torch.randn(1, generator=g).expand(20), shape_coef=torch.zeros(20, 1),
                         albedo_coef=torch.zeros(20, 1))
    batches = {k: [batch(k) for _ in range(16)] for k in ("AZ_VARIED", "EL_VARIED", "LIGHT_VARIED")}
    out = pose_in_identity_latents(Fake(), batches)
    assert out["identity_r2"]["elevation"] > 0.99
    assert out["extrinsic_r2"]["elevation"] < 0.3          # z2's sign flips face by face
    assert out["identity_r2"]["azimuth"] < 0.3              # nothing in the code carries it
    assert out["moves_within"]["elevation"] > 0.5           # index 5 moves inside an elevation batch


def test_shared_batches_render_each_batch_once_for_short_runs_and_pass_long_ones_through():
    from genrepro.jobs.dcign import SharedBatches

    class Counting(NoiseSource):
        def __init__(self, steps: int):
            super().__init__(32)
            self.steps, self.calls = steps, 0

        def batch(self, step: int) -> Batch:
            self.calls += 1
            return super().batch(step)

    short = Counting(steps=10)
    shared = SharedBatches(short, max_steps=10)
    first = [shared.batch(s) for s in range(10)]
    again = [shared.batch(s) for s in range(10)]          # a second network on the same batches
    assert short.calls == 10 and all(a is b for a, b in zip(first, again))
    assert torch.equal(first[3].images, NoiseSource(32).batch(3).images)
    assert shared.settings() == short.settings()          # a resume check sees the real source
    long = Counting(steps=11)
    through = SharedBatches(long, max_steps=10)
    through.batch(0), through.batch(0)
    assert long.calls == 2                                 # nothing kept: a long run would not fit


def test_the_mirror_job_is_dcign_faces_plus_the_profile_tie_and_nothing_else():
    from genrepro import profiles

    plain, tied = DCIGNJob("dcign-faces"), DCIGNJob("dcign-faces-mirror")
    weight = profiles.get("dcign", "full").mirror_tie
    assert plain.train_config().mirror == 0.0 and tied.train_config().mirror == weight > 0
    assert tied.train_config() == dataclasses.replace(plain.train_config(), mirror=weight)
    assert tied.model_config() == plain.model_config() and tied.data_spec() == plain.data_spec()
    assert tied.tag() != plain.tag()
    assert "not in the paper" in tied.description and not tied.gpu_only
    # the second variant: the same tie, and the invariance pull at the profile's mirror_invariance
    inv = DCIGNJob("dcign-faces-mirror-inv")
    strength = profiles.get("dcign", "full").mirror_invariance
    assert strength > plain.train_config().invariance == profiles.get("dcign", "full").invariance
    assert inv.train_config() == dataclasses.replace(tied.train_config(), invariance=strength)
    assert inv.model_config() == plain.model_config() and inv.data_spec() == plain.data_spec()
    assert len({inv.tag(), tied.tag(), plain.tag()}) == 3 and "not in the paper" in inv.description
    # the third: the same tie with the stronger pull, mirror_invariance_strong
    strong = DCIGNJob("dcign-faces-mirror-inv10")
    harder = profiles.get("dcign", "full").mirror_invariance_strong
    assert harder > strength
    assert strong.train_config() == dataclasses.replace(tied.train_config(), invariance=harder)
    assert strong.model_config() == plain.model_config() and strong.data_spec() == plain.data_spec()
    assert len({strong.tag(), inv.tag()}) == 2 and "not in the paper" in strong.description
    # the fourth: mirror-inv plus the moment tie at the profile's moment_tie
    mom = DCIGNJob("dcign-faces-mirror-moments")
    weight = profiles.get("dcign", "full").moment_tie
    assert plain.train_config().moments == inv.train_config().moments == 0.0 < weight
    assert mom.train_config() == dataclasses.replace(inv.train_config(), moments=weight)
    assert mom.model_config() == plain.model_config() and mom.data_spec() == plain.data_spec()
    assert len({mom.tag(), inv.tag()}) == 2 and "not in the paper" in mom.description
    # the fifth: mirror-inv plus the swap tie at the profile's swap_tie
    swap = DCIGNJob("dcign-faces-mirror-inv-swap")
    weight = profiles.get("dcign", "full").swap_tie
    assert plain.train_config().swap == inv.train_config().swap == 0.0 < weight
    assert swap.train_config() == dataclasses.replace(inv.train_config(), swap=weight)
    assert swap.model_config() == plain.model_config() and swap.data_spec() == plain.data_spec()
    assert len({swap.tag(), inv.tag(), mom.tag()}) == 3 and "not in the paper" in swap.description
    # the sixth: the swap job on the face-light probe's renders (its training is swap's, its data the probe's)
    both, light = DCIGNJob("dcign-faces-mirror-inv-swap-facelight"), DCIGNJob("dcign-faces-mirror-inv-facelight")
    assert both.train_config() == swap.train_config() and both.model_config() == swap.model_config()
    assert both.data_spec() == light.data_spec() == {**swap.data_spec(), "light_frame": "face"}
    assert len({both.tag(), swap.tag(), light.tag()}) == 3 and "not in the paper" in both.description


def test_the_wide_job_is_dcign_faces_at_the_profile_widths_and_nothing_else():
    from genrepro import profiles
    from genrepro.dcign.model import DCIGN

    plain, wide = DCIGNJob("dcign-faces"), DCIGNJob("dcign-faces-wide")
    s = profiles.get("dcign", "full")
    assert wide.model_config() == dataclasses.replace(plain.model_config(), enc_channels=tuple(s.wide_enc_channels),
                                                      dec_channels=tuple(s.wide_dec_channels))
    assert wide.train_config() == plain.train_config() and wide.data_spec() == plain.data_spec()
    assert wide.tag() != plain.tag() and not wide.gpu_only
    assert "widths 48/24/12" in wide.scale_label(wide.status())
    # the sizes chain: a batch of faces goes through and comes back at the image size
    net = DCIGN(wide.model_config())
    assert sum(p.numel() for p in net.parameters()) > sum(p.numel() for p in DCIGN(plain.model_config()).parameters())
    out = net(torch.rand(2, 1, 64, 64))
    assert out[0].shape == (2, 1, 64, 64)


def test_face_light_probe_renders_its_batches_and_monitor_with_the_light_turning_with_the_face(monkeypatch,
                                                                                               tiny_face_model):
    """``dcign-faces-mirror-inv-facelight``: the mirror-inv recipe on face-frame light. Its
    source, monitor batches and settings name the frame; every other faces job's settings
    carry no such key (their tags stand), and the probe's tag differs from mirror-inv's."""
    from genrepro.jobs.dcign import JOB_DATA, JOB_TRAIN, RUNS, light_frame

    probe, base = DCIGNJob("dcign-faces-mirror-inv-facelight"), DCIGNJob("dcign-faces-mirror-inv")
    assert JOB_TRAIN[probe.name] == JOB_TRAIN[base.name] and probe.train_config() == base.train_config()
    assert probe.data_spec() == {**base.data_spec(), "light_frame": "face"}
    assert all("light_frame" not in DCIGNJob(n).data_spec() for n in RUNS if n not in JOB_DATA)
    assert light_frame(probe.name) == "face" and {light_frame(n) for n in RUNS if n not in JOB_DATA} == {"camera"}
    assert probe.tag() != base.tag()
    from genrepro.data import faces

    monkeypatch.setattr(faces, "load_face_model", lambda *a, **k: tiny_face_model)
    cpu = torch.device("cpu")
    src = probe.source(cpu)
    assert src.settings()["light_frame"] == "face" and src.faces.light_frame == "face"
    assert "light_frame" not in base.source(cpu).settings()
    seen = {job.name: job.monitor(cpu).keywords["batches"][faces.AZ_VARIED][0] for job in (probe, base)}
    b_probe, b_base = seen[probe.name], seen[base.name]
    assert torch.equal(b_probe.azimuth, b_base.azimuth) and not torch.equal(b_probe.images, b_base.images)


def test_measure_prints_the_chapter_r_of_a_published_faces_job_in_its_light_frame(tmp_path, monkeypatch, capsys,
                                                                                   tiny_face_model):
    """``python -m genrepro.train NAME --measure``: the published network's |r| of z1–z3 on unseen
    faces rendered at its size and in its job's light frame; clear errors for a job that is not a
    faces job, one that is not published, and too few faces."""
    from genrepro import train
    from genrepro.data import faces
    from genrepro.jobs import base
    from genrepro.jobs.dcign_measures import factor_correlations, measure_published, rendered_test_sets

    root = tmp_path / "published"
    monkeypatch.setattr(base, "published_root", lambda: root)
    monkeypatch.setattr(faces, "load_face_model", lambda *a, **k: tiny_face_model)
    for name in ("dcign-faces", "dcign-faces-mirror-inv-swap-facelight"):
        job = tiny_job(name)
        job.run(StepBudget(3), CPU, progress=False)
        write_published(job, CPU, f"python -m genrepro.train {name}", root=root, log=lambda s: None)
    assert train.main(["dcign-faces", "--measure", "--faces", "3", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "partial: 3/7 steps" in out and "3 unseen test faces per factor, light frame 'camera'" in out
    m = measure_published("dcign-faces", 3)
    for f, z in (("azimuth", "z1"), ("elevation", "z2"), ("light", "z3")):
        assert m["latent"][f] == int(z[1]) - 1
        assert f"{f:<9}  {z}      {m['abs_r'][f]:.3f}" in out
    # the face-light job is measured on test faces rendered with the light turning with the face
    face = measure_published("dcign-faces-mirror-inv-swap-facelight", 3)
    model, _ = published.load("dcign-faces-mirror-inv-swap-facelight", root=root)
    t = rendered_test_sets(tiny_face_model, 32, 3, light_frame="face")
    direct = factor_correlations(model, {k: [t[k].batch(i, "cpu") for i in range(3)] for k in t if k != faces.SHAPE_VARIED})
    assert face["light_frame"] == "face" and face["abs_r"] == direct["abs_r"]
    # bad input
    assert train.main(["dcign-chairs", "--measure"]) == 2
    assert "--measure takes DC-IGN faces jobs" in capsys.readouterr().err
    assert train.main(["dcign-baseline", "--measure"]) == 1
    assert "dcign-baseline is not published" in capsys.readouterr().err
    assert train.main(["dcign-faces", "--measure", "--faces", "1"]) == 1
    assert "--faces must be at least 2" in capsys.readouterr().err


class StepsNoiseSource(NoiseSource):
    """:class:`NoiseSource` whose settings name the schedule's length, as the faces source's do."""

    def __init__(self, size: int, steps: int):
        super().__init__(size)
        self.steps = steps

    def settings(self) -> dict:
        return {**super().settings(), "steps": self.steps}


def test_drop_resume_removes_a_complete_publications_resume_state_only_where_nothing_needs_it(tmp_path, monkeypatch):
    """``--drop-resume`` (``published.drop_resume``) turns a complete publication made with its
    resume state (as every complete one was before 2026-12-07) into what publishing it makes today:
    the same weights, scores and history, the state's SHA-256 in the record. Refused, changing
    nothing, for a partial publication, for one a job extends, for an altered file, and for one
    without that state; the command refuses a job that is not published."""
    import json

    from genrepro import train
    from genrepro.jobs import dcign_table

    name = "dcign-faces-wide-mirror-inv-swap-facelight"       # a complete network that nothing extends
    assert name not in dcign_table.JOB_EXTENDS.values()
    root = tmp_path / "published"
    monkeypatch.setattr("genrepro.jobs.base.published_root", lambda: root)
    assert train.main([name, "--drop-resume"]) == 1                     # not published
    job = _tiny_job(name, 6)
    job.run(StepBudget(4), CPU, progress=False)
    write_published(job, CPU, "cmd", log=lambda s: None)
    with pytest.raises(published.PublishedModelError, match="partial.*resumes it"):
        published.drop_resume(name)
    assert job.run(Budget(1e9), CPU, progress=False).complete
    monkeypatch.setitem(dcign_table.JOB_EXTENDS, "an-extension", name)  # published as before 2026-12-07
    write_published(job, CPU, "cmd", log=lambda s: None)
    old = published.record(name)
    assert set(old["files"]) == {"model.safetensors", "resume.safetensors"} and old["resume"]["step"] == 6
    before = {f.name: f.read_bytes() for f in (root / name).iterdir()}
    with pytest.raises(published.PublishedModelError, match="an-extension extend"):
        published.drop_resume(name)
    monkeypatch.delitem(dcign_table.JOB_EXTENDS, "an-extension")
    f = root / name / "resume.safetensors"
    data = bytearray(f.read_bytes())
    data[-1] ^= 0xFF
    f.write_bytes(bytes(data))
    with pytest.raises(published.PublishedModelError, match="git checkout"):
        published.drop_resume(name)
    data[-1] ^= 0xFF
    f.write_bytes(bytes(data))
    assert {f.name: f.read_bytes() for f in (root / name).iterdir()} == before   # unchanged
    assert train.main([name, "--drop-resume"]) == 0
    new = published.record(name)
    assert sorted(p.name for p in (root / name).iterdir()) == ["model.safetensors", "record.json"]
    assert (root / name / "model.safetensors").read_bytes() == before["model.safetensors"]
    assert new["files"] == {"model.safetensors": old["files"]["model.safetensors"]} and "resume" not in new
    assert new["provenance"]["resume_dropped"]["sha256"] == old["files"]["resume.safetensors"]
    drop = {"files", "resume", "provenance"}
    assert {k: v for k, v in new.items() if k not in drop} == {k: v for k, v in old.items() if k not in drop}
    assert json.loads(json.dumps(published.load(name)[1]["metrics"])) == old["metrics"]   # it still loads
    with pytest.raises(published.PublishedModelError, match="keeps no resume state"):
        published.drop_resume(name)
    assert [p.name for p in root.iterdir() if p.name.startswith(".")] == []     # no temporary folder left


def test_drop_resume_removes_a_stopped_jobs_partial_resume_state_and_the_job_then_starts_over(tmp_path, monkeypatch):
    """A job stopped by decision (``dcign_table.STOPPED``) keeps its partial publication, which is
    final: once published it counts as finished (``--pending`` skips it); ``--drop-resume`` removes its
    resume state (weights and history unchanged), after which the publication is no longer where a
    fresh machine resumes (naming the job starts it at step 0)."""
    from genrepro import train
    from genrepro.jobs import dcign_table

    name = "dcign-faces-mirror-inv-swap-facelight-lr1e-3"
    assert name in dcign_table.STOPPED and "dcign-faces-mirror-inv-swap-facelight-el3" not in dcign_table.STOPPED
    root = tmp_path / "published"
    monkeypatch.setattr("genrepro.jobs.base.published_root", lambda: root)
    monkeypatch.setenv("GENREPRO_ARTIFACTS", str(tmp_path / "first-machine"))
    job = _tiny_job(name, 6)
    job.run(StepBudget(4), CPU, progress=False)
    write_published(job, CPU, "cmd", log=lambda s: None)
    old = published.record(name)
    assert not old["provenance"]["complete"] and "resume.safetensors" in old["files"]
    assert job.finished() and not job.status().complete                # --pending leaves a stopped job alone
    row = next(r for r in train.job_rows() if r[0] == name)             # Status says why it stopped
    assert row[3].startswith("partial") and row[3].endswith(f", stopped for good: {dcign_table.STOPPED[name]}")
    assert not _tiny_job("dcign-faces-mirror-inv-swap-facelight-el3", 6).finished()   # not published: not stopped
    monkeypatch.setenv("GENREPRO_ARTIFACTS", str(tmp_path / "second-machine"))
    assert _tiny_job(name, 6).status().done == 4                       # resumable before
    assert train.main([name, "--drop-resume"]) == 0
    new = published.record(name)
    assert sorted(p.name for p in (root / name).iterdir()) == ["model.safetensors", "record.json"]
    assert new["history"] == old["history"] and new["provenance"]["status"] == old["provenance"]["status"]
    assert _tiny_job(name, 6).status().done == 0                       # no longer resumable from it
    monkeypatch.delitem(dcign_table.STOPPED, name)
    with pytest.raises(published.PublishedModelError, match="keeps no resume state"):
        published.drop_resume(name)


def _tiny_job(name: str, steps: int, parent: DCIGNJob | None = None, **train) -> DCIGNJob:
    """Job ``name`` (its table's overrides) on the tiny network and noise, ``steps`` long."""
    return DCIGNJob(name, cfg=TINY, train={**TRAIN, "steps": steps, **train}, parent=parent,
                    source=lambda job, device: StepsNoiseSource(32, job.train_config().steps))


def test_an_extension_goes_on_from_its_parents_complete_checkpoint_as_one_longer_run(tmp_path, monkeypatch):
    """``dcign-faces-mirror-inv-swap-facelight-80k``: the parent's complete checkpoint, trained on
    for the longer schedule, ends bit-identical to one run of the longer schedule; refused with the
    fix while the parent is incomplete or when anything but the schedule's length differs."""
    from genrepro.jobs.dcign import JOB_EXTENDS, JOB_TRAIN

    ext_name = "dcign-faces-mirror-inv-swap-facelight-80k"
    parent_name = JOB_EXTENDS[ext_name]
    assert JOB_TRAIN[ext_name] == {**JOB_TRAIN[parent_name], "steps": 80_000}
    real = DCIGNJob(ext_name)
    assert real.parent.name == parent_name and real.data_spec() == real.parent.data_spec()
    assert real.train_config() == dataclasses.replace(real.parent.train_config(), steps=80_000)

    tiny = _tiny_job
    monkeypatch.setenv("GENREPRO_ARTIFACTS", str(tmp_path / "straight"))
    straight = tiny(parent_name, 10)
    assert straight.run(Budget(1e9), CPU, progress=False).complete
    reference = _final(straight)

    monkeypatch.setenv("GENREPRO_ARTIFACTS", str(tmp_path / "extended"))
    parent = tiny(parent_name, 6)   # a multiple of the log interval (2), as 40,000 is of 1,000
    ext = tiny(ext_name, 10, parent=parent)
    parent.run(StepBudget(4), CPU, progress=False)
    with pytest.raises(RuntimeError, match="at step 4 of 6 here.*to completion"):
        ext.run(Budget(1e9), CPU, progress=False)
    assert ext.checkpoint() is None
    assert parent.run(Budget(1e9), CPU, progress=False).complete
    assert ext.run(StepBudget(8), CPU, progress=False).done == 8    # from 6, cut, then resumed from its own
    assert ext.run(Budget(1e9), CPU, progress=False).complete
    _same_run(_final(ext), reference)
    assert _final(parent)["step"] == 6   # the parent is left as it was

    monkeypatch.setenv("GENREPRO_ARTIFACTS", str(tmp_path / "other-lr"))
    other = tiny(parent_name, 6, lr=1e-3)
    other.run(Budget(1e9), CPU, progress=False)
    bad = tiny(ext_name, 10, parent=other)
    with pytest.raises(ValueError, match=r"differ in train\.lr"):
        bad.run(Budget(1e9), CPU, progress=False)
    assert bad.checkpoint() is None


def test_an_extension_goes_on_from_its_parents_complete_publication_where_the_checkpoint_is_missing(
        tmp_path, monkeypatch):
    """A machine that never trained the parent: its complete publication (weights, Adam state, noise
    generator, history) stands in for its checkpoint, and the extension still ends bit-identical to
    one run of the longer schedule. A publication without that state (made before 2026-12-06) is
    refused with the fix, and nothing is written."""
    import json

    from genrepro.jobs.dcign import JOB_EXTENDS

    ext_name = "dcign-faces-mirror-inv-swap-facelight-80k"
    parent_name = JOB_EXTENDS[ext_name]
    monkeypatch.setenv("GENREPRO_ARTIFACTS", str(tmp_path / "straight"))
    straight = _tiny_job(parent_name, 10)
    assert straight.run(Budget(1e9), CPU, progress=False).complete
    reference = _final(straight)

    root = tmp_path / "published"
    monkeypatch.setattr("genrepro.jobs.base.published_root", lambda: root)
    monkeypatch.setenv("GENREPRO_ARTIFACTS", str(tmp_path / "first-machine"))
    parent = _tiny_job(parent_name, 6)
    assert parent.run(Budget(1e9), CPU, progress=False).complete
    write_published(parent, CPU, "cmd", log=lambda s: None)
    assert published.record(parent_name)["resume"]["step"] == 6

    monkeypatch.setenv("GENREPRO_ARTIFACTS", str(tmp_path / "second-machine"))
    here = _tiny_job(parent_name, 6)
    ext = _tiny_job(ext_name, 10, parent=here)
    assert here.checkpoint() is None and here.published_complete()
    assert ext.run(Budget(1e9), CPU, progress=False).complete
    _same_run(_final(ext), reference)

    # an older complete publication: no resume state, so the parent must be trained here first
    rec_path = root / parent_name / "record.json"
    rec = json.loads(rec_path.read_text())
    rec.pop("resume")
    rec["files"].pop("resume.safetensors")
    rec_path.write_text(json.dumps(rec))
    (root / parent_name / "resume.safetensors").unlink()
    monkeypatch.setenv("GENREPRO_ARTIFACTS", str(tmp_path / "third-machine"))
    old = _tiny_job(ext_name, 10, parent=_tiny_job(parent_name, 6))
    with pytest.raises(RuntimeError, match="has no checkpoint here.*before 2026-12-06.*to completion"):
        old.run(Budget(1e9), CPU, progress=False)
    assert old.checkpoint() is None and old.parent.checkpoint() is None


def test_a_retune_goes_on_from_its_parents_checkpoint_with_only_its_named_fields_changed(tmp_path, monkeypatch, capsys):
    """``dcign-faces-mirror-inv-swap-facelight-80k-inv10``: the 80k network's complete checkpoint
    trained on to 90,000 steps with the invariance pull at 10. Its history begins with the parent's,
    the retuned field changes what it learns (against the plain extension of the same length), and
    a parent that differs in anything else is refused with the fix."""
    from genrepro.jobs.dcign_table import EXTEND_STEPS, JOB_EXTENDS, JOB_RETUNES, JOB_TRAIN, retune_of

    name = "dcign-faces-mirror-inv-swap-facelight-80k-inv10"
    parent_name = JOB_EXTENDS[name]
    assert JOB_RETUNES[name] == {"invariance": 10.0} and EXTEND_STEPS[name] == 90_000
    assert JOB_TRAIN[name] == {**JOB_TRAIN[parent_name], "invariance": 10.0, "steps": 90_000}
    real = DCIGNJob(name)
    assert real.parent.name == parent_name and real.parent.parent is not None
    assert real.train_config() == dataclasses.replace(real.parent.train_config(), invariance=10.0, steps=90_000)
    assert real.data_spec() == real.parent.data_spec() and real.tag() != real.parent.tag()
    longer = DCIGNJob(name + "-100k")   # its exact extension keeps the pull, and names the retune it descends from
    assert longer.parent.name == name and longer.train_config() == dataclasses.replace(real.train_config(), steps=100_000)
    assert retune_of(name) == retune_of(longer.name) == (80_000, {"invariance": 1.0}, {"invariance": 10.0})
    assert retune_of(parent_name) is None and retune_of("dcign-faces") is None

    def tiny_parent(**train):   # the 80k job is itself an extension: its parent, then it, 6 steps each
        grand = _tiny_job(JOB_EXTENDS[parent_name], 6, **train)
        assert grand.run(Budget(1e9), CPU, progress=False).complete
        job = _tiny_job(parent_name, 6, parent=grand, **train)
        assert job.run(Budget(1e9), CPU, progress=False).complete
        return job

    monkeypatch.setenv("GENREPRO_ARTIFACTS", str(tmp_path / "retuned"))
    parent = tiny_parent()
    assert parent.train_config().invariance == 1.0
    retuned = _tiny_job(name, 10, parent=parent)
    assert retuned.run(Budget(1e9), CPU, progress=False).complete
    assert "at step 6, invariance 1.0 -> 10.0" in capsys.readouterr().out
    mine, theirs = _final(retuned), _final(parent)
    assert mine["settings"]["train"]["invariance"] == 10.0 and mine["step"] == 10
    assert mine["history"][:len(theirs["history"])] == theirs["history"]
    assert theirs["step"] == 6   # the parent is left as it was

    monkeypatch.setenv("GENREPRO_ARTIFACTS", str(tmp_path / "plain"))
    plain = _tiny_job(name, 10, parent=tiny_parent(), invariance=1.0)   # the same, not retuned
    assert plain.run(Budget(1e9), CPU, progress=False).complete
    assert any(not torch.equal(mine["model"][k], _final(plain)["model"][k]) for k in mine["model"])

    monkeypatch.setenv("GENREPRO_ARTIFACTS", str(tmp_path / "other-lr"))
    bad = _tiny_job(name, 10, parent=tiny_parent(lr=1e-3))
    with pytest.raises(ValueError, match=r"schedule and retune invariance, but .* differ in train\.lr"):
        bad.run(Budget(1e9), CPU, progress=False)
    assert bad.checkpoint() is None


def test_a_retune_may_switch_on_a_tie_its_parents_settings_leave_out(tmp_path, monkeypatch, capsys):
    """``…-100k-moments`` switches on the moment tie, a field that the parent's settings omit at its
    default (``_LATE_FIELDS``, so that older tags stand): adopted all the same, down the whole line of
    extensions from the 40,000-step job, with the tie on from the parent's last step."""
    from genrepro.jobs.dcign_table import JOB_EXTENDS, RUNS, retune_of, retunes_of

    name = "dcign-faces-mirror-inv-swap-facelight-80k-inv10-100k-moments"
    assert retune_of(name) == (100_000, {"moments": None}, {"moments": 10.0})
    assert retunes_of(name) == [(80_000, {"invariance": 1.0}, {"invariance": 10.0}), retune_of(name)]
    assert retunes_of(JOB_EXTENDS[name]) == retunes_of(name)[:1] and retunes_of("dcign-faces-mirror") == []
    # the descriptions are derived from the table, so they name what it says
    assert RUNS[name][3].startswith(f"{JOB_EXTENDS[name]} (not in the paper) trained on to 110,000 steps with our "
                                    "moment tie from step 100,000 on (a retune)")
    assert "with a 1,000× invariance from step 80,000 on" in RUNS[JOB_EXTENDS[JOB_EXTENDS[name]]][3]
    assert "with its schedule lengthened to 100,000 steps" in RUNS[JOB_EXTENDS[name]][3]
    names = list(RUNS)
    assert all(names.index(e) == names.index(p) + 1 for e, p in JOB_EXTENDS.items())   # listed after its parent
    assert DCIGNJob(name).train_config() == dataclasses.replace(DCIGNJob(JOB_EXTENDS[name]).train_config(),
                                                                 moments=10.0, steps=110_000)
    line = [name]
    while line[-1] in JOB_EXTENDS:
        line.append(JOB_EXTENDS[line[-1]])
    assert line[-1] == "dcign-faces-mirror-inv-swap-facelight" and len(line) == 5
    monkeypatch.setenv("GENREPRO_ARTIFACTS", str(tmp_path))
    parent = None
    for step, job_name in enumerate(reversed(line)):   # each tiny job 2 steps longer than its parent
        parent = _tiny_job(job_name, 4 + 2 * step, parent=parent)
        assert parent.run(Budget(1e9), CPU, progress=False).complete
    assert "at step 10, moments None -> 10.0" in capsys.readouterr().out
    st = _final(parent)
    assert st["step"] == 12 and st["settings"]["train"]["moments"] == 10.0
    assert st["history"][:len(_final(parent.parent)["history"])] == _final(parent.parent)["history"]


def test_an_extension_without_its_parents_checkpoint_is_reported_and_the_other_jobs_still_run(
        tmp_path, monkeypatch, capsys):
    """``python -m genrepro.train``: a job that cannot start (here the 80k extension on a machine
    without its parent's complete checkpoint) is an error line naming the fix, not a traceback; the
    jobs after it still run, and the call exits 1."""
    from genrepro import train

    monkeypatch.setattr("genrepro.jobs.base.published_root", lambda: tmp_path / "published")
    ran, real_run = [], DCIGNJob.run

    def run(self, budget, device, progress=True):
        if self.parent is None:   # any other job: noted, nothing trained
            ran.append(self.name)
            return self.status()
        return real_run(self, budget, device, progress)

    monkeypatch.setattr(DCIGNJob, "run", run)
    rc = train.main(["dcign-faces-mirror-inv-swap-facelight-80k", "dcign-chairs", "--budget-min", "1", "--device", "cpu"])
    err = capsys.readouterr().err
    assert rc == 1 and ran == ["dcign-chairs"]
    assert "error: dcign-faces-mirror-inv-swap-facelight-80k: " in err and "has no checkpoint here" in err
    assert "python -m genrepro.train dcign-faces-mirror-inv-swap-facelight` to completion" in err
    assert not DCIGNJob("dcign-faces-mirror-inv-swap-facelight-80k").last_path.exists()



def test_the_wide_combined_job_is_the_combined_recipe_at_the_wide_networks_widths():
    """``dcign-faces-wide-mirror-inv-swap-facelight``: the network of ``dcign-faces-wide`` with the
    training and renders of ``dcign-faces-mirror-inv-swap-facelight``, and a tag of its own; the
    job runner reads the one job table (:mod:`genrepro.jobs.dcign_table`)."""
    from genrepro.jobs import dcign, dcign_table

    job = DCIGNJob("dcign-faces-wide-mirror-inv-swap-facelight")
    wide, combined = DCIGNJob("dcign-faces-wide"), DCIGNJob("dcign-faces-mirror-inv-swap-facelight")
    assert job.model_config() == wide.model_config() != combined.model_config()
    assert job.model_config().enc_channels == (48, 24, 12)
    assert job.train_config() == combined.train_config() and job.train_config().swap > 0
    assert job.data_spec() == combined.data_spec() and dcign.light_frame(job.name) == "face"
    assert len({job.tag(), wide.tag(), combined.tag()}) == 3
    assert dcign.RUNS is dcign_table.RUNS and dcign.JOB_MODEL is dcign_table.JOB_MODEL


def test_the_fast_lr_probe_is_the_combined_recipe_with_only_the_profiles_learning_rate_changed():
    """``dcign-faces-mirror-inv-swap-facelight-lr1e-3``: the combined job's network, renders and every
    training field but ``lr``, which is the profile's ``fast_lr`` (twice the original's), under a tag of
    its own, and its description says the learning rate is ours."""
    from dataclasses import replace

    from genrepro import profiles

    job = DCIGNJob("dcign-faces-mirror-inv-swap-facelight-lr1e-3")
    combined = DCIGNJob("dcign-faces-mirror-inv-swap-facelight")
    fast = profiles.get("dcign", "full").fast_lr
    assert fast == 2 * profiles.get("dcign", "full").lr
    assert job.train_config() == replace(combined.train_config(), lr=fast)
    assert job.model_config() == combined.model_config() and job.data_spec() == combined.data_spec()
    assert job.tag() != combined.tag() and job.scale == "reduced"
    assert "learning rate doubled to 1e-3 (ours)" in job.description


def test_the_cosine_probe_is_the_fast_lr_probe_with_only_its_decay_added():
    """``dcign-faces-mirror-inv-swap-facelight-lr1e-3-cos``: the fast-lr probe's network, renders and
    training, plus the cosine decay to the profile's ``fast_lr_final`` over its schedule, under a tag of
    its own; its rate starts at ``fast_lr`` and ends at a tenth of it."""
    from dataclasses import replace

    from genrepro import profiles
    from genrepro.dcign.train import _train_settings

    job = DCIGNJob("dcign-faces-mirror-inv-swap-facelight-lr1e-3-cos")
    fast = DCIGNJob("dcign-faces-mirror-inv-swap-facelight-lr1e-3")
    s = profiles.get("dcign", "full")
    assert job.train_config() == replace(fast.train_config(), lr_final=s.fast_lr_final)
    assert fast.train_config().lr_final is None and "lr_final" not in _train_settings(fast.train_config())
    tc = job.train_config()
    assert (tc.lr_at(0), tc.lr_at(tc.steps)) == (s.fast_lr, s.fast_lr / 10) and tc.steps == 40_000
    assert job.model_config() == fast.model_config() and job.data_spec() == fast.data_spec()
    assert job.tag() not in (fast.tag(), DCIGNJob("dcign-faces-mirror-inv-swap-facelight").tag())
    assert "cosine from 1e-3 to 1e-4 (ours)" in job.description


def test_the_elevation_probe_changes_only_the_batch_kinds_and_is_monitored_on_the_reference_batches(monkeypatch):
    """``dcign-faces-mirror-inv-swap-facelight-el3``: the combined job's network and training, its renders
    with the profile's ``elevation_ratio`` of batch kinds (three elevation batches to each azimuth and
    light batch) under a tag of its own; its |r| monitor gets the combined job's held-out batches (the
    ratio is not passed on), so the two curves are comparable."""
    import numpy as np

    from genrepro import profiles
    from genrepro.dcign import FACE_RATIO, FaceSource, kind_sequence
    from genrepro.jobs import dcign as jd

    job = DCIGNJob("dcign-faces-mirror-inv-swap-facelight-el3")
    ref = DCIGNJob("dcign-faces-mirror-inv-swap-facelight")
    ratio = tuple(profiles.get("dcign", "full").elevation_ratio)
    assert ratio == (1, 3, 1, 10) and ratio != tuple(FACE_RATIO)
    assert job.train_config() == ref.train_config() and job.model_config() == ref.model_config()
    assert job.data_spec() == {**ref.data_spec(), "ratio": ratio} and job.tag() != ref.tag()
    assert "three times the elevation batches" in job.description and "ours)" in job.description
    assert " : ".join(map(str, ratio)) in job.description        # the label says the ratio it trains on
    with pytest.raises(ValueError, match="ratio needs 4 weights"):   # the source checks what the table gives
        FaceSource(None, 64, 10, ratio=ratio[:3])
    kinds = kind_sequence(job.train_config().steps, ratio, 0)
    share = np.bincount(kinds, minlength=4) / len(kinds)
    assert abs(share[1] / share[0] - 3) < 0.2 and abs(share[1] - 3 / 15) < 0.01

    seen = []
    monkeypatch.setattr(jd, "monitor_batches", lambda *a, **kw: seen.append(kw) or {})
    monkeypatch.setattr("genrepro.data.faces.load_face_model", lambda: None)
    job.monitor(torch.device("cpu")), ref.monitor(torch.device("cpu"))
    assert seen == [{"light_frame": "face"}, {"light_frame": "face"}]
