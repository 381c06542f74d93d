"""The device side of the GPU command: ``python -m genrepro.gpu run`` (see :mod:`genrepro.gpu`).

Runs inside the bundle that ``pack`` made, on a machine that has torch, numpy, scipy and
matplotlib but may lack ``tqdm`` and ``safetensors``: :func:`install_shims` puts minimal
stand-ins for those on ``sys.path`` (last, so a real installation wins) before any job module is
imported. Training never needs them; publishing with safetensors happens back on the machine
that packed (``unpack``, then ``python -m genrepro.train NAME --publish``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from genrepro.data.prep import sha256_file
from genrepro.gpu import (BUNDLE_MANIFEST, MANIFEST_RESERVE, MiB, PART_BYTES, PUBLISH_RESERVE_S, RETURN_BYTES,
                          RETURN_FILES, RETURN_MANIFEST, WRITE_RESERVE_S, _extract, _log, _mib, _tgz,
                          return_estimate)

SHIMS = {   # minimal stand-ins, put on sys.path only where the real package is missing
    "tqdm/__init__.py": '"""Stand-in for tqdm (genrepro.gpu bundle): no bars."""\n\n\n'
    "class TqdmWarning(Warning):\n    pass\n\n\nclass tqdm:\n"
    "    def __init__(self, iterable=None, *args, **kwargs):\n"
    "        self.iterable, self.n = iterable, kwargs.get('initial', 0)\n\n"
    "    def __iter__(self):\n        return iter(self.iterable or ())\n\n"
    "    def __enter__(self):\n        return self\n\n"
    "    def __exit__(self, *exc):\n        return False\n\n"
    "    def update(self, n=1):\n        self.n += n\n\n"
    "    def set_postfix(self, *args, **kwargs):\n        pass\n\n"
    "    def set_description(self, *args, **kwargs):\n        pass\n\n"
    "    def close(self):\n        pass\n",
    "tqdm/auto.py": "from tqdm import tqdm  # noqa: F401\n",
    "safetensors/__init__.py": '"""Stand-in for safetensors (genrepro.gpu bundle)."""\n',
    "safetensors/torch.py": "def _missing(*args, **kwargs):\n    raise RuntimeError('safetensors is not installed "
    "here: publish after `python -m genrepro.gpu unpack`, with `python -m genrepro.train NAME --publish`')\n\n\n"
    "save = save_file = load_file = _missing\n",
}


def install_shims(folder: Path) -> list[str]:
    """Put the stand-ins on ``sys.path`` (last) for each of tqdm/safetensors that is missing."""
    import importlib.util

    missing = []
    for name in ("tqdm", "safetensors"):
        try:
            found = importlib.util.find_spec(name) is not None
        except ImportError:
            found = False
        if not found:
            missing.append(name)
    if missing and str(folder) not in sys.path:
        sys.path.append(str(folder))
    return missing


@contextlib.contextmanager
def _env(**values: str) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run(bundle: Path | str, out: Path | str, minutes: float, device: str | None = None,
        names: list[str] | None = None, registry: dict[str, Any] | None = None,
        log: Callable[[str], None] = _log, work: Path | str | None = None) -> dict[str, Any]:
    """Run the bundle's jobs for ``minutes`` and write what must come back into ``out``.

    The items are unpacked into ``work`` (default: a temporary folder, removed at the end, so
    a dry run leaves the bundle as small as it was)."""
    t0 = time.perf_counter()
    bundle, out = Path(bundle).resolve(), Path(out)
    if not (bundle / BUNDLE_MANIFEST).is_file():
        raise FileNotFoundError(f"{bundle} holds no {BUNDLE_MANIFEST}: run inside the folder `pack` made")
    if work is not None:
        shutil.rmtree(work, ignore_errors=True)
        return _run(bundle, out, minutes, device, names, registry, log, Path(work), t0)
    with tempfile.TemporaryDirectory(prefix="genrepro-gpu-") as tmp:
        return _run(bundle, out, minutes, device, names, registry, log, Path(tmp), t0)


def _run(bundle: Path, out: Path, minutes: float, device: str | None, names: list[str] | None,
         registry: dict[str, Any] | None, log: Callable[[str], None], work: Path, t0: float) -> dict[str, Any]:
    import resource

    man = json.loads((bundle / BUNDLE_MANIFEST).read_text())
    shimmed = install_shims(bundle / "shims")
    for it in man["items"]:
        if sha256_file(bundle / it["file"]) != it["sha256"]:
            raise ValueError(f"{it['file']} does not match its SHA-256 in {BUNDLE_MANIFEST}: pack again")
        _extract(bundle / it["file"], work)
    out.mkdir(parents=True, exist_ok=True)
    env = {"GENREPRO_DATA": str(work / "data"), "GENREPRO_ARTIFACTS": str(work / "artifacts"),
           "GENREPRO_ROOT": str(work), "GENREPRO_RUN_DIR": str(work / "run"), "GENREPRO_PROGRESS": "log"}
    with _env(**env):
        import torch

        from genrepro import jobs as J
        from genrepro.device import device_name, tune_cpu_allocator

        dev = torch.device(device or "cuda")
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("torch sees no CUDA device; pass --device cpu for a dry run")
        tune_cpu_allocator()
        registry = registry if registry is not None else J.registry()
        deadline = t0 + 60 * minutes
        left_bytes, left_files = RETURN_BYTES - MANIFEST_RESERVE, RETURN_FILES - 1
        log(f"{device_name(dev)}; {minutes:g} min; stand-ins for {', '.join(shimmed) or 'nothing'}; "
            f"unpacked in {time.perf_counter() - t0:.1f} s")
        report = []
        for e in man["jobs"]:
            job = registry[e["name"]]
            r: dict[str, Any] = {"name": job.name, "tag": job.tag(), "before": job.status().state}
            report.append(r)
            est, on_device = return_estimate(job), getattr(job, "publish_on_device", False)
            reserve = WRITE_RESERVE_S + (PUBLISH_RESERVE_S if on_device else 0)
            if names and job.name not in names:
                r["note"] = "not selected"
            elif r["tag"] != e["tag"]:
                r["note"] = f"settings tag {r['tag']} differs from the packed {e['tag']}: not run"
            elif job.status().complete:
                r["note"] = "already complete"
            elif est > left_bytes:
                r["note"] = f"not run: its work ({_mib(est)}) would not fit the {_mib(left_bytes)} left to bring back"
            elif deadline - time.perf_counter() - reserve < 10:
                r["note"] = "not run: no time left"
            if "note" in r:
                log(f"{job.name}: {r['note']}")
                continue
            left_bytes -= est
            t, before = time.perf_counter(), job.status().done
            try:   # a failing job (diverged, data unreadable) still returns its last good checkpoint
                if hasattr(job, "prepare_data"):
                    job.prepare_data(dev, log=log)
                job.run(J.Budget(deadline - time.perf_counter() - reserve), dev, progress=False)
                if on_device:
                    J.write_published(job, dev, "python -m genrepro.gpu run", root=work / "published", log=log)
            except Exception as exc:  # noqa: BLE001 - reported in the manifest, the run goes on
                r["error"] = f"{type(exc).__name__}: {exc}"
                log(f"{job.name}: failed:\n{traceback.format_exc()}")
            st = job.status()
            r.update(after=st.state, done=st.done, total=st.total, seconds=round(time.perf_counter() - t, 1))
            log(f"{job.name}: {r['before']} → {st.state} in {r['seconds']:.0f} s")
            if on_device:
                r["returns"], where, arc = "publication", work / "published" / job.name, f"published/{job.name}"
            else:
                r["returns"], where, arc = "checkpoint", job.ckpt_dir(), f"jobs/{job.name}/{job.tag()}"
            if not where.is_dir() or (not on_device and st.done <= before):   # nothing new to bring back
                r["returns"] = None
                left_bytes += est
                continue
            archive = work / "return" / f"{job.name}.tgz"
            archive.parent.mkdir(parents=True, exist_ok=True)
            files = [f for f in sorted(where.rglob("*")) if f.is_file()]
            size = _tgz(archive, [(f, f"{arc}/{f.relative_to(where)}") for f in files])
            n_parts = -(-size // PART_BYTES)
            if size > left_bytes + est or n_parts > left_files:
                r["returns"], r["note"] = None, (f"too big to bring back: {_mib(size)} in {n_parts} file(s), "
                                                 f"{_mib(left_bytes + est)} and {left_files} file(s) were left")
                log(f"{job.name}: {r['note']}")
                continue
            left_bytes += est - size
            left_files -= n_parts
            r["sha256"], r["parts"] = sha256_file(archive), []
            with open(archive, "rb") as f:
                for i in range(n_parts):
                    part = out / f"{job.name}.tgz.{i:03d}"
                    part.write_bytes(f.read(PART_BYTES))
                    r["parts"].append({"file": part.name, "bytes": part.stat().st_size, "sha256": sha256_file(part)})
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        result = {"bundle_commit": man["git_commit"], "device": device_name(dev), "torch": torch.__version__,
                  "minutes": minutes, "seconds": round(time.perf_counter() - t0, 1), "peak_rss_mib": round(peak),
                  "cuda_peak_mib": round(torch.cuda.max_memory_allocated() / MiB) if dev.type == "cuda" else None,
                  "shimmed": shimmed, "jobs": report}
        (out / RETURN_MANIFEST).write_text(json.dumps(result, indent=1) + "\n")
    log(f"done in {result['seconds']:.0f} s, peak memory {result['peak_rss_mib']} MiB; "
        f"back: {RETURN_MANIFEST} + {sum(len(r.get('parts', [])) for r in report)} part(s)")
    return result


