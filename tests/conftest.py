import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


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
