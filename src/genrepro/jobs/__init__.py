"""Paper-scale training jobs, run by ``python -m genrepro.train`` (see :mod:`genrepro.jobs.base`)."""

from __future__ import annotations

from genrepro.jobs.base import Budget, Job, OutOfBudget, Status, accept_published, write_published


def registry() -> dict[str, Job]:
    """Every job by name, in priority order (the order ``--pending`` runs them)."""
    from genrepro.jobs import dcign, deepgmm, deepgmm_pick, deepgmm_variants, gan, gan_faces

    jobs: list[Job] = [gan.GANMnist(), gan.GANMnistKMeans(), gan.GANMnistGauss(), gan.GANMnistSeed1(), gan.GANMnistGaussSeed1(), *(deepgmm_pick.TableOnePick(d) for d in (1, 2, 3)),
                       *deepgmm.sweep("patches"), *deepgmm.sweep("tiny"), *deepgmm_variants.all_variants(), gan_faces.GANFaces(),
                       gan_faces.GANFacesReduced(),
                       *dcign.jobs()]
    return {j.name: j for j in sorted(jobs, key=lambda j: j.priority)}   # stable: sweep order kept


def get(name: str) -> Job:
    jobs = registry()
    if name not in jobs:
        raise KeyError(f"no job named {name!r}; known jobs: {', '.join(jobs)} (python -m genrepro.train --list)")
    return jobs[name]


__all__ = ["Budget", "Job", "OutOfBudget", "Status", "accept_published", "get", "registry", "write_published"]
