"""What every paper-scale training job shares: its status, budget, checkpoints and publishing.

A job trains one model of a chapter with the full profile's settings, in as many calls as it
takes: each call runs until the job is done or its ``--budget-min`` is spent, and leaves a
checkpoint that the next call (on this machine or another) resumes bit-identically. Checkpoints
live in ``artifacts/jobs/<name>/<tag>``, where the tag hashes the settings and the training
code, so a job never resumes from a checkpoint that other settings or older code wrote.

``--publish`` writes what the book needs from a job into ``results/published/<name>/``
(:func:`write_published`): weights as safetensors, a ``record.json`` with the metrics, the
training history, provenance (device, share of the schedule done, wall time, commit, settings
tag) and the SHA-256 of every file; :mod:`genrepro.published` loads them back.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from genrepro import paths
from genrepro.chapter import _jsonable, git_commit, settings_tag
from genrepro.data.prep import atomic_dir, atomic_file, sha256_file

PUBLISHED = "published"
RECORD = "record.json"
RESUME = "resume.safetensors"   # a partial publication's resume state (what each job keeps: its module says)
MAX_FILE_BYTES = 16 * 2**20     # the GPU machine brings back files of at most 16 MiB
# The published set travels with the working tree to the GPU machine, which takes 64 MiB of tree
# and bundle together (genrepro.gpu.CARRY_LIMIT): the set's cap leaves the rest of the tree and
# the GPU command's first jobs their room (tests/test_jobs.py checks both)
MAX_SET_BYTES = 60 * 2**20


class PublishedSetFull(ValueError):
    """A publication would take the published set past :data:`MAX_SET_BYTES`."""


class OutOfBudget(Exception):
    """Raised inside a training loop when the call's time budget is spent."""


@dataclass
class Budget:
    """A wall-clock budget for one call of a job; ``check()`` raises :class:`OutOfBudget`."""

    seconds: float
    t0: float = field(default_factory=time.perf_counter)

    def left(self) -> float:
        return self.seconds - (time.perf_counter() - self.t0)

    def spent(self) -> bool:
        return self.left() <= 0

    def check(self, *_: Any) -> None:
        if self.spent():
            raise OutOfBudget


@dataclass(frozen=True)
class Status:
    """How far a job is: ``done`` of ``total`` ``unit`` (epochs, steps, EM iterations)."""

    done: int
    total: int
    unit: str
    converged: bool = False   # stopped early by its own rule (e.g. validation patience)
    begun: bool | None = None  # for jobs made of others: started though none of its parts is done

    @property
    def complete(self) -> bool:
        return self.converged or self.done >= self.total

    @property
    def state(self) -> str:
        if self.complete:
            return "complete" + (f" (stopped on validation at {self.done} {self.unit})" if self.converged
                                 and self.done < self.total else "")
        if self.done == 0 and not self.begun:
            return "not started"
        return f"partial ({self.done}/{self.total} {self.unit})"

    def label(self) -> str:
        """How the book names the scale of a run: paper settings, or partial with its share."""
        if self.complete:
            return "paper settings, complete"
        return f"paper settings, partial: {self.done}/{self.total} {self.unit}"

    def reduction_label(self, what: str) -> str:
        """How the book names a labelled reduction's scale: ``what`` (the reduction and the
        paper's scale), then complete or partial with its share."""
        return f"{what}, {'complete' if self.complete else 'partial'}: {self.done}/{self.total} {self.unit}"


@contextlib.contextmanager
def cuda_speed(device: torch.device) -> Iterator[None]:
    """cuDNN autotuning and TF32 on CUDA for the duration of the block; nothing on the CPU."""
    if device.type != "cuda":
        yield
        return
    b = torch.backends
    old = (b.cudnn.benchmark, b.cuda.matmul.allow_tf32, b.cudnn.allow_tf32)
    b.cudnn.benchmark = b.cuda.matmul.allow_tf32 = b.cudnn.allow_tf32 = True
    try:
        yield
    finally:
        b.cudnn.benchmark, b.cuda.matmul.allow_tf32, b.cudnn.allow_tf32 = old


def code_digest(*modules: str) -> str:
    """A short hash of the source files of ``modules`` (a package: every ``*.py`` in it).

    Job checkpoints are keyed on the training code they ran, so a change to that code starts
    the job afresh rather than resuming a checkpoint whose continuation would differ."""
    h = hashlib.sha256()
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise ValueError(f"no module named {name!r}")
        origin = Path(spec.origin)
        files = sorted(origin.parent.rglob("*.py")) if spec.submodule_search_locations else [origin]
        for f in files:
            h.update(name.encode() + b"\0" + f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:12]


def published_root() -> Path:
    return paths.results_dir() / PUBLISHED


EQUIVALENT_TAGS = "equivalent_tags.json"   # in published/: older tags declared equivalent


def equivalences_file() -> Path:
    return published_root() / EQUIVALENT_TAGS


def equivalences() -> dict[str, list[dict[str, str]]]:
    """The declarations of :func:`accept_published`: job name → entries ``{"tag": current tag,
    "accepts": older tag, "why": ..., "declared": date, "git_commit": ...}``."""
    f = equivalences_file()
    if not f.is_file():
        return {}
    try:
        data = json.loads(f.read_text())
    except ValueError as e:
        raise ValueError(f"{paths.display(f)} is not valid JSON ({e}); restore it with "
                         f"`git checkout -- {paths.display(f)}`") from None
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise ValueError(f"{paths.display(f)} must map job names to lists of declarations")
    return data


def accept_published(job: "Job", why: str) -> dict[str, str]:
    """Declare that ``job``'s publication, made under an older settings tag, is what the job
    would train today, with the reason ``why`` (e.g. the code change was a refactor, or a new
    setting at a default that takes the old code path). The declaration names both tags, so it
    lapses by itself when the job's tag changes again; declaring again replaces it. Written atomically to
    ``results/published/equivalent_tags.json``; returns the entry."""
    from genrepro import published   # it imports this module

    why = " ".join(why.split())
    if len(why) < 20:
        raise ValueError("say why the older publication is equivalent (at least 20 characters), e.g. "
                         "--accept-published 'TrainConfig gained a field whose default takes the old code path'")
    try:
        prov = published.record(job.name, published_root())["provenance"]
    except (published.PublishedModelError, OSError, KeyError) as e:
        raise ValueError(f"{job.name} has no readable publication to accept ({e})") from None
    old, new = prov.get("settings_tag"), job.tag()
    if not old:
        raise ValueError(f"{job.name}'s publication records no settings tag; it cannot be accepted")
    if old == new:
        raise ValueError(f"{job.name}'s publication already has the current settings tag {new}: nothing to accept")
    entry = {"tag": new, "accepts": old, "why": why, "declared": time.strftime("%Y-%m-%d"),
             "git_commit": git_commit()}
    data = equivalences()
    # a new declaration supersedes any for the same current tag or the same publication
    data[job.name] = [e for e in data.get(job.name, []) if e.get("tag") != new and e.get("accepts") != old] + [entry]
    with atomic_file(equivalences_file(), "w") as f:
        f.write(json.dumps(dict(sorted(data.items())), indent=1, ensure_ascii=False) + "\n")
    return entry


class Job:
    """One paper-scale training job. Subclasses set the class attributes and implement
    :meth:`status`, :meth:`run` and :meth:`publish_files`."""

    name: str = ""
    chapter: str = ""
    description: str = ""
    priority: int = 50          # lower runs first in ``--pending`` (the GPU command's order)
    gpu_only: bool = False      # too slow for the CPU machines (still runnable there)
    datasets: tuple[str, ...] = ()   # prepared data it reads (names of data/ folders)

    # -- identity and checkpoints ------------------------------------------------------------
    def settings(self) -> tuple[Any, ...]:
        """Everything that determines the result (dataclasses, dicts, numbers)."""
        raise NotImplementedError

    def code_modules(self) -> tuple[str, ...]:
        raise NotImplementedError

    def tag(self) -> str:
        return settings_tag(*self.settings(), code_digest(*self.code_modules()))

    def accepts_tag(self, tag: str | None) -> bool:
        """Whether a publication made under ``tag`` counts as this job's work: the same
        settings and code, or declared equivalent to the current tag (:func:`accept_published`;
        a declaration made for another current tag does not apply)."""
        if tag is None:
            return False
        current = self.tag()
        return tag == current or any(e.get("tag") == current and e.get("accepts") == tag
                                     for e in equivalences().get(self.name, []))

    def ckpt_dir(self) -> Path:
        return paths.artifacts_dir() / "jobs" / self.name / self.tag()

    # -- what subclasses do --------------------------------------------------------------------
    def status(self) -> Status:
        raise NotImplementedError

    def run(self, budget: Budget, device: torch.device, progress: bool = True) -> Status:
        """Train until done or ``budget`` is spent, checkpointing as it goes; return the status."""
        raise NotImplementedError

    def publish_files(self, out: Path, device: torch.device) -> dict[str, Any]:
        """Write the weight files into ``out``; return the record's body (metrics, history,
        config, ...). ``out`` is a temporary folder that :func:`write_published` moves into place."""
        raise NotImplementedError

    def scale_label(self, st: Status) -> str:
        """How the book labels this job's numbers (default: paper settings, complete or partial)."""
        return st.label()

    def wall_time_s(self) -> float:
        """Training time summed over every call so far (for provenance)."""
        return 0.0

    def published_complete(self) -> bool:
        """Whether ``results/published/<name>`` holds a complete run of exactly these settings
        and code (same :meth:`tag`, or one declared equivalent): the work was done, perhaps on
        another machine."""
        from genrepro import published   # it imports this module

        try:
            prov = published.record(self.name, published_root())["provenance"]
        except (published.PublishedModelError, OSError, ValueError, KeyError, TypeError):
            return False
        return bool(prov.get("complete")) and self.accepts_tag(prov.get("settings_tag"))

    def finished(self) -> bool:
        """Nothing left to train: complete here, or published complete with these settings."""
        return self.status().complete or self.published_complete()

    def started(self) -> bool:
        """Whether there is anything to publish yet."""
        return self.status().done > 0

    def trained_on(self) -> str:
        """The device(s) that trained the checkpoint, as recorded by :meth:`run`."""
        p = self.ckpt_dir() / "devices.json"
        return ", ".join(json.loads(p.read_text())) if p.is_file() else "unknown"

    def adopt_devices(self, trained_on: str) -> None:
        """Start this machine's ``devices.json`` from a publication's ``trained_on`` ("CPU (x86_64,
        1 threads), …"), when a checkpoint is taken from the publication rather than trained here."""
        p = self.ckpt_dir() / "devices.json"
        if not p.is_file():
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(json.dumps([d.strip() for d in re.findall(r"[^,(]+(?:\([^)]*\))?", trained_on) if d.strip()]))

    def note_device(self, device: torch.device) -> None:
        from genrepro.device import device_name

        p = self.ckpt_dir() / "devices.json"
        seen = json.loads(p.read_text()) if p.is_file() else []
        if device_name(device) not in seen:
            seen.append(device_name(device))
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(json.dumps(seen))


def record_only_fields(tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    """What a publication that keeps no weights records in their place: ``weights_kept`` False
    and the SHA-256 of the bytes the safetensors file of ``tensors`` would hold (imported here,
    where a publication is made: the GPU bundle's safetensors stand-in raises on every call)."""
    from safetensors.torch import save as safetensors_bytes

    from genrepro.data.prep import sha256_bytes

    return {"weights_kept": False, "weights_sha256": sha256_bytes(safetensors_bytes(tensors))}


def set_bytes(root: Path, without: str | None = None) -> int:
    """Bytes of the published set under ``root``, leaving out the publication ``without`` (and the
    hidden folders a publication is built in: :func:`genrepro.data.prep.atomic_dir`)."""
    if not root.is_dir():
        return 0
    return sum(f.stat().st_size for d in root.iterdir() if d.is_dir() and d.name != without
               and not d.name.startswith(".") for f in d.rglob("*") if f.is_file())


def check_room(name: str, folder: Path, root: Path) -> None:
    """Refuse (:class:`PublishedSetFull`) a publication of ``name`` whose files in ``folder`` would
    take the set under ``root`` past :data:`MAX_SET_BYTES` (it replaces any earlier ``name``).
    A job whose scores take long calls it on its files before scoring (``root`` is then
    ``folder.parent``, where :func:`write_published` builds it); :func:`write_published` calls it
    again once the record is written."""
    new = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    total = set_bytes(root, without=name) + new
    if total > MAX_SET_BYTES:
        mib = 2**20
        raise PublishedSetFull(
            f"publishing {name} ({new / mib:.1f} MiB) would take the published set to {total / mib:.1f} MiB, over "
            f"its cap of {MAX_SET_BYTES / mib:.0f} MiB (the repository travels to the GPU machine, 64 MiB with the "
            "GPU bundle); nothing was written. Make room first: publish it once complete (a complete Deep GMM "
            "net keeps its record only), keep a finished Deep GMM net as its record (`python -m genrepro.train "
            "NAME --record-only`), or remove a publication the book no longer reads")


def write_published(job: Job, device: torch.device, command: str, root: Path | None = None,
                    log: Callable[[str], None] = print, force: bool = False) -> Path:
    """Publish ``job`` into ``root/<name>`` (default ``results/published``), atomically: the
    folder is built beside its target and swapped in whole, so a failure leaves the previous
    publication (or nothing) in place. A publication further along than this machine's
    checkpoint (e.g. made on another machine) is not replaced unless ``force``, and none that
    would take the set past its cap (:func:`check_room`) is made."""
    st = job.status()
    if not job.started():
        raise RuntimeError(f"job {job.name!r} has not started: nothing to publish. Run "
                           f"`python -m genrepro.train {job.name} --budget-min M` first")
    root = root or published_root()
    target = root / job.name
    if (target / RECORD).is_file() and not force:
        old = json.loads((target / RECORD).read_text())["provenance"]
        if old.get("unit") == st.unit and (old.get("done") or 0) > st.done and not st.complete:
            raise RuntimeError(f"{job.name} is published at {old['done']}/{old['total']} {st.unit}, further than "
                               f"the {st.done} here (its checkpoint is on the machine that trained it); not "
                               "replacing it. Pass --force to publish this one anyway")
    with atomic_dir(target) as tmp:
        body = job.publish_files(tmp, device)
        files = {}
        for f in sorted(tmp.iterdir()):
            if f.stat().st_size > MAX_FILE_BYTES:
                raise ValueError(f"{f.name} is {f.stat().st_size / 2**20:.1f} MiB; published files "
                                 f"must be ≤ {MAX_FILE_BYTES / 2**20:.0f} MiB")
            files[f.name] = sha256_file(f)
        from genrepro.device import device_name

        record = {
            "name": job.name, "chapter": job.chapter, "description": job.description,
            "files": files,
            "provenance": {
                "trained_on": job.trained_on(), "published_on": device_name(device),
                "status": st.state, "complete": st.complete, "done": st.done, "total": st.total,
                "unit": st.unit, "scale": job.scale_label(st), "wall_time_s": round(job.wall_time_s(), 1),
                "git_commit": git_commit(), "settings_tag": job.tag(), "command": command,
                "published": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "torch": torch.__version__,
            },
            **body,
        }
        (tmp / RECORD).write_text(json.dumps(_jsonable(record), indent=1, sort_keys=False) + "\n")
        check_room(job.name, tmp, root)
    log(f"published {job.name} ({st.state}) to {paths.display(target)}")
    return target


def remove_published(name: str, root: Path | None = None) -> None:
    target = (root or published_root()) / name
    if target.exists():
        shutil.rmtree(target)
