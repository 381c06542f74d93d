"""A DC-IGN job that goes on where another, complete job stopped: the same network, recipe and
batches, with a longer schedule (:data:`genrepro.jobs.dcign_table.JOB_EXTENDS`; ours, not the paper's).
A retune (:data:`~genrepro.jobs.dcign_table.JOB_RETUNES`) also changes the training fields it names,
from the parent's last step on: a warm start, whose history begins with the parent's.

Without a retune it is exact, not a warm start. The schedule's length only bounds the training loop
(:meth:`genrepro.dcign.train.Trainer.train`), and the batch kinds of a longer schedule begin with
the shorter one's: :func:`genrepro.dcign.batches.kind_sequence` draws them one step at a time
from the same seeded generator, and each batch is a function of its kind and its index within
that kind. So the extension trains exactly as one run of its own length would have, and its
history and |r| curve start with the parent's. (Where the parent's length is not a multiple of the
log and monitor intervals, its last, shorter log window and measurement stay in the history as an
extra record; the weights and the optimiser are the same. 40,000 is a multiple of both.)

The parent's *complete* checkpoint (``last.pt``, with Adam's state) is where it starts. On a machine
without it, the parent's complete publication stands in when it carries ``resume.safetensors``
(:data:`genrepro.jobs.dcign.RESUME`: publications made since 2026-12-06 keep Adam's state); an older
complete publication keeps none, and the parent must then be trained again on this machine. Once
started, the extension goes on from its own checkpoint or partial publication like any DC-IGN job.
"""

from __future__ import annotations

import json
import shutil
from typing import TYPE_CHECKING, Any

import torch

from genrepro.data.prep import atomic_file
from genrepro.jobs.dcign_table import JOB_RETUNES

if TYPE_CHECKING:
    from genrepro.jobs.dcign import DCIGNJob


def trainer_settings(job: "DCIGNJob", device: torch.device) -> dict[str, Any]:
    """What ``job``'s :class:`~genrepro.dcign.train.Trainer` records as its checkpoint's settings
    (:meth:`~genrepro.dcign.train.Trainer.settings`, of a trainer that is built and not run)."""
    from genrepro.dcign.train import Trainer

    return Trainer(job.model_config(), job.train_config(), job.source(device), job.ckpt_dir(), device).settings()


def adopt_parent(job: "DCIGNJob", parent: "DCIGNJob", device: torch.device) -> bool:
    """With no checkpoint of ``job`` here, write the ``parent``'s complete checkpoint as ``job``'s
    ``last.pt``, its settings made ``job``'s. Refused, with the fix, when the parent is not complete
    here or differs from ``job`` in anything but the schedule's length and ``job``'s retuned training
    fields (:data:`~genrepro.jobs.dcign_table.JOB_RETUNES`). Without the parent's checkpoint here, its
    publication's (:meth:`~genrepro.jobs.dcign.DCIGNJob.adopt_published`) where that carries Adam's
    state. False when ``job`` already has a checkpoint."""
    if job.checkpoint() is not None:
        return False
    if parent.checkpoint() is None:
        parent.adopt_published(complete=True)
    st = parent.checkpoint()
    need = parent.train_config().steps
    if st is None or st["step"] < need:
        where = "has no checkpoint here" if st is None else f"is at step {st['step']:,} of {need:,} here"
        raise RuntimeError(
            f"{job.name} goes on from {parent.name}'s complete checkpoint, and {parent.name} {where} (nor a "
            "publication with its optimiser state; those made before 2026-12-06 keep none): run "
            f"`python -m genrepro.train {parent.name}` to completion on this machine first")
    mine = trainer_settings(job, device)
    theirs = json.loads(json.dumps(st["settings"]))   # a copy
    for part in ("train", "source"):
        if "steps" in theirs[part]:
            theirs[part]["steps"] = mine[part].get("steps")
    retuned = sorted(JOB_RETUNES.get(job.name, {}))
    for field in retuned:   # a field at its default may be absent from the settings (``_LATE_FIELDS``)
        if field in mine["train"]:
            theirs["train"][field] = mine["train"][field]
        else:
            theirs["train"].pop(field, None)
    if theirs != mine:
        differ = sorted(f"{part}.{k}" for part in mine for k in set(mine[part]) | set(theirs.get(part, {}))
                        if mine[part].get(k) != theirs.get(part, {}).get(k))
        also = f" and retune {', '.join(retuned)}" if retuned else ""
        raise ValueError(f"{job.name} can only lengthen {parent.name}'s schedule{also}, but their settings also differ in "
                         f"{', '.join(differ)}: fix JOB_TRAIN / JOB_DATA / JOB_MODEL in genrepro.jobs.dcign_table")
    st_train = st["settings"]["train"]
    st = {**st, "settings": mine}
    job.last_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(job.last_path) as f:
        torch.save(st, f)
    for name in ("devices.json", "reseeded.json"):
        if (parent.ckpt_dir() / name).is_file():
            shutil.copyfile(parent.ckpt_dir() / name, job.ckpt_dir() / name)
    changed = "".join(f", {k} {st_train.get(k)} -> {mine['train'].get(k)}" for k in retuned)
    print(f"{job.name}: starting from {parent.name}'s complete checkpoint at step {st['step']:,}{changed}", flush=True)
    return True
