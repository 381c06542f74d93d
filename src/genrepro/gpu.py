"""The GPU command (``make gpu-jobs``): take pending paper-scale jobs to the GPU machine, and their work back.

    python -m genrepro.gpu pack [--jobs A,B]            # here: build .gpu/ (≤ 64 MiB with the working tree)
    cd .gpu && PYTHONPATH=src python3 -m genrepro.gpu run --out $OUT --minutes 8.5   # on the GPU machine
    python -m genrepro.gpu unpack DIR                   # here: restore what came back, then
    python -m genrepro.train NAME --publish             # publish as usual

``pack`` puts into ``.gpu/`` a copy of the package source (so the device runs exactly the code
whose hash names the checkpoints), stand-ins for ``tqdm`` and ``safetensors`` used only where
those are not installed, and one ``.tgz`` per item: the prepared data each carried job reads and
its current checkpoint folder (``artifacts/jobs/<name>/<tag>``), so a GPU run continues a CPU run.
The carried jobs are the unfinished GPU-worthy ones: first the ``gpu_only`` ones (a CPU cannot
train them), then the GANs, each group in priority order (``--jobs`` names others). The device tool moves the working tree and carried folders up to
64 MiB together, so the bundle may use 64 MiB less the working tree: the jobs are taken in
that order while they fit, each whole; one that does not fit is left out (with a note) and a
later, smaller one may still go. If even the source does not fit, or no job does, ``pack`` stops
with an error and leaves any earlier ``.gpu/`` as it was.

``run`` (:mod:`genrepro.gpu_run`) unpacks the items into a temporary folder
(``GENREPRO_DATA``/``GENREPRO_ARTIFACTS`` point there), then runs the carried jobs in priority order on CUDA until ``--minutes`` (less a reserve
for writing) are spent. What comes back from the device is at most 8 files of 16 MiB, 64 MiB
together, so a job runs only if its checkpoint (estimated beforehand) still fits in what is left
of that; its checkpoint folder then comes back as ``<name>.tgz.NNN`` parts, listed with their
SHA-256 in ``manifest.json``. A job whose checkpoints can never come back (``gan-faces``,
``publish_on_device``) is published on the device instead and its publication comes back.
``unpack`` verifies and restores each checkpoint into ``artifacts/jobs`` (only when further along
than the local one; stop local runs of those jobs first) and each publication into
``results/published``.

What this means for one 8.5-minute device session: the return limit holds one large checkpoint
(``gan-mnist``: ≈ 43 MiB; each DC-IGN job: ≈ 47 MiB), so a session runs the first carried
pending job in priority order, plus any later one whose work still fits; pass ``--jobs`` to
``run`` (or to ``pack``) to choose. ``--device cpu`` makes ``run`` a dry run on a CPU.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from genrepro import paths
from genrepro.data.prep import atomic_dir, sha256_file

MiB = 2**20
CARRY_LIMIT = 64 * MiB                  # the device tool's working tree + carried folders
RETURN_FILES, RETURN_BYTES = 8, 64 * MiB   # what comes back from $OUT ...
PART_BYTES = 16 * MiB - 4096               # ... in files of at most 16 MiB
MANIFEST_RESERVE = 256 * 2**10
WRITE_RESERVE_S, PUBLISH_RESERVE_S = 30.0, 90.0
BUNDLE_MANIFEST, RETURN_MANIFEST = "bundle.json", "manifest.json"
RUN_COMMAND = "cd .gpu && PYTHONUNBUFFERED=1 PYTHONPATH=src python3 -m genrepro.gpu run --out $OUT --minutes {m}"


def _log(msg: str) -> None:
    print(msg, flush=True)


def _mib(n: float) -> str:
    return f"{n / MiB:.1f} MiB"


def _tgz(path: Path, members: list[tuple[Path, str]]) -> int:
    """Write ``members`` (file, name in the archive) as a fast gzip tar; return its size."""
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for f, arc in members:
            tar.add(f, arcname=arc, recursive=False)
    return path.stat().st_size


def _extract(archive: Path, into: Path) -> None:
    with tarfile.open(archive, "r:gz") as tar:
        for m in tar.getmembers():
            if not m.isfile() or m.name.startswith("/") or ".." in Path(m.name).parts:
                raise ValueError(f"{archive}: unexpected member {m.name!r}")
        tar.extractall(into, filter="data")


# -- which jobs, which data -----------------------------------------------------------------------
def gpu_worthy(job: Any) -> bool:
    """Jobs worth a GPU's time: the GPU-only ones and the GANs (Deep GMM's EM runs in SciPy on the CPU)."""
    from genrepro.jobs.gan import GANJob

    return bool(job.gpu_only) or isinstance(job, GANJob)


def data_files(job: Any) -> list[str]:
    """The prepared files ``job`` reads, relative to the data folder."""
    if hasattr(job, "data_files"):
        return list(job.data_files())
    root = paths.data_dir()
    return sorted(p.relative_to(root).as_posix() for d in job.datasets if (root / d).is_dir()
                  for p in (root / d).rglob("*") if p.is_file())


def missing_data(job: Any) -> list[str]:
    root = paths.data_dir()
    if hasattr(job, "data_files"):
        return [f for f in job.data_files() if not (root / f).is_file()]
    return [d for d in job.datasets if not (root / d).is_dir() or not any((root / d).rglob("*"))]


def return_estimate(job: Any) -> int:
    """Bytes that must come back from the device for ``job``'s work to be kept."""
    if getattr(job, "publish_on_device", False):
        return int(job.published_bytes_estimate())
    if hasattr(job, "checkpoint_bytes_estimate"):
        return int(job.checkpoint_bytes_estimate())
    import torch

    from genrepro.gan.model import Discriminator, Generator
    from genrepro.jobs.gan import GANJob

    if isinstance(job, GANJob):   # last.pt: G, D and their velocities; best.pt: G and D
        with torch.device("meta"):
            n = sum(p.numel() for net in (Generator(job.gan_config()), Discriminator(job.gan_config()))
                    for p in net.parameters())
        return 12 * n + 2 * MiB
    d = job.ckpt_dir()
    return int(1.2 * sum(f.stat().st_size for f in d.rglob("*") if f.is_file())) + MiB if d.is_dir() else MiB


def travel_bytes(root: Path | None = None) -> int:
    """Bytes of the working tree the device tool sends besides carried folders (tracked and
    untracked-not-ignored files)."""
    root = root or paths.project_root()
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                             capture_output=True, check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum((root / f).stat().st_size for f in out.decode().split("\0") if f and (root / f).is_file())


# -- pack (here) -----------------------------------------------------------------------------------
class BundleTooLarge(RuntimeError):
    """Not even the source fits the carry limit, or no selected job does."""


def _select(names: list[str] | None, registry: dict[str, Any]) -> list[Any]:
    if names:
        unknown = [n for n in names if n not in registry]
        if unknown:
            raise KeyError(f"no job named {', '.join(unknown)}; see `python -m genrepro.train --list`")
        return [j for j in registry.values() if j.name in names]
    pending = [j for j in registry.values() if gpu_worthy(j) and not j.finished()]
    return sorted(pending, key=lambda j: not j.gpu_only)   # what a CPU cannot do first, then priority


def pack(out: Path | str = ".gpu", names: list[str] | None = None, limit: int | None = None,
         registry: dict[str, Any] | None = None, minutes: float = 8.5,
         log: Callable[[str], None] = _log) -> dict[str, Any]:
    """Build the bundle in ``out`` atomically; returns its manifest (see the module docstring)."""
    from genrepro import jobs as J
    from genrepro.chapter import git_commit

    registry = registry if registry is not None else J.registry()
    selected = _select(names, registry)
    tree = travel_bytes()
    limit = limit if limit is not None else CARRY_LIMIT - tree
    data, src = paths.data_dir(), Path(__file__).resolve().parent
    with atomic_dir(Path(out)) as tmp:
        for f in src.rglob("*.py"):
            (tmp / "src/genrepro" / f.relative_to(src)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, tmp / "src/genrepro" / f.relative_to(src))
        from genrepro.gpu_run import SHIMS

        for rel, text in SHIMS.items():
            (tmp / "shims" / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / "shims" / rel).write_text(text)
        fixed = sum(f.stat().st_size for f in tmp.rglob("*") if f.is_file())
        log(f"working tree that travels with it: {_mib(tree)}; bundle limit {_mib(limit)}")
        log(f"  source + stand-ins: {_mib(fixed)}")
        if fixed > limit:
            raise BundleTooLarge(f"the source alone ({_mib(fixed)}) exceeds the {_mib(limit)} left for the bundle; "
                                 "make the working tree smaller (untracked files travel too)")
        (tmp / "items").mkdir()
        items: list[dict[str, Any]] = []
        entries, seen, total, counter = [], set(), fixed, 0
        for job in selected:   # in order, each job whole while it fits; a later, smaller one still may
            miss = missing_data(job)
            if miss:
                preps = sorted({f"python data_prep/{m.split('/')[0]}.py --profile full" for m in miss})
                log(f"  {job.name}: not carried, its data is not prepared here ({', '.join(miss)}; "
                    f"prepare with {' and '.join(preps)})")
                continue
            new = [rel for rel in data_files(job) if rel not in seen]   # data another carried job brings is shared
            mine = [{"kind": "data", "files": new, "job": job.name}] if new else []
            ck = job.ckpt_dir()
            if ck.is_dir() and not getattr(job, "publish_on_device", False):
                files = sorted((f for f in ck.rglob("*") if f.is_file()), key=lambda f: (f.name != "last.pt", f.name))
                mine.append({"kind": "checkpoint", "files": [str(f.relative_to(paths.artifacts_dir())) for f in files],
                             "job": job.name})
            for it in mine:
                it["file"] = f"items/{counter:02d}-{it['kind']}-{job.name}.tgz"
                counter += 1
                root, arc = (data, "data") if it["kind"] == "data" else (paths.artifacts_dir(), "artifacts")
                it["bytes"] = _tgz(tmp / it["file"], [(root / f, f"{arc}/{f}") for f in it["files"]])
            extra = sum(it["bytes"] for it in mine)
            if total + extra > limit:
                for it in mine:
                    (tmp / it["file"]).unlink()
                log(f"  {job.name}: left out, the bundle would exceed {_mib(limit)} "
                    f"(it needs {_mib(extra)} more, {_mib(limit - total)} is left)")
                continue
            items.extend(mine)
            seen.update(new)
            total += extra
            st = job.status()
            entries.append({"name": job.name, "tag": job.tag(), "priority": job.priority,
                            "status": [st.done, st.total, st.unit]})
        if not entries:
            raise BundleTooLarge("nothing to carry: no pending GPU-worthy job has its data prepared and fits "
                                 f"{_mib(limit)} (see the notes above); nothing written")
        for it in items:
            it["sha256"] = sha256_file(tmp / it["file"])
            log(f"  {it['job']} {it['kind']}: {', '.join(it['files'][:3])}{' …' if len(it['files']) > 3 else ''} "
                f"— {_mib(it['bytes'])}")
        manifest = {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "git_commit": git_commit(),
                    "jobs": entries, "items": items, "bytes": total, "limit": limit}
        (tmp / BUNDLE_MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    log(f"packed {len(entries)} job(s) into {out}: {_mib(total)} ({', '.join(e['name'] for e in entries)})")
    log(f"device run (carry ['.gpu'], timeout_s 600): {RUN_COMMAND.format(m=minutes)}")
    return manifest


# -- unpack (here) --------------------------------------------------------------------------------
def unpack(src: Path | str, force: bool = False, published_root: Path | None = None,
           registry: dict[str, Any] | None = None, log: Callable[[str], None] = _log) -> list[str]:
    """Verify what ``run`` wrote into ``src`` and restore it; returns the jobs restored."""
    from genrepro import jobs as J
    from genrepro.jobs.base import RECORD

    src = Path(src)
    man = json.loads((src / RETURN_MANIFEST).read_text())
    registry = registry if registry is not None else J.registry()
    done = []
    for r in man["jobs"]:
        if not r.get("parts"):
            log(f"{r['name']}: nothing came back ({r.get('note', 'not run')})")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            archive = Path(tmp) / "a.tgz"
            with open(archive, "wb") as f:
                for p in r["parts"]:
                    if not (src / p["file"]).is_file() or sha256_file(src / p["file"]) != p["sha256"]:
                        raise ValueError(f"{src / p['file']} is missing or altered; nothing of {r['name']} restored")
                    f.write((src / p["file"]).read_bytes())
            if sha256_file(archive) != r["sha256"]:
                raise ValueError(f"{r['name']}: the parts do not make the archive that was sent")
            _extract(archive, Path(tmp) / "x")
            if r["returns"] == "publication":
                target = (published_root or J.base.published_root()) / r["name"]
                got = Path(tmp) / "x" / "published" / r["name"]
                rec = json.loads((got / RECORD).read_text())
                if rec["provenance"].get("git_commit", "unknown") == "unknown":
                    rec["provenance"]["git_commit"] = man["bundle_commit"]
                rec["provenance"]["via"] = f"python -m genrepro.gpu run on {man['device']}, published there"
                (got / RECORD).write_text(json.dumps(rec, indent=1) + "\n")
            else:
                job = registry.get(r["name"])
                target = paths.artifacts_dir() / "jobs" / r["name"] / r["tag"]
                got = Path(tmp) / "x" / "jobs" / r["name"] / r["tag"]
                if job is not None and job.tag() != r["tag"]:
                    log(f"{r['name']}: the code or settings changed since pack (tag {job.tag()} here, {r['tag']} "
                        "there); restored into its own tag folder, which this code will not resume")
                local = job.status().done if job is not None and job.tag() == r["tag"] else 0
                if local >= r["done"] and not force:
                    log(f"{r['name']}: kept the local checkpoint ({local} ≥ {r['done']} {r.get('total', '')}); "
                        "--force restores the device's")
                    continue
            with atomic_dir(target) as t:
                for f in got.iterdir():
                    shutil.move(str(f), t / f.name)
        log(f"{r['name']}: restored the {r['returns']} ({r['after']}) into {paths.display(target)}")
        done.append(r["name"])
    pub = [n for n in done if registry.get(n) is not None and not getattr(registry[n], "publish_on_device", False)]
    if pub:
        log("now publish: " + "; ".join(f"python -m genrepro.train {n} --publish" for n in pub))
    return done


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m genrepro.gpu", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack", help="build .gpu/ here")
    p.add_argument("--out", default=".gpu")
    p.add_argument("--jobs", help="comma-separated job names (default: pending GPU-worthy jobs)")
    p.add_argument("--limit-mib", type=float, help="bundle size limit (default: 64 MiB less the working tree)")
    p.add_argument("--minutes", type=float, default=8.5, help="for the printed device command")
    r = sub.add_parser("run", help="on the GPU machine, inside the bundle")
    r.add_argument("--out", required=True)
    r.add_argument("--minutes", type=float, default=8.5)
    r.add_argument("--device", choices=("cuda", "cpu"), default="cuda", help="cpu: a dry run")
    r.add_argument("--jobs", help="comma-separated subset of the bundle's jobs")
    r.add_argument("--bundle", default=".")
    u = sub.add_parser("unpack", help="restore what a run brought back")
    u.add_argument("dir")
    u.add_argument("--force", action="store_true", help="restore even when the local checkpoint is further")
    a = ap.parse_args(argv)
    names = a.jobs.split(",") if getattr(a, "jobs", None) else None
    try:
        if a.cmd == "pack":
            pack(a.out, names, None if a.limit_mib is None else int(a.limit_mib * MiB), minutes=a.minutes)
        elif a.cmd == "run":
            from genrepro.gpu_run import run

            run(a.bundle, a.out, a.minutes, a.device, names)
        else:
            unpack(a.dir, a.force)
    except (BundleTooLarge, KeyError, FileNotFoundError, ValueError, RuntimeError) as e:
        print(f"error: {e.args[0] if e.args else e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
