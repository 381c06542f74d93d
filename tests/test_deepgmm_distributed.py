"""Tests of genrepro.deepgmm.distributed — distributed hard-EM for the Deep GMM (van den Oord &
Schrauwen 2014, §3: "both steps can be distributed"): exact combination of per-shard path
statistics, shard-invariant random restarts, world size 1 = ``fit``, and a real two-process
``torchrun --standalone`` (gloo, loopback) run against a single-process fit."""

from __future__ import annotations

import copy
import itertools
import math

import numpy as np
import pytest
import torch

from genrepro.deepgmm import (
    DeepGMM,
    combine_stats,
    fit,
    fit_distributed,
    hard_stats,
    shard,
)
from genrepro.deepgmm.dist_check import check_against_single, launch
from genrepro.deepgmm.state import max_abs_diff, model_from_state, param_checksum
from genrepro.deepgmm.estep import heuristic_e_step, random_choice
from genrepro.deepgmm.mstep import soft_stats
from test_deepgmm import blobs  # the same synthetic mixtures as the single-process tests


def _close(a, b, tol=1e-10):
    scale = max(1.0, float(b.abs().max()))
    assert float((a - b).abs().max()) <= tol * scale


@pytest.mark.parametrize("n,world,align", [(10, 3, 1), (1000, 2, 250), (1001, 3, 100), (5, 4, 1)])
def test_shard_covers_data_in_rank_order(n, world, align):
    x = torch.arange(n)
    parts = [shard(x, r, world, align) for r in range(world)]
    assert torch.equal(torch.cat([p for p, _ in parts]), x)
    assert [o for _, o in parts] == [sum(len(p) for p, _ in parts[:r]) for r in range(world)]
    assert all(o % align == 0 for _, o in parts)
    with pytest.raises(ValueError):
        shard(x, world, world)


def test_combined_shard_stats_equal_whole_data_stats():
    x = blobs(900, 4, seed=1)
    P = 6
    paths = torch.randint(0, P - 1, (900,), generator=torch.Generator().manual_seed(0))
    paths[:300] = torch.where(paths[:300] == 2, 0, paths[:300])     # path 2 empty in shard 0
    whole = hard_stats(x, paths, P)
    cuts = [0, 300, 650, 900]                                        # uneven shards
    parts = [hard_stats(x[a:b], paths[a:b], P) for a, b in itertools.pairwise(cuts)]
    comb = combine_stats(parts)
    assert parts[0].counts[2] == 0 and whole.counts[P - 1] == 0      # empty path everywhere
    assert torch.equal(comb.counts, whole.counts)
    _close(comb.means, whole.means)
    _close(comb.scatters, whole.scatters)
    assert float(comb.scatters[P - 1].abs().max()) == 0.0
    assert combine_stats(parts[:1]) is parts[0]
    for chunk in (1, 128, 899):                                      # chunked = folded shards
        ch = hard_stats(x, paths, P, chunk=chunk)
        _close(ch.means, whole.means)
        _close(ch.scatters, whole.scatters)
    resp = torch.softmax(torch.randn(900, 3, generator=torch.Generator().manual_seed(1),
                                     dtype=torch.float64), 1)
    s1, s2 = soft_stats(x, resp), soft_stats(x, resp, chunk=200)
    _close(s2.counts, s1.counts)
    _close(s2.means, s1.means)
    _close(s2.scatters, s1.scatters)


def test_restarts_depend_on_global_index_only():
    m = DeepGMM(3, (2, 3, 4), seed=0)
    full = random_choice(m, 1000, seed=5)
    g = torch.Generator().manual_seed(5)                             # the original stream
    old = torch.stack([torch.randint(0, k, (1000,), generator=g) for k in (2, 3, 4)], 1)
    assert torch.equal(full, old)
    for world in (2, 3):
        for r in range(world):
            xs, o = shard(torch.arange(1000), r, world)
            assert torch.equal(random_choice(m, len(xs), 5, offset=o, n_total=1000), full[o:o + len(xs)])
    with pytest.raises(ValueError):
        random_choice(m, 10, 0, offset=995, n_total=1000)
    x = blobs(1500, 3, k=4, seed=2)                                  # sharded search = whole search
    m = DeepGMM(3, (2, 3, 2), init_data=x, seed=1)
    paths, score = heuristic_e_step(m, x, None, seed=3)
    out = [heuristic_e_step(m, xs, None, seed=3, offset=o, n_total=1500)
           for xs, o in (shard(x, r, 3) for r in range(3))]
    assert torch.equal(torch.cat([p for p, _ in out]), paths)
    np.testing.assert_allclose(torch.cat([s for _, s in out]), score, rtol=0, atol=1e-10)


@pytest.mark.parametrize("chunk", [None, 300])
def test_world_size_one_equals_fit(chunk):
    x = blobs(1200, 4, k=4, seed=3)
    a = DeepGMM(4, (2, 2, 3), init_data=x, seed=0)
    b = model_from_state(copy.deepcopy(a.state_dict()))
    ha = fit(a, x, 3, valid=x[:300], seed=2, stats_chunk=chunk)
    hb = fit_distributed(b, x, 3, valid=x[:300], seed=2, stats_chunk=chunk)
    assert max_abs_diff(a, b) == 0.0
    assert torch.equal(param_checksum(a), param_checksum(b))
    for ra, rb in zip(ha, hb):
        for k in ("train_best", "train_exact", "valid_best", "valid_exact", "switch_rate"):
            assert abs(ra[k] - rb[k]) <= 1e-12 * max(1.0, abs(ra[k])), k
    b.A[0][0, 0, 0] = torch.nextafter(b.A[0][0, 0, 0], torch.tensor(math.inf, dtype=torch.float64))
    assert not torch.equal(param_checksum(a), param_checksum(b))    # one ulp shows
    with pytest.raises(ValueError, match="stats_chunk"):
        fit_distributed(b, x[100:], 1, offset=100, n_total=1200, stats_chunk=300)


def _torchrun_or_skip():
    import torch.distributed as dist
    if not dist.is_available() or not dist.is_gloo_available():
        print("SKIP reason: torch.distributed with gloo is not available")
        pytest.skip("torch.distributed with gloo is not available")


@pytest.mark.parametrize("chunk,layers", [(250, (2, 2, 3)), (0, (4,))])
def test_torchrun_two_ranks_match_single_process(tmp_path, chunk, layers):
    """2 gloo workers vs one process on the same data and initial parameters. With
    ``stats_chunk`` the statistics are folded in the same order as ``fit(..., stats_chunk)``,
    so the parameters are the same bits. The all-gather combination (chunk 0) agrees with
    ``fit`` to rounding, which stays rounding for a one-layer model (closed-form M-step) but
    which L-BFGS amplifies in deeper ones (to ~1e-2 for this 3-layer net), hence (4,) here."""
    _torchrun_or_skip()
    extra = ["--check", "--stats-chunk", str(chunk)]
    res = launch(tmp_path / "res.pt", nproc=2, n=2000, dim=8, layers=layers, iterations=3,
                 seed=0, extra=extra, timeout=120)
    assert res["world_size"] == 2 and res["backend"] == "gloo"
    assert res["max_abs_diff"] <= 1e-8, res["max_abs_diff"]         # rank 0's own refit
    chk = check_against_single(res)                                  # and this process's
    print(f"stats_chunk={chunk}, layers={layers}: max |Δθ| = {res['max_abs_diff']:.3e} "
          f"(rank 0), {chk['max_abs_diff']:.3e} (pytest), torchrun {res['launch_s']:.1f} s")
    assert chk["max_abs_diff"] <= 1e-8
    for rd, rs in zip(res["history"], chk["history"]):
        assert rd["switch_rate"] == rs["switch_rate"]
        assert abs(rd["train_best"] - rs["train_best"]) <= 1e-9 * abs(rs["train_best"])
