"""``gan-faces`` (Goodfellow et al. 2014 §5, TFD-size model): settings, publishing, loading."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genrepro import published
from genrepro.jobs import Budget, write_published
from genrepro.jobs import gan_faces
from genrepro.jobs.gan_faces import GANFaces, GANFacesReduced

TINY = {"faces_g_width": 16, "faces_d_units": 8, "faces_epochs": 2, "steps_per_epoch": 3,
        "monitor_every": 1, "monitor_samples": 40, "monitor_valid": 20,
        "parzen_samples": 70, "parzen_valid": 20, "parzen_test": 30}
CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("GENREPRO_ARTIFACTS", str(tmp_path / "artifacts"))
    monkeypatch.setenv("GENREPRO_PROGRESS", "off")
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_full_settings_mirror_faces_experiment():
    job = GANFaces()
    g, t = job.gan_config(), job.train_config()
    assert g.g_hidden == (8000, 8000) and g.d_units == (1200, 1200) and g.data_dim == 2304
    assert (t.epochs, t.lr, t.seed, t.steps_per_epoch) == (100, 0.05, 0, None)
    assert job.gpu_only and job.publish_on_device and job.protocol() == {"n_samples": 10_000, "n_valid": 1_000,
                                                                         "n_test": 10_000}
    assert GANFaces(TINY).tag() != job.tag()


def test_publish_samples_and_grid_round_trip(tmp_path, monkeypatch):
    monkeypatch.setattr(gan_faces, "SAMPLE_ROWS", 40)   # 70 scored, 60 published → files of 40 + 20 rows
    monkeypatch.setattr(gan_faces, "PUBLISHED_SAMPLES", 60)
    images = np.random.default_rng(0).integers(0, 256, (200, 48, 48), dtype=np.uint8)
    job = GANFaces(TINY, images=images)
    assert job.run(Budget(1e9), CPU, progress=False).complete
    root = tmp_path / "published"
    write_published(job, CPU, "python -m genrepro.gpu run", root=root, log=lambda s: None)
    out, rec = published.load("gan-faces", root=root)
    assert rec["model"] == "genrepro.gan.FacesSamples" and rec["samples"]["files"] == ["samples-0.npy", "samples-1.npy"]
    assert out["samples"].shape == (60, 48, 48) and out["samples"].dtype == np.uint8
    assert rec["samples"]["n"] == 60 and rec["samples"]["n_scored"] == 70
    assert out["grid"].shape == (10, 12, 48, 48) and out["grid"].dtype == np.uint8
    assert len(rec["metrics"]["parzen_by_sample_seed"]) == 5 and rec["metrics"]["best_epoch"] in (1, 2)
    assert rec["data"]["n_train"] == 160 and rec["provenance"]["status"] == "complete"
    # Figure 2's right column: each neighbour is a training face, the nearest to its sample
    # (up to the uint8 rounding of both: at most 0.5 a pixel each, 48 in norm)
    nb = out["neighbours"]
    assert nb.shape == (gan_faces.NEIGHBOURS, 48, 48) and nb.dtype == np.uint8
    train = gan_faces.to_uint8(job.splits()["train"]).reshape(-1, 48 * 48).astype(np.float64)
    for i in range(gan_faces.NEIGHBOURS):
        q, n_i = out["samples"][i].reshape(-1).astype(np.float64), nb[i].reshape(-1).astype(np.float64)
        assert (train == n_i).all(1).any()
        assert np.linalg.norm(q - n_i) <= np.linalg.norm(train - q, axis=1).min() + 48
    (root / "gan-faces" / "grid.npy").write_bytes(b"not the grid")
    with pytest.raises(published.PublishedModelError, match="grid.npy"):
        published.load("gan-faces", root=root)


def test_prepare_data_renders_the_missing_flat_faces(tmp_path, monkeypatch):
    from genrepro import paths, profiles
    from genrepro.data import faces

    src = paths.data_dir() / "faces"
    if not (src / "face_model.npz").is_file():
        pytest.skip("faces not prepared (python data_prep/faces.py)")
    (tmp_path / "data" / "faces").mkdir(parents=True)
    for f in ("manifest.json", "face_model.npz"):
        (tmp_path / "data" / "faces" / f).write_bytes((src / f).read_bytes())
    monkeypatch.setenv("GENREPRO_DATA", str(tmp_path / "data"))
    real = profiles.get
    monkeypatch.setattr(profiles, "get", lambda ch, p: {**real(ch, p), "flat_n": 12} if ch == "faces" else real(ch, p))
    GANFaces().prepare_data(CPU, log=lambda s: None)
    flat = faces.load_flat_faces("full")
    assert flat["images"].shape == (12, 48, 48) and flat["images"].dtype == np.uint8
    entry = faces.load_manifest()["profiles"]["full"]["flat_faces"]
    assert entry["n"] == 12 and entry["rendered_on"].startswith("CPU")
    GANFaces().prepare_data(CPU, log=lambda s: 1 / 0)   # present now: nothing rendered, nothing logged


def test_reduced_job_is_the_faces_job_at_mnist_widths_and_says_so():
    full, red = GANFaces(), GANFacesReduced()
    g, t = red.gan_config(), red.train_config()
    assert g.g_hidden == (1200, 1200) and g.d_units == (240, 240) and g.data_dim == 2304
    assert g.g_activations == full.gan_config().g_activations and t == full.train_config()
    assert not red.gpu_only and red.protocol() == full.protocol() and red.tag() != full.tag()
    from genrepro.jobs import get
    assert isinstance(get("gan-faces-reduced"), GANFacesReduced)
    label = red.scale_label(red.status())
    assert label.startswith("reduced widths (G 1200, D maxout 240×5; paper: 8000, 1200×5)") and "0/100 epochs" in label


def test_reduced_job_renders_missing_faces_before_training(monkeypatch):
    calls = []
    job = GANFacesReduced(TINY, images=np.zeros((200, 48, 48), np.uint8))
    monkeypatch.setattr(GANFacesReduced, "prepare_data", lambda self, device, log=print: calls.append(device))
    assert job.run(Budget(1e9), CPU, progress=False).complete and calls == [CPU]
