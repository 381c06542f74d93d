"""The GPU command (``python -m genrepro.gpu``): pack → run → unpack with a tiny DC-IGN job on the CPU."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from genrepro import gpu, gpu_run
from genrepro.dcign import Batch, DCIGNConfig
from genrepro.jobs import Budget
from genrepro.jobs.dcign import DCIGNJob
from test_jobs_dcign import StepBudget

CPU = torch.device("cpu")
TINY = DCIGNConfig(image_size=32, enc_channels=(4, 4), enc_kernel=3, dec_channels=(4, 4),
                   dec_kernels=(3, 3, 5), latent_dim=200)     # as tests/test_jobs_dcign.py
TRAIN = {"steps": 7, "checkpoint_every": 5, "log_every": 2}
# what the GPU machine may lack, hidden from a subprocess (the bundle's stand-ins stay visible)
BLOCKER = textwrap.dedent("""
    import importlib.machinery, sys
    BLOCKED = {"tqdm", "safetensors", "sklearn", "skimage", "trimesh", "papermill"}
    PF = importlib.machinery.PathFinder
    class Hiding:   # the path finder, blind to BLOCKED outside the bundle's stand-ins
        @staticmethod
        def find_spec(name, path=None, target=None):
            if name in BLOCKED:
                return PF.find_spec(name, [p for p in sys.path if p.endswith("shims")])
            return PF.find_spec(name, path, target)
        @staticmethod
        def invalidate_caches():
            PF.invalidate_caches()
    sys.meta_path[:] = [Hiding if f is PF else f for f in sys.meta_path]
""")



class NoiseSource:
    """Instant batches, a pure function of the step."""

    def settings(self) -> dict:
        return {"data": "noise"}

    def batch(self, step: int) -> Batch:
        return Batch(torch.rand(20, 1, 32, 32, generator=torch.Generator().manual_seed(step)), "AZ", [0])




class TinyJob(DCIGNJob):
    def __init__(self):
        super().__init__("dcign-faces-150", cfg=TINY, train=TRAIN, source=lambda job, device: NoiseSource())

    def data_files(self) -> list[str]:
        return ["tiny/x.npy"]


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("GENREPRO_ARTIFACTS", str(tmp_path / "artifacts"))
    monkeypatch.setenv("GENREPRO_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("GENREPRO_PROGRESS", "off")
    (tmp_path / "data" / "tiny").mkdir(parents=True)
    np.save(tmp_path / "data" / "tiny" / "x.npy", np.arange(10))
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield tmp_path
    torch.set_num_threads(n)


def quiet(msg: str) -> None:
    pass


def test_pack_refuses_what_does_not_fit_and_writes_nothing(env):
    job = TinyJob()
    job.run(StepBudget(2), CPU, progress=False)
    reg = {job.name: job}
    with pytest.raises(gpu.BundleTooLarge, match="source alone"):
        gpu.pack(env / "b", limit=1000, registry=reg, log=quiet)
    assert not (env / "b").exists()
    src = gpu.pack(env / "b", limit=32 * gpu.MiB, registry=reg, log=quiet)["bytes"] - sum(
        i["bytes"] for i in json.loads((env / "b" / gpu.BUNDLE_MANIFEST).read_text())["items"])
    before = (env / "b" / gpu.BUNDLE_MANIFEST).read_bytes()
    notes: list[str] = []
    with pytest.raises(gpu.BundleTooLarge, match="nothing to carry"):
        gpu.pack(env / "b", limit=src + 100, registry=reg, log=notes.append)   # the job's checkpoint is larger
    assert any("left out" in n for n in notes)
    assert (env / "b" / gpu.BUNDLE_MANIFEST).read_bytes() == before        # the earlier bundle is intact
    with pytest.raises(KeyError, match="no job named"):
        gpu.pack(env / "c", names=["nope"], registry=reg, log=quiet)


class TinyBaseline(TinyJob):
    """A second carried job reading the same data, with no checkpoint yet."""

    def __init__(self):
        DCIGNJob.__init__(self, "dcign-baseline-150", cfg=TINY, train=TRAIN, source=lambda job, device: NoiseSource())


def test_pack_skips_a_job_too_large_and_still_carries_a_later_one_that_fits(env):
    """The jobs go in priority order while they fit: one whose checkpoint does not fit is left out
    and the next one, which needs only the (shared) data, is carried with that data."""
    big, small = TinyJob(), TinyBaseline()
    big.run(StepBudget(2), CPU, progress=False)
    reg = {big.name: big, small.name: small}
    man = gpu.pack(env / "b", limit=32 * gpu.MiB, registry=reg, log=quiet)
    assert [e["name"] for e in man["jobs"]] == [big.name, small.name]
    sizes = {it["kind"]: it["bytes"] for it in man["items"]}
    assert set(sizes) == {"data", "checkpoint"}          # the data once, with the first job
    fixed = man["bytes"] - sum(sizes.values())
    notes: list[str] = []
    man = gpu.pack(env / "b", limit=fixed + sizes["data"] + sizes["checkpoint"] // 2, registry=reg, log=notes.append)
    assert [e["name"] for e in man["jobs"]] == [small.name]
    assert [(it["kind"], it["job"], it["files"]) for it in man["items"]] == [("data", small.name, ["tiny/x.npy"])]
    assert any(n.strip().startswith(f"{big.name}: left out") for n in notes)
    on_disk = sorted(f.name for f in (env / "b" / "items").iterdir())
    assert on_disk == [it["file"].removeprefix("items/") for it in man["items"]]   # nothing left behind


def test_round_trip_continues_the_cpu_run_bit_identically(env, monkeypatch):
    monkeypatch.setenv("GENREPRO_ARTIFACTS", str(env / "whole"))
    whole = TinyJob()
    whole.run(Budget(1e9), CPU, progress=False)
    reference = torch.load(whole.last_path, weights_only=False)
    monkeypatch.setenv("GENREPRO_ARTIFACTS", str(env / "artifacts"))

    job = TinyJob()
    job.run(StepBudget(3), CPU, progress=False)
    reg = {job.name: job}
    man = gpu.pack(env / "b", limit=32 * gpu.MiB, registry=reg, log=quiet)
    assert [i["kind"] for i in man["items"]] == ["data", "checkpoint"] and man["jobs"][0]["status"][0] == 3
    res = gpu_run.run(env / "b", env / "ret", minutes=1.0, device="cpu", registry=reg, log=quiet, work=env / "w")
    r = res["jobs"][0]
    assert (r["before"], r["after"], r["returns"]) == ("partial (3/7 steps)", "complete", "checkpoint")
    assert (env / "w" / "data" / "tiny" / "x.npy").is_file() and not (env / "b" / "work").exists()
    back = sorted(p.name for p in (env / "ret").iterdir())
    assert back == ["dcign-faces-150.tgz.000", "manifest.json"] and len(back) <= gpu.RETURN_FILES
    assert job.status().done == 3                                  # nothing local changed yet
    assert gpu.unpack(env / "ret", registry=reg, log=quiet) == ["dcign-faces-150"]
    assert job.status().complete
    got = torch.load(job.last_path, weights_only=False)
    assert all(torch.equal(got["model"][k], reference["model"][k]) for k in reference["model"])
    notes: list[str] = []
    assert gpu.unpack(env / "ret", registry=reg, log=notes.append) == []   # local is as far: kept
    assert any("kept the local checkpoint" in n for n in notes)
    part = env / "ret" / "dcign-faces-150.tgz.000"
    part.write_bytes(part.read_bytes()[:-10])
    with pytest.raises(ValueError, match="altered"):
        gpu.unpack(env / "ret", force=True, registry=reg, log=quiet)


def test_device_side_imports_without_tqdm_or_safetensors(env):
    job = TinyJob()
    gpu.pack(env / "b", limit=32 * gpu.MiB, registry={job.name: job}, log=quiet)
    code = BLOCKER + "import runpy; runpy.run_module('genrepro.gpu', run_name='__main__')"
    p = subprocess.run([sys.executable, "-c", code, "run", "--out", str(env / "ret"), "--device", "cpu",
                        "--minutes", "1", "--bundle", str(env / "b")], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    res = json.loads((env / "ret" / gpu.RETURN_MANIFEST).read_text())
    assert res["shimmed"] == ["tqdm", "safetensors"]
    # the real registry's dcign-faces-150 has the full profile's settings, not the tiny job's: not run
    assert "differs from the packed" in res["jobs"][0]["note"]


def test_pending_skips_a_job_published_complete_with_the_same_settings(env, monkeypatch):
    """A fresh clone has no checkpoints: a job published complete (same tag) is not pending,
    one published from other settings or code still is."""
    from genrepro.jobs import base

    monkeypatch.setattr(base, "published_root", lambda: env / "published")
    job = TinyJob()
    reg = {job.name: job}
    assert gpu._select(None, reg) == [job] and not job.finished()
    job.run(Budget(1e9), CPU, progress=False)
    base.write_published(job, CPU, command="test", root=env / "published", log=quiet)
    monkeypatch.setenv("GENREPRO_ARTIFACTS", str(env / "fresh-clone"))
    assert job.status().done == 0 and job.published_complete() and job.finished()
    assert gpu._select(None, reg) == []
    record = env / "published" / job.name / base.RECORD
    r = json.loads(record.read_text())
    r["provenance"]["settings_tag"] = "000000000000"              # trained by other code
    record.write_text(json.dumps(r))
    assert not job.finished() and gpu._select(None, reg) == [job]
    record.write_text("{not json")                                 # unreadable: not done
    assert not job.published_complete()


def published_on_a_fresh_clone(env, monkeypatch) -> TinyJob:
    """A TinyJob trained and published, seen from a clone without its checkpoint; the CLI's job
    registry holds it alone."""
    from genrepro import jobs
    from genrepro.jobs import base

    monkeypatch.setattr(base, "published_root", lambda: env / "published")
    job = TinyJob()
    job.run(Budget(1e9), CPU, progress=False)
    base.write_published(job, CPU, command="test", root=env / "published", log=quiet)
    monkeypatch.setenv("GENREPRO_ARTIFACTS", str(env / "fresh-clone"))
    monkeypatch.setattr(jobs, "registry", lambda: {job.name: job})
    monkeypatch.setattr(jobs, "get", lambda name: job)
    return job


def test_an_older_publication_counts_only_when_declared_equivalent_for_this_tag(env, monkeypatch, capsys):
    """``--accept-published WHY`` lets a publication made under an older tag count as the job's
    work (not pending, shown as such in --list); it needs a reason, it lapses when the tag changes
    again, and bad input changes nothing."""
    from genrepro import train
    from genrepro.jobs import base

    job = published_on_a_fresh_clone(env, monkeypatch)
    published_tag = job.tag()
    monkeypatch.setattr(TinyJob, "tag", lambda self: "aaaaaaaaaaaa")       # the code changed since
    assert not job.published_complete() and gpu._select(None, {job.name: job}) == [job]
    assert "(other settings or code)" in train.job_rows()[0][3]
    why = "the change split a function; the training arithmetic is the same"
    assert train.main([job.name, "--accept-published", "because"]) == 1          # no real reason
    assert "at least 20 characters" in capsys.readouterr().err
    assert not base.equivalences_file().exists()
    assert train.main([job.name, "--accept-published", why]) == 0
    assert "now counts for tag aaaaaaaaaaaa" in capsys.readouterr().out
    entry = json.loads(base.equivalences_file().read_text())[job.name]
    assert [(e["tag"], e["accepts"], e["why"]) for e in entry] == [("aaaaaaaaaaaa", published_tag, why)]
    assert job.published_complete() and job.finished() and gpu._select(None, {job.name: job}) == []
    assert "declared equivalent" in train.job_rows()[0][3]
    assert train.main([job.name, "--accept-published", why]) == 0               # again: replaced, not added
    assert len(json.loads(base.equivalences_file().read_text())[job.name]) == 1
    monkeypatch.setattr(TinyJob, "tag", lambda self: "bbbbbbbbbbbb")       # changed again: it lapses
    assert not job.published_complete() and gpu._select(None, {job.name: job}) == [job]
    assert train.main([job.name, "--accept-published", why + " (and again)"]) == 0   # supersedes the lapsed one
    entry = json.loads(base.equivalences_file().read_text())[job.name]
    assert [(e["tag"], e["accepts"]) for e in entry] == [("bbbbbbbbbbbb", published_tag)] and job.published_complete()
    monkeypatch.setattr(TinyJob, "tag", lambda self: published_tag)
    assert train.main([job.name, "--accept-published", why]) == 1                # nothing to accept
    assert "already has the current settings tag" in capsys.readouterr().err
    base.equivalences_file().write_text("{not json")
    monkeypatch.setattr(TinyJob, "tag", lambda self: "aaaaaaaaaaaa")
    with pytest.raises(ValueError, match="git checkout"):
        job.published_complete()


def test_train_cli_does_not_retrain_what_is_published_complete(env, monkeypatch, capsys):
    from genrepro import train

    job = published_on_a_fresh_clone(env, monkeypatch)
    assert train.main(["--pending", "--device", "cpu", "--budget-min", "1"]) == 0
    assert "0 job(s)" in capsys.readouterr().out and job.status().done == 0
    assert train.main([job.name, "--device", "cpu", "--budget-min", "1"]) == 0
    assert "already published complete" in capsys.readouterr().out and job.status().done == 0
    assert train.main([job.name, "--device", "cpu", "--budget-min", "1", "--force"]) == 0   # a refit, on request
    assert job.status().complete
