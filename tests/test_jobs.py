"""Paper-scale jobs: budget stops, bit-identical resume, publishing and loading (genrepro.jobs)."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from genrepro import jobs, published
from genrepro.gan import GANConfig, TrainConfig
from genrepro.jobs.base import Budget, Status, code_digest
from genrepro.jobs.deepgmm import DeepGMMNet
from genrepro.jobs.gan import GANMnist

TINY = GANConfig(data_dim=16, noise_dim=4, g_hidden=(8, 8), d_units=(6, 6), d_pieces=2)


class TinyGAN(GANMnist):
    """gan-mnist's code path on 16-d toy data and a 4-epoch schedule."""

    name = "tiny-gan"

    def gan_config(self):
        return TINY

    def train_config(self):
        return TrainConfig(epochs=4, steps_per_epoch=5, batch_size=20, monitor_every=2, monitor_samples=50,
                           monitor_valid=20, seed=1)

    def splits(self):
        g = torch.Generator().manual_seed(0)
        x = torch.rand(300, 16, generator=g)
        return {"train": x[:200], "valid": x[200:250], "test": x[250:]}

    def protocol(self):
        return {"n_samples": 100, "n_valid": 20, "n_test": 30}


@pytest.fixture
def artifacts(tmp_path, monkeypatch):
    monkeypatch.setenv("GENREPRO_ARTIFACTS", str(tmp_path / "artifacts"))
    return tmp_path


def _flip_a_byte(path, at: int = -3) -> None:
    """Alter one byte of a file's data in place (a corrupted or tampered published file)."""
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


def _weights(job):
    st = torch.load(job.ckpt_dir() / "last.pt", weights_only=False)
    return torch.cat([v.flatten() for v in st["G"].values()] + [v.flatten() for v in st["D"].values()])


def test_status_labels():
    assert Status(0, 300, "epochs").state == "not started"
    assert Status(120, 300, "epochs").state == "partial (120/300 epochs)"
    assert Status(120, 300, "epochs").label() == "paper settings, partial: 120/300 epochs"
    assert Status(300, 300, "epochs").complete and Status(300, 300, "epochs").label() == "paper settings, complete"
    assert Status(12, 100, "EM iterations", converged=True).state.startswith("complete (stopped on validation")


def test_budget_stop_then_resume_matches_uninterrupted(artifacts, monkeypatch):
    job = TinyGAN()
    cpu = torch.device("cpu")
    ticks = iter(range(10_000))
    budget = Budget(seconds=7)            # a clock that advances one "second" a step: cut after 7 steps
    monkeypatch.setattr(budget, "left", lambda: 7 - next(ticks))
    st = job.run(budget, cpu, progress=False)
    assert st.done == 1 and not st.complete        # epoch 2 was cut mid-way: epoch 1's checkpoint stays
    assert job.run(Budget(3600), cpu, progress=False).complete
    cut = _weights(job)
    monkeypatch.setenv("GENREPRO_ARTIFACTS", str(artifacts / "other"))
    assert job.run(Budget(3600), cpu, progress=False).complete
    assert torch.equal(cut, _weights(job))


def test_code_digest_tracks_module_source(tmp_path, monkeypatch):
    pkg = tmp_path / "digestpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("x = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    before, whole = code_digest("digestpkg.a"), code_digest("digestpkg")
    (pkg / "__init__.py").write_text("# changed\n")
    assert code_digest("digestpkg.a") == before and code_digest("digestpkg") != whole
    (pkg / "a.py").write_text("x = 2\n")
    assert code_digest("digestpkg.a") != before
    with pytest.raises(ValueError, match="no module"):
        code_digest("digestpkg.nope")


def test_publish_load_verify(artifacts):
    job = TinyGAN()
    root = artifacts / "published"
    with pytest.raises(RuntimeError, match="has not started"):
        jobs.write_published(job, torch.device("cpu"), "cmd", root=root, log=lambda m: None)
    job.run(Budget(3600), torch.device("cpu"), progress=False)
    jobs.write_published(job, torch.device("cpu"), "python -m genrepro.train tiny-gan", root=root, log=lambda m: None)
    assert published.names(root) == ["tiny-gan"]
    G, rec = published.load("tiny-gan", root)
    assert not G.training and rec["provenance"]["complete"] and rec["provenance"]["done"] == 4
    assert rec["metrics"]["best_epoch"] in (2, 4) and len(rec["metrics"]["parzen_by_sample_seed"]) == 5
    assert [h["epoch"] for h in rec["history"]] == [1, 2, 3, 4]
    # the published generator is the best checkpoint's: same samples as the trainer's G
    trainer, _ = job.best_trainer("cpu", job.splits())
    z = torch.rand(7, 4)
    assert torch.equal(G(z), trainer.G.eval()(z))
    # an altered weight file is refused, naming the command that remakes it
    f = root / "tiny-gan" / "generator.safetensors"
    _flip_a_byte(f)
    with pytest.raises(published.PublishedModelError, match="python -m genrepro.train tiny-gan --publish"):
        published.load("tiny-gan", root)
    f.unlink()
    with pytest.raises(published.PublishedModelError, match="missing"):
        published.load("tiny-gan", root)
    with pytest.raises(published.PublishedModelError, match="no published model 'nope'"):
        published.load("nope", root)


def test_half_precision_variant_is_scored_on_the_weights_it_publishes(artifacts):
    """A variant published in fp16 (gan-mnist-gauss) records the Parzen score of the rounded
    weights: re-scoring the loaded generator reproduces the record exactly."""
    from genrepro import parzen
    from genrepro.gan import analysis

    class TinyHalf(TinyGAN):
        name = "tiny-half"
        weights_dtype = torch.float16

    job, root = TinyHalf(), artifacts / "published"
    job.run(Budget(3600), torch.device("cpu"), progress=False)
    jobs.write_published(job, torch.device("cpu"), "cmd", root=root, log=lambda m: None)
    G, rec = published.load("tiny-half", root)
    assert rec["weights_dtype"] == "float16" and next(G.parameters()).dtype == torch.float32
    x, n, m = job.splits(), job.protocol(), rec["metrics"]
    r = parzen.evaluate(x["test"][:n["n_test"]], x["valid"][:n["n_valid"]],
                        analysis.sample(G, n["n_samples"], seed=m["sample_seed"]))
    assert r["mean"] == pytest.approx(m["parzen_mean"], abs=1e-9)


def test_a_gan_comparison_variant_is_published_as_its_record(artifacts, monkeypatch):
    """A comparison variant (gan-mnist-gauss, gan-mnist-seed1) keeps no generator, partial or
    complete: the record holds the scores of the weights it would publish and their SHA-256.
    ``--record-only`` turns an older partial publication with its generator into that record;
    the main gan-mnist keeps its generator and is refused."""
    from genrepro import train
    from genrepro.jobs.gan import GANMnist, GANMnistGauss, GANMnistSeed1

    assert GANMnistGauss().keeps_weights(False) is False and GANMnistSeed1().keeps_weights(True) is False
    assert GANMnist().keeps_weights(True) is True

    class TinyVariant(TinyGAN):
        name = "tiny-variant"
        weights_dtype = torch.float16
        record_only = True

    class TinyVariantKept(TinyVariant):   # the same job as published before: generator kept
        record_only = False

    root, cpu, quiet = artifacts / "published", torch.device("cpu"), lambda m: None
    monkeypatch.setattr("genrepro.jobs.base.published_root", lambda: root)
    job = TinyVariant()
    job.run(Budget(3600), cpu, progress=False)
    monkeypatch.setattr(job, "status", lambda: Status(2, 4, "epochs"))      # partial
    jobs.write_published(job, cpu, "cmd", root=root, log=quiet)
    rec = published.record(job.name, root)
    assert rec["files"] == {} and rec["weights_kept"] is False and rec["provenance"]["done"] == 2
    with pytest.raises(published.PublishedModelError, match=r"record only .*published\.record"):
        published.load(job.name, root)
    kept = TinyVariantKept()
    monkeypatch.setattr(kept, "status", lambda: Status(2, 4, "epochs"))
    jobs.write_published(kept, cpu, "cmd", root=root, log=quiet, force=True)
    old = published.record(job.name, root)
    assert old["files"]["generator.safetensors"] == rec["weights_sha256"]   # the very bytes it would keep
    assert old["metrics"] == rec["metrics"]
    with pytest.raises(published.PublishedModelError, match="only a complete publication"):
        published.drop_weights(job.name, root)                               # partial: not without partial=True
    never = TinyVariant()
    never.name = "never-published"
    monkeypatch.setattr(jobs, "get", lambda name: {job.name: job, never.name: never, "gan-mnist": GANMnist()}[name])
    assert train.main([never.name, "--record-only"]) == 1                   # nothing published
    assert train.main([job.name, "--record-only"]) == 0
    now = published.record(job.name, root)
    assert now["files"] == {} and now["weights_sha256"] == rec["weights_sha256"] and now["metrics"] == rec["metrics"]
    assert not (root / job.name / "generator.safetensors").exists()
    assert train.main(["gan-mnist", "--record-only"]) == 2                  # the book samples its generator


def test_a_publication_further_along_is_not_replaced_by_a_shorter_run(artifacts, monkeypatch):
    """On a new machine a job starts again from nothing; publishing that must not silently
    overwrite the further-trained model the repository holds."""
    job, root, cpu = TinyGAN(), artifacts / "published", torch.device("cpu")
    job.run(Budget(3600), cpu, progress=False)
    jobs.write_published(job, cpu, "cmd", root=root, log=lambda m: None)
    before = (root / "tiny-gan" / "record.json").read_text()
    monkeypatch.setattr(job, "status", lambda: Status(2, 4, "epochs"))
    with pytest.raises(RuntimeError, match=r"published at 4/4 epochs, further than the 2 here.*--force"):
        jobs.write_published(job, cpu, "cmd", root=root, log=lambda m: None)
    assert (root / "tiny-gan" / "record.json").read_text() == before
    jobs.write_published(job, cpu, "cmd", root=root, log=lambda m: None, force=True)
    assert json.loads((root / "tiny-gan" / "record.json").read_text())["provenance"]["done"] == 2


def test_publish_failure_keeps_previous(artifacts, monkeypatch):
    job = TinyGAN()
    root = artifacts / "published"
    job.run(Budget(3600), torch.device("cpu"), progress=False)
    jobs.write_published(job, torch.device("cpu"), "cmd", root=root, log=lambda m: None)
    before = (root / "tiny-gan" / "record.json").read_text()

    def boom(out, device):
        (out / "half.bin").write_bytes(b"x")
        raise RuntimeError("disk full")

    monkeypatch.setattr(job, "publish_files", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        jobs.write_published(job, torch.device("cpu"), "cmd", root=root, log=lambda m: None)
    assert (root / "tiny-gan" / "record.json").read_text() == before
    assert sorted(p.name for p in root.iterdir()) == ["tiny-gan"]


def _blobs(n, seed):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (4, 3))
    return torch.as_tensor(centres[rng.integers(0, 4, n)] + rng.normal(0, 0.5, (n, 3)))


BLOBS = {"train": _blobs(400, 0), "valid": _blobs(100, 1), "test": _blobs(100, 2)}


def assert_same_fit(a: dict, b: dict) -> None:
    """Two Deep GMM checkpoints hold the same parameters and validation history, bit for bit."""
    for k in ("A", "b"):
        assert all(torch.equal(x, y) for x, y in zip(a["state"][k], b["state"][k]))
    assert torch.equal(a["state"]["log_pi"], b["state"]["log_pi"])
    assert [r["valid_best"] for r in a["history"]] == [r["valid_best"] for r in b["history"]]


def test_deepgmm_budget_resume_bit_identical(artifacts, monkeypatch):
    job = DeepGMMNet("patches", (2, 3), profile="quick", data=BLOBS)   # quick: 4 EM iterations, L-BFGS 30
    cpu = torch.device("cpu")
    st = job.run(Budget(0), cpu, progress=False)   # spent budget: stops after one iteration
    assert st.done == 1 and st.state == "partial (1/4 EM iterations)"
    assert job.run(Budget(3600), cpu, progress=False).complete
    resumed = torch.load(job.ckpt_path, weights_only=False)
    monkeypatch.setenv("GENREPRO_ARTIFACTS", str(artifacts / "other"))
    job.run(Budget(3600), cpu, progress=False)
    assert_same_fit(resumed, torch.load(job.ckpt_path, weights_only=False))


def test_partial_deepgmm_publication_resumes_bit_identically_on_a_fresh_machine(artifacts, monkeypatch):
    """Checkpoints stay on the machine that wrote them; a partial publication carries the rest
    (hard-EM paths), so a fresh clone elsewhere continues the fit as if never stopped."""
    root = artifacts / "published"
    monkeypatch.setattr("genrepro.jobs.base.published_root", lambda: root)
    job, cpu = DeepGMMNet("patches", (2, 3), profile="quick", data=BLOBS), torch.device("cpu")
    job.run(Budget(0), cpu, progress=False)   # one EM iteration of four
    jobs.write_published(job, cpu, "cmd", root=root, log=lambda m: None)
    assert "resume.safetensors" in published.record(job.name, root)["files"]
    monkeypatch.setenv("GENREPRO_ARTIFACTS", str(artifacts / "fresh"))   # another machine: no checkpoints
    assert not job.ckpt_path.exists() and job.status().state == "partial (1/4 EM iterations)"
    assert job.run(Budget(3600), cpu, progress=False).complete
    assert json.loads((job.ckpt_dir() / "devices.json").read_text())[0].startswith("CPU")
    resumed = torch.load(job.ckpt_path, weights_only=False)
    monkeypatch.setenv("GENREPRO_ARTIFACTS", str(artifacts / "whole"))
    monkeypatch.setattr("genrepro.jobs.base.published_root", lambda: artifacts / "nothing")
    job.run(Budget(3600), cpu, progress=False)
    assert_same_fit(resumed, torch.load(job.ckpt_path, weights_only=False))
    # a complete net publishes no resume file
    jobs.write_published(job, cpu, "cmd", root=root, log=lambda m: None)
    assert "resume.safetensors" not in published.record(job.name, root)["files"]


def test_covariance_floor_variant_fits_with_its_own_floor(artifacts):
    """The GMM-gap measurement refits a sweep net with another floor, in its own checkpoint
    folder, and publishes that floor in its record; the sweep net itself is untouched."""
    from genrepro.jobs.deepgmm_variants import DeepGMMVariant

    base = DeepGMMNet("patches", (3,), profile="quick", data=BLOBS)
    var = DeepGMMVariant("patches", (3,), reg=1e-8, profile="quick", data=BLOBS)
    assert var.name == "deepgmm-patches-3-reg1e-08" and var.tag() != base.tag()
    assert var.floor() == 1e-8 and base.floor() == 1e-6
    var.run(Budget(3600), torch.device("cpu"), progress=False)
    assert var.status().done >= 1 and base.status().done == 0
    assert var.checkpoint()["state"]["reg"] == 1e-8
    root = artifacts / "published"
    jobs.write_published(var, torch.device("cpu"), "cmd", root=root, log=lambda m: None)
    assert published.record(var.name, root)["reg"] == 1e-8


def test_init_scale_variant_starts_its_lower_layers_further_from_the_identity(artifacts):
    """The deep-gain measurement (g): the variant's lower layer starts ≈ init_scale from the
    identity (the profile's net ≈ 0.1), fits in its own folder, and a seed changes the start."""
    from genrepro.jobs.deepgmm_variants import DeepGMMVariant

    base = DeepGMMNet("patches", (2, 3), profile="quick", data=BLOBS)
    wide = DeepGMMVariant("patches", (2, 3), init_scale=1.0, profile="quick", data=BLOBS)
    other = DeepGMMVariant("patches", (2, 3), init_scale=1.0, seed=1, profile="quick", data=BLOBS)
    assert (wide.name, other.name) == ("deepgmm-patches-2-3-init1", "deepgmm-patches-2-3-init1-seed1")
    assert len({base.tag(), wide.tag(), other.tag()}) == 3
    cpu = torch.device("cpu")

    def dev(job):   # mean distance of the lower layer's transforms from the identity
        a = job.new_model(BLOBS["train"], cpu).A[0]
        return float((a - torch.eye(a.shape[-1])).abs().mean())

    assert dev(wide) > 4 * dev(base)
    assert not torch.equal(wide.new_model(BLOBS["train"], cpu).A[0], other.new_model(BLOBS["train"], cpu).A[0])
    wide.run(Budget(3600), cpu, progress=False)
    assert wide.status().done >= 1 and base.status().done == 0
    with pytest.raises(ValueError, match="2 or 3 layers"):
        DeepGMMVariant("patches", (3,), init_scale=1.0)
    with pytest.raises(ValueError, match="init_scale must be > 0"):
        DeepGMMVariant("patches", (2, 3), init_scale=0.0)
    with pytest.raises(ValueError, match="changes reg, init_max, init_scale, train_n or stop"):
        DeepGMMVariant("patches", (2, 3), seed=1)


def test_training_size_variant_fits_on_a_fixed_random_subset(artifacts):
    """Measurement (i): the variant trains on a random train_n of the training points, the same
    subset for every seed; valid and test are untouched; too many points is a clear error."""
    from genrepro.jobs.deepgmm_variants import DeepGMMVariant

    a = DeepGMMVariant("patches", (3,), train_n=250, profile="quick", data=BLOBS)
    b = DeepGMMVariant("patches", (3,), train_n=250, seed=1, profile="quick", data=BLOBS)
    assert a.name == "deepgmm-patches-3-train250"
    xa, xb = a.data(torch.device("cpu")), b.data(torch.device("cpu"))
    assert len(xa["train"]) == 250 and torch.equal(xa["train"], xb["train"])
    assert not torch.equal(xa["train"], BLOBS["train"][:250])          # random, not the first rows
    rows = {tuple(r.tolist()) for r in BLOBS["train"]}
    assert all(tuple(r.tolist()) in rows for r in xa["train"])
    assert torch.equal(xa["test"], BLOBS["test"]) and torch.equal(xa["valid"], BLOBS["valid"])
    a.run(Budget(3600), torch.device("cpu"), progress=False)
    assert a.status().done >= 1
    with pytest.raises(ValueError, match="exceeds the 400 training patches"):
        DeepGMMVariant("patches", (3,), train_n=401, profile="quick", data=BLOBS).data(torch.device("cpu"))


def test_size_variant_past_the_profiles_count_draws_fresh_patches(artifacts, monkeypatch):
    """Measurement (d): more training patches than the profile's are drawn afresh from the
    training images (load_patches with that count); valid and test stay the profile's."""
    from types import SimpleNamespace

    from genrepro.jobs import deepgmm as dj
    from genrepro.jobs import deepgmm_variants as dv

    seen = []
    monkeypatch.setattr(dj, "splits", lambda kind, device="cpu", profile="full": dict(BLOBS))
    more = torch.rand(500, BLOBS["train"].shape[1], dtype=BLOBS["train"].dtype)
    monkeypatch.setattr(dv, "load_patches", lambda split, profile, **kw: seen.append((split, kw)) or SimpleNamespace(x=more))
    var = dv.DeepGMMVariant("patches", (3,), train_n=500, profile="quick")
    x = var.data(torch.device("cpu"))
    assert torch.equal(x["train"], more) and torch.equal(x["test"], BLOBS["test"])
    assert seen == [("train", {"n": 500, "kind": "patches", "source": "bsds300"})]
    assert dv.DeepGMMVariant("patches", (200,), train_n=1_000_000).name == "deepgmm-patches-200-train1M"
    assert "1,000,000 patches drawn from the 180 training images" in \
        dv.DeepGMMVariant("patches", (200,), train_n=1_000_000).description


def test_protocol_variants_combine_the_supported_settings_on_one_protocol(artifacts, monkeypatch):
    """The last step of the gap list: the GMM and (5, 5, 25) under the floor 1e-8, no stop and
    1M patches together, the same overrides on both (so their difference is the depth alone),
    and a fit of such a variant draws its fresh patches and runs with no stop at that floor."""
    from types import SimpleNamespace

    from genrepro.jobs import deepgmm as dj
    from genrepro.jobs import deepgmm_variants as dv

    nets = {v.name: v for v in dv.protocol_variants()}
    assert list(nets) == [f"deepgmm-patches-{t}-reg1e-08-train1M-nostop" for t in ("5-5-25", "200", "5-5-100", "5-100", "5-5-200",
                                                                                   "10-10-100", "20-20-100")]
    gmm, deep = nets["deepgmm-patches-200-reg1e-08-train1M-nostop"], nets["deepgmm-patches-5-5-25-reg1e-08-train1M-nostop"]
    assert all(v.overrides == {"reg": 1e-8, "train_n": 1_000_000, "patience": None} for v in nets.values())
    assert (deep.floor(), deep.patience()) == (1e-8, None) and not deep.stop_only and gmm.layers == (200,)
    assert {v.name for v in dv.protocol_variants()} <= {v.name for v in dv.all_variants()}
    # a small twin fits on freshly drawn patches, with no stop, at the floor it names
    more = torch.rand(400, BLOBS["train"].shape[1], dtype=BLOBS["train"].dtype)
    monkeypatch.setattr(dj, "splits", lambda kind, device="cpu", profile="full": dict(BLOBS))
    monkeypatch.setattr(dv, "load_patches", lambda split, profile, **kw: SimpleNamespace(x=more))
    seen = []
    monkeypatch.setattr(dj, "fit_until", lambda model, x, *a, **k: seen.append((model.reg, len(x), a[2])))
    var = dv.DeepGMMVariant("patches", (2, 3), reg=1e-8, train_n=400, stop=False, profile="quick")
    var.run(Budget(3600), torch.device("cpu"), progress=False)
    assert seen == [(1e-8, 400, None)]


def test_no_stop_variant_runs_past_the_patience_stop(artifacts, monkeypatch):
    """Measurement (f): the variant fits with no validation stop; the profile's net with its patience."""
    from genrepro.jobs import deepgmm as dj
    from genrepro.jobs import deepgmm_variants as dv

    seen = []
    monkeypatch.setattr(dj, "fit_until", lambda *a, **k: seen.append(a[4]))
    monkeypatch.setattr(dj.DeepGMMNet, "patience", lambda self: 5)   # the full profile's (quick has none)
    base = DeepGMMNet("patches", (2, 3), profile="quick", data=BLOBS)
    var = dv.DeepGMMVariant("patches", (2, 3), stop=False, profile="quick", data=BLOBS)
    assert var.name == "deepgmm-patches-2-3-nostop" and var.tag() != base.tag()
    assert (base.patience(), var.patience()) == (5, None)
    base.run(Budget(3600), torch.device("cpu"), progress=False)
    var.run(Budget(3600), torch.device("cpu"), progress=False)
    assert seen == [5, None]


def test_complete_measurement_is_published_as_its_record_with_its_weights_sha256(artifacts, monkeypatch):
    """A finished gap measurement publishes its record only: scores of its float32 weights and
    their SHA-256, no weight file; the loader says how to get them. An unfinished one keeps
    float64 weights (it must resume exactly elsewhere), and a fresh machine refits a record-only
    one rather than taking it as a checkpoint."""
    from safetensors.torch import load_file, save_file

    from genrepro.data.prep import sha256_file
    from genrepro.jobs.deepgmm import model_from_weights, weights
    from genrepro.jobs.deepgmm_variants import DeepGMMVariant

    root, cpu, quiet = artifacts / "published", torch.device("cpu"), lambda m: None
    monkeypatch.setattr("genrepro.jobs.base.published_root", lambda: root)
    var = DeepGMMVariant("patches", (3,), reg=1e-8, profile="quick", data=BLOBS)
    var.run(Budget(0), cpu, progress=False)                  # one EM iteration: partial
    assert not var.status().complete
    jobs.write_published(var, cpu, "cmd", root=root, log=quiet)
    w = load_file(str(root / var.name / "weights.safetensors"))
    assert w["A0"].dtype == torch.float64 and published.record(var.name, root)["weights_dtype"] == "float64"
    var.run(Budget(3600), cpu, progress=False)
    assert var.status().complete
    jobs.write_published(var, cpu, "cmd", root=root, log=quiet)
    rec = published.record(var.name, root)
    assert rec["files"] == {} and rec["weights_kept"] is False and rec["weights_dtype"] == "float32"
    assert sorted(p.name for p in (root / var.name).iterdir()) == ["record.json"]
    # the recorded SHA-256 and scores are those of the fitted net's float32 weights
    t32 = {k: v.float() for k, v in weights(var.restore(cpu, BLOBS["train"])).items()}
    save_file(t32, str(artifacts / "w32.safetensors"))
    assert sha256_file(artifacts / "w32.safetensors") == rec["weights_sha256"]
    m32 = model_from_weights(t32, rec["dim"], rec["layer_sizes"], rec["reg"])
    assert abs(float(m32.log_prob(BLOBS["test"]).double().mean()) - rec["metrics"]["test"]) < 1e-9
    with pytest.raises(published.PublishedModelError, match=r"record only.*genrepro.train deepgmm-patches-3-reg1e-08"):
        published.load(var.name, root)
    assert "| record only |" in published.models_markdown(root)
    monkeypatch.setenv("GENREPRO_ARTIFACTS", str(artifacts / "fresh"))   # another machine
    assert var._resumable_record() is None and not var.status().done   # nothing to resume from ...
    assert var.finished()                                               # ... and nothing left to do


def test_nostop_run_starts_from_its_twins_checkpoint_and_ends_as_a_fit_from_scratch(artifacts, monkeypatch):
    """Measurement (f) and Table 1's ``-nostop`` candidates: a run with no stop on validation
    takes the EM iterations its twin (the same net, stopped by patience) has done, and ends
    with exactly the weights and scores of a fit from scratch; it keeps float64 weights."""
    from genrepro.jobs import deepgmm as dj
    from genrepro.jobs.deepgmm_variants import DeepGMMVariant

    cpu = torch.device("cpu")
    monkeypatch.setattr(dj.DeepGMMNet, "patience", lambda self: 1)   # the twin stops early
    twin = DeepGMMNet("patches", (2, 3), profile="quick", data=BLOBS)
    var = DeepGMMVariant("patches", (2, 3), stop=False, profile="quick", data=BLOBS)
    assert var.stop_only and not var.keeps_weights(True) and var.keeps_weights(False)
    var.run(Budget(3600), cpu, progress=False)                        # from scratch
    scratch = var.checkpoint()
    n = len(scratch["history"])
    import shutil
    shutil.rmtree(var.ckpt_dir())
    twin.run(Budget(3600), cpu, progress=False)
    k = len(twin.checkpoint()["history"])
    assert twin.checkpoint()["history"][-1].get("stopped") == "patience" and 0 < k < n
    assert var.status().done == 0
    calls = []
    real = dj.fit_until
    monkeypatch.setattr(dj, "fit_until", lambda *a, **kw: calls.append(len(kw["resume"])) or real(*a, **kw))
    var.run(Budget(3600), cpu, progress=False)                        # from the twin's k iterations
    assert calls == [k]
    seeded = var.checkpoint()
    untimed = lambda hist: [{a: b for a, b in r.items() if not a.endswith("_s")} for r in hist]  # noqa: E731
    assert untimed(seeded["history"]) == untimed(scratch["history"])

    def same(a, b) -> bool:
        if isinstance(a, torch.Tensor):
            return torch.equal(a, b)
        if isinstance(a, (list, tuple)):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
        return a == b

    assert all(same(seeded["state"][key], v) for key, v in scratch["state"].items())
    assert torch.equal(seeded["paths"], scratch["paths"])


def test_table1_candidates_are_the_sweeps_nets_of_a_depth_and_their_nostop_runs():
    from genrepro.jobs.deepgmm_pick import TableOnePick

    three = [n.name for n in TableOnePick(3).candidates]
    assert three[:5] == [f"deepgmm-patches-5-5-{t}" for t in (10, 25, 50, 100, 200)]
    assert set(three[5:]) == {f"deepgmm-patches-5-5-{t}-nostop" for t in (25, 100, 200)}
    assert [n.name for n in TableOnePick(1).candidates] == [f"deepgmm-patches-{t}" for t in (10, 25, 50, 100, 200)]
    assert "best of 8 3-layer" in TableOnePick(3).description


def test_kmeans_start_variant_sees_more_points(artifacts, monkeypatch):
    """Measurement (c): the variant's k-means start is fitted on up to init_max points (the
    profile's net on its 20,000), and its name, floor and tag say so."""
    from genrepro.deepgmm import model as model_mod
    from genrepro.jobs.deepgmm_variants import DeepGMMVariant

    seen = []
    real = model_mod.DeepGMM._init_top_from_data
    monkeypatch.setattr(model_mod.DeepGMM, "_init_top_from_data",
                        lambda self, x, init_max, g: (seen.append(init_max), real(self, x, init_max, g))[1])
    base = DeepGMMNet("patches", (3,), profile="quick", data=BLOBS)
    var = DeepGMMVariant("patches", (3,), reg=1e-8, init_max=300, profile="quick", data=BLOBS)
    assert var.name == "deepgmm-patches-3-reg1e-08-kmeans300" and var.floor() == 1e-8
    assert var.tag() not in {base.tag(), DeepGMMVariant("patches", (3,), reg=1e-8, profile="quick").tag()}
    base.new_model(BLOBS["train"], torch.device("cpu"))
    var.new_model(BLOBS["train"], torch.device("cpu"))
    assert seen == [20_000, 300]


def test_gan_job_tag_ignores_the_epoch_count_but_not_the_noise_prior(monkeypatch):
    """Growing gan-mnist's schedule keeps its checkpoint folder (it trains on); the Gaussian
    A/B job never shares a folder with it."""
    from genrepro.jobs.gan import GANMnistGauss

    base = GANMnist()
    longer = GANMnist()
    monkeypatch.setattr(longer, "train_config", lambda: TrainConfig(epochs=5000))
    assert longer.tag() == GANMnist().tag() != GANMnistGauss().tag()
    assert GANMnistGauss().gan_config().noise == "gaussian" and base.gan_config().noise == "uniform"
    monkeypatch.setattr(longer, "train_config", lambda: TrainConfig(epochs=5000, lr=0.05))
    assert longer.tag() != base.tag()


def test_cli_list_and_unknown_job():
    out = subprocess.run([sys.executable, "-m", "genrepro.train", "--list"], capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    assert lines[0].split()[:4] == ["job", "chapter", "status", "published"]
    names = [ln.split()[0] for ln in lines[1:]]
    for name in ("gan-mnist", "gan-mnist-gauss", "deepgmm-gmm", "deepgmm-2layer", "deepgmm-3layer", "deepgmm-patches-5-5-200",
                 "deepgmm-tiny-10"):
        assert name in names
    bad = subprocess.run([sys.executable, "-m", "genrepro.train", "nope"], capture_output=True, text=True)
    assert bad.returncode == 2 and "no job named 'nope'" in bad.stderr and "--list" in bad.stderr


def test_published_records_are_consistent():
    """Every model in results/published/ loads, verifies and names its scale and device."""
    for name in published.names():
        rec = published.record(name)
        prov = rec["provenance"]
        assert prov["trained_on"] and prov["scale"].startswith(("paper settings", "reduced "))
        if prov["scale"].startswith("reduced "):          # a labelled reduction says what the paper's scale is
            assert "paper:" in prov["scale"] and str(prov["done"]) in prov["scale"]
        assert prov["complete"] == (prov["status"].startswith("complete"))
        assert json.dumps(rec["metrics"])
        if rec.get("weights_kept") is False:   # a finished Deep GMM net, a GAN comparison variant: its record
            job = jobs.get(name)
            assert not job.keeps_weights(True), name
            assert (isinstance(job, DeepGMMNet) and prov["complete"]) or not job.keeps_weights(False), name
            assert rec["files"] == {} and len(rec["weights_sha256"]) == 64 and rec["history"]
            continue
        model, _ = published.load(name)
        assert model is not None


def _published(model_kind):
    return [n for n in published.names() if published.record(n)["model"] == model_kind
            and published.record(n).get("weights_kept", True)]


def test_the_book_publishes_the_mnist_gan():
    assert "gan-mnist" in published.names(), "results/published/gan-mnist is missing: the book renders from it"


@pytest.mark.parametrize("name", _published("genrepro.gan.Generator"))
def test_published_gan_reproduces_its_recorded_parzen_subset(name):
    from genrepro import parzen
    from genrepro.gan import analysis
    from genrepro.jobs.gan import mnist_splits

    G, rec = published.load(name)
    ci = rec["ci_check"]
    x = mnist_splits()
    ll = parzen.log_likelihood(x["test"][:ci["n_test"]], analysis.sample(G, ci["n_samples"], seed=ci["sample_seed"]),
                               ci["sigma"])
    assert abs(float(np.mean(ll)) - ci["mean"]) < 0.01 * ci["se"]


@pytest.fixture(scope="module")
def bsds300_test(tmp_path_factory):
    """The full profile's BSDS300 test patches of a kind: from data/bsds300, else prepared from ../shared."""
    from pathlib import Path

    from genrepro.data import bsds300
    from genrepro.data.patches import load_patches

    path = None
    if not bsds300.is_prepared():
        shared = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "BSDS300"
        if not shared.is_dir():
            pytest.skip("BSDS300 is neither prepared (data_prep/bsds300.py --source …) nor in ../shared/data")
        path = bsds300.prepare(shared, out=tmp_path_factory.mktemp("bsds") / "bsds300", log=lambda m: None)
    return lambda kind: load_patches("test", "full", kind=kind, source="bsds300", path=path).x


@pytest.mark.parametrize("name", _published("genrepro.deepgmm.DeepGMM"))
def test_published_deepgmm_reproduces_its_recorded_test_subset(name, bsds300_test):
    model, rec = published.load(name)
    ci = rec["metrics"]["ci_check"]
    x = bsds300_test(rec["kind"])[:ci["n_test"]]
    ll = model.log_prob(torch.as_tensor(x, dtype=torch.float64))
    assert abs(float(ll.mean()) - ci["mean"]) < 0.01 * ci["se"]


def test_table1_pick_publishes_the_best_started_net_on_validation(artifacts):
    from genrepro.jobs.deepgmm_pick import TableOnePick

    nets = [DeepGMMNet("patches", (1,), profile="quick", data=BLOBS),
            DeepGMMNet("patches", (4,), profile="quick", data=BLOBS),
            DeepGMMNet("patches", (8,), profile="quick", data=BLOBS)]
    pick = TableOnePick(1, candidates=nets)
    root, cpu = artifacts / "published", torch.device("cpu")
    assert pick.status().state == "not started"
    with pytest.raises(RuntimeError, match="has not started"):
        jobs.write_published(pick, cpu, "cmd", root=root, log=lambda m: None)
    nets[0].run(Budget(3600), cpu, progress=False)
    nets[1].run(Budget(0), cpu, progress=False)         # one EM iteration: partial
    assert pick.status().state == "partial (1/3 nets complete)"
    jobs.write_published(pick, cpu, "cmd", root=root, log=lambda m: None)
    model, rec = published.load("deepgmm-gmm", root)
    valids = {c["net"]: c["valid"] for c in rec["candidates"] if "valid" in c}
    assert set(valids) == {nets[0].name, nets[1].name}
    assert rec["chosen"] == max(valids, key=valids.get) and list(model.layer_sizes) == rec["layer_sizes"]
    assert [c["status"] for c in rec["candidates"] if c["net"] == nets[2].name] == ["not started"]
    assert not rec["provenance"]["complete"] and rec["provenance"]["scale"].startswith("paper settings, partial")
    # the published weights give the recorded test score
    ll = model.log_prob(BLOBS["test"]).double()
    assert abs(float(ll.mean()) - rec["metrics"]["test"]) < 1e-9
    assert "weights_from" not in rec and "weights.safetensors" in rec["files"]


def test_table1_pick_names_its_published_nets_weights_instead_of_copying_them(artifacts):
    from genrepro.jobs.deepgmm_pick import TableOnePick

    nets = [DeepGMMNet("patches", (1,), profile="quick", data=BLOBS),
            DeepGMMNet("patches", (4,), profile="quick", data=BLOBS)]
    pick = TableOnePick(1, candidates=nets)
    root, cpu, quiet = artifacts / "published", torch.device("cpu"), lambda m: None
    for n in nets:
        n.run(Budget(0), cpu, progress=False)    # one EM iteration each: partial, published with weights
    chosen = max(nets, key=lambda n: float(n.restore(cpu, BLOBS["train"]).log_prob(BLOBS["valid"]).mean()))
    jobs.write_published(chosen, cpu, "cmd", root=root, log=quiet)
    jobs.write_published(pick, cpu, "cmd", root=root, log=quiet)
    rec = published.record("deepgmm-gmm", root)
    assert rec["chosen"] == chosen.name and rec["weights_from"]["name"] == chosen.name
    # a partial net is published in float64, to resume exactly elsewhere
    from safetensors.torch import load_file
    assert load_file(str(root / chosen.name / "weights.safetensors"))["A0"].dtype == torch.float64
    assert rec["weights_dtype"] == "float64" and published.record(chosen.name, root)["weights_dtype"] == "float64"
    with pytest.raises(published.PublishedModelError, match="only a complete publication"):
        published.drop_weights(chosen.name, root)                  # partial: a resume elsewhere needs them
    assert "weights.safetensors" not in rec["files"] and not (root / "deepgmm-gmm" / "weights.safetensors").exists()
    model, _ = published.load("deepgmm-gmm", root)
    ll = model.log_prob(BLOBS["test"]).double()
    assert abs(float(ll.mean()) - rec["metrics"]["test"]) < 1e-9
    # the named file altered (or republished with other weights): the pick says to republish it
    w = root / chosen.name / "weights.safetensors"
    _flip_a_byte(w)
    with pytest.raises(published.PublishedModelError, match="has changed since.*deepgmm-gmm --publish"):
        published.load("deepgmm-gmm", root)
    w.unlink()
    with pytest.raises(published.PublishedModelError, match="is missing"):
        published.load("deepgmm-gmm", root)


def test_table1_pick_on_a_fresh_machine_takes_published_complete_nets_as_they_are(artifacts, monkeypatch):
    """A clone without checkpoints (CI, the GPU machine) neither refits a candidate that is
    published complete with these settings nor loses it from the pick."""
    from genrepro.jobs.deepgmm_pick import TableOnePick

    nets = [DeepGMMNet("patches", (1,), profile="quick", data=BLOBS),
            DeepGMMNet("patches", (4,), profile="quick", data=BLOBS)]
    root, cpu, quiet = artifacts / "published", torch.device("cpu"), lambda m: None
    monkeypatch.setattr("genrepro.jobs.base.published_root", lambda: root)
    nets[1].run(Budget(3600), cpu, progress=False)
    jobs.write_published(nets[1], cpu, "cmd", root=root, log=quiet)   # complete: its record only
    fitted = published.record(nets[1].name, root)["metrics"]
    pick = TableOnePick(1, candidates=nets)
    jobs.write_published(pick, cpu, "cmd", root=root, log=quiet)      # carries the chosen net's weights
    before = published.record("deepgmm-gmm", root)
    assert "weights_from" not in before and "weights.safetensors" in before["files"]
    monkeypatch.setenv("GENREPRO_ARTIFACTS", str(artifacts / "fresh"))   # another machine
    assert nets[1].checkpoint() is None and nets[1].finished() and not nets[0].status().done
    assert pick.status().state == "partial (1/2 nets complete)"
    calls = []
    monkeypatch.setattr("genrepro.jobs.deepgmm.fit_until", lambda *a, **k: calls.append(len(a[0].layer_sizes)))
    pick.run(Budget(3600), cpu, progress=False)
    assert calls == [1]          # only the unfitted net was fitted
    jobs.write_published(pick, cpu, "cmd", root=root, log=quiet)   # takes its weights from its last publication
    rec = published.record("deepgmm-gmm", root)
    row = [c for c in rec["candidates"] if c["net"] == nets[1].name][0]
    assert row["status"].startswith("complete") and abs(row["valid"] - fitted["valid"]) < 1e-9
    assert rec["files"] == before["files"] and rec["metrics"]["test"] == before["metrics"]["test"]
    # without them (and with no checkpoint here), the pick says how to get the weights back
    import shutil
    shutil.rmtree(root / "deepgmm-gmm")
    with pytest.raises(RuntimeError, match=f"keeps only the SHA-256.*genrepro.train {nets[1].name} --force"):
        jobs.write_published(pick, cpu, "cmd", root=root, log=quiet)
    assert "deepgmm-gmm" not in published.names(root)                # nothing half-written


def test_kmeans_publication_rebuilds_its_centroids_from_labels(tmp_path, monkeypatch):
    """gan-mnist-kmeans publishes cluster labels; the loader rebuilds the centroids as the
    labelled images' means, byte for byte, and refuses other training images."""
    from genrepro.gan.analysis import nearest_neighbours
    from genrepro.jobs import gan as gan_jobs

    g = torch.Generator().manual_seed(0)
    x = torch.rand(60, 5, generator=g)
    fitted = x[:4] + 0.01
    labels = torch.as_tensor(nearest_neighbours(x, fitted, chunk=7))
    assert torch.equal(labels, torch.cdist(x, fitted).argmin(1))
    cents = gan_jobs.centroids_from_labels(labels, x, 4)
    for j in range(4):
        assert torch.allclose(cents[j], x[labels == j].mean(0), atol=1e-6)
    np.save(tmp_path / "labels.npy", labels.numpy().astype(np.uint16))
    rec = {"name": "km", "labels": "labels.npy", "k": 4, "fit_on": 60, "centroids_sha256": gan_jobs.tensor_sha256(cents)}
    monkeypatch.setattr(gan_jobs, "mnist_splits", lambda: {"train": torch.cat([x, x])})
    assert torch.equal(published._centroids(rec, tmp_path), cents)
    monkeypatch.setattr(gan_jobs, "mnist_splits", lambda: {"train": x + 1e-3})
    with pytest.raises(published.PublishedModelError, match="data_prep/mnist.py"):
        published._centroids(rec, tmp_path)
    with pytest.raises(ValueError, match="no image"):
        gan_jobs.centroids_from_labels(torch.zeros(60, dtype=torch.long), x, 4)
    with pytest.raises(ValueError, match="do not label 60 images"):
        gan_jobs.centroids_from_labels(labels[:10], x, 4)


def test_published_set_fits_its_caps():
    """Each published file ≤ 16 MiB (what a GPU machine can bring back), the whole set ≤ 60 MiB."""
    from genrepro.jobs.base import MAX_FILE_BYTES, MAX_SET_BYTES, published_root

    files = [f for f in published_root().rglob("*") if f.is_file()] if published_root().is_dir() else []
    assert all(f.stat().st_size <= MAX_FILE_BYTES for f in files)
    assert sum(f.stat().st_size for f in files) <= MAX_SET_BYTES


def test_the_working_tree_leaves_the_gpu_command_room_for_its_first_jobs(tmp_path):
    """The device tool takes 64 MiB of working tree and bundle together: the published set and the
    rendered chapters must leave ``make gpu-jobs`` room for the first jobs only a GPU can train
    (the paper's 150×150 faces and baseline DC-IGN networks, ``gan-faces``), packed as a fresh
    clone has them. (``dcign-chairs-150`` brings 13.5 MiB of chairs and waits for room.)"""
    from genrepro import gpu
    from genrepro.jobs import registry

    first = ["gan-faces", "dcign-faces-150", "dcign-baseline-150"]
    assert all(registry()[n].gpu_only for n in first)
    lines = []
    manifest = gpu.pack(tmp_path / "bundle", names=first, log=lines.append)
    assert set(first) <= {e["name"] for e in manifest["jobs"]}, "\n".join(lines)


def test_a_publication_past_the_sets_cap_is_refused_before_its_scores_and_writes_nothing(artifacts, monkeypatch):
    """A publication that would take the published set past its cap is refused with the fix, the
    earlier publication left as it was; a Deep GMM net is refused before its exact scores."""
    from genrepro.jobs import base

    root, cpu, quiet = artifacts / "published", torch.device("cpu"), lambda m: None
    monkeypatch.setattr("genrepro.jobs.base.published_root", lambda: root)
    net = DeepGMMNet("patches", (2, 3), profile="quick", data=BLOBS)
    net.run(Budget(0), cpu, progress=False)
    jobs.write_published(net, cpu, "cmd", root=root, log=quiet)          # partial: weights and paths
    before = {f.name: f.read_bytes() for f in (root / net.name).iterdir()}
    size = base.set_bytes(root)
    assert size == sum(len(b) for b in before.values())
    (root / "other").mkdir()
    (root / "other" / "w.bin").write_bytes(b"x" * 1000)
    assert base.set_bytes(root) == size + 1000 and base.set_bytes(root, without=net.name) == 1000
    net.run(Budget(0), cpu, progress=False)                              # one more EM iteration
    arrays = len(before["weights.safetensors"]) + len(before["resume.safetensors"])   # the same shapes again
    monkeypatch.setattr(base, "MAX_SET_BYTES", 1000 + arrays - 1)        # its own old files don't count
    scored = []
    real = DeepGMMNet.evaluate
    monkeypatch.setattr(DeepGMMNet, "evaluate", lambda self, *a: scored.append(1) or real(self, *a))
    with pytest.raises(base.PublishedSetFull, match=rf"publishing {net.name} .* over its cap .* --record-only"):
        jobs.write_published(net, cpu, "cmd", root=root, log=quiet)
    assert not scored                                                    # refused before the scores
    assert {f.name: f.read_bytes() for f in (root / net.name).iterdir()} == before
    assert sorted(p.name for p in root.iterdir()) == sorted([net.name, "other"])   # no temporary folder left
    monkeypatch.setattr(base, "MAX_SET_BYTES", 1000 + arrays)            # the arrays fit, with the record not
    with pytest.raises(base.PublishedSetFull):
        jobs.write_published(net, cpu, "cmd", root=root, log=quiet)
    assert scored and {f.name: f.read_bytes() for f in (root / net.name).iterdir()} == before
    monkeypatch.setattr(base, "MAX_SET_BYTES", size + 1000 + 2**16)
    jobs.write_published(net, cpu, "cmd", root=root, log=quiet)
    assert scored and published.record(net.name, root)["provenance"]["done"] == 2


def test_drop_weights_leaves_the_record_a_record_only_publication_has(artifacts, monkeypatch):
    """``--record-only`` (``published.drop_weights``) turns a complete publication made with its
    weights into what publishing it today makes: no file, the weights' SHA-256, the same scores.
    It refuses a partial one or one already record-only, and an altered file, changing nothing."""
    from genrepro import train

    root, cpu, quiet = artifacts / "published", torch.device("cpu"), lambda m: None
    monkeypatch.setattr("genrepro.jobs.base.published_root", lambda: root)
    net = DeepGMMNet("patches", (3,), profile="quick", data=BLOBS)
    net.run(Budget(0), cpu, progress=False)
    jobs.write_published(net, cpu, "cmd", root=root, log=quiet)                      # partial: weights kept
    with pytest.raises(published.PublishedModelError, match="only a complete publication"):
        published.drop_weights(net.name, root)
    net.run(Budget(3600), cpu, progress=False)
    jobs.write_published(net, cpu, "cmd", root=root, log=quiet)                      # record only
    today = published.record(net.name, root)
    with pytest.raises(published.PublishedModelError, match="record only already"):
        published.drop_weights(net.name, root)
    keeps = DeepGMMNet.keeps_weights
    monkeypatch.setattr(DeepGMMNet, "keeps_weights", lambda self, complete: True)   # as published before
    jobs.write_published(net, cpu, "cmd", root=root, log=quiet)
    old = published.record(net.name, root)
    assert set(old["files"]) == {"weights.safetensors"}
    (root / "deepgmm-gmm").mkdir()    # a pick published before picks copied complete nets' weights
    (root / "deepgmm-gmm" / "record.json").write_text(json.dumps({"files": {}, "weights_from": {
        "name": net.name, "file": "weights.safetensors", "sha256": old["files"]["weights.safetensors"]}}))
    with pytest.raises(published.PublishedModelError, match="deepgmm-gmm use.*deepgmm-gmm --publish"):
        published.drop_weights(net.name, root)                     # the pick names these weights
    import shutil
    shutil.rmtree(root / "deepgmm-gmm")
    w = root / net.name / "weights.safetensors"
    _flip_a_byte(w)
    with pytest.raises(published.PublishedModelError, match="does not match"):
        published.drop_weights(net.name, root)
    assert published.record(net.name, root) == old and w.is_file()                 # unchanged
    _flip_a_byte(w)
    published.drop_weights(net.name, root)
    new = published.record(net.name, root)
    assert sorted(p.name for p in (root / net.name).iterdir()) == ["record.json"]
    assert new["files"] == {} and new["weights_kept"] is False
    assert new["weights_sha256"] == today["weights_sha256"] == old["files"]["weights.safetensors"]
    assert new["metrics"] == old["metrics"] == today["metrics"] and new["history"] == old["history"]
    assert "weights_dropped" in new["provenance"]
    monkeypatch.setattr(DeepGMMNet, "keeps_weights", keeps)
    # the command: only jobs whose complete publications keep no weights, and only when published complete
    assert train.main(["gan-mnist", "--record-only"]) == 2
    fresh = DeepGMMNet("patches", (2,), profile="quick", data=BLOBS)                 # never published
    monkeypatch.setattr(jobs, "get", lambda name: {net.name: net, fresh.name: fresh}[name])
    assert train.main([fresh.name, "--record-only"]) == 1
    assert train.main([net.name, "--record-only"]) == 0                                # record only already
