"""The TFD loader, on tiny .mat files of the real layout that the test writes."""

import numpy as np
import pytest
from scipy.io import savemat

from genrepro.data import DataError, DataMissingError, tfd


def write_mat(path, n=12, **override):
    rng = np.random.default_rng(0)
    fields = {"images": rng.integers(0, 256, (n, 48, 48)).astype(np.uint8),
              "folds": rng.integers(0, 4, (n, 5)).astype(np.float64),
              "labs_id": np.arange(n)[:, None]}
    fields.update(override)
    savemat(path, fields)
    return fields


def test_prepare_and_fold_splits(tmp_path):
    f = write_mat(tmp_path / "TFD_48x48.mat")
    out = tfd.prepare(tmp_path / "TFD_48x48.mat", tmp_path / "tfd")
    data = tfd.load(out)
    np.testing.assert_array_equal(data.images, f["images"])
    for fold in range(5):
        col = f["folds"][:, fold]
        test = data.split(fold, "test")
        assert test.shape == ((col == 3).sum(), 2304) and test.max() <= 1.0
        np.testing.assert_allclose(test, f["images"][col == 3].reshape(-1, 2304) / 255.0)
        assert len(data.split(fold, "full_train")) == ((col == 0) | (col == 1)).sum()
    assert data.manifest["images"] == 12
    with pytest.raises(ValueError, match="unknown split"):
        data.split(0, "nonsense")


@pytest.mark.parametrize("override, message", [
    ({"images": np.zeros((12, 32, 32), np.uint8)}, r"expected \(N, 48, 48\)"),
    ({"folds": np.zeros((12, 3))}, r"folds has shape"),
    ({"folds": np.full((12, 5), 7.0)}, "codes other than"),
])
def test_wrong_layout_is_a_clear_error(tmp_path, override, message):
    write_mat(tmp_path / "bad.mat", **override)
    with pytest.raises(DataError, match=message):
        tfd.prepare(tmp_path / "bad.mat", tmp_path / "tfd")
    assert not (tmp_path / "tfd").exists()


def test_missing_fields_and_garbage(tmp_path):
    savemat(tmp_path / "other.mat", {"x": np.zeros(3)})
    with pytest.raises(DataError, match="no field"):
        tfd.prepare(tmp_path / "other.mat", tmp_path / "tfd")
    (tmp_path / "junk.mat").write_bytes(b"not a mat file at all")
    with pytest.raises(DataError, match="not a readable MATLAB file"):
        tfd.prepare(tmp_path / "junk.mat", tmp_path / "tfd")
    assert not (tmp_path / "tfd").exists()
    with pytest.raises(DataMissingError, match="data_prep/tfd.py"):
        tfd.load(tmp_path / "tfd")
