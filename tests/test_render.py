"""The torch z-buffer renderer behind the DC-IGN data (Kulkarni et al. 2015 §4.1)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh

from genrepro.render import load_mesh, render


def _sphere(subdiv: int = 4, r: float = 0.8):
    m = trimesh.creation.icosphere(subdivisions=subdiv, radius=r)
    return np.asarray(m.vertices, np.float32), np.asarray(m.faces, np.int64)


def _analytic_sphere(size, r, ambient, light_az, light_el=0.0):
    c = (np.arange(size) + 0.5) / size * 2 - 1
    x, y = np.meshgrid(c, -c)
    z2 = r * r - x**2 - y**2
    inside = z2 > 0
    n = np.stack([x, y, np.sqrt(np.clip(z2, 0, None))], -1) / r
    a, e = np.radians(light_az), np.radians(light_el)
    l = np.array([np.sin(a) * np.cos(e), np.sin(e), np.cos(a) * np.cos(e)])
    return np.where(inside, ambient + (1 - ambient) * np.clip(n @ l, 0, None), 0.0), inside


@pytest.mark.parametrize("light_az,light_el,cam_az", [(30.0, 0.0, 0.0), (-60.0, 20.0, 45.0)])
def test_sphere_matches_analytic_lambertian(light_az, light_el, cam_az):
    v, f = _sphere()
    img = render(v, f, np.ones(len(v)), cam_az, 0.0, light_az, size=96, ambient=0.25,
                 light_elevation=light_el)[0].numpy()
    # light is in the camera frame, so the camera azimuth does not change a sphere's image
    ref, inside = _analytic_sphere(96, 0.8, 0.25, light_az, light_el)
    assert np.abs(img - ref).mean() < 0.01
    assert ((img > 0) != inside).mean() < 0.01
    assert img.min() >= 0 and img.max() <= 1


def test_albedo_scales_image_and_per_face_albedo():
    v, f = _sphere(2)
    full = render(v, f, np.ones(len(v)), 0, 0, 0, size=32)
    half = render(v, f, np.full(len(v), 0.5), 0, 0, 0, size=32)
    assert torch.allclose(half, full * 0.5, atol=1e-6)
    per_face = render(v, f, np.full(len(f), 0.5), 0, 0, 0, size=32)
    assert torch.allclose(per_face, half, atol=1e-6)


def _cone():
    m = trimesh.creation.cone(radius=0.3, height=0.9)
    m.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, [0, 1, 0]))
    m.apply_translation([-0.2, 0.1, 0.0])
    return np.asarray(m.vertices, np.float32), np.asarray(m.faces)


def test_silhouette_fixed_under_light_changes_with_azimuth():
    v, f = _cone()
    imgs = render(v, f, np.full(len(v), 0.9), 20.0, 10.0, [-80.0, 0.0, 70.0], size=64,
                  ambient=0.2)
    masks = imgs > 0
    assert torch.equal(masks[0], masks[1]) and torch.equal(masks[1], masks[2])
    assert not torch.equal(imgs[0], imgs[2])
    turned = render(v, f, np.full(len(v), 0.9), 60.0, 10.0, 0.0, size=64, ambient=0.2)[0] > 0
    assert (turned != masks[0]).sum() > 20


def test_deterministic_and_batch_independent():
    v, f = _cone()
    rng = np.random.default_rng(0)
    az, el, li = rng.uniform(-90, 90, 5), rng.uniform(-30, 30, 5), rng.uniform(-90, 90, 5)
    a = render(v, f, np.full(len(v), 0.7), az, el, li, size=48)
    b = render(v, f, np.full(len(v), 0.7), az, el, li, size=48)
    assert a.numpy().tobytes() == b.numpy().tobytes()
    single = torch.cat([render(v, f, np.full(len(v), 0.7), az[i], el[i], li[i], size=48)
                        for i in range(5)])
    assert torch.equal(single, a)
    batched = render(np.repeat(v[None], 5, 0), f, np.full((5, len(v)), 0.7), az, el, li, size=48)
    assert torch.equal(batched, a)


def test_pose_convention():
    m = trimesh.creation.cone(radius=0.2, height=0.9)   # tip at +z: points at the camera
    v, f = np.asarray(m.vertices, np.float32), np.asarray(m.faces)
    imgs = render(v, f, np.ones(len(v)), [0.0, 60.0, 0.0], [0.0, 0.0, 60.0], 0.0, size=64) > 0
    front, turned, above = (torch.nonzero(i).float() for i in imgs)
    assert front[:, 1].min() > 24 and front[:, 1].max() < 40
    assert turned[:, 1].min() < 10          # + azimuth: the front swings to the image's left
    assert above[:, 0].max() > 50           # + elevation: seen from above, front goes down


@pytest.mark.parametrize("kw,name", [
    ({"vertices": "nan"}, "vertices"), ({"azimuth": float("inf")}, "azimuth"),
    ({"elevation": [0.0, float("nan")]}, "elevation"), ({"light_azimuth": float("nan")}, "light_azimuth"),
    ({"light_elevation": float("nan")}, "light_elevation"), ({"albedo": "nan"}, "albedo"),
    ({"ambient": float("inf")}, "ambient"), ({"fov_scale": float("nan")}, "fov_scale")])
def test_non_finite_inputs_name_the_argument(kw, name):
    v, f = _sphere(1)
    args = {"vertices": v, "faces": f, "albedo": np.ones(len(v)), "azimuth": 0.0,
            "elevation": 0.0, "light_azimuth": 0.0}
    extra = {}
    for k, val in kw.items():
        if val == "nan":
            arr = np.array(args[k], np.float32, copy=True)
            arr.flat[0] = np.nan
            args[k] = arr
        elif k in args:
            args[k] = val
        else:
            extra[k] = val
    with pytest.raises(ValueError, match=name):
        render(**args, **extra, size=16)


def test_bad_shapes():
    v, f = _sphere(1)
    with pytest.raises(ValueError, match="faces"):
        render(v, np.zeros((0, 3), int), np.ones(len(v)), 0, 0, 0, size=8)
    with pytest.raises(ValueError, match="faces"):
        render(v, f + 1000, np.ones(len(v)), 0, 0, 0, size=8)
    with pytest.raises(ValueError, match="albedo"):
        render(v, f, np.ones(7), 0, 0, 0, size=8)
    with pytest.raises(ValueError, match="broadcast"):
        render(v, f, np.ones(len(v)), [0, 1], [0, 1, 2], 0, size=8)


def test_load_mesh_roundtrip_and_errors(tmp_path):
    box = trimesh.creation.box(extents=(1, 0.5, 0.3))
    p = tmp_path / "box.obj"
    box.export(p)
    v, f = load_mesh(p)
    assert v.shape[1] == 3 and f.shape == (12, 3) and v.dtype == np.float32
    with pytest.raises(ValueError, match="does not exist"):
        load_mesh(tmp_path / "missing.obj")
    unknown = tmp_path / "mesh.qqq"
    unknown.write_text("hello")
    with pytest.raises(ValueError, match="mesh.qqq"):
        load_mesh(unknown)
    broken = tmp_path / "broken.ply"
    broken.write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 99\n\x00\x01")
    with pytest.raises(ValueError, match="broken.ply"):
        load_mesh(broken)
    points = tmp_path / "points.obj"
    points.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\n")
    with pytest.raises(ValueError, match="no faces"):
        load_mesh(points)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
def test_cuda_matches_cpu():
    v, f = _cone()
    rng = np.random.default_rng(1)
    args = (np.full(len(v), 0.8), rng.uniform(-90, 90, 8), rng.uniform(-30, 30, 8),
            rng.uniform(-90, 90, 8))
    cpu = render(v, f, *args, size=64)
    gpu = render(v, f, *args, size=64, device="cuda")
    again = render(v, f, *args, size=64, device="cuda")
    assert torch.equal(gpu, again)
    assert ((gpu.cpu() - cpu).abs() > 1e-3).float().mean() < 0.01
