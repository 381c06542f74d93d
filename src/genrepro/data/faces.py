"""Rendered morphable faces for DC-IGN (Kulkarni et al. 2015 §3.2, §4.1) and the GAN chapter.

* :class:`FaceBatches` renders training/test batches on the fly, in the paper's layout:
  batches of :data:`BATCH_SIZE` = 20 images of one of four kinds (:data:`KINDS`) —
  ``AZ_VARIED``, ``EL_VARIED``, ``LIGHT_VARIED`` (only that factor changes across the batch;
  identity and the other factors are fixed for the batch) and ``SHAPE_VARIED`` (the identity
  changes; pose and light are fixed). Every image carries its ground-truth factors
  (azimuth, elevation, light azimuth, in degrees) and identity coefficients.
* :func:`flat_faces` renders an unstructured set of 48×48 faces (random identity, pose,
  light) — "rendered faces (stand-in for TFD)" for the GAN chapter, since the Toronto Face
  Database cannot be redistributed.

Randomness: every batch is a pure function of ``(split, seed, kind, index)``. Factors come
from ``SeedSequence([FACTOR_NAMESPACE, split code, seed, kind code, index])`` and identities
from ``SeedSequence([IDENTITY_NAMESPACE, split code, ...])``; the split codes differ
(train 0, test 1, flat 2), so train and test identities come from disjoint RNG namespaces
whatever the seeds. The stored test set (``data_prep/faces.py``) is
``FaceBatches(split="test", seed=TEST_SEED)``; training uses ``split="train"``.

Prepared files (``data_prep/faces.py``) live in ``<data>/faces/``: ``face_model.npz``,
``test_batches_<profile>.npz`` (uint8 images), ``flat_faces_<profile>.npz`` and
``manifest.json``; the loaders here raise :class:`DataMissingError` naming the command.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from genrepro import progress
from genrepro.data.face_model import FaceModel
from genrepro.data.prep import DataError, DataMissingError
from genrepro.paths import data_dir
from genrepro.render import render

NAME = "faces"
PREPARE_COMMAND = "python data_prep/faces.py"
STAND_IN_LABEL = "rendered faces (stand-in for TFD)"

AZ_VARIED, EL_VARIED, LIGHT_VARIED, SHAPE_VARIED = KINDS = (
    "AZ_VARIED", "EL_VARIED", "LIGHT_VARIED", "SHAPE_VARIED")
BATCH_SIZE = 20
AZIMUTH_RANGE = (-90.0, 90.0)          # degrees; 0 = frontal, + turns the face to image left
ELEVATION_RANGE = (-30.0, 30.0)        # degrees; + = seen from above
LIGHT_AZIMUTH_RANGE = (-90.0, 90.0)    # degrees, camera frame; + = lit from image right
LIGHT_ELEVATION = 15.0                 # fixed light elevation (degrees, camera frame)
# the frame the light azimuth is given in: "camera" (ours, the default: the light stays put as
# the face turns) or "face" (a labelled alternative: the light turns with the face, so its
# camera-frame azimuth is light − azimuth; the DC-IGN chapter's light probe)
LIGHT_FRAMES = ("camera", "face")
AMBIENT = 0.3
FOV_SCALE = 1.0
# the flat (TFD stand-in) set: roughly frontal, tightly cropped faces as in TFD
FLAT_AZIMUTH_RANGE = (-30.0, 30.0)
FLAT_ELEVATION_RANGE = (-15.0, 15.0)
FLAT_LIGHT_AZIMUTH_RANGE = (-60.0, 60.0)
FLAT_FOV_SCALE = 0.72

TEST_SEED = 0
SPLITS = {"train": 0, "test": 1, "flat": 2}
FACTOR_NAMESPACE, IDENTITY_NAMESPACE = 0x0DC16_F, 0x0DC16_1D


@dataclass
class FaceBatch:
    """One batch (Kulkarni et al. 2015 §3.2): images ``(B, 1, H, W)`` float in [0, 1] + truth."""

    kind: str
    images: torch.Tensor
    azimuth: torch.Tensor        # (B,) degrees
    elevation: torch.Tensor      # (B,) degrees
    light: torch.Tensor          # (B,) light azimuth, degrees
    shape_coef: torch.Tensor     # (B, Ks)
    albedo_coef: torch.Tensor    # (B, Ka)

    @property
    def factors(self) -> torch.Tensor:
        """``(B, 3)``: azimuth, elevation, light azimuth (degrees)."""
        return torch.stack([self.azimuth, self.elevation, self.light], 1)


def _check_kind(kind: str) -> int:
    if kind not in KINDS:
        raise ValueError(f"unknown batch kind {kind!r}; valid kinds: {', '.join(KINDS)}")
    return KINDS.index(kind)


def _uniform(rng: np.random.Generator, lo_hi: tuple[float, float], n: int | None = None):
    return rng.uniform(lo_hi[0], lo_hi[1], n)


class FaceBatches:
    """On-the-fly face batches of the paper's four kinds (Kulkarni et al. 2015 §3.2, §4.1).

    ``FaceBatches(model, size, split="train"|"test", seed=0, device=None)``;
    ``.batch(kind, index)`` renders batch ``index`` of ``kind`` (without ``index``: the next
    one of that kind). Images are rendered at ``supersample`` × ``size`` and average-pooled
    (anti-aliasing), on ``device`` (default: the CPU). ``light_frame`` (:data:`LIGHT_FRAMES`):
    the light azimuth is in the camera frame (the default) or turns with the face.
    """

    def __init__(self, model: FaceModel, size: int = 150, split: str = "train", seed: int = 0,
                 device: torch.device | str | None = None, batch_size: int = BATCH_SIZE,
                 supersample: int = 2, light_frame: str = "camera"):
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        _check_light_frame(light_frame)
        self.light_frame = light_frame
        if int(size) < 4 or int(batch_size) < 2 or int(supersample) < 1:
            raise ValueError("need size >= 4, batch_size >= 2 and supersample >= 1")
        self.model, self.size, self.split, self.seed = model, int(size), split, int(seed)
        self.batch_size, self.supersample = int(batch_size), int(supersample)
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self._next = dict.fromkeys(KINDS, 0)
        self._tensors = _model_tensors(model, self.device)

    def sample(self, kind: str, index: int) -> dict[str, np.ndarray]:
        """The factors and identity coefficients of batch ``index`` of ``kind`` (no rendering)."""
        return _sample(self.model, SPLITS[self.split], self.seed, kind, index, self.batch_size)

    def render(self, shape_coef: torch.Tensor, albedo_coef: torch.Tensor, azimuth: torch.Tensor,
               elevation: torch.Tensor, light: torch.Tensor) -> torch.Tensor:
        """``(B, 1, size, size)`` renders of given identities under given factors (degrees), as
        :meth:`batch` renders them (Kulkarni et al. 2015 §4.1): the chapter's what-if views."""
        s = {"shape_coef": shape_coef, "albedo_coef": albedo_coef, "azimuth": azimuth,
             "elevation": elevation, "light": light}
        s = {k: torch.as_tensor(v, dtype=torch.float32).detach().cpu().numpy() for k, v in s.items()}
        n = {k: len(v) for k, v in s.items()}
        if len(set(n.values())) != 1:
            raise ValueError(f"every argument needs the same batch length, got {n}")
        if s["shape_coef"].shape[1:] != (self.model.n_shape,) or s["albedo_coef"].shape[1:] != (self.model.n_albedo,):
            raise ValueError(f"shape_coef must be (B, {self.model.n_shape}) and albedo_coef (B, {self.model.n_albedo})")
        return render_faces(self._tensors, s, self.size, self.supersample, self.device,
                            light_frame=self.light_frame)[:, None]

    def batch(self, kind: str, index: int | None = None) -> FaceBatch:
        """Render batch ``index`` (default: the next) of ``kind`` (Kulkarni et al. 2015 §3.2)."""
        _check_kind(kind)
        if index is None:
            index = self._next[kind]
        self._next[kind] = int(index) + 1
        s = self.sample(kind, int(index))
        imgs = render_faces(self._tensors, s, self.size, self.supersample, self.device, light_frame=self.light_frame)
        t = {k: torch.as_tensor(v, dtype=torch.float32, device=self.device) for k, v in s.items()}
        return FaceBatch(kind, imgs[:, None], t["azimuth"], t["elevation"], t["light"],
                         t["shape_coef"], t["albedo_coef"])


def _check_light_frame(light_frame: str) -> None:
    if light_frame not in LIGHT_FRAMES:
        raise ValueError(f"light_frame must be one of {', '.join(LIGHT_FRAMES)}, not {light_frame!r}")


def _sample(model: FaceModel, split_code: int, seed: int, kind: str, index: int,
            n: int) -> dict[str, np.ndarray]:
    k = _check_kind(kind)
    rng = np.random.default_rng(np.random.SeedSequence([FACTOR_NAMESPACE, split_code, seed, k, index]))
    ids = np.random.default_rng(np.random.SeedSequence([IDENTITY_NAMESPACE, split_code, seed, k, index]))
    m = n if kind == SHAPE_VARIED else 1
    shape = np.broadcast_to(ids.standard_normal((m, model.n_shape)), (n, model.n_shape))
    albedo = np.broadcast_to(ids.standard_normal((m, model.n_albedo)), (n, model.n_albedo))
    az, el, li = (_uniform(rng, r) for r in (AZIMUTH_RANGE, ELEVATION_RANGE, LIGHT_AZIMUTH_RANGE))
    f = {"azimuth": np.full(n, az), "elevation": np.full(n, el), "light": np.full(n, li)}
    varied = {AZ_VARIED: ("azimuth", AZIMUTH_RANGE), EL_VARIED: ("elevation", ELEVATION_RANGE),
              LIGHT_VARIED: ("light", LIGHT_AZIMUTH_RANGE)}.get(kind)
    if varied is not None:
        f[varied[0]] = _uniform(rng, varied[1], n)
    return {**{k_: v.astype(np.float32) for k_, v in f.items()},
            "shape_coef": np.ascontiguousarray(shape, np.float32),
            "albedo_coef": np.ascontiguousarray(albedo, np.float32)}


def _model_tensors(model: FaceModel, device: torch.device) -> dict[str, torch.Tensor]:
    t = {k: torch.as_tensor(v, device=device) for k, v in model.arrays().items()}
    return {**t, "shape_basis": t["shape_basis"].reshape(model.n_shape, -1)}


def render_faces(tensors: dict[str, torch.Tensor], s: dict[str, np.ndarray], size: int,
                 supersample: int, device: torch.device, fov_scale: float = FOV_SCALE,
                 light_frame: str = "camera") -> torch.Tensor:
    """Render identities + factors ``s`` to ``(B, size, size)`` float images (Kulkarni §4.1);
    ``light_frame="face"``: ``s["light"]`` turns with the face (camera frame: light − azimuth)."""
    _check_light_frame(light_frame)
    light = torch.as_tensor(s["light"])
    if light_frame == "face":
        light = light - torch.as_tensor(s["azimuth"])
    cs = torch.as_tensor(s["shape_coef"], device=device)
    ca = torch.as_tensor(s["albedo_coef"], device=device)
    verts = tensors["vertices"] + (cs @ tensors["shape_basis"]).reshape(len(cs), -1, 3)
    alb = (tensors["albedo_mean"] + ca @ tensors["albedo_basis"]).clamp(0.02, 1.0)
    img = render(verts, tensors["faces"], alb, torch.as_tensor(s["azimuth"]),
                 torch.as_tensor(s["elevation"]), light,
                 size=size * supersample, ambient=AMBIENT, light_elevation=LIGHT_ELEVATION,
                 fov_scale=fov_scale, device=device)
    if supersample > 1:
        img = F.avg_pool2d(img[:, None], supersample)[:, 0]
    return img


def flat_faces(n: int, seed: int, size: int = 48, model: FaceModel | None = None,
               device: torch.device | str | None = None, supersample: int = 2,
               chunk: int = 500) -> dict[str, np.ndarray]:
    """``n`` random faces, uint8 ``(n, size, size)`` + factors: the TFD stand-in.

    "Rendered faces (stand-in for TFD)" for the GAN chapter (Goodfellow et al. 2014 §5 used
    TFD); rendered as in Kulkarni et al. 2015 §4.1 with random identity, pose and light
    (ranges ``FLAT_*``), tightly cropped. Identities use the ``flat`` RNG namespace.
    """
    model = model if model is not None else load_face_model()
    device = torch.device(device) if device is not None else torch.device("cpu")
    tensors = _model_tensors(model, device)
    rng = np.random.default_rng(np.random.SeedSequence([IDENTITY_NAMESPACE, SPLITS["flat"], int(seed)]))
    s = {"azimuth": _uniform(rng, FLAT_AZIMUTH_RANGE, n),
         "elevation": _uniform(rng, FLAT_ELEVATION_RANGE, n),
         "light": _uniform(rng, FLAT_LIGHT_AZIMUTH_RANGE, n),
         "shape_coef": rng.standard_normal((n, model.n_shape)),
         "albedo_coef": rng.standard_normal((n, model.n_albedo))}
    out = {k: v.astype(np.float32) for k, v in s.items()}
    images = []
    with progress.bar(total=n, desc="rendering faces", unit="face", leave=False) as bar:
        for start in range(0, n, chunk):
            part = {k: v[start:start + chunk] for k, v in out.items()}
            images.append(to_uint8(render_faces(tensors, part, size, supersample, device, FLAT_FOV_SCALE)))
            bar.update(len(images[-1]))
    out["images"] = np.concatenate(images) if images else np.zeros((0, size, size), np.uint8)
    return out


def to_uint8(img: torch.Tensor) -> np.ndarray:
    """Float images in [0, 1] -> uint8 (round to nearest), on the CPU."""
    return (img.clamp(0, 1) * 255 + 0.5).to(torch.uint8).cpu().numpy()


# --- loaders ------------------------------------------------------------------------------

def _folder(path: str | Path | None) -> Path:
    return Path(path) if path is not None else data_dir() / NAME


def _npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(io.BytesIO(path.read_bytes())) as f:
            return {k: f[k] for k in f.files}
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: unreadable ({e}); run {PREPARE_COMMAND} again") from e


def load_manifest(path: str | Path | None = None) -> dict:
    """The faces manifest (sources, checksums, licence, what each file holds)."""
    folder = _folder(path)
    if not (folder / "manifest.json").is_file():
        raise DataMissingError("faces", folder, PREPARE_COMMAND)
    return json.loads((folder / "manifest.json").read_text())


def load_face_model(path: str | Path | None = None) -> FaceModel:
    """The prepared morphable face model (Kulkarni et al. 2015 §4.1)."""
    folder = _folder(path)
    manifest = load_manifest(folder)
    if not (folder / "face_model.npz").is_file():
        raise DataMissingError("faces", folder, PREPARE_COMMAND)
    a = _npz(folder / "face_model.npz")
    m = manifest.get("model", {})
    return FaceModel(a["vertices"], a["faces"], a["shape_basis"], a["albedo_mean"],
                     a["albedo_basis"], source=m.get("source", ""), info=m)


@dataclass
class FaceTestSet:
    """Stored test batches of one kind (Kulkarni et al. 2015 §4.1): uint8 images + truth."""

    kind: str
    images: np.ndarray           # (N, 20, H, W) uint8
    azimuth: np.ndarray          # (N, 20) degrees
    elevation: np.ndarray
    light: np.ndarray
    shape_coef: np.ndarray       # (N, 20, Ks)
    albedo_coef: np.ndarray      # (N, 20, Ka)

    def __len__(self) -> int:
        return len(self.images)

    def batch(self, i: int, device: torch.device | str | None = None) -> FaceBatch:
        """Test batch ``i`` as a float :class:`FaceBatch` on ``device``."""
        t = {k: torch.as_tensor(getattr(self, k)[i], device=device)
             for k in ("azimuth", "elevation", "light", "shape_coef", "albedo_coef")}
        img = torch.as_tensor(self.images[i], device=device).float().div_(255)[:, None]
        return FaceBatch(self.kind, img, **t)


def _profile_file(folder: Path, key: str, profile: str) -> Path:
    manifest = load_manifest(folder)
    entry = manifest.get("profiles", {}).get(profile, {}).get(key)
    cmd = f"{PREPARE_COMMAND} --profile {profile}"
    if entry is None or not (folder / entry["file"]).is_file():
        raise DataMissingError(f"faces ({key}, profile {profile})", folder, cmd)
    return folder / entry["file"]


def load_test_batches(profile: str = "quick", path: str | Path | None = None) -> dict[str, FaceTestSet]:
    """The fixed test batches of each kind, stored by ``data_prep/faces.py --profile P``."""
    a = _npz(_profile_file(_folder(path), "test_batches", profile))
    fields = ("images", "azimuth", "elevation", "light", "shape_coef", "albedo_coef")
    return {k: FaceTestSet(k, *(a[f"{k}/{f}"] for f in fields)) for k in KINDS}


def flat_faces_file(profile: str = "quick", path: str | Path | None = None) -> Path:
    """Where the flat set of ``profile`` is (``DataMissingError`` naming the command when it is
    not prepared), without reading it."""
    return _profile_file(_folder(path), "flat_faces", profile)


def load_flat_faces(profile: str = "quick", path: str | Path | None = None) -> dict[str, np.ndarray]:
    """The flat TFD stand-in ("rendered faces (stand-in for TFD)"): uint8 ``images`` + factors."""
    return _npz(flat_faces_file(profile, path))
