"""The DC-IGN face data (Kulkarni et al. 2015 §3.2, §4.1): model, batches, preparation."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import scipy.io
import trimesh

from genrepro.data import DataError, DataMissingError, faces, faces_prep
from genrepro.data import face_model as fm

TINY = {"image_size": 16, "test_batches_per_kind": 2, "flat_n": 6, "flat_size": 12}


def _write_bfm(path, n_modes: int = 4, **override):
    m = trimesh.creation.icosphere(subdivisions=1, radius=80_000.0)   # micrometres
    n_v = len(m.vertices)
    rng = np.random.default_rng(1)
    d = {"shapeMU": m.vertices.reshape(-1, 1), "shapePC": rng.standard_normal((3 * n_v, n_modes)) * 0.01,
         "shapeEV": np.linspace(2000, 500, n_modes)[:, None],
         "texMU": np.tile([200.0, 150.0, 120.0], n_v)[:, None],
         "texPC": rng.standard_normal((3 * n_v, n_modes)) * 0.01,
         "texEV": np.linspace(20, 5, n_modes)[:, None], "tl": (m.faces + 1).astype(np.float64)}
    d.update(override)
    d = {k: v for k, v in d.items() if v is not None}
    scipy.io.savemat(path, d)
    return m


# --- protobuf / packed assets ------------------------------------------------------------

def _varint(n: int) -> bytes:
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def test_protobuf_reader_packed_and_unpacked():
    xyzuv = np.arange(15, dtype=np.float32)
    unpacked = b"".join(b"\x1d" + struct.pack("<f", x) for x in xyzuv)
    idx = b"".join(b"\x20" + _varint(i) for i in (0, 1, 2))
    mesh = b"\x08\x00\x10\x00" + unpacked + idx
    msg = b"\x0a" + _varint(len(mesh)) + mesh + b"\x18\x01"
    xyz, uv, tri = fm.parse_geometry_metadata(msg)
    assert xyz.shape == (3, 3) and uv.shape == (3, 2) and tri.tolist() == [[0, 1, 2]]
    packed = b"\x1a" + _varint(60) + xyzuv.tobytes() + b"\x22\x03\x00\x01\x02"
    msg2 = b"\x0a" + _varint(len(packed)) + packed
    assert np.array_equal(fm.parse_geometry_metadata(msg2)[0], xyz)
    with pytest.raises(DataError):
        fm.parse_geometry_metadata(msg[:-5])
    js = '{"files": [{"filename": "/a/b.tflite", "start": 0, "end": 10}, ' \
         '{"filename": "/x/geometry.binarypb", "start": 10, "end": 25}]}'
    assert fm.packed_asset_table(js)["/x/geometry.binarypb"] == (10, 25)
    with pytest.raises(DataError):
        fm.packed_asset_table("var nothing = 1;")


@pytest.fixture(scope="module")
def npm_archive(tmp_path_factory):
    from genrepro.data.prep import npm_pack
    try:
        return npm_pack(faces_prep.NPM_SPEC, tmp_path_factory.mktemp("npm"), timeout=120)
    except DataError as e:
        pytest.skip(f"npm registry unreachable: {e}")


@pytest.mark.network
def test_mediapipe_mesh_and_model(npm_archive):
    xyz, uv, tri, prov = faces_prep.fetch_mediapipe_mesh(npm_archive)
    assert xyz.shape == (468, 3) and tri.shape == (898, 3) and uv.shape == (468, 2)
    assert prov["sha256"]["npm_archive"] == faces_prep.NPM_ARCHIVE_SHA256
    model = fm.build_mediapipe_model(xyz, tri)
    assert model.n_shape >= 30 and model.n_albedo >= 10
    assert np.linalg.norm(model.vertices, axis=1).max() <= 1.0
    mirror = fm._mirror_index(model.vertices.astype(np.float64))
    sym = model.shape_basis[:, mirror] * np.array([-1, 1, 1], np.float32)
    asym = np.abs(sym - model.shape_basis).max(axis=(1, 2))
    assert (asym < 1e-5).sum() >= 30                       # all but a slight asymmetric mode
    skin = np.median(model.albedo_mean)
    for region in (fm.RIGHT_EYE, fm.LEFT_BROW, fm.LIPS_OUTER):
        assert model.albedo_mean[region].mean() < skin - 0.15
    rng = np.random.default_rng(0)
    shapes = model.shape(rng.standard_normal((50, model.n_shape)))
    assert np.linalg.norm(shapes, axis=-1).max() < 1.0     # identities stay in the frame


@pytest.mark.network
def test_prepare_from_npm_archive(npm_archive, tmp_path):
    out = faces_prep.prepare("quick", out=tmp_path / "faces", source=npm_archive,
                             settings=TINY, log=lambda s: None)
    model = faces.load_face_model(out)
    assert model.vertices.shape == (468, 3)
    manifest = faces.load_manifest(out)
    assert manifest["license"].startswith("Apache-2.0")
    assert manifest["model"]["sha256"][faces_prep.DATA_FILE] == faces_prep.DATA_SHA256


# --- bad sources leave nothing behind ----------------------------------------------------

def _assert_prepare_rejected(tmp_path, match, **inputs):
    """faces_prep.prepare on bad ``inputs`` raises DataError(``match``) and leaves nothing."""
    out_parent = tmp_path / "data"
    out_parent.mkdir()
    with pytest.raises(DataError, match=match):
        faces_prep.prepare("quick", out=out_parent / "faces", settings=TINY, log=lambda s: None,
                           **inputs)
    assert not (out_parent / "faces").exists()
    assert not [p for p in out_parent.iterdir() if p.name.startswith(".faces")]


def test_corrupt_archive_rejected(tmp_path):
    bad = tmp_path / "mediapipe-face_mesh-0.4.1657299874.tgz"
    bad.write_bytes(b"\x1f\x8b this is not the package")
    _assert_prepare_rejected(tmp_path, "checksum mismatch", source=bad)


def test_wrong_data_checksum_rejected(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / faces_prep.DATA_FILE).write_bytes(b"\x00" * 1000)
    (src / faces_prep.LOADER_FILE).write_text('"filename": "/x/geometry_pipeline_metadata_'
                                              'landmarks.binarypb", "start": 0, "end": 100')
    _assert_prepare_rejected(tmp_path, "checksum mismatch", source=src)


def test_bfm_wrong_layout_rejected(tmp_path):
    bad = tmp_path / "not_bfm.mat"
    _write_bfm(bad, texPC=None, tl=None)
    _assert_prepare_rejected(tmp_path, "missing fields", bfm=bad)
    bad2 = tmp_path / "bad_tl.mat"
    _write_bfm(bad2, tl=np.array([[0.0, 1.0, 2.0]]))         # 0-based: invalid
    with pytest.raises(DataError, match="1-based"):
        fm.load_bfm(bad2)
    junk = tmp_path / "junk.mat"
    junk.write_bytes(b"not a mat file at all")
    with pytest.raises(DataError, match="junk.mat"):
        fm.load_bfm(junk)


def test_bfm_loader_and_prepare(tmp_path):
    mat = tmp_path / "01_MorphableModel.mat"
    mesh = _write_bfm(mat)
    model = fm.load_bfm(mat, n_modes=3)
    n_v = len(mesh.vertices)
    assert model.vertices.shape == (n_v, 3) and model.faces.min() == 0
    assert np.array_equal(model.faces, mesh.faces)
    assert model.shape_basis.shape == (3, n_v, 3) and model.albedo_basis.shape == (3, n_v)
    assert np.isclose(np.linalg.norm(model.vertices, axis=1).max(), fm.MODEL_RADIUS, atol=1e-4)
    expected = (0.299 * 200 + 0.587 * 150 + 0.114 * 120) / 255
    assert np.allclose(model.albedo_mean, expected, atol=1e-5)
    out = faces_prep.prepare("quick", out=tmp_path / "faces", bfm=mat, settings=TINY,
                             log=lambda s: None)
    tests = faces.load_test_batches("quick", out)
    assert set(tests) == set(faces.KINDS)
    t = tests[faces.AZ_VARIED]
    assert t.images.shape == (2, 20, 16, 16) and t.images.dtype == np.uint8
    b = t.batch(0)
    assert b.images.shape == (20, 1, 16, 16) and float(b.images.max()) <= 1.0
    flat = faces.load_flat_faces("quick", out)
    assert flat["images"].shape == (6, 12, 12) and flat["images"].dtype == np.uint8
    assert faces.load_manifest(out)["profiles"]["quick"]["flat_faces"]["label"] == faces.STAND_IN_LABEL
    with pytest.raises(DataMissingError, match="--profile full"):
        faces.load_test_batches("full", out)


def test_loaders_name_the_command(tmp_path):
    with pytest.raises(DataMissingError, match="python data_prep/faces.py"):
        faces.load_face_model(tmp_path / "nowhere")


# --- batches -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gen(tiny_face_model):
    return faces.FaceBatches(tiny_face_model, size=16, split="train", seed=3, supersample=1)


@pytest.mark.parametrize("kind,varied", [(faces.AZ_VARIED, "azimuth"),
                                         (faces.EL_VARIED, "elevation"),
                                         (faces.LIGHT_VARIED, "light")])
def test_single_factor_batches(gen, kind, varied):
    b = gen.batch(kind, 0)
    assert b.images.shape == (20, 1, 16, 16) and b.kind == kind
    assert 0 <= float(b.images.min()) and float(b.images.max()) <= 1
    for name in ("azimuth", "elevation", "light"):
        values = getattr(b, name)
        assert (len(set(values.tolist())) > 1) == (name == varied), name
    assert (b.shape_coef == b.shape_coef[0]).all() and (b.albedo_coef == b.albedo_coef[0]).all()
    lo, hi = {"azimuth": faces.AZIMUTH_RANGE, "elevation": faces.ELEVATION_RANGE,
              "light": faces.LIGHT_AZIMUTH_RANGE}[varied]
    assert float(getattr(b, varied).min()) >= lo and float(getattr(b, varied).max()) <= hi
    if varied == "light":   # light never moves the silhouette
        masks = b.images > 0
        assert (masks == masks[0]).all()


def test_shape_batches_and_determinism(gen):
    b = gen.batch(faces.SHAPE_VARIED, 1)
    assert (b.factors == b.factors[0]).all()
    assert len({tuple(r) for r in b.shape_coef.tolist()}) == 20
    again = faces.FaceBatches(gen.model, 16, "train", 3, supersample=1).batch(faces.SHAPE_VARIED, 1)
    assert b.images.numpy().tobytes() == again.images.numpy().tobytes()
    with pytest.raises(ValueError, match="unknown batch kind"):
        gen.batch("POSE_VARIED")


def test_test_identities_disjoint_from_training(gen):
    test_gen = faces.FaceBatches(gen.model, 16, "test", 3, supersample=1)
    assert faces.SPLITS["train"] != faces.SPLITS["test"]
    train_ids = np.concatenate([gen.sample(k, i)["shape_coef"] for k in faces.KINDS for i in range(20)])
    test_ids = np.concatenate([test_gen.sample(k, i)["shape_coef"] for k in faces.KINDS for i in range(20)])
    d = np.abs(train_ids[:, None, :] - test_ids[None, :, :]).max(-1)
    assert d.min() > 1e-3
    # same seed, different split: different batches
    assert not np.array_equal(gen.sample(faces.AZ_VARIED, 0)["azimuth"],
                              test_gen.sample(faces.AZ_VARIED, 0)["azimuth"])


def test_flat_faces(tmp_path, tiny_face_model):
    out = faces.flat_faces(7, seed=1, size=12, model=tiny_face_model, chunk=4)
    assert out["images"].shape == (7, 12, 12) and out["images"].dtype == np.uint8
    assert out["shape_coef"].shape == (7, 5) and out["images"].max() > 0
    again = faces.flat_faces(7, seed=1, size=12, model=tiny_face_model, chunk=4)
    assert np.array_equal(out["images"], again["images"])
    other_chunks = faces.flat_faces(7, seed=1, size=12, model=tiny_face_model, chunk=3)
    assert np.array_equal(out["images"], other_chunks["images"])


def test_stored_test_batches_equal_on_the_fly(tmp_path):
    mat = tmp_path / "01_MorphableModel.mat"
    _write_bfm(mat)
    out = faces_prep.prepare("quick", out=tmp_path / "faces", bfm=mat, settings=TINY,
                             log=lambda s: None)
    stored = faces.load_test_batches("quick", out)
    gen = faces.FaceBatches(faces.load_face_model(out), 16, "test", faces.TEST_SEED)
    for kind in faces.KINDS:
        live = gen.batch(kind, 1)
        assert np.array_equal(faces.to_uint8(live.images[:, 0]), stored[kind].images[1])
        assert np.array_equal(live.azimuth.numpy(), stored[kind].azimuth[1])


def test_render_reproduces_a_batch_and_rejects_mismatched_lengths(gen):
    import torch

    b = gen.batch(faces.EL_VARIED, 3)
    again = gen.render(b.shape_coef, b.albedo_coef, b.azimuth, b.elevation, b.light)
    assert again.shape == b.images.shape and torch.equal(again, b.images)
    other = gen.render(b.shape_coef[:2], b.albedo_coef[:2], b.azimuth[:2] + 30, b.elevation[:2], b.light[:2])
    assert not torch.allclose(other, b.images[:2])
    with pytest.raises(ValueError, match="same batch length"):
        gen.render(b.shape_coef, b.albedo_coef, b.azimuth[:3], b.elevation, b.light)


def test_face_frame_light_is_the_camera_light_minus_the_azimuth(gen):
    """``light_frame="face"`` (the DC-IGN light probe): the same factors as the camera frame,
    rendered with the light turned by the face's azimuth; the recorded light stays the factor
    drawn (relative to the face). Frontal faces render alike in both frames; an unknown frame
    is refused."""
    import torch

    face = faces.FaceBatches(gen.model, 16, "train", 3, supersample=1, light_frame="face")
    b_face, b_cam = face.batch(faces.AZ_VARIED, 2), gen.batch(faces.AZ_VARIED, 2)
    assert torch.equal(b_face.light, b_cam.light) and torch.equal(b_face.azimuth, b_cam.azimuth)
    turned = gen.render(b_cam.shape_coef, b_cam.albedo_coef, b_cam.azimuth, b_cam.elevation, b_cam.light - b_cam.azimuth)
    assert torch.equal(b_face.images, turned) and not torch.equal(b_face.images, b_cam.images)
    zero = torch.zeros(len(b_cam.light))
    assert torch.equal(face.render(b_cam.shape_coef, b_cam.albedo_coef, zero, b_cam.elevation, b_cam.light),
                       gen.render(b_cam.shape_coef, b_cam.albedo_coef, zero, b_cam.elevation, b_cam.light))
    with pytest.raises(ValueError, match="light_frame"):
        faces.FaceBatches(gen.model, 16, light_frame="world")
