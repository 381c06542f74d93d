"""Deep GMM patch data (van den Oord & Schrauwen 2014 §5; Uria et al. 2013 protocol):
preprocessing exactly, sampling, splits, the stand-in loader and bad input."""

import hashlib
import io

import numpy as np
import pytest
from PIL import Image

from genrepro import profiles
from genrepro.data import DataError, DataMissingError, bsds300, patches


@pytest.fixture
def fake_bsds(tmp_path):
    """A prepared fake BSDS300 (10 train, 3 test images of 40×48) in tmp_path/bsds300."""
    rng = np.random.default_rng(0)
    root, sums = tmp_path / "src", {}
    for split, ids in {"train": [str(i) for i in range(1, 11)], "test": ["91", "92", "93"]}.items():
        (root / "images" / split).mkdir(parents=True)
        for i in ids:
            buf = io.BytesIO()
            Image.fromarray(rng.integers(0, 256, (40, 48), dtype=np.uint8)).save(buf, "JPEG")
            (root / "images" / split / f"{i}.jpg").write_bytes(buf.getvalue())
            sums[f"{split}/{i}.jpg"] = hashlib.sha256(buf.getvalue()).hexdigest()
    return bsds300.prepare(root, out=tmp_path / "bsds300", checksums=sums, log=lambda s: None)


def test_preprocess_is_exactly_the_protocol():
    raw = np.random.default_rng(5).integers(0, 256, (50, 8, 8))
    got = patches.preprocess(raw, np.random.default_rng(7), dtype=np.float64)
    u = np.random.default_rng(7).random((50, 64))
    assert ((u >= 0) & (u < 1)).all()
    full = (raw.reshape(50, 64) + u) / 256.0
    full -= full.mean(axis=1, keepdims=True)
    assert got.shape == (50, patches.DIM) == (50, 63)
    np.testing.assert_allclose(got, full[:, :63], rtol=0, atol=1e-15)
    # the dropped bottom-right pixel is minus the sum of the other 63
    np.testing.assert_allclose(-got.sum(axis=1), full[:, 63], atol=1e-12)
    assert patches.preprocess(raw, np.random.default_rng(7)).dtype == np.float32


def test_preprocess_ranges():
    rng = np.random.default_rng(0)
    flat = patches.preprocess(np.full((2000, 64), 77), rng, dtype=np.float64)
    assert np.abs(flat).max() < 1 / 256  # only the U[0,1) noise remains, scaled by 1/256
    assert flat.std() == pytest.approx(1 / 256 / np.sqrt(12), rel=0.05)
    extreme = np.zeros((2000, 64))
    extreme[:, ::2] = 255
    y = patches.preprocess(extreme, rng, dtype=np.float64)
    assert np.abs(y).max() < 1 and np.abs(y).max() > 0.49


@pytest.mark.parametrize("bad", [np.nan, np.inf, -1.0, 256.0, 100.5])
def test_bad_pixel_values_are_rejected(bad):
    raw = np.full((3, 8, 8), 100.0)
    raw[1, 2, 3] = bad
    with pytest.raises(DataError):
        patches.preprocess(raw, np.random.default_rng(0))
    img = np.full((20, 20), 100.0)
    img[4, 4] = bad
    with pytest.raises(DataError):
        patches.sample([img], 10, np.random.default_rng(0))
    with pytest.raises(DataError, match="64"):
        patches.preprocess(np.zeros((3, 7, 7)), np.random.default_rng(0))


def test_extract_takes_true_windows_uniformly():
    rng = np.random.default_rng(3)
    big = rng.integers(0, 256, (12, 11), dtype=np.uint8)
    one = rng.integers(0, 256, (8, 8), dtype=np.uint8)
    crops = patches.extract([one, big], 4000, 8, np.random.default_rng(1))
    wins = {one.tobytes(): "one"}
    wins.update({big[r:r + 8, c:c + 8].tobytes(): (r, c) for r in range(5) for c in range(4)})
    hits = [wins[c.tobytes()] for c in crops]  # KeyError if a crop is not a real window
    # uniform over the 1 + 20 (image, corner) pairs
    assert hits.count("one") / len(hits) == pytest.approx(1 / 21, abs=0.015)
    assert len(set(hits)) == 21
    with pytest.raises(DataError):
        patches.extract([one], 5, 9, rng)


def test_downscale_block_means_rounded():
    crops = np.arange(32 * 32, dtype=np.int64).reshape(1, 32, 32) % 256
    small = patches.downscale(crops.astype(np.uint8))
    assert small.shape == (1, 8, 8) and small.dtype == np.uint8
    want = np.floor(crops.reshape(1, 8, 4, 8, 4).mean(axis=(2, 4)) + 0.5)
    np.testing.assert_array_equal(small, want)


def test_seeded_and_split_specific(fake_bsds):
    a = patches.bsds300_patches("train", 300, seed=1, path=fake_bsds)
    b = patches.bsds300_patches("train", 300, seed=1, path=fake_bsds)
    c = patches.bsds300_patches("train", 300, seed=2, path=fake_bsds)
    d = patches.bsds300_patches("valid", 300, seed=1, path=fake_bsds)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (300, 63) and a.dtype == np.float32
    assert not np.array_equal(a, c) and not np.array_equal(a, d)
    t = patches.tiny_images("test", 50, seed=1, path=fake_bsds)
    assert t.shape == (50, 63) and np.abs(t).max() < 1
    np.testing.assert_array_equal(t, patches.tiny_images("test", 50, seed=1, path=fake_bsds))


def test_bsds300_splits_are_disjoint(fake_bsds):
    data = bsds300.load(fake_bsds)
    parts = {s: set(patches.bsds300_split(data, s)) for s in patches.SPLITS}
    assert len(parts["valid"]) == 1 and len(parts["train"]) == 9 and len(parts["test"]) == 3
    assert not parts["train"] & parts["valid"]
    assert not (parts["train"] | parts["valid"]) & parts["test"]
    assert set().union(*parts.values()) == set(data.images)


def test_frozen_bsds300_validation_images():
    train = bsds300.image_ids("train")
    assert patches.choose_valid(train) == list(patches.BSDS300_VALID_IDS)
    assert len(patches.BSDS300_VALID_IDS) == 20 and set(patches.BSDS300_VALID_IDS) <= set(train)


def test_stand_in_photos_split_by_whole_image():
    arrays, manifest = patches.photos()
    names = [p.name for p in patches.PHOTOS]
    assert len(set(names)) == len(names) == 12
    assert {p.split for p in patches.PHOTOS} == set(patches.SPLITS)
    for entry in manifest["photos"]:
        assert entry["license"] and entry["credit"] and entry["pinned"], entry
        assert arrays[entry["name"]].dtype == np.uint8 and arrays[entry["name"]].ndim == 2
    assert "stand-in" in manifest["dataset"]


def test_loader_uses_stand_in_when_bsds300_is_absent(tmp_path, fake_bsds):
    empty = tmp_path / "none"
    ps = patches.load_patches("valid", "quick", n=400, path=empty)
    assert ps.source == "photos" and ps.is_stand_in and ps.dataset == patches.STANDIN
    assert "stand-in for BSDS300" in ps.dataset and ps.x.shape == (400, 63)
    assert set(ps.images) == {p.name for p in patches.PHOTOS if p.split == "valid"}
    assert all("license" in e for e in ps.info["photos"])
    tiny = patches.load_patches("test", n=10, kind="tiny", path=empty)
    assert "stand-in for tiny images" in tiny.dataset
    with pytest.raises(DataMissingError, match="data_prep/bsds300.py"):
        patches.load_patches("train", n=10, source="bsds300", path=empty)
    real = patches.load_patches("test", n=100, path=fake_bsds)
    assert real.source == "bsds300" and not real.is_stand_in
    assert real.dataset == "BSDS300 8×8 patches" and real.x.shape == (100, 63)


def test_profile_counts():
    quick, full = patches.counts("quick"), patches.counts("full")
    assert quick == {"train": 20_000, "valid": 5_000, "test": 10_000}
    assert full["train"] == 500_000
    assert profiles.get("deepgmm_data", "quick").seed == 0
    ps = patches.load_patches("valid", "quick", source="photos")
    assert ps.x.shape == (quick["valid"], 63)
