"""GAN model, schedule, fault handling (NaN, kill and resume) and the 1-D theory."""

import math
import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import replace

import numpy as np
import pytest
import torch

from genrepro.gan import (
    GANConfig,
    Generator,
    TrainConfig,
    Trainer,
    TrainingDiverged,
    analysis,
    momentum_at,
    sample_noise,
    theory,
)
from genrepro.gan.model import Discriminator

TINY = GANConfig(data_dim=16, noise_dim=4, g_hidden=(8, 8), d_units=(6, 6), d_pieces=2)


def tiny_data(n=200, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 16, generator=g)


def tiny_cfg(**kw):
    base = dict(epochs=3, steps_per_epoch=5, batch_size=20, monitor_every=2, monitor_samples=50,
                monitor_valid=20, seed=1)
    base.update(kw)
    return TrainConfig(**base)


def test_generator_init_as_original():
    means = torch.full((784,), 0.13)
    G = Generator(GANConfig.mnist(), pixel_means=means)
    out = G.net[-1]
    np.testing.assert_allclose(out.bias.detach().numpy(), math.log(0.13 / 0.87), rtol=1e-5)
    assert out.weight.abs().max() <= 0.05
    assert G(torch.zeros(3, 100)).shape == (3, 784)


def test_momentum_schedule_matches_pylearn2():
    cfg = TrainConfig()
    assert momentum_at(cfg, 0) == momentum_at(cfg, 1) == 0.5
    assert momentum_at(cfg, 250) == pytest.approx(0.7) and momentum_at(cfg, 400) == pytest.approx(0.7)
    assert momentum_at(cfg, 125.5) == pytest.approx(0.6)


def test_learning_rate_decays_per_update(tmp_path):
    t = Trainer(TINY, tiny_cfg(), tiny_data(), tiny_data(40, 1), tmp_path)
    for _ in range(3):
        t.train_step(tiny_data(20), 0.5)
    assert t.lr == pytest.approx(0.1 / 1.000004 ** 3)


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    t = Trainer(TINY, tiny_cfg(epochs=1), tiny_data(), tiny_data(40, 1), tmp_path)
    t.train(progress=False)
    good = (tmp_path / "last.pt").read_bytes()
    t2 = Trainer(TINY, tiny_cfg(epochs=2), tiny_data(), tiny_data(40, 1), tmp_path / "b")
    with torch.no_grad():
        t2.D.net[-1].weight.fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match=r"non-finite loss at step 1 \(epoch 1\)"):
        t2.train(progress=False)
    assert not (tmp_path / "b" / "last.pt").exists()
    assert (tmp_path / "last.pt").read_bytes() == good


def test_interrupted_run_resumes_to_the_same_result(tmp_path):
    full = Trainer(TINY, tiny_cfg(), tiny_data(), tiny_data(40, 1), tmp_path / "full")
    full.train(progress=False)

    class Killed(Exception):
        pass

    def kill_at(step):
        if step == 12:  # mid-way through epoch 3
            raise Killed

    part = Trainer(TINY, tiny_cfg(), tiny_data(), tiny_data(40, 1), tmp_path / "part")
    with pytest.raises(Killed):
        part.train(progress=False, on_step=kill_at)
    resumed = Trainer(TINY, tiny_cfg(), tiny_data(), tiny_data(40, 1), tmp_path / "part")
    resumed.train(progress=False)
    for a, b in zip(full.G.state_dict().values(), resumed.G.state_dict().values()):
        assert torch.equal(a, b)
    assert [h["g_loss"] for h in full.history] == [h["g_loss"] for h in resumed.history]


def test_sigkill_mid_run_then_resume(tmp_path):
    """A real SIGKILL in a subprocess, then resume: same weights as an uninterrupted run."""
    script = textwrap.dedent(f"""
        import os, signal, sys, torch
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from test_gan import TINY, tiny_cfg, tiny_data
        from genrepro.gan import Trainer
        t = Trainer(TINY, tiny_cfg(), tiny_data(), tiny_data(40, 1), sys.argv[1])
        t.train(progress=False, on_step=lambda s: s == 13 and os.kill(os.getpid(), signal.SIGKILL))
    """)
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path / "k")], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    assert torch.load(tmp_path / "k" / "last.pt", weights_only=False)["epoch"] == 2
    resumed = Trainer(TINY, tiny_cfg(), tiny_data(), tiny_data(40, 1), tmp_path / "k")
    resumed.train(progress=False)
    full = Trainer(TINY, tiny_cfg(), tiny_data(), tiny_data(40, 1), tmp_path / "full")
    full.train(progress=False)
    for a, b in zip(full.G.state_dict().values(), resumed.G.state_dict().values()):
        assert torch.equal(a, b)


def test_checkpoint_from_other_settings_is_refused(tmp_path):
    Trainer(TINY, tiny_cfg(epochs=1), tiny_data(), tiny_data(40, 1), tmp_path).train(progress=False)
    other = Trainer(TINY, tiny_cfg(epochs=1, batch_size=10), tiny_data(), tiny_data(40, 1), tmp_path)
    with pytest.raises(ValueError, match="other settings"):
        other.train(progress=False)


def test_a_finished_run_trains_on_to_more_epochs_as_if_never_stopped(tmp_path):
    """The gan-mnist job grows from 300 to 1,000 epochs: epoch e of the short run is epoch e
    of the long one, so a finished checkpoint resumes (only ``epochs`` may differ)."""
    Trainer(TINY, tiny_cfg(epochs=2), tiny_data(), tiny_data(40, 1), tmp_path / "a").train(progress=False)
    longer = Trainer(TINY, tiny_cfg(epochs=4), tiny_data(), tiny_data(40, 1), tmp_path / "a")
    longer.train(progress=False)
    assert longer.resumed_from == 2
    straight = Trainer(TINY, tiny_cfg(epochs=4), tiny_data(), tiny_data(40, 1), tmp_path / "b")
    straight.train(progress=False)
    for a, b in zip(straight.G.state_dict().values(), longer.G.state_dict().values()):
        assert torch.equal(a, b)
    assert [h["g_loss"] for h in straight.history] == [h["g_loss"] for h in longer.history]
    assert [h.get("valid_parzen") for h in straight.history] == [h.get("valid_parzen") for h in longer.history]


def test_checkpoint_without_a_later_added_setting_resumes_only_at_its_default(tmp_path):
    """A checkpoint written before ``GANConfig.noise`` existed resumes as uniform noise (the
    default it ran with), never as Gaussian."""
    t = Trainer(TINY, tiny_cfg(epochs=1), tiny_data(), tiny_data(40, 1), tmp_path)
    t.train(progress=False)
    st = torch.load(t.last_path, weights_only=False)
    del st["gan_config"]["noise"]
    torch.save(st, t.last_path)
    Trainer(TINY, tiny_cfg(epochs=2), tiny_data(), tiny_data(40, 1), tmp_path).train(progress=False)
    gauss = Trainer(replace(TINY, noise="gaussian"), tiny_cfg(epochs=3), tiny_data(), tiny_data(40, 1), tmp_path)
    with pytest.raises(ValueError, match="other settings"):
        gauss.train(progress=False)


def test_noise_priors():
    g = torch.Generator().manual_seed(0)
    u = sample_noise(20_000, 10, g)
    z = sample_noise(20_000, 10, g, kind="gaussian")
    assert u.abs().max() <= math.sqrt(3) and u.std().item() == pytest.approx(1.0, abs=0.02)
    assert z.abs().max() > 3.0 and z.std().item() == pytest.approx(1.0, abs=0.02)
    G = Generator(replace(TINY, noise="gaussian"))
    assert G.noise(5000, torch.Generator().manual_seed(1)).abs().max() > math.sqrt(3)
    with pytest.raises(ValueError, match="noise must be one of"):
        GANConfig(noise="laplace")
    with pytest.raises(ValueError, match="noise kind"):
        sample_noise(2, 2, kind="laplace")


def test_best_checkpoint_is_the_best_validation_score(tmp_path):
    t = Trainer(TINY, tiny_cfg(epochs=4, monitor_every=1), tiny_data(), tiny_data(40, 1), tmp_path)
    hist = t.train(progress=False)
    scores = [h["valid_parzen"] for h in hist]
    rec = t.load_best()
    assert rec["valid_parzen"] == max(scores) and rec["epoch"] == 1 + int(np.argmax(scores))


def test_theorem1_on_known_densities():
    x = np.linspace(-10, 10, 20001)
    dx = x[1] - x[0]
    gauss = lambda m, s: np.exp(-0.5 * ((x - m) / s) ** 2) / (s * math.sqrt(2 * math.pi))
    pd, pg = gauss(0, 1), gauss(1.5, 0.7)
    c = theory.c_of_g(pd, pg, dx)
    assert c == pytest.approx(-math.log(4) + 2 * theory.jsd(pd, pg, dx), abs=1e-9)
    assert theory.c_of_g(pd, pd, dx) == pytest.approx(-math.log(4), abs=1e-6)
    d_star = theory.optimal_discriminator(pd, pg)
    assert theory.value(pd, pg, d_star, dx) == pytest.approx(c, abs=1e-6)
    assert theory.value(pd, pg, np.full_like(x, 0.3), dx) < c  # any other D does worse


def test_proposition1_trained_d_matches_optimal_d():
    toy = theory.ToyGAN(theory.Toy1D(), seed=0)
    toy.train(50)
    assert np.sum(toy.p_g()) * toy.dx == pytest.approx(1.0, abs=1e-6)
    r = theory.proposition1_check(theory.Toy1D(), seed=0, d_steps=300)
    assert np.sum(r["p_g"]) * (r["x"][1] - r["x"][0]) == pytest.approx(1.0, abs=1e-3)
    assert r["weighted_abs_error"] < 0.03


def test_nearest_neighbours_and_interpolation():
    train = torch.eye(5)
    q = train[[3, 1]] * 0.9
    assert analysis.nearest_neighbours(q, train).tolist() == [3, 1]
    G = Generator(TINY)
    out = analysis.interpolate(G, n_rows=2, steps=5, seed=0)
    assert out.shape == (2, 5, 16)


def test_max_col_norm_constraint_holds_after_updates(tmp_path):
    cfg = GANConfig(data_dim=16, noise_dim=4, g_hidden=(8, 8), d_units=(6, 6), d_pieces=2, max_col_norm=0.05)
    t = Trainer(cfg, tiny_cfg(), tiny_data(), tiny_data(40, 1), tmp_path)
    for _ in range(3):
        t.train_step(tiny_data(20), 0.5)
    for net in (t.G, t.D):
        for layer in net.modules():
            if isinstance(layer, torch.nn.Linear):
                assert layer.weight.norm(dim=1).max() <= 0.05 + 1e-6


def _settings(**kw):
    s = dict(faces_epochs=1, faces_g_width=8, faces_d_units=4, steps_per_epoch=3, monitor_every=1,
             monitor_samples=30, monitor_valid=10, parzen_samples=30, parzen_valid=10, parzen_test=10,
             tfd_folds=2)
    s.update(kw)
    return s


def test_faces_experiment_on_a_tiny_fake_tfd(tmp_path):
    from scipy.io import savemat

    from genrepro.data import tfd
    from genrepro.gan import experiment

    rng = np.random.default_rng(0)
    folds = np.tile(np.repeat([0, 1, 2, 3], 15)[:, None], (1, 5)).astype(float)
    savemat(tmp_path / "TFD_48x48.mat", {"images": rng.integers(0, 256, (60, 48, 48)).astype(np.uint8),
                                         "folds": folds})
    tfd.prepare(tmp_path / "TFD_48x48.mat", tmp_path / "tfd")
    r = experiment.faces_experiment(_settings(), "quick", 0, tmp_path / "ck", progress=False,
                                    tfd_path=tmp_path / "tfd").result
    assert r["dataset"] == "TFD" and not r["stand_in"] and len(r["folds"]) == 2
    means = [f["mean"] for f in r["folds"]]
    assert r["parzen_mean"] == pytest.approx(np.mean(means))
    assert r["parzen_se"] == pytest.approx(np.std(means) / math.sqrt(2))


def test_faces_experiment_stand_in_is_labelled(tmp_path):
    import json

    from genrepro.data import faces
    from genrepro.gan import experiment

    folder = tmp_path / "faces"
    folder.mkdir()
    np.savez(folder / "flat.npz", images=np.random.default_rng(0).integers(0, 256, (50, 48, 48)).astype(np.uint8))
    (folder / "manifest.json").write_text(json.dumps({"profiles": {"quick": {"flat_faces": {"file": "flat.npz"}}}}))
    run = experiment.faces_experiment(_settings(), "quick", 0, tmp_path / "ck", progress=False,
                                      tfd_path=tmp_path / "no-tfd", faces_path=folder)
    r = run.result
    assert run.train is not None and run.train.shape == (40, 2304)
    assert r["stand_in"] and r["dataset"] == faces.STAND_IN_LABEL == "rendered faces (stand-in for TFD)"
    assert (r["n_train"], r["n_valid"], r["n_test"]) == (40, 5, 5)
    assert math.isfinite(r["parzen_mean"])


def test_dropout_keeps_units_with_the_stated_probability_and_scales():
    from genrepro.gan.model import Dropout

    torch.manual_seed(0)
    drop = Dropout(0.8)
    x = torch.ones(400, 500, requires_grad=True)
    y = drop(x)
    kept = y != 0
    assert abs(kept.float().mean().item() - 0.8) < 0.005
    assert torch.allclose(y[kept], torch.full_like(y[kept], 1.25))
    y.sum().backward()   # the gradient goes through the same mask
    assert torch.equal(x.grad, y.detach())
    drop.eval()
    assert drop(x) is x
    with pytest.raises(ValueError, match="keep probability"):
        Dropout(0.0)


def test_one_discriminator_pass_gives_each_row_its_own_mask(tmp_path):
    """The step scores [real; generated] in one D pass: rows must not share a dropout mask."""
    torch.manual_seed(0)
    d = Discriminator(GANConfig.mnist())
    x = torch.full((2, 784), 0.5)
    logits = d(x)
    assert logits[0] != logits[1]
    d.eval()
    logits = d(x)
    assert logits[0] == logits[1]
