"""BSDS300 preparation (van den Oord & Schrauwen 2014 §5 data): checksums, missing images,
corrupt archives, atomicity — on a tiny fake tree the test builds — and the real 300 images
when the maintainers' copy is present."""

import hashlib
import io
import json
import re
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from genrepro.data import DataError, DataMissingError, bsds300
from genrepro.data.prep import sha256_file

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "BSDS300"

FAKE = {"train": ["3", "12", "101"], "test": ["7", "40"]}


def make_tree(base: Path, seed: int = 0) -> tuple[Path, dict[str, str]]:
    """A BSDS300/ folder with 3 train and 2 test JPEGs (40×48 or 48×40) and their checksums."""
    rng = np.random.default_rng(seed)
    root = base / "BSDS300"
    sums = {}
    for split, ids in FAKE.items():
        (root / "images" / split).mkdir(parents=True)
        for k, i in enumerate(ids):
            shape = (40, 48, 3) if k % 2 == 0 else (48, 40, 3)
            img = Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8))
            buf = io.BytesIO()
            img.save(buf, format="JPEG", quality=90)
            (root / "images" / split / f"{i}.jpg").write_bytes(buf.getvalue())
            sums[f"{split}/{i}.jpg"] = hashlib.sha256(buf.getvalue()).hexdigest()
        (root / f"iids_{split}.txt").write_text("".join(f"{i}\n" for i in ids))
    return root, sums


def make_tgz(root: Path, dest: Path) -> Path:
    with tarfile.open(dest, "w:gz") as tar:
        tar.add(root, arcname="BSDS300")
    return dest


def quiet(_: str) -> None:
    pass


def no_leftovers(parent: Path) -> bool:
    return not [p for p in parent.iterdir() if p.name.startswith(".out.")]


def test_pinned_checksums_cover_the_official_split():
    assert len(bsds300.CHECKSUMS) == 300
    train, test = bsds300.image_ids("train"), bsds300.image_ids("test")
    assert len(train) == 200 and len(test) == 100 and not set(train) & set(test)
    assert all(re.fullmatch(r"[0-9a-f]{64}", v) for v in bsds300.CHECKSUMS.values())
    assert len(set(bsds300.CHECKSUMS.values())) == 300


@pytest.mark.parametrize("as_tgz", [False, True])
def test_prepare_fake_tree_and_load(tmp_path, as_tgz):
    root, sums = make_tree(tmp_path)
    source = make_tgz(root, tmp_path / "BSDS300-images.tgz") if as_tgz else root
    out = bsds300.prepare(source, out=tmp_path / "out", checksums=sums, log=quiet)
    data = bsds300.load(out)
    assert data.ids("train") == ["3", "12", "101"] and data.ids("test") == ["7", "40"]
    for key in sums:
        want = np.asarray(Image.open(root / "images" / key).convert("L"))
        got = data.images[key.removesuffix(".jpg")]
        assert got.dtype == np.uint8 and got.shape in ((40, 48), (48, 40))
        np.testing.assert_array_equal(got, want)
    rgb = np.asarray(Image.open(root / "images/train/3.jpg").convert("RGB"), dtype=np.float64)
    luma = np.rint(rgb @ [0.299, 0.587, 0.114])  # the documented BT.601 conversion
    assert np.abs(luma - data.images["train/3"]).max() <= 1
    man = json.loads((out / "manifest.json").read_text())
    assert man["raw_sha256"] == sums and man["splits"] == FAKE
    assert man["npz_sha256"] == sha256_file(out / bsds300.NPZ)
    assert man["source"].startswith("tgz:" if as_tgz else "dir:")
    # the parent of BSDS300/ is accepted too
    if not as_tgz:
        bsds300.prepare(tmp_path, out=tmp_path / "out2", checksums=sums, log=quiet)


def test_altered_and_missing_images_are_listed_and_nothing_is_written(tmp_path):
    root, sums = make_tree(tmp_path)
    f = root / "images/train/12.jpg"
    raw = bytearray(f.read_bytes())
    raw[len(raw) // 2] ^= 0x01  # one flipped bit; still a decodable JPEG
    f.write_bytes(bytes(raw))
    (root / "images/test/40.jpg").unlink()
    out = tmp_path / "out"
    with pytest.raises(DataError) as e:
        bsds300.prepare(root, out=out, checksums=sums, log=quiet)
    msg = str(e.value)
    assert "1 of 5 images are missing: test/40.jpg" in msg
    assert "1 images are altered" in msg and "train/12.jpg" in msg
    assert not out.exists() and no_leftovers(tmp_path)


def test_failure_keeps_a_previous_good_copy(tmp_path):
    root, sums = make_tree(tmp_path)
    out = bsds300.prepare(root, out=tmp_path / "out", checksums=sums, log=quiet)
    before = sha256_file(out / bsds300.NPZ)
    (root / "images/train/3.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DataError, match="altered"):
        bsds300.prepare(root, out=out, checksums=sums, log=quiet)
    assert sha256_file(out / bsds300.NPZ) == before and no_leftovers(tmp_path)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "bad_crc", "flipped"])
def test_corrupt_tgz_is_a_clear_error(tmp_path, damage):
    root, sums = make_tree(tmp_path)
    tgz = make_tgz(root, tmp_path / "BSDS300-images.tgz")
    data = bytearray(tgz.read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "garbage":
        data = bytearray(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8))
    elif damage == "bad_crc":
        data[-6] ^= 0xFF  # gzip trailer CRC
    else:
        data[len(data) // 2] ^= 0x10  # one bit inside the deflate stream
    tgz.write_bytes(bytes(data))
    out = tmp_path / "out"
    with pytest.raises(DataError, match="corrupt or truncated"):
        bsds300.prepare(tgz, out=out, checksums=sums, log=quiet)
    assert not out.exists() and no_leftovers(tmp_path)


def test_bad_sources(tmp_path):
    with pytest.raises(DataError, match="not fetched automatically"):
        bsds300.prepare(None, out=tmp_path / "out")
    with pytest.raises(DataError, match="no such file"):
        bsds300.prepare(tmp_path / "nope", out=tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images/ folder"):
        bsds300.prepare(tmp_path / "empty", out=tmp_path / "out")
    root, sums = make_tree(tmp_path / "t")
    (root / "iids_test.txt").write_text("7\n41\n")
    with pytest.raises(DataError, match="iids_test.txt"):
        bsds300.prepare(root, out=tmp_path / "out", checksums=sums, log=quiet)
    assert not (tmp_path / "out").exists()


def test_load_missing_names_the_command(tmp_path):
    with pytest.raises(DataMissingError) as e:
        bsds300.load(tmp_path / "absent")
    assert "data_prep/bsds300.py" in str(e.value)
    assert not bsds300.is_prepared(tmp_path / "absent")


def test_cli_reports_errors(tmp_path, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("prep_bsds", ROOT / "data_prep/bsds300.py")
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    assert cli.main(["--source", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_real_bsds300_all_checksums(tmp_path):
    if not (REAL / "images").is_dir():
        pytest.skip(f"the real BSDS300 is not at {REAL} (it is only used to check the pins)")
    for key, want in bsds300.CHECKSUMS.items():
        assert sha256_file(REAL / "images" / key) == want, key
    out = bsds300.prepare(REAL, out=tmp_path / "bsds300", log=quiet)
    data = bsds300.load(out)
    assert len(data.images) == 300
    assert data.ids("train") == bsds300.image_ids("train")
    shapes = {a.shape for a in data.images.values()}
    assert shapes == {(321, 481), (481, 321)}
    assert all(a.dtype == np.uint8 for a in data.images.values())
    assert data.manifest["raw_sha256"] == bsds300.CHECKSUMS


def test_pinned_checksums_live_in_a_data_file_and_a_broken_one_says_how_to_fix_it(tmp_path, monkeypatch):
    import json as _json

    doc = _json.loads(bsds300.CHECKSUM_FILE.read_text())
    assert len(doc["sha256"]) == 300 and "BSDS500" in doc["about"]
    assert bsds300.checksums_pinned() == doc["sha256"]
    bad = tmp_path / "bsds300_sha256.json"
    bad.write_text(_json.dumps({"sha256": dict(list(doc["sha256"].items())[:299])}))
    monkeypatch.setattr(bsds300, "CHECKSUM_FILE", bad)
    bsds300.checksums_pinned.cache_clear()
    try:
        with pytest.raises(bsds300.DataError, match="pins 299 images, not 300"):
            bsds300.checksums_pinned()
        bad.write_text("{not json")
        with pytest.raises(bsds300.DataError, match="restore the file from git"):
            bsds300.CHECKSUMS
    finally:
        bsds300.checksums_pinned.cache_clear()
