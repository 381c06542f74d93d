"""Paper-vs-reproduction tables and the provenance table, built from run results only.

The paper's numbers are quotations (with their citation keys); every reproduction number
is read from a chapter's ``<chapter>.json``, never typed here. Paper-scale *spot checks*
(``benchmarks/paper_scale_*.py``: one model at the paper's settings, outside the chapters)
write ``results/paper_scale/<name>.json`` through :func:`write_spot_check`; the Scoreboard
lists them in a table of their own, each with its device, status and command.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any


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


ROWS: tuple[Row, ...] = (
    Row("Generative Adversarial Nets", "MNIST Parzen log-likelihood (nats)", "225 ± 2",
        "goodfellow2014gan", "gan", "mnist.parzen_mean", "mnist.parzen_se", "mnist.dataset"),
    Row("Generative Adversarial Nets", "TFD Parzen log-likelihood (nats)", "2057 ± 26",
        "goodfellow2014gan", "gan", "faces.parzen_mean", "faces.parzen_se", "faces.dataset"),
    Row("Deep Gaussian Mixture Models", "BSDS300 GMM test log-likelihood (nats)", "153.7",
        "vandenoord2014deepgmm", "deepgmm", "table1.GMM", "", "dataset"),
    Row("Deep Gaussian Mixture Models", "BSDS300 Deep GMM test log-likelihood (nats)", "156.2",
        "vandenoord2014deepgmm", "deepgmm", "table1.Deep GMM (3 layers)", "", "dataset"),
    Row("Deep Convolutional Inverse Graphics Network", "chairs test reconstruction MSE per pixel",
        "2.7722e-4", "kulkarni2015dcign", "dcign", "chairs.test_mse", "", "chairs.dataset", ".4e"),
)


SPOT_CHECK_KEYS = ("quantity", "model", "value", "se", "status", "device", "command", "date")  # per row


def spot_checks_dir() -> Path:
    """Where the paper-scale spot checks keep their records (committed with ``results/``)."""
    from genrepro.paths import results_dir

    return results_dir() / "paper_scale"


def write_spot_check(name: str, rows: list[dict[str, Any]], folder: str | Path | None = None) -> Path:
    """Record one spot check, atomically, as ``<folder>/<name>.json``. Each row holds
    ``quantity`` (a :data:`ROWS` quantity when the paper reports it, so its quotation is
    looked up there, never retyped), ``model`` (what was fitted), ``value``, ``se`` (or None),
    ``status`` (e.g. "converged", "cut by the time budget at epoch 120 of 300"), ``device``,
    ``command`` and ``date``."""
    from genrepro.data.prep import write_json

    if not name or any(c in name for c in "/\\"):
        raise ValueError(f"spot-check name must be a plain file stem, got {name!r}")
    for row in rows:
        missing = [k for k in SPOT_CHECK_KEYS if k not in row]
        if missing:
            raise ValueError(f"spot-check row {row.get('quantity')!r} lacks {', '.join(missing)}")
    path = Path(folder if folder is not None else spot_checks_dir()) / f"{name}.json"
    write_json(path, {"name": name, "rows": rows})
    return path


def spot_checks_markdown(folder: str | Path | None = None) -> str:
    """A table of every recorded spot check: quantity, the paper's value (from :data:`ROWS`
    where it reports one), ours, its status and device, and the command that produced it."""
    folder = Path(folder if folder is not None else spot_checks_dir())
    quoted = {r.quantity: r for r in ROWS}
    lines = ["| quantity | model | paper | spot check | status | device | command |",
             "|---|---|---|---|---|---|---|"]
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        for row in json.loads(path.read_text())["rows"]:
            ref = quoted.get(row["quantity"])
            paper = f"{ref.quoted} {{cite:p}}`{ref.cite}`" if ref else "—"
            fmt = ref.fmt if ref else ".2f"
            ours = _fmt(row["value"], fmt) + (f" ± {_fmt(row['se'], fmt)}" if row["se"] is not None else "")
            lines.append(f"| {row['quantity']} | {row['model']} | {paper} | {ours} | {row['status']} | {row['device']} | "
                         f"`{row['command']}` ({row['date']}) |")
    if len(lines) == 2:  # header only
        return f"No paper-scale spot check has been recorded (`{folder.name}/` holds no records)."
    return "\n".join(lines)


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
    """One Markdown table per paper: quantity, the paper's value, ours, profile and data."""
    blocks: list[str] = []
    for paper in dict.fromkeys(r.paper for r in ROWS):
        lines = [f"**{paper}**", "",
                 "| quantity | paper | this reproduction | profile | data |",
                 "|---|---|---|---|---|"]
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
                prof = str(res.get("profile", "—"))
                data = str(lookup(res, r.dataset_key) or "—")
            lines.append(f"| {r.quantity} | {r.quoted} {{cite:p}}`{r.cite}` | {ours} | {prof} | {data} |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


PROVENANCE_COLUMNS = ("chapter", "profile", "seed", "device", "torch", "git_commit",
                      "wall_time_s", "started")


def provenance_markdown(folder: str | Path, expected: list[str] | None = None) -> str:
    """The provenance table of a run folder; chapters in ``expected`` without a record say so."""
    path = Path(folder) / "provenance.json"
    table = json.loads(path.read_text()) if path.is_file() else {}
    head = "| " + " | ".join(PROVENANCE_COLUMNS) + " |"
    lines = [head, "|" + "---|" * len(PROVENANCE_COLUMNS)]
    names = list(expected or []) + [n for n in table if n not in (expected or [])]
    for name in names:
        rec = table.get(name)
        if rec is None:
            lines.append(f"| {name} | *no record in this run* |" + " |" * (len(PROVENANCE_COLUMNS) - 2))
            continue
        cells = [str(rec.get(c, "—")) for c in PROVENANCE_COLUMNS]
        i = PROVENANCE_COLUMNS.index("git_commit")
        cells[i] = f"`{cells[i][:12]}{'+dirty' if cells[i].endswith('+dirty') else ''}`"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
