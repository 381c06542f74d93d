"""The book runner: execute chapters with papermill, publish them, build the HTML book.

    python -m genrepro.book run     [--profile P] [--chapter NAME ...] [--publish]
    python -m genrepro.book prepare [--profile P] [--out DIR]   # inject parameters only
    python -m genrepro.book build   [--profile P]               # HTML from a run's copies
    python -m genrepro.book list

Executed copies and the results they write go to ``_build/runs/<profile>/``; nothing
touches ``book/`` or ``results/`` unless ``--publish`` is given, which copies the executed
notebooks back into ``book/`` and their results into ``results/``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml
from tqdm import tqdm

from genrepro import bookassets, paths, profiles
from genrepro.data.prep import atomic_dir, write_json

# Pages that summarise the others: run after whichever chapters were run.
SUMMARY_PAGES = ("scoreboard", "status")


def chapters(root: Path | None = None) -> list[Path]:
    """The chapter notebooks in ``_toc.yml`` order."""
    root = root or paths.project_root()
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for key in ("root", "parts", "chapters", "sections"):
                if key == "root" and key in node:
                    files.append(node["root"])
                elif key in node:
                    walk(node[key])
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    out = []
    for f in files:
        p = root / f
        p = p if p.suffix else p.with_suffix(".ipynb")
        if p.suffix == ".ipynb" and p.is_file():
            out.append(p)
    return out


def select(names: Sequence[str] | None, root: Path | None = None) -> list[Path]:
    """Chapters by name (notebook stem), in book order, plus the summary pages after them."""
    every = chapters(root)
    if not names:
        return every
    by_name = {p.stem: p for p in every}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise SystemExit(f"unknown chapter(s) {', '.join(unknown)}; "
                         f"known: {', '.join(by_name)}")
    wanted = set(names) | set(SUMMARY_PAGES)
    return [p for p in every if p.stem in wanted]


def _env_for(run: Path) -> dict[str, str]:
    env = {"GENREPRO_RUN_DIR": str(run), "GENREPRO_ROOT": str(paths.project_root()),
           "GENREPRO_PROGRESS": "log"}
    return env


def run(profile: str = "quick", names: Sequence[str] | None = None, seed: int = 0,
        publish: bool = False, out: Path | None = None, train: bool = False) -> int:
    """Execute chapters with papermill; return 0, or 1 after the first failing chapter.
    ``train``: chapters train their models here instead of loading the published ones (full profile)."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    profiles.check_profile(profile)
    root = paths.project_root()
    run_dir = Path(out) if out else root / "_build" / "runs" / profile
    run_dir.mkdir(parents=True, exist_ok=True)
    selected = select(names, root)
    os.environ.update(_env_for(run_dir))
    done: list[Path] = []
    bar = tqdm(selected, desc=f"chapters ({profile})", unit="chapter")
    for nb in bar:
        bar.set_postfix_str(nb.stem)
        target = run_dir / nb.name
        try:
            papermill.execute_notebook(
                str(nb), str(target),
                parameters={"profile": profile, "seed": seed, **({"train": True} if train else {})},
                cwd=str(nb.parent), kernel_name="python3", progress_bar=False,
            )
        except PapermillExecutionError as e:
            bar.close()
            first_line = (e.source or "").strip().splitlines()[:1]
            print(f"\nchapter '{nb.stem}' failed in code cell In [{e.exec_count}] "
                  f"(cell {e.cell_index + 1} of the executed copy): {e.ename}: {e.evalue}\n"
                  f"  the cell begins: {first_line[0] if first_line else ''}\n"
                  f"The executed copy, with the error, is at {target}", file=sys.stderr)
            return 1
        _fold_injected_cell(target)
        done.append(target)
    bar.close()
    print(f"executed {len(done)} chapter(s) into {run_dir}")
    if publish:
        _publish(done, run_dir, root)
    return 0


def _fold_injected_cell(path: Path) -> None:
    """Fold papermill's injected-parameters cell in the rendered book (it stays in the file)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags and "hide-cell" not in tags:
            tags.append("hide-cell")
    nbformat.write(nb, path)


def _publish(executed: list[Path], run_dir: Path, root: Path) -> None:
    """Copy executed notebooks into ``book/`` and their results into ``results/``."""
    results = root / "results"
    results.mkdir(exist_ok=True)
    by_stem = {p.stem: p for p in chapters(root)}
    for nb in executed:
        shutil.copyfile(nb, by_stem[nb.stem].with_suffix(".ipynb.tmp"))
        os.replace(by_stem[nb.stem].with_suffix(".ipynb.tmp"), by_stem[nb.stem])
        metrics = run_dir / f"{nb.stem}.json"
        if metrics.is_file():
            shutil.copyfile(metrics, results / f"{nb.stem}.tmp")
            os.replace(results / f"{nb.stem}.tmp", results / metrics.name)
    prov_run = run_dir / "provenance.json"
    if prov_run.is_file():
        prov_pub = results / "provenance.json"
        table = json.loads(prov_pub.read_text()) if prov_pub.is_file() else {}
        fresh = json.loads(prov_run.read_text())
        table.update({nb.stem: fresh[nb.stem] for nb in executed if nb.stem in fresh})
        write_json(prov_pub, table)
    print(f"published {len(executed)} notebook(s) into book/ and their results into results/")


def prepare(profile: str = "quick", out: Path | None = None, seed: int = 0) -> list[Path]:
    """Inject the profile's parameters into copies of every chapter without executing them."""
    import papermill

    profiles.check_profile(profile)
    root = paths.project_root()
    out = Path(out) if out else root / "_build" / "prepared" / profile
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for nb in chapters(root):
        target = out / nb.name
        papermill.execute_notebook(str(nb), str(target), parameters={"profile": profile, "seed": seed},
                                   prepare_only=True, kernel_name="python3", progress_bar=False)
        written.append(target)
    # Copy anything the notebooks read relative to themselves (images, bib files).
    for extra in (root / "book").iterdir():
        if extra.suffix not in (".ipynb",) and extra.is_file():
            shutil.copyfile(extra, out / extra.name)
    print(f"prepared {len(written)} chapter(s) in {out}")
    return written


def jupyter_book_executable() -> str:
    """The ``jupyter-book`` script of this interpreter's environment (it need not be on PATH
    when the runner is called as ``.venv/bin/python -m genrepro.book``)."""
    beside = Path(sys.executable).parent / "jupyter-book"
    if beside.is_file():
        return str(beside)
    found = shutil.which("jupyter-book")
    if found is None:
        raise SystemExit("jupyter-book is not installed: pip install -e '.[book]'")
    return found


def build(profile: str | None = None) -> int:
    """Build the HTML book into ``_build/html``.

    With ``profile``: from the executed copies in ``_build/runs/<profile>/`` (the committed
    notebooks fill in any chapter that run lacks). Without: from the committed ``book/``.
    """
    root = paths.project_root()
    html = root / "_build" / "html"
    cmd = [jupyter_book_executable(), "build", "--warningiserror", "--keep-going"]
    try:
        bookassets.ensure_mathjax(root)   # served by the book: math typesets offline
    except bookassets.AssetError as e:
        raise SystemExit(f"error: {e}") from None
    if profile is None:
        return subprocess.call([*cmd, str(root)], cwd=root)
    profiles.check_profile(profile)
    run_dir = root / "_build" / "runs" / profile
    stage = root / "_build" / "stage" / profile
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copyfile(root / name, stage / name)
    (stage / "_vendor").symlink_to(root / "_vendor", target_is_directory=True)
    shutil.copytree(root / "book", stage / "book")
    used = 0
    for nb in chapters(root):
        executed = run_dir / nb.name
        if executed.is_file():
            shutil.copyfile(executed, stage / "book" / nb.name)
            used += 1
    print(f"building the book from {used} executed chapter(s) of {run_dir}")
    rc = subprocess.call([*cmd, str(stage)], cwd=stage)
    if rc == 0:
        with atomic_dir(html) as tmp:
            shutil.copytree(stage / "_build" / "html", tmp, dirs_exist_ok=True)
        print(f"book written to {html}/index.html")
    return rc


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m genrepro.book", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p_run = sub.add_parser("run", help="execute chapters with papermill")
    p_run.add_argument("--profile", default="quick")
    p_run.add_argument("--chapter", action="append", dest="chapters", metavar="NAME")
    p_run.add_argument("--seed", type=int, default=0)
    p_run.add_argument("--publish", action="store_true",
                       help="copy the executed notebooks into book/ and results into results/")
    p_run.add_argument("--train", action="store_true",
                       help="full profile: train every model here instead of loading results/published/")
    p_prep = sub.add_parser("prepare", help="inject parameters without executing")
    p_prep.add_argument("--profile", default="quick")
    p_prep.add_argument("--out", type=Path)
    p_build = sub.add_parser("build", help="build the HTML book")
    p_build.add_argument("--profile", help="build from this run's executed copies")
    sub.add_parser("list", help="list the chapters in book order")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "run":
            return run(args.profile, args.chapters, seed=args.seed, publish=args.publish, train=args.train)
        if args.cmd == "prepare":
            prepare(args.profile, args.out)
            return 0
        if args.cmd == "build":
            return build(args.profile)
        for nb in chapters():
            print(nb.stem)
        return 0
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
