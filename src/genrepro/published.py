"""Published paper-scale models: what the book renders from (``results/published/<name>/``).

    >>> from genrepro import published
    >>> published.names()                      # every published model
    >>> G, record = published.load("gan-mnist")  # eval mode, on the CPU

:func:`load` checks every file against the SHA-256 in the model's ``record.json`` and rebuilds
the model from the configuration recorded there. A missing or altered file raises
:class:`PublishedModelError`, whose message names the command that makes it again.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch

from genrepro.data.prep import sha256_file
from genrepro.jobs import base
from genrepro.jobs.base import RECORD, RESUME


class PublishedModelError(RuntimeError):
    """A published model is missing, incomplete or altered."""


def _root(root: Path | None) -> Path:
    return Path(root) if root is not None else base.published_root()   # looked up here: one setting to patch


def names(root: Path | None = None) -> list[str]:
    """The published models, sorted by name."""
    r = _root(root)
    return sorted(p.name for p in r.iterdir() if (p / RECORD).is_file()) if r.is_dir() else []


def _remake(name: str) -> str:
    return (f"run `python -m genrepro.train {name} --budget-min M` until it is far enough, then "
            f"`python -m genrepro.train {name} --publish`")


def record(name: str, root: Path | None = None) -> dict[str, Any]:
    """The record of ``name``: metrics, history, provenance and file checksums."""
    path = _root(root) / name / RECORD
    if not path.is_file():
        have = ", ".join(names(root)) or "none"
        raise PublishedModelError(f"no published model {name!r} (have: {have}); {_remake(name)}")
    return json.loads(path.read_text())


def verified_file(name: str, filename: str, root: Path | None = None, rec: dict[str, Any] | None = None) -> Path:
    """The path of one published file of ``name``, after checking its SHA-256 (``rec``: its
    record, when the caller has read it already)."""
    rec = rec if rec is not None else record(name, root)
    path = _root(root) / name / filename
    if filename not in rec["files"]:
        raise PublishedModelError(f"{name} publishes no file {filename!r} (it has {', '.join(rec['files'])})")
    if not path.is_file():
        raise PublishedModelError(f"{path} is missing; restore it with `git checkout -- {path}` or {_remake(name)}")
    if sha256_file(path) != rec["files"][filename]:
        raise PublishedModelError(f"{path} does not match the SHA-256 in its record (altered or truncated); "
                                  f"restore it with `git checkout -- {path}` or {_remake(name)}")
    return path


def _tensors(folder: Path, filename: str) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file that :func:`load` has verified."""
    from safetensors.torch import load_file

    return load_file(str(folder / filename))


# Loaders: (record, the model's folder) -> model; :func:`load` has verified every file first.
def _gan(rec: dict, folder: Path) -> torch.nn.Module:
    from genrepro.gan.model import GANConfig, Generator

    cfg = rec["gan_config"]
    G = Generator(GANConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in cfg.items()}))
    G.load_state_dict(_tensors(folder, "generator.safetensors"))
    return G


def _centroids(rec: dict, folder: Path) -> torch.Tensor:
    """``gan-mnist-kmeans``: the means of the MNIST training images under the published cluster
    labels (the fit's centroids after one more Lloyd update)."""
    import numpy as np

    from genrepro.jobs.gan import centroids_from_labels, mnist_splits, tensor_sha256

    labels = np.load(folder / rec["labels"], allow_pickle=False)
    cents = centroids_from_labels(labels, mnist_splits()["train"][:rec["fit_on"]], rec["k"])
    if tensor_sha256(cents) != rec["centroids_sha256"]:
        raise PublishedModelError(
            f"the centroids rebuilt from {rec['name']}'s labels and this machine's MNIST training images differ "
            "from the published ones: the prepared MNIST is not the one it was fitted on; re-run "
            "`python data_prep/mnist.py` (or `make data`), or refit with `python -m genrepro.train gan-mnist-kmeans`")
    return cents


def _deepgmm(rec: dict, folder: Path) -> Any:
    from genrepro.jobs.deepgmm import model_from_weights

    model = model_from_weights(_tensors(folder, "weights.safetensors"), rec["dim"], rec["layer_sizes"], rec["reg"])
    model.history = rec["history"]
    return model


def _dcign(rec: dict, folder: Path) -> torch.nn.Module:
    """A DC-IGN job's network (Kulkarni et al. 2015 §3), weights cast to float32."""
    from genrepro.dcign.model import DCIGN, DCIGNConfig

    cfg = rec["dcign_config"]
    model = DCIGN(DCIGNConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in cfg.items()}))
    model.load_state_dict({k: v.float() for k, v in _tensors(folder, rec["weights"]).items()})
    return model


def _faces_samples(rec: dict, folder: Path) -> dict[str, Any]:
    """``gan-faces`` / ``gan-faces-reduced``: uint8 Parzen samples ``(n, 48, 48)``, interpolation grid
    ``(rows, cols, 48, 48)`` and the nearest training face of the first samples ``(k, 48, 48)``."""
    import numpy as np

    load = lambda f: np.load(folder / f, allow_pickle=False)  # noqa: E731
    out = {"samples": np.concatenate([load(f) for f in rec["samples"]["files"]]), "grid": load(rec["grid"]["file"])}
    if "neighbours" in rec:          # Figure 2's nearest training faces (publications since session 7)
        out["neighbours"] = load(rec["neighbours"]["file"])
    return out


_LOADERS = {"genrepro.gan.Generator": _gan, "genrepro.gan.KMeansCentroids": _centroids,
            "genrepro.deepgmm.DeepGMM": _deepgmm,
            "genrepro.dcign.DCIGN": _dcign, "genrepro.gan.FacesSamples": _faces_samples}


def weights_folder(name: str, rec: dict[str, Any], root: Path | None = None) -> Path:
    """Where the weights of ``name`` are: its own folder, or, for a publication that names
    another's byte-identical weights (``weights_from``: a Table 1 pick is one of the sweep's nets),
    that one's folder, after checking the file against the SHA-256 recorded here."""
    ref = rec.get("weights_from")
    if ref is None:
        return _root(root) / name
    path = _root(root) / ref["name"] / ref["file"]
    if not path.is_file() or sha256_file(path) != ref["sha256"]:
        state = "is missing" if not path.is_file() else "has changed since"
        raise PublishedModelError(f"{name} uses the weights {path} of {ref['name']}, which {state} "
                                  f"{name} was published; republish it: `python -m genrepro.train {name} --publish`")
    return path.parent


def load(name: str, root: Path | None = None) -> tuple[Any, dict[str, Any]]:
    """The published model ``name`` in eval mode on the CPU, with its record."""
    rec = record(name, root)
    if rec.get("weights_kept") is False:
        raise PublishedModelError(
            f"{name} is published as its record only (scores, history and the SHA-256 of its weights; a complete "
            f"Deep GMM net or a GAN comparison variant, whose weights the repository does not keep): read it with "
            f"`published.record({name!r})`, "
            f"or refit the weights with `python -m genrepro.train {name} --force --budget-min M` (their SHA-256 should be "
            f"the recorded {rec.get('weights_sha256', '?')[:12]}…)")
    for f in rec["files"]:           # every file, so an altered one is caught whatever is loaded
        verified_file(name, f, root, rec)
    model = _LOADERS[rec["model"]](rec, weights_folder(name, rec, root))
    if isinstance(model, torch.nn.Module):
        model = model.cpu().eval()
    return model, rec


def drop_weights(name: str, root: Path | None = None, partial: bool = False) -> Path:
    """Keep only the record of the complete publication ``name`` (or a partial one, with
    ``partial``: a job whose publications never keep weights, e.g. a GAN comparison variant):
    its one weight file (``weights.safetensors``, ``generator.safetensors``) is verified, then
    removed, and the record keeps its SHA-256 (``weights_sha256``) and says when
    (``provenance.weights_dropped``); scores and history are unchanged, as a publication made
    record-only would have them. Refused while another publication names those weights
    (``weights_from``: publish that one again first). Atomic: on any error nothing changes."""
    import time

    from genrepro.chapter import git_commit
    from genrepro.data.prep import atomic_dir

    rec = record(name, root)
    if rec.get("weights_kept") is False:
        raise PublishedModelError(f"{name} is published as its record only already")
    files = sorted(rec["files"])
    if not (rec["provenance"]["complete"] or partial) or len(files) != 1 or not files[0].endswith(".safetensors"):
        raise PublishedModelError(f"{name} is {rec['provenance']['status']} with files {files}: only a "
                                  f"{'' if partial else 'complete '}publication of one weight file (.safetensors) "
                                  "can be kept as its record")
    digest = rec["files"][files[0]]
    verified_file(name, files[0], root, rec)
    users = [n for n in names(root) if record(n, root).get("weights_from", {}).get("name") == name]
    if users:
        raise PublishedModelError(f"{', '.join(users)} use(s) the weights of {name}: publish them again first "
                                  f"(`python -m genrepro.train {' '.join(users)} --publish`), so they carry their own")
    rec = {**rec, "files": {}, "weights_kept": False, "weights_sha256": digest,
           "provenance": {**rec["provenance"], "weights_dropped": {
               "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "git_commit": git_commit()}}}
    target = _root(root) / name
    with atomic_dir(target) as tmp:
        (tmp / RECORD).write_text(json.dumps(rec, indent=1, sort_keys=False) + "\n")
    return target


def drop_resume(name: str, root: Path | None = None) -> tuple[Path, int]:
    """Remove the resume state (``resume.safetensors``: optimiser and noise-generator state, and the
    record's ``resume``) from the complete publication ``name``, which keeps it today only when a
    job extends it (:data:`~genrepro.jobs.dcign_table.JOB_EXTENDS`); an older publication kept it
    regardless. The file is verified first; the record keeps its SHA-256 and says when
    (``provenance.resume_dropped``); weights, scores and history are unchanged. Refused for a
    partial publication (a fresh clone resumes from it) unless its job was stopped by decision
    (:data:`~genrepro.jobs.dcign_table.STOPPED`: its partial publication is final), for one a job
    extends, and for one without that state. Atomic: on any error nothing changes. Returns
    (folder, bytes freed)."""
    import time

    from genrepro.chapter import git_commit
    from genrepro.data.prep import atomic_dir
    from genrepro.jobs.dcign_table import JOB_EXTENDS, STOPPED

    rec = record(name, root)
    if RESUME not in rec["files"]:
        raise PublishedModelError(f"{name} keeps no resume state ({RESUME}): nothing to drop")
    if not rec["provenance"]["complete"] and name not in STOPPED:
        raise PublishedModelError(f"{name} is {rec['provenance']['status']}: a fresh clone resumes it from its "
                                  f"{RESUME}, so it is kept until the job is published complete (or, if it was "
                                  "stopped for good, named in genrepro.jobs.dcign_table.STOPPED)")
    kids = sorted(k for k, p in JOB_EXTENDS.items() if p == name)
    if kids:
        raise PublishedModelError(f"{', '.join(kids)} extend(s) {name} and start(s) from its {RESUME} on a "
                                  "machine without its checkpoint: it is kept")
    f = verified_file(name, RESUME, root, rec)
    freed = f.stat().st_size
    digest = rec["files"][RESUME]
    rec = {k: v for k, v in rec.items() if k != "resume"}
    rec = {**rec, "files": {k: v for k, v in rec["files"].items() if k != RESUME},
           "provenance": {**rec["provenance"], "resume_dropped": {
               "sha256": digest, "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "git_commit": git_commit()}}}
    target = _root(root) / name
    with atomic_dir(target) as tmp:
        for k in rec["files"]:
            shutil.copy2(target / k, tmp / k)
        (tmp / RECORD).write_text(json.dumps(rec, indent=1, sort_keys=False) + "\n")
    return target, freed


def for_chapter(name: str, profile: str, train: bool = False, root: Path | None = None
                ) -> tuple[Any, dict[str, Any]] | None:
    """What a chapter renders from: in the full profile, the published ``name`` (model, record);
    ``None`` in the quick profile, when the chapter is asked to ``train``, or when nothing is
    published under that name (the chapter then trains, and says at what scale)."""
    if profile != "full" or train or name not in names(root):
        return None
    return load(name, root)


def scale_line(rec: dict[str, Any]) -> str:
    """How a published model's numbers are labelled in the book: scale, device, time, date."""
    p = rec["provenance"]
    hours = p["wall_time_s"] / 3600
    took = f"{hours:.1f} h" if hours >= 1 else f"{p['wall_time_s'] / 60:.0f} min"
    return (f"{p['scale']}; trained on {p['trained_on']} in {took}; published model `{rec['name']}` "
            f"({p['published'][:10]}, commit {p['git_commit'][:12]})")


def scale_short(rec: dict[str, Any]) -> str:
    """The short label beside a published model's numbers: its scale and the device that trained it."""
    return f"{rec['provenance']['scale']}; {rec['provenance']['trained_on']}"


def models_markdown(root: Path | None = None) -> str:
    """The Status page's table of published models: status, scale, device, wall time."""
    rows = ["| model | chapter | status | trained on | training time | files | published | commit |",
            "|---|---|---|---|---|---|---|---|"]
    for name in names(root):
        rec = record(name, root)
        p = rec["provenance"]
        size = sum((_root(root) / name / f).stat().st_size for f in rec["files"]) / 2**20
        files = "record only" if rec.get("weights_kept") is False else f"{size:.1f} MiB"
        rows.append(f"| `{name}` | {rec['chapter']} | {p['status'] if p['complete'] else '**' + p['status'] + '**'} | "
                    f"{p['trained_on']} | {p['wall_time_s'] / 3600:.2f} h | {files} | {p['published'][:10]} | "
                    f"`{p['git_commit'][:12]}` |")
    if len(rows) == 2:
        return "No model has been published yet (`python -m genrepro.train --list` shows the jobs)."
    return "\n".join(rows)
