"""Paper-vs-reproduction tables and the provenance table, built from run results only.

The paper's numbers are quotations (with their citation keys); every reproduction number
is read from a chapter's ``<chapter>.json``, never typed here, with the label of its scale
that the chapter stored beside it (paper settings complete or partial, with the device that
trained the published model, or the profile it was trained at in the run).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genrepro.plotting import markdown_table


@dataclass(frozen=True)
class Row:
    """One line of the scoreboard: a quantity the paper reports and where ours is stored."""

    paper: str            # section heading: which paper
    quantity: str         # what is measured
    quoted: str           # the paper's value, as printed there
    cite: str             # bibtex key of the source of the quoted value
    chapter: str          # results file stem
    key: str              # dotted path of our value in the results file
    se_key: str = ""      # dotted path of its standard error, if any
    dataset_key: str = "" # dotted path of the dataset name we used (stand-ins say so)
    fmt: str = ".1f"
    scale_key: str = ""   # dotted path of the label of its scale and device


ROWS: tuple[Row, ...] = (
    Row("Generative Adversarial Nets", "MNIST Parzen log-likelihood (nats)", "225 ± 2",
        "goodfellow2014gan", "gan", "mnist.parzen_mean", "mnist.parzen_se", "mnist.dataset",
        scale_key="mnist.scale"),
    Row("Generative Adversarial Nets", "MNIST Parzen, 10,000 real training images as samples (nats)", "≈ 243",
        "theis2016note", "gan", "baselines.real_training_images.mean", "baselines.real_training_images.se",
        "mnist.dataset", scale_key="baselines.scale"),
    Row("Generative Adversarial Nets", "MNIST Parzen, k-means centroids as samples (nats)", "≈ 313",
        "theis2016note", "gan", "baselines.kmeans.mean", "baselines.kmeans.se", "mnist.dataset",
        scale_key="baselines.kmeans.scale"),
    Row("Generative Adversarial Nets", "TFD Parzen log-likelihood (nats)", "2057 ± 26",
        "goodfellow2014gan", "gan", "faces.parzen_mean", "faces.parzen_se", "faces.dataset",
        scale_key="faces.scale"),
    Row("Deep Gaussian Mixture Models", "BSDS300 GMM test log-likelihood (nats)", "153.7",
        "vandenoord2014deepgmm", "deepgmm", "table1.GMM", "table1_se.GMM", "dataset", ".2f",
        scale_key="table1_scale.GMM"),
    Row("Deep Gaussian Mixture Models", "BSDS300 Deep GMM test log-likelihood (nats)", "156.2",
        "vandenoord2014deepgmm", "deepgmm", "table1.Deep GMM (3 layers)", "table1_se.Deep GMM (3 layers)",
        "dataset", ".2f", scale_key="table1_scale.Deep GMM (3 layers)"),
    # the same nets under the evidence protocol of the chapter's gap list (not the paper's settings)
    *(Row("Deep Gaussian Mixture Models", f"BSDS300 {what} test log-likelihood (nats), evidence protocol (ours: "
          "floor 1e-8, no stop, 1M patches)", quoted, "vandenoord2014deepgmm", "deepgmm", f"{job}.test",
          f"{job}.test_se", "dataset", ".2f", scale_key=f"{job}.status")
      for what, net, quoted in (("GMM (200)", "200", "153.7"), ("Deep GMM (5, 5, 25)", "5-5-25", "156.2 (3 layers)"),
                                ("Deep GMM (5, 5, 100)", "5-5-100", "156.2 (3 layers)"))
      for job in (f"table1_evidence_protocol.deepgmm-patches-{net}-reg1e-08-train1M-nostop",)),
    *(Row("Deep Convolutional Inverse Graphics Network",
          f"faces: |Pearson r| of z{i} with the true {f}, unseen identities",
          "not reported (Figures 4–6 qualitative); our goal ≥ 0.9", "kulkarni2015dcign", "dcign",
          f"faces.latent_correlation.{f}", "", "faces.dataset", ".3f", scale_key="scale.dcign")
      for i, f in ((1, "azimuth"), (2, "elevation"), (3, "light"))),
    *(Row("Deep Convolutional Inverse Graphics Network",
          f"faces, with our {label} (not in the paper): |Pearson r| of z{i} with the true {f}",
          "— (our variant); our goal ≥ 0.9", "kulkarni2015dcign", "dcign",
          f"faces_{run.replace('-', '_')}.latent_correlation.{f}", "", "faces.dataset", ".3f", scale_key=f"scale.{run}")
      for run, label in (("mirror", "mirror tie"), ("mirror-inv", "mirror tie and invariance 1"),
                         ("mirror-moments", "mirror tie, invariance 1 and moment tie"),
                         ("mirror-inv-facelight", "mirror tie and invariance 1 on renders whose light turns with the "
                          "face (its light: relative to the face)"),
                         ("mirror-inv-swap", "mirror tie, invariance 1 and swap tie"),
                         ("mirror-inv-swap-facelight", "mirror tie, invariance 1 and swap tie on renders whose light "
                          "turns with the face (its light: relative to the face)"),
                         ("mirror-inv-swap-facelight-80k", "mirror tie, invariance 1 and swap tie on renders whose "
                          "light turns with the face, 80,000-step schedule (its light: relative to the face)"),
                         ("mirror-inv-swap-facelight-80k-inv10", "mirror tie, invariance 1 (10 from step 80,000) and "
                          "swap tie on renders whose light turns with the face, 90,000 steps (its light: relative to "
                          "the face)"),
                         ("mirror-inv-swap-facelight-80k-inv10-100k", "mirror tie, invariance 1 (10 from step 80,000) "
                          "and swap tie on renders whose light turns with the face, 100,000 steps (its light: "
                          "relative to the face)"),
                         ("mirror-inv-swap-facelight-80k-inv10-100k-moments", "mirror tie, invariance 1 (10 from step "
                          "80,000), swap tie and moment tie (from step 100,000) on renders whose light turns with the "
                          "face, 110,000 steps (its light: relative to the face)"))
      for i, f in ((1, "azimuth"), (2, "elevation"), (3, "light"))),
    *(Row("Deep Convolutional Inverse Graphics Network",
          f"faces, the paper's recipe at half the paper's widths (48/24/12; ours): |Pearson r| of z{i} with the true {f}",
          "not reported; our goal ≥ 0.9", "kulkarni2015dcign", "dcign", f"faces_wide.latent_correlation.{f}", "",
          "faces.dataset", ".3f", scale_key="scale.wide")
      for i, f in ((1, "azimuth"), (2, "elevation"), (3, "light"))),
    Row("Deep Convolutional Inverse Graphics Network", "chairs test reconstruction MSE per pixel",
        "2.7722e-4", "kulkarni2015dcign", "dcign", "chairs.test_mse", "", "chairs.dataset", ".4e",
        scale_key="scale.chairs"),
)


def load_results(folder: str | Path) -> dict[str, dict[str, Any]]:
    """Every ``<chapter>.json`` in ``folder`` (the provenance file excluded)."""
    folder = Path(folder)
    out = {}
    for path in sorted(folder.glob("*.json")):
        if path.name != "provenance.json":
            out[path.stem] = json.loads(path.read_text())
    return out


def lookup(results: dict[str, Any], dotted: str) -> Any:
    """``results['a']['b']`` for ``'a.b'``; a key that itself contains dots is tried whole."""
    if not dotted:
        return None
    if dotted in results:
        return results[dotted]
    head, _, rest = dotted.partition(".")
    if rest and isinstance(results.get(head), dict):
        return lookup(results[head], rest)
    return None


def _fmt(value: Any, fmt: str) -> str:
    if isinstance(value, (int, float)) and math.isfinite(value):
        return format(value, fmt)
    return "—" if value is None else str(value)


def scoreboard_markdown(results: dict[str, dict[str, Any]]) -> str:
    """One Markdown table per paper: quantity, the paper's value, ours, its scale and device
    (or the profile of the run, for results that carry no scale label), and the data."""
    blocks: list[str] = []
    for paper in dict.fromkeys(r.paper for r in ROWS):
        rows: list[tuple[str, ...]] = []
        for r in (r for r in ROWS if r.paper == paper):
            res = results.get(r.chapter)
            if res is None:
                ours, prof, data = f"not yet run (no `{r.chapter}.json`)", "—", "—"
            else:
                value = lookup(res, r.key)
                se = lookup(res, r.se_key)
                ours = _fmt(value, r.fmt) + (f" ± {_fmt(se, r.fmt)}" if se is not None else "")
                if value is None:
                    ours = f"not reported by this run (`{r.key}`)"
                prof = str(lookup(res, r.scale_key) or f"{res.get('profile', '—')} profile")
                data = str(lookup(res, r.dataset_key) or "—")
            rows.append((r.quantity, f"{r.quoted} {{cite:p}}`{r.cite}`", ours, prof, data))
        header = ("quantity", "paper", "this reproduction", "scale and device", "data")
        blocks.append(f"**{paper}**\n\n" + markdown_table(header, rows))
    return "\n\n".join(blocks)


PROVENANCE_COLUMNS = ("chapter", "profile", "seed", "device", "torch", "git_commit",
                      "wall_time_s", "started")


def provenance_markdown(folder: str | Path, expected: list[str] | None = None) -> str:
    """The provenance table of a run folder; chapters in ``expected`` without a record say so."""
    path = Path(folder) / "provenance.json"
    table = json.loads(path.read_text()) if path.is_file() else {}
    rows: list[list[str]] = []
    names = list(expected or []) + [n for n in table if n not in (expected or [])]
    for name in names:
        rec = table.get(name)
        if rec is None:
            rows.append([name, "*no record in this run*"] + [""] * (len(PROVENANCE_COLUMNS) - 2))
            continue
        cells = [str(rec.get(c, "—")) for c in PROVENANCE_COLUMNS]
        i = PROVENANCE_COLUMNS.index("git_commit")
        cells[i] = f"`{cells[i][:12]}{'+dirty' if cells[i].endswith('+dirty') else ''}`"
        rows.append(cells)
    return markdown_table(PROVENANCE_COLUMNS, rows)
