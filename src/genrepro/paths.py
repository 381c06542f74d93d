"""Where the project keeps things: the project root, prepared data and run outputs.

Every location can be overridden by an environment variable so that tests and the
book runner can redirect outputs without touching ``book/`` or ``results/``:

* ``GENREPRO_ROOT`` — the project root (default: the nearest parent of the current
  directory that holds ``_toc.yml`` and ``pyproject.toml``; else the current directory).
* ``GENREPRO_DATA`` — prepared datasets (default ``<root>/data``).
* ``GENREPRO_RUN_DIR`` — where a chapter writes its metrics and provenance
  (default ``<root>/_build/runs/<profile>``).
"""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The project root (see module docstring)."""
    env = os.environ.get("GENREPRO_ROOT")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for cand in (here, *here.parents):
        if (cand / "_toc.yml").is_file() and (cand / "pyproject.toml").is_file():
            return cand
    return here


def data_dir() -> Path:
    """The folder that holds prepared datasets, one sub-folder each."""
    env = os.environ.get("GENREPRO_DATA")
    return Path(env).resolve() if env else project_root() / "data"


def run_dir(profile: str) -> Path:
    """The folder a chapter run in ``profile`` writes its results and provenance to."""
    env = os.environ.get("GENREPRO_RUN_DIR")
    return Path(env).resolve() if env else project_root() / "_build" / "runs" / profile


def results_dir() -> Path:
    """The committed, published results (written only by ``genrepro.book run --publish``)."""
    return project_root() / "results"


def artifacts_dir() -> Path:
    """Checkpoints and other large run outputs (git-ignored)."""
    env = os.environ.get("GENREPRO_ARTIFACTS")
    return Path(env).resolve() if env else project_root() / "artifacts"


def display(path: str | os.PathLike) -> str:
    """``path`` relative to the project root when it lies inside it (for printing in the book)."""
    p = Path(path).resolve()
    try:
        return str(p.relative_to(project_root()))
    except ValueError:
        return str(p)
