"""Paper-scale training jobs: ``python -m genrepro.train``.

    python -m genrepro.train --list                      # every job and how far it is
    python -m genrepro.train NAME [--budget-min M] [--device cpu|cuda] [--threads N]
    python -m genrepro.train NAME --publish              # write results/published/NAME/
    python -m genrepro.train --pending [--budget-min M]  # unfinished jobs in priority order
    python -m genrepro.train NAME --accept-published WHY # an older publication counts (say why)
    python -m genrepro.train NAME --record-only          # a complete Deep GMM net, a GAN variant: record only
    python -m genrepro.train NAME --drop-resume          # a complete net no job extends, or a stopped one: drop its resume state
    python -m genrepro.train NAME --measure [--faces N]  # a published DC-IGN faces net: its test |r|

A job runs the full profile's settings; each call trains until the job is done or the budget
ends, and leaves a checkpoint that the next call resumes bit-identically (same device and
thread count). Progress shows as a tqdm bar with an ETA.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import torch

from genrepro import jobs, paths
from genrepro.device import device_name, tune_cpu_allocator


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


HEADER = ("job", "chapter", "status", "published", "description")


def job_rows() -> list[tuple[str, ...]]:
    """Each job with its status here (from its checkpoint) and what is published of it."""
    from genrepro import published
    from genrepro.jobs.dcign_table import STOPPED

    have, rows = set(published.names()), []
    for job in jobs.registry().values():
        pub = "-"
        if job.name in have:
            prov = published.record(job.name)["provenance"]
            pub = prov["status"]
            if prov.get("settings_tag") != job.tag():
                pub += (" (older tag, declared equivalent)" if job.accepts_tag(prov.get("settings_tag"))
                        else " (other settings or code)")
            if job.name in STOPPED:   # its partial publication is final: say why it stopped
                pub += f", stopped for good: {STOPPED[job.name]}"
        rows.append((job.name, job.chapter, job.status().state + (" [GPU]" if job.gpu_only else ""), pub,
                     job.description))
    return rows


def list_jobs() -> str:
    """The ``--list`` table."""
    return _table([HEADER, *job_rows()])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m genrepro.train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", metavar="NAME", help="jobs to run or publish")
    ap.add_argument("--list", action="store_true", help="list every job with its status")
    ap.add_argument("--pending", action="store_true", help="run every unfinished job, in priority order")
    ap.add_argument("--budget-min", type=float, default=60.0, help="wall-clock minutes for this call (all jobs)")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    ap.add_argument("--publish", action="store_true", help="publish the named jobs into results/published/")
    ap.add_argument("--force", action="store_true",
                    help="with --publish: replace a publication that is further along than this checkpoint; "
                         "else: train a job even though it is published complete (e.g. to refit a record-only one)")
    ap.add_argument("--record-only", action="store_true",
                    help="drop the weights of the named complete Deep GMM publications (or GAN comparison "
                         "variants), keeping their records and the weights' SHA-256 (what such a job is published "
                         "as today; makes room)")
    ap.add_argument("--drop-resume", action="store_true",
                    help="drop the resume state (resume.safetensors) of the named complete publications that no "
                         "job extends, or of partial ones stopped for good (genrepro.jobs.dcign_table.STOPPED), "
                         "keeping its SHA-256 in the record (what such a job is published as today; makes room)")
    ap.add_argument("--accept-published", metavar="WHY",
                    help="declare that each named job's publication, made under an older settings tag, is "
                         "what the job would train today, and say why (results/published/equivalent_tags.json)")
    ap.add_argument("--measure", action="store_true",
                    help="print the test |r| of z1–z3 of the named published DC-IGN faces jobs (the chapter's "
                         "measure, on unseen faces rendered at the network's size and light frame)")
    ap.add_argument("--faces", type=int, default=50, help="with --measure: unseen test faces per factor")
    args = ap.parse_args(argv)
    if args.list:
        print(list_jobs())
        return 0
    if not args.names and not args.pending:
        ap.error("name a job (see --list), or pass --pending")
    try:
        selected = [jobs.get(n) for n in args.names]
    except KeyError as e:
        print(f"error: {e.args[0]}", file=sys.stderr)
        return 2
    if args.device == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda, but torch sees no CUDA device; use --device cpu", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    tune_cpu_allocator()
    device = torch.device(args.device)
    if args.pending:
        selected += [j for j in jobs.registry().values() if not j.finished() and j not in selected
                     and (device.type == "cuda" or not j.gpu_only)]
    if args.record_only:
        return _record_only(selected)
    if args.drop_resume:
        return _drop_resume(selected)
    if args.measure:
        return _measure(selected, args.faces, device)
    if args.accept_published is not None:
        for job in selected:
            try:
                e = jobs.accept_published(job, args.accept_published)
            except ValueError as err:
                print(f"error: {err}", file=sys.stderr)
                return 1
            print(f"{job.name}: the publication of tag {e['accepts']} now counts for tag {e['tag']} "
                  f"(results/published/equivalent_tags.json)")
        return 0
    if args.publish:
        for job in selected:
            try:
                jobs.write_published(job, device, command=f"python -m genrepro.train {job.name}", force=args.force)
            except RuntimeError as e:
                print(f"error: {e}", file=sys.stderr)
                return 1
        return 0
    budget = jobs.Budget(args.budget_min * 60)
    os.environ.setdefault("GENREPRO_PROGRESS", "bar")
    print(f"{len(selected)} job(s) on {device_name(device)}, budget {args.budget_min:g} min; "
          f"checkpoints under {paths.display(paths.artifacts_dir() / 'jobs')}", flush=True)
    failed = []
    for job in selected:
        if budget.spent():
            print(f"{job.name}: not run (budget spent)", flush=True)
            continue
        before = job.status()
        if before.complete:
            print(f"{job.name}: already {before.state}", flush=True)
            continue
        if job.published_complete() and not args.force:
            print(f"{job.name}: already published complete with these settings "
                  f"(results/published/{job.name}); not retraining it (--force does)", flush=True)
            continue
        t = time.perf_counter()
        try:
            after = job.run(budget, device)
        except (RuntimeError, ValueError) as e:   # e.g. an extension whose parent is not complete here
            print(f"error: {job.name}: {e}", file=sys.stderr, flush=True)
            failed.append(job.name)
            continue
        print(f"{job.name}: {before.state} → {after.state} in {(time.perf_counter() - t) / 60:.1f} min"
              + ("" if after.complete else "; run it again to resume"), flush=True)
    if failed:
        print(f"error: not run: {', '.join(failed)} (see above); the other jobs ran", file=sys.stderr)
        return 1
    return 0


def _measure(selected: list[jobs.Job], n_faces: int, device: torch.device) -> int:
    """``--measure``: the published network of each named DC-IGN faces job, measured as the chapter
    measures it (:func:`genrepro.jobs.dcign_measures.measure_published`)."""
    from genrepro import published
    from genrepro.jobs.dcign_table import faces_jobs
    from genrepro.jobs.dcign_measures import measure_published

    for job in selected:
        if job.name not in faces_jobs():
            print(f"error: --measure takes DC-IGN faces jobs; {job.name} is not one (known: {', '.join(faces_jobs())})",
                  file=sys.stderr)
            return 2
        if job.name not in published.names():
            print(f"error: {job.name} is not published; train it (`python -m genrepro.train {job.name}`) "
                  "and publish it (`--publish`) first", file=sys.stderr)
            return 1
    for job in selected:
        try:
            m = measure_published(job.name, n_faces, device)
        except (ValueError, published.PublishedModelError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        rows = [("factor", "latent", "|r| over all test faces", "|r| within a batch")]
        rows += [(f, f"z{m['latent'][f] + 1}", f"{m['abs_r'][f]:.3f}", f"{m['within_r'][f]:.3f}") for f in m["abs_r"]]
        print(f"{job.name}: {m['scale']}\n{m['faces']} unseen test faces per factor, light frame {m['light_frame']!r}\n"
              + _table(rows), flush=True)
    return 0


def _record_only(selected: list[jobs.Job]) -> int:
    """``--record-only``: each named job must be one whose complete publications keep no weights
    (a Deep GMM net or measurement), published complete with its current settings, or one whose
    publications never keep them (a GAN comparison variant), published at all."""
    from genrepro import published

    never = set()
    for job in selected:
        keeps = getattr(job, "keeps_weights", None)
        if keeps is None or keeps(True):
            print(f"error: {job.name}'s complete publication keeps its weights (the book loads them); --record-only "
                  "is for the Deep GMM nets and measurements and the GAN comparison variants", file=sys.stderr)
            return 2
        if not keeps(False):
            never.add(job.name)
            if job.name not in published.names():
                print(f"error: {job.name} is not published: nothing to keep as a record", file=sys.stderr)
                return 1
        elif not job.published_complete():
            print(f"error: {job.name} is not published complete with its current settings: run "
                  f"`python -m genrepro.train {job.name}`, then `--publish` (which keeps its record only)",
                  file=sys.stderr)
            return 1
    for job in selected:
        if published.record(job.name).get("weights_kept") is False:
            print(f"{job.name}: record only already", flush=True)
            continue
        try:
            target = published.drop_weights(job.name, partial=job.name in never)
        except published.PublishedModelError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        print(f"{job.name}: weights dropped; {paths.display(target)} keeps its record and their SHA-256", flush=True)
    return 0


def _drop_resume(selected: list[jobs.Job]) -> int:
    """``--drop-resume``: :func:`genrepro.published.drop_resume` for each named job, in turn."""
    from genrepro import published

    for job in selected:
        if job.name not in published.names():
            print(f"error: {job.name} is not published: no resume state to drop", file=sys.stderr)
            return 1
        try:
            target, freed = published.drop_resume(job.name)
        except published.PublishedModelError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        print(f"{job.name}: resume state dropped ({freed / 2**20:.1f} MiB); {paths.display(target)} keeps "
              "its weights, record and the file's SHA-256", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
