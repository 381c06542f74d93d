import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def tiny_face_model():
    """A near-sphere morphable model (5 shape, 3 albedo modes): renders in milliseconds, for the
    face, DC-IGN and job tests that need a face model without the prepared data."""
    import numpy as np
    import trimesh

    from genrepro.data import face_model as fm

    m = trimesh.creation.icosphere(subdivisions=2, radius=0.6)
    v = np.asarray(m.vertices, np.float32)
    rng = np.random.default_rng(0)
    return fm.FaceModel(v, np.asarray(m.faces, np.int64),
                        (0.03 * rng.standard_normal((5, len(v), 3))).astype(np.float32),
                        np.full(len(v), 0.7, np.float32),
                        (0.05 * rng.standard_normal((3, len(v)))).astype(np.float32))


@pytest.fixture
def run_dir(tmp_path, monkeypatch):
    """A private run folder so tests never write into _build/runs or results/."""
    d = tmp_path / "run"
    monkeypatch.setenv("GENREPRO_RUN_DIR", str(d))
    return d


@pytest.fixture
def in_root(monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("GENREPRO_ROOT", raising=False)
    return ROOT


def pytest_report_header(config):
    return f"genrepro root: {ROOT}; GENREPRO_DATA={os.environ.get('GENREPRO_DATA', '(default)')}"
