"""DC-IGN (Kulkarni et al. 2015): clamp, model, loss, batches, training, analysis."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from genrepro.data import face_model as fm
from genrepro.data.faces import AZ_VARIED, EL_VARIED, KINDS, LIGHT_VARIED, SHAPE_VARIED, FaceTestSet
from genrepro.dcign.batches import Batch
from genrepro.dcign import (
    CHAIR_AZ,
    CHAIR_ID,
    DCIGN,
    ChairSource,
    DCIGNConfig,
    FaceSource,
    TrainConfig,
    Trainer,
    TrainingDiverged,
    abs_pearson,
    azimuth_latent_of_baseline,
    binned_mean,
    calibrate_azimuth,
    chair_active,
    check_active,
    clamp_latents,
    disentanglement,
    encode,
    face_active,
    kind_sequence,
    latent_sweep,
    mirror_tie,
    moment_tie,
    novel_view_errors,
    other_latents_movement,
    reconstruction_mse,
    sgvb_loss,
    swapped_code,
)
from genrepro.dcign.clamp import active_mask

# 32 px: 32 →(3) 30 → 15 →(3) 13 → 6; decoder 6 → 12 →(3) 10 → 20 →(3) 18 → 36 →(5) 32
TINY = DCIGNConfig(image_size=32, enc_channels=(4, 4), enc_kernel=3, dec_channels=(4, 4),
                   dec_kernels=(3, 3, 5), latent_dim=200)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread: these ops are tiny, and on a shared 2-core machine a second thread
    mostly waits at OpenMP barriers (see benchmarks/README.md)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def face_model(tiny_face_model) -> fm.FaceModel:
    return tiny_face_model


# --- clamp_latents (§3.1 step 5, §3.2) ---------------------------------------------------

@pytest.mark.parametrize("active", [[1, 4], [0], list(range(3, 7))])
def test_clamp_forward_and_backward_exact(active):
    torch.manual_seed(0)
    z = torch.randn(6, 7, dtype=torch.float64, requires_grad=True)
    inv = 0.01
    out = clamp_latents(z, active, inv)
    clamped = [j for j in range(7) if j not in active]
    mean = z.detach().mean(0, keepdim=True)
    want = z.detach().clone()
    want[:, clamped] = mean.expand(6, 7)[:, clamped]
    assert torch.equal(out.detach(), want)
    g = torch.randn(6, 7, dtype=torch.float64)
    (grad,) = torch.autograd.grad(out, z, grad_outputs=g)
    want_g = inv * (z.detach() - mean)
    want_g[:, active] = g[:, active]
    assert torch.equal(grad, want_g)
    # through a real downstream loss as well
    z2 = z.detach().clone().requires_grad_(True)
    loss = (clamp_latents(z2, active, 0.0) ** 3).sum()
    (grad2,) = torch.autograd.grad(loss, z2)
    assert torch.equal(grad2[:, active], 3 * z.detach()[:, active] ** 2)
    assert torch.equal(grad2[:, clamped], torch.zeros(6, len(clamped), dtype=torch.float64))


def test_clamp_invariance_gradient_pulls_the_batch_together():
    torch.manual_seed(1)
    z = torch.randn(20, 5, requires_grad=True)
    out = clamp_latents(z, [0], 0.01)
    (grad,) = torch.autograd.grad(out.sum(), z)
    stepped = z.detach() - 10.0 * grad          # one gradient-descent step
    assert (stepped[:, 1:].var(0) < z.detach()[:, 1:].var(0)).all()


@pytest.mark.parametrize("bad", [[], [0, 0], [5], [-1], [0.5], [True], torch.tensor([0.0]),
                                 np.array([1.0]), "ab", 3, torch.tensor([], dtype=torch.long)])
def test_clamp_rejects_invalid_active(bad):
    with pytest.raises(ValueError):
        clamp_latents(torch.zeros(4, 5), bad)


def test_clamp_other_errors_and_accepted_forms():
    with pytest.raises(ValueError):
        clamp_latents(torch.zeros(5), [0])
    with pytest.raises(ValueError):
        clamp_latents(torch.zeros(4, 5), [0], invariance=-1.0)
    assert check_active(range(3, 5), 5) == [3, 4]
    assert check_active(np.array([4, 1]), 5) == [1, 4]
    assert check_active(torch.tensor([2]), 5) == [2]


# --- model and loss (§3) -------------------------------------------------------------------

def test_full_config_is_the_original_network():
    cfg = DCIGNConfig.full()
    assert cfg.encoder_sizes() == [150, 146, 73, 69, 34, 30, 15]
    assert cfg.decoder_sizes() == [15, 30, 24, 48, 42, 84, 78, 156, 150]
    assert cfg.feature_dim == 5400
    net = DCIGN(cfg)
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [
        (1, 96, (5, 5)), (96, 48, (5, 5)), (48, 24, (5, 5)),
        (24, 48, (7, 7)), (48, 96, (7, 7)), (96, 96, (7, 7)), (96, 1, (7, 7))]
    with torch.no_grad():
        logits, mu, logvar = net(torch.rand(2, 1, 150, 150), active=[0])
    assert logits.shape == (2, 1, 150, 150) and mu.shape == logvar.shape == (2, 200)


def test_kl_gradient_of_clamped_latents_is_discarded_as_in_the_original():
    """monovariant_main.lua computes the KLD on the encoder output after SelectiveOutputClamp
    and back-propagates it through SelectiveGradientFilter: a clamped latent's μ receives only
    the invariance pull; the active latent's μ gets the KL gradient; log σ² always does."""
    torch.manual_seed(0)
    mu = torch.randn(6, 200, requires_grad=True)
    logvar = torch.randn(6, 200, requires_grad=True)

    class Head(DCIGN):
        def encode(self, x):
            return mu, logvar
    net = Head(TINY)
    _, m, lv = net(torch.rand(6, 1, 32, 32), active=[1], invariance=0.5, sample=False)
    assert torch.equal(m[:, 0], mu[:, 0].mean().expand(6))           # clamped forward
    from genrepro.dcign import kl_divergence
    kl_divergence(m, lv).backward()
    dev = (mu - mu.mean(0, keepdim=True)).detach()
    assert torch.allclose(mu.grad[:, 0], 0.5 * dev[:, 0])              # invariance only, no KL pull
    assert torch.allclose(mu.grad[:, 1], mu[:, 1].detach())            # d KL / d mu = mu (active)
    assert torch.allclose(logvar.grad, 0.5 * (logvar.exp() - 1).detach())
    _, m0, _ = net(torch.rand(6, 1, 32, 32), active=None, sample=False)
    assert m0 is mu                                                      # baseline: the raw μ


def test_quick_and_tiny_configs_close_their_size_chains():
    q = DCIGNConfig.quick()
    assert q.encoder_sizes()[-1] == 6 and q.decoder_sizes()[-1] == 64
    assert DCIGNConfig.from_profile("quick") == q and DCIGNConfig.from_profile("full") == DCIGNConfig.full()
    with torch.no_grad():
        assert DCIGN(q)(torch.rand(2, 1, 64, 64))[0].shape == (2, 1, 64, 64)
        assert DCIGN(TINY)(torch.rand(3, 1, 32, 32))[0].shape == (3, 1, 32, 32)
    with pytest.raises(ValueError, match="size chain"):
        DCIGN(DCIGNConfig(image_size=64))
    with pytest.raises(ValueError, match="image sizes that close with these kernels: 64"):
        DCIGN(DCIGNConfig(image_size=66, enc_channels=(4, 4, 4), enc_kernel=3, dec_channels=(4, 4, 4),
                          dec_kernels=(3, 3, 3, 5)))
    r = DCIGNConfig.reduced()
    assert r.image_size == 64 and r.enc_channels == (24, 12, 12) and DCIGN(r)(torch.rand(1, 1, 64, 64))[0].shape[-1] == 64


def test_loss_is_summed_bce_plus_closed_form_kl():
    torch.manual_seed(0)
    logits, x = torch.randn(3, 1, 8, 8, dtype=torch.float64), torch.rand(3, 1, 8, 8, dtype=torch.float64)
    mu, logvar = torch.randn(3, 10, dtype=torch.float64), torch.randn(3, 10, dtype=torch.float64)
    loss, bce, kl = sgvb_loss(logits, x, mu, logvar)
    want_bce = F.binary_cross_entropy(torch.sigmoid(logits), x, reduction="sum")
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    want_kl = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).sum()
    assert torch.allclose(bce.double(), want_bce, rtol=1e-5)
    assert torch.allclose(kl.double(), want_kl, rtol=1e-5)
    assert torch.allclose(loss, bce + kl)


def test_decoder_input_is_clamped_mean_plus_noise():
    torch.manual_seed(0)
    mu, logvar = torch.randn(5, 200), torch.full((5, 200), -2.0)
    z = DCIGN.latents(mu, logvar, active=[2], sample=False)
    assert torch.equal(z[:, 2], mu[:, 2]) and torch.allclose(z[:, 0], mu[:, 0].mean().expand(5))
    assert torch.equal(DCIGN.latents(mu, logvar, None, sample=False), mu)


# --- batches (§3.2, §4.2) ------------------------------------------------------------------

def test_kind_ratio_and_active_sets():
    seq = kind_sequence(130_000, (1, 1, 1, 10), seed=3)
    frac = np.bincount(seq, minlength=4) / len(seq)
    assert np.allclose(frac, np.array([1, 1, 1, 10]) / 13, atol=0.004)
    assert np.array_equal(seq, kind_sequence(130_000, (1, 1, 1, 10), seed=3))
    assert face_active(AZ_VARIED) == [0] and face_active(EL_VARIED) == [1]
    assert face_active(LIGHT_VARIED) == [2] and face_active(SHAPE_VARIED) == list(range(3, 200))
    assert chair_active(CHAIR_AZ) == [0] and chair_active(CHAIR_ID) == list(range(1, 200))
    with pytest.raises(ValueError):
        face_active("NOPE")


def test_face_source_is_deterministic_and_labels_kinds(face_model):
    a, b = (FaceSource(face_model, 32, steps=30, seed=5) for _ in range(2))
    for step in (0, 7, 29):
        ba, bb = a.batch(step), b.batch(step)
        assert torch.equal(ba.images, bb.images) and ba.images.shape == (20, 1, 32, 32)
        assert ba.kind == KINDS[a.kinds[step]] and ba.active == face_active(ba.kind)
    for k in range(4):   # the k-th batch of a kind is FaceBatches(...).batch(kind, k)
        assert list(a.index[a.kinds == k]) == list(range(int((a.kinds == k).sum())))


class _FakeChairs:
    def __init__(self, n_models: int, size: int = 16):
        m, v = np.meshgrid(np.arange(n_models), np.arange(62), indexing="ij")
        code = (m * 62 + v).astype(np.uint8)     # pixel value identifies (model, view)
        self.images = np.broadcast_to(code[..., None, None], (n_models, 62, size, size)).copy()
        self.azimuth = np.tile(np.arange(31) * 360 / 31, 2)
        self.elevation = np.repeat([20.0, 30.0], 31)


def test_chair_batches_follow_the_scheme():
    src = ChairSource(_FakeChairs(3), 16, steps=40, seed=0)
    kinds = set()
    for step in range(40):
        b = src.batch(step)
        kinds.add(b.kind)
        code = np.rint(b.images[:, 0, 0, 0].numpy() * 255).astype(int)
        model, view = code // 62, code % 62
        assert b.images.shape == (20, 1, 16, 16)
        if b.kind == CHAIR_AZ:      # one chair, one elevation, distinct azimuths
            assert len(set(model)) == 1 and len(set(view // 31)) == 1 and len(set(view)) == 20
            assert b.active == [0]
        else:                       # one view, several chairs (3 < 20: with replacement)
            assert len(set(view)) == 1 and len(set(model)) > 1 and b.active == list(range(1, 200))
    assert kinds == {CHAIR_AZ, CHAIR_ID}
    assert ChairSource(_FakeChairs(2), 8, steps=2).batch(0).images.shape == (20, 1, 8, 8)


# --- training: resume, NaN, settings (§3.2) --------------------------------------------------

def _trainer(face_model, tmp, steps=6, **kw) -> Trainer:
    tcfg = TrainConfig(steps=steps, checkpoint_every=2, log_every=3, **kw)
    return Trainer(TINY, tcfg, FaceSource(face_model, 32, steps, seed=0), tmp)


def _strip(history):
    return [{k: v for k, v in h.items() if k != "seconds"} for h in history]


@pytest.mark.parametrize("mirror, swap", [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)])
def test_resume_after_kill_is_bit_identical(face_model, tmp_path, mirror, swap):
    full = _trainer(face_model, tmp_path / "a", mirror=mirror, swap=swap)
    full.train(progress=False)

    class Killed(Exception):
        pass

    def kill(step):
        if step == 5:
            raise Killed

    part = _trainer(face_model, tmp_path / "b", mirror=mirror, swap=swap)
    with pytest.raises(Killed):
        part.train(on_step=kill, progress=False)
    resumed = _trainer(face_model, tmp_path / "b", mirror=mirror, swap=swap)
    resumed.train(progress=False)
    assert resumed.resumed_from == 4
    for p, q in zip(full.model.parameters(), resumed.model.parameters()):
        assert torch.equal(p, q)
    assert _strip(full.history) == _strip(resumed.history)
    assert full.history[-1]["step"] == 6 and sum(full.history[0]["kinds"].values()) == 3


def test_compiled_training_follows_the_eager_run_resumes_bit_identically_and_keeps_its_keys(face_model, tmp_path):
    """``TrainConfig.compile``: the same computation as eager (weights within float rounding after a
    few mirror + swap steps), a killed-and-resumed compiled run equal to an uninterrupted one, the
    state dict's keys those of an eager network (checkpoints and publications interchangeable), and
    an eager run's settings without the field (the tags of older checkpoints stand)."""
    kw = {"mirror": 1.0, "swap": 1.0, "invariance": 1.0}
    eager = _trainer(face_model, tmp_path / "e", **kw)
    eager.train(progress=False)
    comp = _trainer(face_model, tmp_path / "c", compile=True, **kw)
    comp.train(progress=False)
    assert list(comp.model.state_dict()) == list(eager.model.state_dict())
    assert "compile" not in eager.settings()["train"] and comp.settings()["train"]["compile"] is True
    for (name, p), q in zip(eager.model.named_parameters(), comp.model.parameters()):
        torch.testing.assert_close(q, p, rtol=1e-4, atol=1e-5, msg=name)

    class Killed(Exception):
        pass

    def kill(step):
        if step == 5:
            raise Killed

    part = _trainer(face_model, tmp_path / "k", compile=True, **kw)
    with pytest.raises(Killed):
        part.train(on_step=kill, progress=False)
    resumed = _trainer(face_model, tmp_path / "k", compile=True, **kw)
    resumed.train(progress=False)
    assert resumed.resumed_from == 4
    for p, q in zip(comp.model.parameters(), resumed.model.parameters()):
        assert torch.equal(p, q)
    assert _strip(comp.history) == _strip(resumed.history)
    with pytest.raises(ValueError, match="other settings"):   # an eager checkpoint is not a compiled run's
        _trainer(face_model, tmp_path / "e", compile=True, **kw).train(progress=False)


def test_lr_decay_follows_its_cosine_resumes_bit_identically_and_stays_out_of_constant_runs(face_model, tmp_path):
    """``TrainConfig.lr_final``: the cosine from ``lr`` at the first update to ``lr_final`` at the end,
    used by every update (the weights differ from a constant-rate run's from the second update on), a
    killed-and-resumed run equal to an uninterrupted one, a constant run's settings without the field
    (older tags stand), and a decay that rises or is not a number refused with what to pass."""
    cfg = TrainConfig(steps=4, lr=1e-3, lr_final=1e-4)
    assert [round(cfg.lr_at(t), 10) for t in (0, 2, 4, 9)] == [1e-3, 5.5e-4, 1e-4, 1e-4]
    assert TrainConfig(lr=1e-3).lr_at(3) == 1e-3
    seen = []

    class Spy(Trainer):
        def train_step(self, batch):
            out = super().train_step(batch)
            seen.append(self.opt.param_groups[0]["lr"])
            return out

    kw = {"lr": 1e-3, "lr_final": 1e-4}
    full = Spy(TINY, TrainConfig(steps=6, checkpoint_every=2, log_every=3, **kw), FaceSource(face_model, 32, 6, seed=0),
               tmp_path / "a")
    full.train(progress=False)
    assert seen == pytest.approx([full.tcfg.lr_at(t) for t in range(6)]) and seen[0] == 1e-3 and seen[-1] < 2e-4
    assert full.settings()["train"]["lr_final"] == 1e-4
    const = _trainer(face_model, tmp_path / "c", lr=1e-3)
    const.train(progress=False)
    assert "lr_final" not in const.settings()["train"]
    assert not all(torch.equal(p, q) for p, q in zip(full.model.parameters(), const.model.parameters()))

    class Killed(Exception):
        pass

    def kill(step):
        if step == 3:
            raise Killed

    part = _trainer(face_model, tmp_path / "k", **kw)
    with pytest.raises(Killed):
        part.train(on_step=kill, progress=False)
    resumed = _trainer(face_model, tmp_path / "k", **kw)
    resumed.train(progress=False)
    assert resumed.resumed_from == 2
    for p, q in zip(full.model.parameters(), resumed.model.parameters()):
        assert torch.equal(p, q)
    assert _strip(full.history) == _strip(resumed.history)
    with pytest.raises(ValueError, match="other settings"):   # a constant-rate checkpoint is not a decaying run's
        _trainer(face_model, tmp_path / "c", **kw).train(progress=False)
    for bad in (2e-3, -1.0, True, "0.0001"):
        with pytest.raises(ValueError, match="lr_final must be None .* from 0 to lr"):
            TrainConfig(lr=1e-3, lr_final=bad)
    with pytest.raises(ValueError, match="compile must be True or False"):
        TrainConfig(compile="yes")


def test_monitor_curve_survives_a_resume_and_leaves_training_untouched(face_model, tmp_path):
    """The |r|-against-steps monitor runs at 0 and every k steps in eval mode; its curve is in
    the checkpoint, so a killed-and-resumed run has the same curve and the same weights."""
    calls = []

    def monitor(model):
        calls.append(model.training)
        return {"w": float(model.mu.weight.sum())}

    def trainer(tmp, **kw):
        tcfg = TrainConfig(steps=6, checkpoint_every=2, log_every=3)
        return Trainer(TINY, tcfg, FaceSource(face_model, 32, 6, seed=0), tmp, monitor=monitor, monitor_every=3)

    plain = _trainer(face_model, tmp_path / "plain")
    plain.train(progress=False)
    full = trainer(tmp_path / "a")
    full.train(progress=False)
    assert [e["step"] for e in full.evals] == [0, 3, 6] and calls == [False] * 3
    for p, q in zip(plain.model.parameters(), full.model.parameters()):
        assert torch.equal(p, q)                      # monitoring changed nothing

    class Killed(Exception):
        pass

    def kill(step):
        if step == 5:
            raise Killed

    part = trainer(tmp_path / "b")
    with pytest.raises(Killed):
        part.train(on_step=kill, progress=False)
    resumed = trainer(tmp_path / "b")
    resumed.train(progress=False)
    assert resumed.resumed_from == 4 and resumed.evals == full.evals
    with pytest.raises(ValueError, match="monitor_every"):
        Trainer(TINY, TrainConfig(steps=2), FaceSource(face_model, 32, 2), tmp_path / "c",
                monitor=monitor, monitor_every=0)


def test_mirror_tie_measures_the_mirror_symmetry_of_azimuth_elevation_and_light():
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(4, 200, generator=g)
    flipped = torch.randn(4, 200, generator=g)
    flipped[:, :3] = mu[:, :3] * torch.tensor([-1.0, 1.0, -1.0])   # z1, z3 odd; z2 even
    assert mirror_tie(mu, flipped).item() == 0.0                   # z4… (identity) are free
    flipped[2, 1] += 0.5                                           # z2 differs on one image
    assert mirror_tie(mu, flipped).item() == pytest.approx(0.25)
    flipped[:, 0] *= -1                                            # z1 even: the wrong symmetry
    assert mirror_tie(mu, flipped).item() == pytest.approx(0.25 + 4 * mu[:, 0].pow(2).sum().item())
    with pytest.raises(ValueError, match="same shape|one shape"):
        mirror_tie(mu, flipped[:3])
    with pytest.raises(ValueError, match=">= 3"):
        mirror_tie(mu[:, :2], flipped[:, :2])
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="mirror must be a finite weight"):
            TrainConfig(mirror=bad)


def test_mirror_tie_training_makes_a_batch_and_its_mirror_encode_symmetrically(face_model, tmp_path):
    """Same init, data and noise: with the tie on, the encodings of held-out faces and of their
    mirror images end closer to the symmetry; the tie is logged, the bound's loss kept apart."""
    batches = FaceSource(face_model, 32, 40, seed=5)
    x = torch.cat([batches.batch(i).images for i in range(3)])

    def tie_after(mirror: float) -> tuple[float, Trainer]:
        tr = _trainer(face_model, tmp_path / f"m{mirror}", steps=12, mirror=mirror, lr=2e-3)
        tr.train(progress=False)
        with torch.no_grad():
            return mirror_tie(tr.model.encode(x)[0], tr.model.encode(x.flip(-1))[0]).item(), tr

    off, plain = tie_after(0.0)
    on, tied = tie_after(50.0)
    assert on < 0.5 * off
    assert "mirror" in tied.history[-1] and "mirror" not in plain.history[-1]
    assert tied.history[-1]["loss"] == pytest.approx(tied.history[-1]["bce"] + tied.history[-1]["kl"], rel=1e-5)


def test_moment_tie_measures_level_and_spread_of_one_latent_over_a_batch():
    z = torch.tensor([-1.0, 1.0, -1.0, 1.0])                       # level 0, spread 1
    assert moment_tie(z).item() == pytest.approx(0.0, abs=1e-5)
    assert moment_tie(z + 0.5).item() == pytest.approx(4 * 0.25)   # the level alone
    assert moment_tie(3 * z).item() == pytest.approx(4 * 4.0)      # the spread alone
    for bad in (z[:1], z.reshape(2, 2)):
        with pytest.raises(ValueError, match="one latent over a batch"):
            moment_tie(bad)
    for bad in (-1.0, float("nan"), True):
        with pytest.raises(ValueError, match="moments must be a finite weight"):
            TrainConfig(moments=bad)


def test_swapped_code_takes_the_active_latents_from_the_image_and_the_rest_from_its_neighbour():
    mu = torch.arange(12.0).reshape(3, 4)
    out = swapped_code(mu, active_mask([1], 4))
    assert torch.equal(out[:, 1], mu[:, 1])                                  # its own active latent
    assert torch.equal(out[:, [0, 2, 3]], mu[[2, 0, 1]][:, [0, 2, 3]])        # the rest: row j − 1's
    with pytest.raises(ValueError, match="batch >= 2"):
        swapped_code(mu[:1], active_mask([1], 4))
    with pytest.raises(ValueError, match="boolean mask of 4 latents"):
        swapped_code(mu, active_mask([1], 5))
    for bad in (-1.0, float("inf"), True):
        with pytest.raises(ValueError, match="swap must be a finite weight"):
            TrainConfig(swap=bad)


def test_swap_tie_sends_the_reconstructions_gradient_to_the_clamped_latents(face_model, tmp_path):
    """The clamp hands its clamped latents only the invariance pull (0 here), never the bound's
    gradient, so their rows of the encoder's mean head get none; with the swap tie on they do,
    through the neighbour's decode. The tie is logged apart from the bound, and off it leaves a
    checkpoint's settings as they were (a checkpoint written before the field existed resumes)."""
    batch = FaceSource(face_model, 32, 40, seed=5).batch(0)
    clamped = ~active_mask(batch.active, TINY.latent_dim)
    cfg = dataclasses.replace(TINY, enc_channels=(8, 8), dec_channels=(8, 8))   # TINY's decoder starts flat in z

    def mean_head_grad(swap: float) -> tuple[torch.Tensor, dict, Trainer]:
        tr = Trainer(cfg, TrainConfig(steps=6, swap=swap, invariance=0.0), FaceSource(face_model, 32, 6, seed=0),
                     tmp_path / f"g{swap}")
        stats = tr.train_step(batch)
        return tr.model.mu.bias.grad[clamped], stats, tr

    off, stats_off, plain = mean_head_grad(0.0)
    on, stats_on, tied = mean_head_grad(1.0)
    assert torch.count_nonzero(off) == 0 and torch.count_nonzero(on) > 0.9 * on.numel()
    assert "swap" not in stats_off and stats_on["swap"] > 0
    assert stats_on["loss"] == pytest.approx(stats_on["bce"] + stats_on["kl"], rel=1e-5)
    assert "swap" not in plain.settings()["train"] and tied.settings()["train"]["swap"] == 1.0


class _ExtrinsicNoise:
    """Batches of 20 random 32×32 images, each labelled an elevation batch (z2 active)."""

    def __init__(self, seed: int = 0):
        self.seed = seed

    def batch(self, step: int) -> Batch:
        g = torch.Generator().manual_seed(1000 * self.seed + step)
        return Batch(torch.rand(20, 1, 32, 32, generator=g), EL_VARIED, [1])

    def settings(self) -> dict:
        return {"data": "noise", "seed": self.seed}


def test_moment_tie_training_gives_the_active_latent_one_level_and_spread(tmp_path):
    """Same init, data and noise: with the tie on, held-out elevation batches encode z2 nearer
    level 0 and spread 1; the tie is logged on its own, and off it leaves checkpoints' settings as
    they were (a checkpoint written before the field existed still resumes)."""
    held = [_ExtrinsicNoise(seed=9).batch(i) for i in range(4)]

    def run(moments: float) -> Trainer:
        tcfg = TrainConfig(steps=60, checkpoint_every=20, log_every=20, moments=moments, lr=1e-2)
        tr = Trainer(TINY, tcfg, _ExtrinsicNoise(), tmp_path / f"t{moments}")
        tr.train(progress=False)
        return tr

    def tie(tr: Trainer) -> float:
        with torch.no_grad():
            return sum(moment_tie(tr.model.encode(b.images)[0][:, 1]).item() for b in held)

    plain, tied = run(0.0), run(100.0)
    assert tie(tied) < 0.5 * tie(plain)
    assert "moments" not in plain.history[-1] and tied.history[-1]["moments"] > 0
    assert "moments" not in plain.settings()["train"] and tied.settings()["train"]["moments"] == 100.0
    assert tied.history[-1]["loss"] == pytest.approx(tied.history[-1]["bce"] + tied.history[-1]["kl"], rel=1e-5)
    again = Trainer(TINY, plain.tcfg, _ExtrinsicNoise(), tmp_path / "t0.0")
    again.train(progress=False)
    assert again.resumed_from == 60


def test_nan_stops_and_keeps_last_good_checkpoint(face_model, tmp_path):
    tr = _trainer(face_model, tmp_path)

    def poison(step):
        if step == 3:
            with torch.no_grad():
                next(tr.model.parameters()).fill_(float("nan"))

    with pytest.raises(TrainingDiverged, match=r"step 4 .*last good checkpoint: .*last\.pt"):
        tr.train(on_step=poison, progress=False)
    st = torch.load(tr.last_path, weights_only=False)
    assert st["step"] == 2 and all(torch.isfinite(v).all() for v in st["model"].values())
    with pytest.raises(TrainingDiverged, match="non-finite weights"):
        tr.save()               # a checkpoint is never written from non-finite weights
    assert torch.load(tr.last_path, weights_only=False)["step"] == 2


def test_checkpoint_from_other_settings_is_refused(face_model, tmp_path):
    _trainer(face_model, tmp_path, steps=2).train(progress=False)
    with pytest.raises(ValueError, match="other settings"):
        _trainer(face_model, tmp_path, steps=2, lr=1e-3).train(progress=False)
    with pytest.raises(ValueError, match="other settings"):
        _trainer(face_model, tmp_path, steps=2, clamp=False).train(progress=False)


def test_baseline_and_chairs_modes_train(face_model, tmp_path):
    base = _trainer(face_model, tmp_path / "vae", steps=2, clamp=False)
    dcign = _trainer(face_model, tmp_path / "ign", steps=2)
    base.train(progress=False), dcign.train(progress=False)
    diff = [not torch.equal(p, q) for p, q in zip(base.model.parameters(), dcign.model.parameters())]
    assert any(diff)            # same init, data and noise; only the clamp differs
    chairs = Trainer(TINY, TrainConfig(steps=2, checkpoint_every=1), ChairSource(_FakeChairs(3, 40), 32, 2),
                     tmp_path / "chairs")
    hist = chairs.train(progress=False)
    assert np.isfinite(hist[-1]["loss"]) and chairs.last_path.is_file()
    assert TrainConfig.from_profile("quick", "baseline").clamp is False


# --- analysis (§4.1, §4.1.1, §4.2) ------------------------------------------------------------

class _Stub(DCIGN):
    """Encoder: latent ``idx`` = 4 × mean pixel, others 0; decoder: a flat image of z[idx] / 4."""

    def __init__(self, idx: int = 5):
        super().__init__(TINY)
        self.idx = idx

    def encode(self, x):
        mu = torch.zeros(len(x), 200)
        mu[:, self.idx] = 4 * x.mean((1, 2, 3))
        return mu, torch.zeros_like(mu)

    def decode(self, z):
        return (z[:, self.idx] / 4).clamp(0, 1)[:, None, None, None].expand(len(z), 1, 32, 32)


def _az_batch(az: np.ndarray, kind: str = AZ_VARIED):
    """A FaceBatch-like batch whose flat images encode the azimuth linearly."""
    from genrepro.data.faces import FaceBatch

    a = torch.as_tensor(az, dtype=torch.float32)
    img = ((a + 90) / 180)[:, None, None, None].expand(len(a), 1, 32, 32).clone()
    z = torch.zeros(len(a))
    return FaceBatch(kind, img, a, z, z, torch.zeros(len(a), 2), torch.zeros(len(a), 2))


def test_encode_sweep_and_baseline_latent():
    stub = _Stub(idx=5)
    rng = np.random.default_rng(0)
    fb = _az_batch(rng.uniform(-90, 90, 20))
    assert torch.allclose(encode(stub, fb.images)[:, 5], 4 * fb.images.mean((1, 2, 3)))
    assert azimuth_latent_of_baseline(stub, fb.images) == 5
    assert azimuth_latent_of_baseline(stub, [fb.images, fb.images]) == 5
    sweep = latent_sweep(stub, fb.images[0], 5, [0.0, 2.0, 4.0])
    assert sweep.shape == (3, 1, 32, 32) and torch.allclose(sweep[:, 0, 0, 0], torch.tensor([0.0, 0.5, 1.0]))
    with pytest.raises(ValueError):
        latent_sweep(stub, fb.images[0], 200, [0.0])
    u8 = (fb.images[:, 0] * 255).round().to(torch.uint8).numpy()
    assert reconstruction_mse(stub, u8) < 1e-10


def test_correlations_on_synthetic_latents():
    x = np.linspace(-1, 1, 50)
    assert abs_pearson(x, 3 * x + 1) == pytest.approx(1.0) and abs_pearson(x, -x) == pytest.approx(1.0)
    assert abs_pearson(x, np.ones(50)) == 0.0
    rng = np.random.default_rng(0)
    still = [np.concatenate([rng.normal(size=(20, 1)), np.tile(rng.normal(size=(1, 4)), (20, 1))], 1)
             for _ in range(5)]
    assert other_latents_movement(still, [0], np.ones(5)) == pytest.approx(0.0, abs=1e-12)
    moving = [rng.normal(size=(20, 5)) for _ in range(50)]
    assert other_latents_movement(moving, [0], np.ones(5)) == pytest.approx(1.0, abs=0.05)
    assert np.isnan(other_latents_movement(moving, [0], np.r_[1.0, np.zeros(4)]))
    mean, se = binned_mean(np.array([1, 2, 11, 12]), np.array([1.0, 3.0, 5.0, 5.0]), [0, 10, 20, 30])
    assert mean[0] == 2.0 and mean[1] == 5.0 and np.isnan(mean[2]) and se[1] == 0.0


def test_disentanglement_and_novel_views_on_a_stub():
    stub = _Stub(idx=0)
    rng = np.random.default_rng(1)
    sets = {}
    for kind in KINDS:
        az = rng.uniform(-90, 90, (3, 20)).astype(np.float32)
        img = np.broadcast_to((((az + 90) / 180) * 255).round().astype(np.uint8)[..., None, None],
                              (3, 20, 32, 32)).copy()
        zero = np.zeros_like(az)
        sets[kind] = FaceTestSet(kind, img, az, zero, zero, np.zeros((3, 20, 2)), np.zeros((3, 20, 2)))
    rep = disentanglement(stub, sets)
    assert rep[AZ_VARIED]["latent"] == 0 and rep[AZ_VARIED]["abs_r"] > 0.999
    assert rep[AZ_VARIED]["others_move"] != rep[AZ_VARIED]["others_move"]  # NaN: no other latent used
    train = [_az_batch(rng.uniform(-90, 90, 20)) for _ in range(3)]
    cal = calibrate_azimuth(stub, train, index=0, deg=1)
    assert cal(np.array([-90.0, 90.0])) == pytest.approx([0.0, 4.0], abs=1e-4)
    test = [_az_batch(rng.uniform(-90, 90, 20)) for _ in range(2)]
    angles, errs = novel_view_errors(stub, test, cal)
    assert angles.shape == errs.shape == (2 * 20 * 19,)
    assert errs.max() < 1e-9 and angles.max() <= 180


def test_light_in_images_measures_the_renders_change_with_the_light_by_pose(face_model):
    """The near-sphere looks alike from every azimuth: under our camera-frame light its renders
    change with the light equally at 0°, 45° and 90°, with no flat step; a light that turns
    with the face agrees at 0° and, at 90°, goes round behind the visible side: smaller and
    some flat steps. Bad arguments are refused."""
    from genrepro.jobs.dcign_measures import light_in_images

    cam = light_in_images(face_model, 24, (0, 45, 90), 2, step=10)
    face = light_in_images(face_model, 24, (0, 45, 90), 2, step=10, frame="face")
    assert [r["azimuth"] for r in cam] == [0.0, 45.0, 90.0] and cam[0] == face[0]
    assert all(r["change"] == pytest.approx(cam[0]["change"], rel=0.05) and r["flat"] == 0 for r in cam)
    assert face[2]["change"] < 0.8 * cam[2]["change"] and face[2]["flat"] > 0
    assert all(0 <= r["pc1_r"] <= 1 for r in cam + face)
    with pytest.raises(ValueError, match="frame"):
        light_in_images(face_model, 24, (0,), 1, frame="world")
    with pytest.raises(ValueError, match="n_faces"):
        light_in_images(face_model, 24, (0,), 0)


class _SweepOracle(torch.nn.Module):
    """A stand-in DC-IGN for ``azimuth_sweep_reach``: it remembers each face's reference sweep (the
    one call with many views, in azimuth order) and gives z1 = ``curve(azimuth)``, z2 = the face's
    number; it decodes a code to that face's reference view whose z1 is nearest."""

    def __init__(self, curve):
        super().__init__()
        from types import SimpleNamespace
        self.cfg, self.curve, self.refs = SimpleNamespace(image_size=24, latent_dim=4), curve, []
        self.w = torch.nn.Parameter(torch.zeros(1))

    def _z1(self, n: int) -> torch.Tensor:
        return self.curve(torch.linspace(-90.0, 90.0, n))

    def encode(self, x):
        mu = torch.zeros(len(x), 4)
        if len(x) > 1:
            self.refs.append(x.clone())
            mu[:, 0], mu[:, 1] = self._z1(len(x)), len(self.refs) - 1
        else:
            for f, r in enumerate(self.refs):
                d = (r - x).flatten(1).pow(2).sum(1)
                if float(d.min()) == 0:
                    mu[0, 0], mu[0, 1] = self._z1(len(r))[int(d.argmin())], f
        return mu, mu

    def decode(self, z):
        return torch.stack([self.refs[int(row[1])][int((self._z1(len(self.refs[0])) - row[0]).abs().argmin())]
                            for row in z])


def test_azimuth_sweep_reach_tells_a_latent_that_tracks_the_pose_from_one_that_folds_back(face_model):
    """A z1 rising with the azimuth to ±90° turns the frontal view to near profile; one that peaks
    at ±45° and falls back (sin 2a) turns it to 45° at most, and its mean z1 says where it folds.
    Bad arguments are refused."""
    from genrepro.jobs.dcign_measures import azimuth_sweep_reach

    straight = azimuth_sweep_reach(_SweepOracle(lambda a: a / 30), face_model, 2, step=15)
    fold = azimuth_sweep_reach(_SweepOracle(lambda a: torch.sin(torch.deg2rad(2 * a))), face_model, 2, step=15)
    assert straight["azimuths"] == [float(a) for a in range(-90, 91, 15)]
    assert min(straight["reach"]["figure5"]) <= -75 and max(straight["reach"]["figure5"]) >= 75
    assert straight["z1"] == sorted(straight["z1"])
    assert max(abs(a) for a in fold["reach"]["figure5"] + fold["reach"]["stretched"]) <= 45
    assert fold["z1"][0] == pytest.approx(0, abs=1e-3) and max(fold["z1"]) == pytest.approx(1, abs=1e-3)
    lo, hi = straight["span_ends"]
    assert 0 <= lo < hi < len(straight["values"]) and straight["values"] == sorted(straight["values"])
    with pytest.raises(ValueError, match="n_faces"):
        azimuth_sweep_reach(_SweepOracle(lambda a: a), face_model, 0)


def test_turned_faces_labels_each_decode_with_the_pose_it_shows(face_model):
    """The chapter's Figure 5 over twice its range: each face's frontal view decoded at each z1
    value, labelled with the azimuth of the nearest rendered view of that face. A z1 = azimuth/30
    turns it to exactly azimuth = 30·z1, out to both profiles; one that folds back at ±45° (sin 2a)
    never shows more than 45°. Bad arguments are refused."""
    from genrepro.jobs.dcign_measures import azimuth_sweep_reach, turned_faces

    straight = _SweepOracle(lambda a: a / 30)
    azimuth_sweep_reach(straight, face_model, 2, step=15)     # the oracle learns the faces' reference views
    out = turned_faces(straight, face_model, 2, torch.linspace(-3, 3, 7), step=15)
    assert out["images"].shape == (2, 7, 24, 24) and out["values"] == pytest.approx([-3, -2, -1, 0, 1, 2, 3])
    assert out["matched"].tolist() == [[-90, -60, -30, 0, 30, 60, 90]] * 2
    fold = _SweepOracle(lambda a: torch.sin(torch.deg2rad(2 * a)))
    azimuth_sweep_reach(fold, face_model, 2, step=15)
    assert abs(turned_faces(fold, face_model, 2, torch.linspace(-2, 2, 9), step=15)["matched"]).max() <= 45
    with pytest.raises(ValueError, match="n_faces"):
        turned_faces(straight, face_model, 0, [0.0, 1.0])
    with pytest.raises(ValueError, match="two values"):
        turned_faces(straight, face_model, 1, [0.0])


def test_detail_kept_tells_a_sharp_reconstruction_from_a_blurred_one(face_model):
    """An exact copy keeps all of the faces' edges and fine detail; a blur keeps less, and less of
    the fine detail than of the edges; the mean of the views keeps fewer edges, and a flat image
    nothing. Mismatched shapes and flat images are refused."""
    import torch.nn.functional as F

    from genrepro.data import faces
    from genrepro.jobs.dcign_measures import detail_kept

    fb = faces.FaceBatches(face_model, 32, split="test")
    x = fb.batch(faces.AZ_VARIED, 0).images                      # (N, 1, 32, 32) in [0, 1]
    same = detail_kept(x, x)
    assert same == {"mse": 0.0, "edges_kept": 1.0, "fine_kept": 1.0}
    blur = detail_kept(x, F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False))
    assert 0 < blur["fine_kept"] < blur["edges_kept"] < 1 and blur["mse"] > 0
    mean = detail_kept(x[:, 0], x.mean(0, keepdim=True).expand_as(x)[:, 0])
    assert mean["edges_kept"] < blur["edges_kept"]
    flat = detail_kept(x, torch.zeros_like(x))
    assert flat["edges_kept"] == pytest.approx(0, abs=1e-6) and flat["fine_kept"] == pytest.approx(0, abs=1e-6)
    with pytest.raises(ValueError, match="one shape"):
        detail_kept(x, x[:, 0])
    with pytest.raises(ValueError, match="flat"):
        detail_kept(torch.zeros(2, 8, 8), torch.zeros(2, 8, 8))


def test_rendered_test_sets_are_the_test_split_as_uint8_batches(face_model):
    """The chapter's test faces for a size with no prepared file: batch i of each kind is the
    "test" split's batch i, stored as uint8 like test_batches_<profile>.npz."""
    from genrepro.data.faces import KINDS, TEST_SEED, FaceBatches, to_uint8
    from genrepro.jobs.dcign_measures import rendered_test_sets

    sets = rendered_test_sets(face_model, 32, 2)
    assert set(sets) == set(KINDS) and all(len(s) == 2 for s in sets.values())
    ref = FaceBatches(face_model, 32, "test", TEST_SEED).batch("EL_VARIED", 1)
    got = sets["EL_VARIED"].batch(1)
    assert sets["EL_VARIED"].images.shape == (2, 20, 32, 32) and sets["EL_VARIED"].images.dtype == np.uint8
    assert np.array_equal(sets["EL_VARIED"].images[1], to_uint8(ref.images[:, 0]))
    assert torch.equal(got.elevation, ref.elevation) and got.images.shape == (20, 1, 32, 32)
    assert float(got.elevation.std()) > 1 and float(got.azimuth.std()) < 1e-3   # only elevation varies
