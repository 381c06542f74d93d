"""What every chapter notebook does at its start and its end.

A chapter's second cell calls :func:`start` with the injected ``profile`` and ``seed``;
its last cell calls :meth:`Chapter.finish`, which records the run's provenance (profile,
seed, device, torch version, git commit, wall time) into the run's ``provenance.json``.
Metrics go to the run's ``<chapter>.json`` through :meth:`Chapter.save_results`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import platform
import random
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genrepro import __version__, profiles
from genrepro.data.prep import write_json
from genrepro.device import default_device, device_name, tune_cpu_allocator
from genrepro.paths import project_root, run_dir


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) from one explicit integer."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def settings_tag(*parts: Any) -> str:
    """A short hash of settings (dataclasses, dicts, numbers): names a checkpoint folder so a
    run resumes only from a checkpoint made with exactly the same settings."""
    plain = [dataclasses.asdict(p) if dataclasses.is_dataclass(p) else p for p in parts]
    blob = json.dumps(_jsonable(plain), sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def source_digest(*packages: str) -> str:
    """A short hash of the Python sources of ``packages`` (e.g. ``"genrepro.gan"``): passed
    to :func:`settings_tag`, it keeps a run from resuming a checkpoint that older training
    code wrote."""
    h = hashlib.sha256()
    for name in packages:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise ValueError(f"no package named {name!r}")
        root = Path(spec.origin).parent
        for f in sorted(root.rglob("*.py")):
            h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:12]


def git_commit(root: Path | None = None) -> str:
    """The current commit of the project (``+dirty`` when tracked files differ), or 'unknown'."""
    root = root or project_root()
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                             text=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return sha + ("+dirty" if dirty else "")


@dataclass
class Chapter:
    """The context of one chapter run: its settings, device, output folder and clock."""

    name: str
    profile: str
    seed: int
    settings: profiles.Settings
    device: torch.device
    out: Path
    t0: float = field(default_factory=time.perf_counter)
    started: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))

    def results_path(self) -> Path:
        return self.out / f"{self.name}.json"

    def save_results(self, metrics: dict[str, Any]) -> None:
        """Write ``metrics`` (plus profile and seed) to the run's ``<chapter>.json``."""
        payload = {"chapter": self.name, "profile": self.profile, "seed": self.seed, **metrics}
        write_json(self.results_path(), _jsonable(payload))

    def provenance(self) -> dict[str, Any]:
        return {
            "chapter": self.name,
            "profile": self.profile,
            "seed": self.seed,
            "device": device_name(self.device),
            "torch": torch.__version__,
            "python": platform.python_version(),
            "genrepro": __version__,
            "git_commit": git_commit(),
            "started": self.started,
            "wall_time_s": round(time.perf_counter() - self.t0, 1),
        }

    def finish(self) -> dict[str, Any]:
        """Record this run's provenance into the run's ``provenance.json`` and return it."""
        record = self.provenance()
        path = self.out / "provenance.json"
        table = json.loads(path.read_text()) if path.is_file() else {}
        table[self.name] = record
        write_json(path, table)
        return record


def start(name: str, profile: str, seed: int) -> Chapter:
    """Begin a chapter run: validate the profile, seed everything, choose the device.

    Raises ``ValueError`` (listing the valid profiles) for an unknown profile.
    """
    profiles.check_profile(profile)
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    seed_everything(int(seed))
    tune_cpu_allocator()   # repeated large CPU allocations without page faults (device.py)
    settings = profiles.get(name, profile)
    out = run_dir(profile)
    out.mkdir(parents=True, exist_ok=True)
    return Chapter(name=name, profile=profile, seed=int(seed), settings=settings,
                   device=default_device(), out=out)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, torch.Tensor):
        return _jsonable(obj.detach().cpu().tolist())
    if isinstance(obj, Path):
        return str(obj)
    return obj
