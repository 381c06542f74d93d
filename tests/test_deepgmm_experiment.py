"""The Deep GMM chapter's experiment helpers (Figure 4 sweep, stopping rule, display)."""

import numpy as np
import pytest
import torch

from genrepro.deepgmm import DeepGMM, experiment


def data(n=600, d=6, seed=0):
    g = np.random.default_rng(seed)
    mix = g.integers(0, 3, n)
    centres = g.normal(size=(3, d)) * 3
    return torch.as_tensor(centres[mix] + g.normal(size=(n, d)) * 0.5)


def test_patches_to_images_restores_the_dropped_pixel():
    g = np.random.default_rng(0)
    full = g.normal(size=(5, 64))
    full -= full.mean(1, keepdims=True)
    img = experiment.patches_to_images(full[:, :63])
    np.testing.assert_allclose(img.reshape(5, 64), full, atol=1e-12)
    assert img.shape == (5, 8, 8)


def test_fit_until_respects_max_iterations_and_patience():
    x, v = data(), data(200, seed=1)
    m = DeepGMM(6, (2, 3), seed=0, init_data=x)
    recs = experiment.fit_until(m, x, v, max_iterations=3, patience=None, maxiter=20)
    assert len(recs) == 3
    m2 = DeepGMM(6, (2, 3), seed=0, init_data=x)
    recs2 = experiment.fit_until(m2, x, v, max_iterations=50, patience=1, maxiter=20, tol=1e9)
    assert len(recs2) == 2  # the first sets the bar; no later one can gain 1e9 nats
    assert recs[-1]["stopped"] == "max_iterations" and recs2[-1]["stopped"] == "patience"
    assert all("stopped" not in r for r in recs[:-1] + recs2[:-1])


def test_fit_until_time_limit_and_callback():
    x, v = data(), data(200, seed=1)
    m = DeepGMM(6, (2, 3), seed=0, init_data=x)
    seen = []
    recs = experiment.fit_until(m, x, v, max_iterations=50, patience=None, maxiter=20,
                                time_limit_s=0.0, callback=lambda model, rec: seen.append(rec))
    assert len(recs) == 1 and recs[0]["stopped"] == "time_limit"  # the first iteration ends late
    assert seen == recs


def test_fit_until_soft_em_stops_on_the_exact_validation_score():
    x, v = data(), data(200, seed=1)
    m = DeepGMM(6, (3,), seed=0, init_data=x)
    recs = experiment.fit_until(m, x, v, max_iterations=50, patience=2, maxiter=20, tol=1e-6,
                                e_step="soft")
    assert all(r["e_step"] == "soft" for r in recs) and recs[-1]["stopped"] in ("patience", "max_iterations")
    scores = [r["valid_exact"] for r in recs]
    assert scores[-1] == pytest.approx(float(m.log_prob(v).mean()))
    if recs[-1]["stopped"] == "patience":  # the last two gained < tol over the best before them
        assert max(scores[-2:]) <= max(scores[:-2]) + 1e-6
    # soft EM never lowers the training log-likelihood (the E-step score is the old model's)
    train = [r["train_e_step"] for r in recs]
    assert all(b >= a - 1e-9 for a, b in zip(train, train[1:]))
    with pytest.raises(ValueError, match="e_step"):
        experiment.fit_until(m, x, v, max_iterations=1, patience=None, maxiter=20, e_step="hard")


def test_sweep_and_best_per_depth():
    x, v, t = data(), data(200, seed=1), data(200, seed=2)
    res = experiment.sweep(x, v, t, tops=(2, 3), depths=(1, 2), lower=2, max_iterations=2, maxiter=20)
    assert [r.layers for r in res] == [(2,), (3,), (2, 2), (2, 3)]
    for r in res:
        assert np.isfinite(r.test) and r.test_se > 0
        assert r.test == pytest.approx(float(r.model.log_prob(t).mean()))
    best = experiment.best_per_depth(res)
    assert set(best) == {1, 2}
    assert best[1].valid == max(r.valid for r in res if len(r.layers) == 1)


def test_singular_path_covariance_is_a_clear_error(monkeypatch):
    """A failed Cholesky inside the M-step (hard-EM with reg = 0 can leave a path with fewer
    points than dimensions; seen on the stand-in patches) becomes an error naming the fix."""
    from genrepro.deepgmm import fit, mstep

    x = data()

    def singular(*args, **kwargs):
        raise torch.linalg.LinAlgError("linalg.cholesky: the input is not positive-definite")

    monkeypatch.setattr(mstep, "layer_node_stats", singular)
    with pytest.raises(mstep.SingularModelError, match=r"reg=1e-6"):
        fit(DeepGMM(6, (2, 2), seed=0, init_data=x), x, 1, maxiter=10)


def test_reg_floor_on_natural_photo_patches():
    from genrepro.data.patches import load_patches
    from genrepro.deepgmm import fit

    x = torch.as_tensor(load_patches("train", "quick", source="photos").x[:2000], dtype=torch.float64)
    m = DeepGMM(63, (3, 3, 4), seed=0, init_data=x, reg=1e-6)
    fit(m, x, 2, maxiter=30)
    assert np.isfinite(m.score(x))
