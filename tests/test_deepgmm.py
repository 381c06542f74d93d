"""Tests of genrepro.deepgmm (van den Oord & Schrauwen 2014): exact likelihoods, E-steps,
the M-step's closed-form gradient, hard-EM, and a one-layer Deep GMM against sklearn."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from genrepro.deepgmm import (
    DeepGMM,
    NodeStats,
    coordinate_ascent,
    exact_e_step,
    fit,
    fit_sgd,
    hard_stats,
    heuristic_e_step,
    heuristic_trace,
    layer_node_stats,
    node_objective,
    path_tables,
)


def blobs(n: int = 1200, D: int = 4, k: int = 3, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    centres = 4 * torch.randn(k, D, generator=g, dtype=torch.float64)
    mix = torch.randn(k, D, D, generator=g, dtype=torch.float64) / math.sqrt(D) + torch.eye(D)
    lab = torch.randint(0, k, (n,), generator=g)
    z = torch.randn(n, D, generator=g, dtype=torch.float64)
    return centres[lab] + torch.einsum("nab,nb->na", mix[lab], z)


def test_one_layer_log_prob_equals_sklearn():
    from sklearn.mixture import GaussianMixture
    x = blobs(800, 5).numpy()
    gm = GaussianMixture(3, covariance_type="full", random_state=0).fit(x)
    m = DeepGMM(5, (3,))
    m.A[0] = torch.linalg.cholesky(torch.from_numpy(gm.covariances_))
    m.b[0] = torch.from_numpy(gm.means_)
    m.log_pi = torch.from_numpy(np.log(gm.weights_))
    np.testing.assert_allclose(m.log_prob(x).numpy(), gm.score_samples(x), rtol=0, atol=1e-6)


def test_one_layer_soft_em_step_equals_sklearn():
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture
    x = blobs(900, 4, seed=1)
    m = DeepGMM(4, (3,), init_data=x, reg=1e-6)
    w, mu, cov = (t.numpy() for t in m.to_gmm())
    gm = GaussianMixture(3, covariance_type="full", max_iter=1, reg_covar=1e-6, weights_init=w,
                         means_init=mu, precisions_init=np.linalg.inv(cov))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(x.numpy())
    fit(m, x, 1, e_step="soft")
    w2, mu2, cov2 = (t.numpy() for t in m.to_gmm())
    np.testing.assert_allclose(w2, gm.weights_, atol=1e-10)
    np.testing.assert_allclose(mu2, gm.means_, atol=1e-9)
    np.testing.assert_allclose(cov2, gm.covariances_, atol=1e-9)


def test_soft_stats_skip_only_negligible_responsibilities():
    from genrepro.deepgmm.mstep import SOFT_FLOOR, soft_stats
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3000, 5, generator=g, dtype=torch.float64)
    resp = torch.softmax(8 * torch.randn(3000, 4, generator=g, dtype=torch.float64), 1)
    resp[:, 3] = SOFT_FLOOR / 2          # a path that explains nothing: weight below the floor
    resp[:, :3] *= (1 - resp[:, 3:]) / resp[:, :3].sum(1, keepdim=True)
    st = soft_stats(x, resp)
    counts = resp.sum(0)
    means = (resp.T @ x) / counts[:, None]
    ref = torch.stack([((resp[:, p, None] * (x - means[p])).T @ (x - means[p])) for p in range(4)])
    assert (resp[:, :3] < SOFT_FLOOR).any()  # some skipped entries on the live paths too
    torch.testing.assert_close(st.counts, counts, rtol=1e-12, atol=0)
    torch.testing.assert_close(st.means, means, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(st.scatters[:3], ref[:3], rtol=1e-8, atol=1e-8)
    assert torch.all(st.scatters[3] == 0) and ref[3].abs().max() < 3000 * SOFT_FLOOR * 50


def test_exact_log_prob_is_log_prob_faster():
    """The publishing scorer (genrepro.jobs.deepgmm_score) gives the model's exact log-likelihood —
    scipy's mixture of every path's Gaussian — whatever its blocks, a dead path (π = 0) adding
    nothing; bad data is refused."""
    from genrepro.jobs.deepgmm_score import exact_log_prob

    x = blobs(300, 3)
    m = DeepGMM(3, (2, 3, 2), init_data=x, seed=3)
    log_pi = torch.randn(2, 3, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    log_pi[1, 2, 0] = -math.inf
    m.log_pi = log_pi
    w, mu, cov = (t.numpy() for t in m.to_gmm())
    comp = np.stack([multivariate_normal(mu[p], cov[p]).logpdf(x.numpy()) for p in range(12) if w[p] > 0], 1)
    want = logsumexp(comp + np.log(w[w > 0]), 1)
    for block, rows in ((16, 256), (1, 7), (5, 300), (12, 1000)):
        got = exact_log_prob(m, x, path_block=block, rows=rows)
        assert got.dtype == torch.float64 and got.shape == (300,)
        np.testing.assert_allclose(got.numpy(), want, atol=1e-9)
    np.testing.assert_allclose(exact_log_prob(m, x.float()).numpy(), m.log_prob(x).numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="shape"):
        exact_log_prob(m, x[:, :2])
    with pytest.raises(ValueError, match="NaN"):
        exact_log_prob(m, torch.full((2, 3), math.nan, dtype=torch.float64))
    with pytest.raises(ValueError, match="≥ 1"):
        exact_log_prob(m, x, path_block=0)


def test_to_gmm_consistent_with_log_prob_and_path_ll():
    x = blobs(300, 3)
    m = DeepGMM(3, (2, 3, 2), init_data=x, seed=3)
    m.log_pi = torch.randn(2, 3, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    w, mu, cov = (t.numpy() for t in m.to_gmm())
    assert w.shape == (12,) and abs(w.sum() - 1) < 1e-12
    comp = np.stack([multivariate_normal(mu[p], cov[p]).logpdf(x.numpy()) for p in range(12)], 1)
    np.testing.assert_allclose(m.path_log_likelihoods(x).numpy(), comp, atol=1e-9)
    np.testing.assert_allclose(m.log_prob(x).numpy(), logsumexp(comp + np.log(w), 1), atol=1e-9)
    own = torch.arange(300) % 12
    np.testing.assert_allclose(m.path_log_likelihoods(x, own).numpy(), comp[np.arange(300), own], atol=1e-9)
    np.testing.assert_allclose(m.path_log_likelihoods(x, m.unflatten(own)).numpy(),
                               comp[np.arange(300), own], atol=1e-9)


def test_sample_statistics():
    m = DeepGMM(3, (2, 2), seed=1)
    x, paths = m.sample(100_000, seed=0)
    w, mu, cov = m.to_gmm()
    mean = (w[:, None] * mu).sum(0)
    second = (w[:, None, None] * (cov + mu[:, :, None] * mu[:, None, :])).sum(0)
    np.testing.assert_allclose(x.mean(0), mean, atol=0.03)
    np.testing.assert_allclose(torch.cov(x.T), second - torch.outer(mean, mean), atol=0.06)
    np.testing.assert_allclose(torch.bincount(paths, minlength=4) / 1e5, w, atol=0.01)


def test_heuristic_e_step_on_one_layer_is_one_exact_pass():
    """A one-layer net is a GMM: one coordinate-ascent pass scores every component, so the
    heuristic stops there — the same paths and scores as the 3-pass search and the exact one."""
    from genrepro.deepgmm.estep import coordinate_ascent, random_choice

    x = blobs(2000, 4, k=6, seed=3)
    m = DeepGMM(4, (6,), init_data=x, seed=0)
    fit(m, x, 2, e_step="exact")
    paths, s = heuristic_e_step(m, x, None, seed=7)
    assert m.evaluations == 6
    exact_p, exact_s = exact_e_step(m, x)
    assert torch.equal(paths, exact_p)
    np.testing.assert_allclose(s, exact_s, atol=1e-9)
    c1, s1, _ = coordinate_ascent(m, x, random_choice(m, len(x), 11), 1)   # the full search's
    c2, s2, _ = coordinate_ascent(m, x, random_choice(m, len(x), 12), 2)   # two branches
    assert torch.equal(s1, s2) and torch.equal(s, s1)
    assert torch.equal(paths, m.flat_index(torch.where((s2 > s1)[:, None], c2, c1)))


def test_coordinate_ascent_skips_only_points_whose_other_layers_did_not_change():
    """From the second pass on, a point is searched on a layer again only if another of its
    layers changed since: the result equals passes run one call at a time (each call searches
    every point), with fewer evaluations made."""
    from genrepro.deepgmm.estep import coordinate_ascent, random_choice

    x = blobs(3000, 4, k=6, seed=4)
    m = DeepGMM(4, (3, 4, 5), init_data=x, seed=0)
    fit(m, x, 2, e_step="exact")
    start = random_choice(m, len(x), 3)
    c, s, evals = coordinate_ascent(m, x, start, 4)
    skipped = 4 * sum(m.layer_sizes) - m.scored
    assert evals == 4 * sum(m.layer_sizes) and skipped > 0.2 * evals
    ref = start
    for _ in range(4):
        ref, ref_s, _ = coordinate_ascent(m, x, ref, 1)
        assert m.scored == sum(m.layer_sizes)
    assert torch.equal(c, ref)
    np.testing.assert_allclose(s, ref_s, atol=1e-9)          # the same paths, scored in other groups


def test_heuristic_e_step_vs_exact_and_evaluation_count():
    x = blobs(1500, 4, k=5, seed=2)
    m = DeepGMM(4, (3, 2, 4), init_data=x, seed=0)
    fit(m, x, 3, e_step="exact")
    exact_p, exact_s = exact_e_step(m, x)
    warm = m._paths
    warm_s = (m.path_log_likelihoods(x, warm) + m.log_pi.reshape(-1)[warm])
    paths, s = heuristic_e_step(m, x, warm, seed=5)
    assert m.evaluations == 3 * sum(m.layer_sizes) == 27
    assert bool((s >= warm_s - 1e-9).all())                # never worse than its warm start
    assert bool((s <= exact_s + 1e-9).all())               # never better than the exact best
    assert float((paths == exact_p).double().mean()) > 0.9
    np.testing.assert_allclose(s, m.path_log_likelihoods(x, paths) + m.log_pi.reshape(-1)[paths],
                               atol=1e-9)
    _, _, e = coordinate_ascent(m, x, m.unflatten(warm), passes=4)
    assert e == 4 * 9


def test_e_step_chunks_at_a_wide_layer_hold_at_least_min_rows_with_the_same_paths(monkeypatch):
    """At a layer too wide for the memory budget to give a chunk many points, a chunk still
    holds ``_MIN_ROWS`` points (or the rest of its group), and the search finds the same paths
    and scores as with chunks of a single point."""
    from genrepro.deepgmm import estep

    x = blobs(1500, 4, k=5, seed=2)
    m = DeepGMM(4, (3, 40), init_data=x, seed=0)
    fit(m, x, 2)
    monkeypatch.setitem(estep._BUDGET, "cpu", 40 * 4 * 2)          # the budget's chunk: 2 points
    rows: list[int] = []
    score = estep._score
    monkeypatch.setattr(estep, "_score", lambda xs, W, *a: (len(W) == 40 and rows.append(len(xs)))
                        or score(xs, W, *a))                    # the wide layer's chunks
    paths, s = heuristic_e_step(m, x, None, seed=5)
    assert max(rows) == estep._MIN_ROWS == 128
    monkeypatch.setattr(estep, "_MIN_ROWS", 1)
    rows.clear()
    p1, s1 = heuristic_e_step(m, x, None, seed=5)
    assert max(rows) == 2
    assert torch.equal(paths, p1)
    np.testing.assert_allclose(s, s1, rtol=0, atol=1e-10)


def test_m_step_holds_one_nodes_kronecker_matrix_at_a_time(monkeypatch):
    """The Kronecker form's D² × D² matrix is built when its node is optimised and let go when
    the node is done, so a layer of many nodes never holds more than one (a (10, 10, 100) net
    held 12.6 GB when each node built its own up front); the M-step's result is unchanged."""
    import weakref

    from genrepro.deepgmm import mstep

    x = blobs(1200, 3, k=4, seed=1)
    m = DeepGMM(3, (2, 2, 3), init_data=x, seed=0)
    fit(m, x, 1)
    stats = hard_stats(x, heuristic_e_step(m, x, None, seed=1)[0], m.n_paths)
    ref = m_step_copy(m, stats, kron=False)
    live: list[weakref.ref] = []                                 # every node's statistics
    post, build = mstep.NodeStats.__post_init__, mstep.NodeStats.K.fget
    held: list[int] = []
    monkeypatch.setattr(mstep.NodeStats, "__post_init__", lambda st: post(st) or live.append(weakref.ref(st)))
    monkeypatch.setattr(mstep.NodeStats, "K", property(
        lambda st: held.append(sum(o() is not None and o() is not st and o()._K is not None for o in live))
        or build(st)))
    out = m_step_copy(m, stats, kron=True)
    assert len(held) > 50 and max(held) == 0                     # every objective: none other held
    for a, b in zip(out.A + out.b, ref.A + ref.b):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def m_step_copy(m: DeepGMM, stats, kron: bool) -> DeepGMM:
    import copy

    from genrepro.deepgmm import mstep

    c = copy.deepcopy(m)
    mstep.m_step(c, stats, maxiter=50, kron=kron)
    return c


def test_heuristic_trace_shapes():
    x = blobs(500, 3)
    m = DeepGMM(3, (2, 3), init_data=x)
    tr = heuristic_trace(m, x, passes=3, restarts=4)
    assert tr["passes"].shape == (3,) and tr["restarts"].shape == (4,)
    assert np.all(np.diff(tr["passes"]) >= -1e-12) and np.all(np.diff(tr["restarts"]) >= -1e-12)
    assert tr["restarts"][-1] <= tr["exact"] + 1e-9


def _direct_objective(A, b, st):
    """f(A, b) from its definition (u ~ N(A m_g + b, A S_g Aᵀ)), for autograd."""
    f = 0.0
    for g in range(len(st.counts)):
        S = torch.linalg.inv(torch.from_numpy(st.prec[g]))
        C = A @ S @ A.T
        e = torch.from_numpy(st.means[g]) - A @ torch.from_numpy(st.m[g]) - b
        G = torch.from_numpy(st.scatters[g]) + st.counts[g] * torch.outer(e, e)
        f = f + 0.5 * st.counts[g] * torch.logdet(C) + 0.5 * torch.trace(torch.linalg.solve(C, G))
    return f


@pytest.mark.parametrize("kron", [False, True])
def test_m_step_gradient_and_optimal_bias(kron):
    rng = np.random.default_rng(0)
    G, D = 3, 4
    Ms = rng.normal(size=(G, D, D)) + 2 * np.eye(D)
    X = rng.normal(size=(G, 50, D)) @ rng.normal(size=(D, D))
    st = NodeStats(np.array([50.0, 30.0, 20.0]), X.mean(1),
                   np.stack([(x - x.mean(0)).T @ (x - x.mean(0)) for x in X]),
                   np.linalg.inv(Ms @ Ms.transpose(0, 2, 1)), rng.normal(size=(G, D)), kron=kron)
    A = rng.normal(size=(D, D)) + 3 * np.eye(D)
    f, grad, bstar = node_objective(A, st)
    if kron:                                                         # the Kronecker matrix, built in one product
        np.testing.assert_allclose(st.K, sum(np.kron(p, s) for p, s in zip(st.prec, st.scatters)), rtol=1e-13, atol=1e-11)
    At = torch.tensor(A, requires_grad=True)
    bt = torch.tensor(bstar, requires_grad=True)
    fd = _direct_objective(At, bt, st)
    fd.backward()
    logdetS = -np.linalg.slogdet(st.prec)[1]
    assert abs(f + 0.5 * (st.counts * logdetS).sum() - fd.item()) < 1e-9 * abs(fd.item())
    np.testing.assert_allclose(grad, At.grad.numpy(), rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(bt.grad.numpy(), 0, atol=1e-7)      # b*(A) is optimal
    b = rng.normal(size=D)                                           # gradient at a fixed b
    _, grad_b, _ = node_objective(A, st, b=b)
    At2 = torch.tensor(A, requires_grad=True)
    _direct_objective(At2, torch.tensor(b), st).backward()
    np.testing.assert_allclose(grad_b, At2.grad.numpy(), rtol=1e-7, atol=1e-7)
    eps, E = 1e-6, np.zeros((D, D))                                  # and one finite difference
    E[1, 2] = eps
    fd_num = (node_objective(A + E, st)[0] - node_objective(A - E, st)[0]) / (2 * eps)
    assert abs(fd_num - grad[1, 2]) < 1e-5 * max(1, abs(grad[1, 2]))


def test_node_objectives_sum_to_negative_log_likelihood():
    x = blobs(600, 3, seed=4)
    m = DeepGMM(3, (2, 2, 3), init_data=x, seed=2)
    paths, _ = exact_e_step(m, x)
    stats = hard_stats(x, paths, m.n_paths)
    nll = -float(m.path_log_likelihoods(x, paths).sum())
    for j in range(m.depth):
        total = sum(node_objective(m.A[j][i].numpy(), st, b=m.b[j][i].numpy())[0]
                    for i, st in enumerate(layer_node_stats(m, stats, j)) if st is not None)
        assert abs(total - nll) < 1e-8 * abs(nll)


@pytest.mark.parametrize("factorised", [False, True])
def test_hard_em_with_exact_e_step_is_monotone(factorised):
    x = blobs(1000, 3, k=4, seed=5)
    m = DeepGMM(3, (2, 3), init_data=x, seed=1, factorised=factorised)
    hist = fit(m, x, 6, e_step="exact", valid=x[:200])
    obj = np.array([h["train_best"] for h in hist])
    assert np.all(np.diff(obj) >= -1e-9 * np.abs(obj[1:])), obj
    assert all(np.isfinite(h["train_exact"]) and np.isfinite(h["valid_exact"]) for h in hist)
    assert m.log_pi.shape == (2, 3)
    assert abs(float(torch.logsumexp(m.log_pi.reshape(-1), 0))) < 1e-9
    assert hist[-1]["train_exact"] >= hist[-1]["train_best"]       # log Σ ≥ log max


def test_empty_node_keeps_parameters_and_stays_finite():
    x = blobs(500, 3, seed=6)
    m = DeepGMM(3, (2, 3), init_data=x, seed=0)
    m.b[1][2] = torch.full((3,), 1e4, dtype=torch.float64)          # a top node nobody picks
    A_old, b_old = m.A[1][2].clone(), m.b[1][2].clone()
    hist = fit(m, x, 2, e_step="heuristic")
    assert hist[-1]["empty_nodes"] >= 1 and hist[-1]["live_paths"] <= 4
    assert torch.equal(m.A[1][2], A_old) and torch.equal(m.b[1][2], b_old)
    assert bool(torch.isneginf(m.log_pi[:, 2]).all())
    lp = m.log_prob(x)
    assert bool(torch.isfinite(lp).all())
    assert all(bool(torch.isfinite(a).all()) for a in m.A + m.b)
    w, _, _ = m.to_gmm()
    assert float(w.sum()) == pytest.approx(1.0)


def test_bad_inputs_raise():
    m = DeepGMM(3, (2, 2))
    x = blobs(100, 3)
    bad = x.clone()
    bad[3, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        fit(m, bad, 1)
    with pytest.raises(ValueError, match="shape"):
        m.log_prob(blobs(10, 4))
    with pytest.raises(ValueError, match="shape"):
        m.log_prob(x[:, 0])
    with pytest.raises(ValueError, match="components"):
        fit(m, x[:3], 1)
    with pytest.raises(ValueError, match="e_step"):
        fit(m, x, 1, e_step="fast")
    with pytest.raises(ValueError):
        DeepGMM(3, (2, 0))


def test_fit_sgd_improves():
    x = blobs(2000, 3, k=4, seed=7)
    m = DeepGMM(3, (2, 2), init_data=x, seed=0)
    before = float(exact_e_step(m, x)[1].mean())
    rec = fit_sgd(m, x, epochs=3, batch_size=250, lr=3e-2)
    after = float(exact_e_step(m, x)[1].mean())
    assert len(rec) == 3 and after > before
    assert bool(torch.isfinite(m.log_prob(x)).all())


def test_float32_data_and_tables():
    x = blobs(400, 3).float()
    m = DeepGMM(3, (2, 2), init_data=x)
    W, _, _ = path_tables(m, torch.float32)
    assert W.dtype == torch.float32
    fit(m, x, 2)
    np.testing.assert_allclose(m.log_prob(x).double(), m.log_prob(x.double()), atol=1e-3)


def test_cuda_e_step_matches_cpu():
    if not torch.cuda.is_available():
        print("SKIP reason: no CUDA device on this machine")
        pytest.skip("no CUDA device on this machine")
    x = blobs(2000, 4, k=4, seed=8)
    cpu = DeepGMM(4, (2, 3), init_data=x, seed=0)
    fit(cpu, x, 2)
    gpu = DeepGMM(4, (2, 3), seed=0, device="cuda")
    gpu.A = [a.cuda() for a in cpu.A]
    gpu.b = [v.cuda() for v in cpu.b]
    gpu.log_pi = cpu.log_pi.cuda()
    np.testing.assert_allclose(gpu.log_prob(x).cpu(), cpu.log_prob(x), atol=1e-8)
    p_cpu, _ = heuristic_e_step(cpu, x, cpu._paths, seed=3)
    p_gpu, _ = heuristic_e_step(gpu, x.cuda(), cpu._paths.cuda(), seed=3)
    assert float((p_gpu.cpu() == p_cpu).double().mean()) > 0.99
    fit(gpu, x.cuda(), 2)
    assert bool(torch.isfinite(gpu.log_prob(x)).all())


def test_the_package_has_no_import_cycles_and_the_model_sits_below_the_algorithms():
    """Every import inside ``genrepro.deepgmm`` (lazy ones too) points one way."""
    import ast
    from pathlib import Path

    import genrepro.deepgmm as pkg

    graph = {}
    for f in Path(pkg.__file__).parent.glob("*.py"):
        if f.name != "__init__.py":
            graph[f.stem] = {n.module.rsplit(".", 1)[1] for n in ast.walk(ast.parse(f.read_text()))
                             if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("genrepro.deepgmm.")}
    assert graph["model"] == set() and {"fit", "estep", "mstep", "distributed", "dist_main"} <= set(graph)

    def cycle_from(node, stack):
        if node in stack:
            return stack[stack.index(node):] + [node]
        for nxt in graph.get(node, ()):
            found = cycle_from(nxt, stack + [node])
            if found:
                return found
        return None

    cycles = [c for c in (cycle_from(m, []) for m in graph) if c]
    assert not cycles, f"import cycle: {' → '.join(cycles[0])}"


def test_exact_scoring_of_many_paths_keeps_many_points_per_block(monkeypatch):
    """all_scores (every path for every point: the exact scores of small nets, which the chapter's
    render pays for) works in 64 MiB blocks, not the search's small CPU chunks: with 2,500 paths
    of 63 dimensions a block must still hold many points, or exact scoring crawls (seen once)."""
    from genrepro.deepgmm import estep

    m = DeepGMM(63, (5, 5, 100), seed=0)
    x = torch.randn(500, 63, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    blocks, real = [], estep._score
    monkeypatch.setattr(estep, "_score", lambda xs, *t: blocks.append((len(xs), len(t[1]))) or real(xs, *t))
    s = estep.all_scores(m, x)
    assert s.shape == (500, 2500)
    assert min(n for n, _ in blocks[:-1]) >= 64 and sum(n for n, q in blocks if q == blocks[0][1]) >= 500
    want = m.path_log_likelihoods(x[:7]) + m.log_pi.reshape(-1)
    torch.testing.assert_close(s[:7], want, rtol=1e-9, atol=1e-7)
