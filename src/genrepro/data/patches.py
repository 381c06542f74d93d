"""8×8 natural-image patches for the Deep GMM chapter (van den Oord & Schrauwen 2014 §5).

The protocol is Uria, Murray & Larochelle 2013 (RNADE, natural-image-patch experiment),
which the Deep GMM paper follows, and which itself follows Zoran & Weiss 2011:

* Images: BSDS300 (:mod:`genrepro.data.bsds300`), grayscale 0–255. Training patches come
  from 180 of the 200 training images, validation patches from the other 20, test patches
  from the 100 test images. Uria et al. do not list their 20; ours are
  :data:`BSDS300_VALID_IDS`, drawn once by :func:`choose_valid` (the 200 ids sorted
  numerically, ``numpy.random.default_rng(2014).permutation``, first 20).
* Locations: uniform over every (image, top-left corner) pair of the split (uniform over
  images when they are the same size, as in BSDS300), from a seeded generator.
* :func:`preprocess`: add u ~ U[0, 1) to every 0–255 pixel value (dequantisation: a density
  cannot score arbitrarily high by spiking on the 256 levels), divide by 256 (values in
  [0, 1)), subtract each patch's mean, drop the last (bottom-right) pixel: 63 dimensions,
  values in (−1, 1).
* Log-likelihoods are reported in nats per patch, as log p(y) of the 63-vector y. Mean
  removal makes the 64 values sum to 0, so the dropped pixel is minus the sum of the others
  and y holds everything but the patch's mean (DC) intensity, which is not modelled. This is
  the usual convention (Uria et al. 2013; van den Oord & Schrauwen 2014 §5;
  Papamakarios et al. 2017): it is not a log-probability of the 8-bit patch, and it depends
  on the /256 scale (scaling y by s shifts it by −63·log s).

Counts per split are in ``profiles.TABLE["deepgmm_data"]`` (:func:`counts`): quick
20,000 / 5,000 / 10,000; full 500,000 training patches (the paper's Figure 4) and
50,000 / 250,000, the validation / test sizes of Uria et al.'s BSDS300 patch set.

Figure 4b ("tiny images"): the paper downscaled whole 32×32 images to 8×8. We take random
32×32 crops of the same split's images, average 4×4 blocks, round to integers 0–255 (as an
8-bit 8×8 image would store them) and apply the same :func:`preprocess`.

Stand-in: with no prepared BSDS300, :func:`load_patches` draws from :data:`PHOTOS`, twelve
natural photographs shipped inside scikit-image, scikit-learn and matplotlib (read from
their package folders, no download), split by whole image into train / valid / test, with
the same preprocessing and counts. It is always named as a stand-in (:data:`STANDIN`).
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genrepro import profiles
from genrepro.data import bsds300
from genrepro.data.prep import DataError, sha256_file

PATCH = 8
DIM = PATCH * PATCH - 1  # 63
TINY_CROP = 32
SPLITS: tuple[str, ...] = ("train", "valid", "test")
KINDS: tuple[str, ...] = ("patches", "tiny")
VALID_SEED = 2014
VALID_FRACTION = 0.1  # 20 of BSDS300's 200 training images (Uria et al. 2013)
_CHUNK = 65_536
NAMES = {
    ("bsds300", "patches"): "BSDS300 8×8 patches",
    ("bsds300", "tiny"): "BSDS300 32×32 crops downscaled to 8×8 (stand-in for tiny images)",
    ("photos", "patches"): "natural-photo patches (stand-in for BSDS300)",
    ("photos", "tiny"): "natural-photo 32×32 crops downscaled to 8×8 "
                        "(stand-in for tiny images)",
}
STANDIN = NAMES[("photos", "patches")]

# choose_valid(bsds300.image_ids("train")), frozen so the split never depends on NumPy's
# generator implementation; tests check the two agree.
BSDS300_VALID_IDS: tuple[str, ...] = (
    "8049", "8143", "24004", "28096", "35091", "41004", "54005", "94079", "95006",
    "100098", "108041", "118020", "140055", "144067", "145014", "183055", "187003",
    "189003", "245051", "323016",
)


@dataclass(frozen=True)
class Photo:
    """One stand-in photograph: where it ships, its split and licence."""

    name: str
    package: str  # importable package that ships the file
    path: str  # relative to the package folder
    split: str
    license: str
    credit: str
    sha256: str  # of the file as shipped by the versions this was written against


PHOTOS: tuple[Photo, ...] = (
    Photo("astronaut", "skimage", "data/astronaut.png", "train", "public domain",
          "Eileen Collins, NASA Great Images (skimage.data.astronaut)",
          "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5"),
    Photo("camera", "skimage", "data/camera.png", "train", "CC0",
          "Lav Varshney (skimage.data.camera)",
          "b0793d2adda0fa6ae899c03989482bff9a42d3d5690fc7e3648f2795d730c23a"),
    Photo("coffee", "skimage", "data/coffee.png", "train", "CC0",
          "Rachel Michetti, courtesy of Pikolo Espresso Bar (skimage.data.coffee)",
          "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7"),
    Photo("rocket", "skimage", "data/rocket.jpg", "train", "public domain",
          "SpaceX, DSCOVR launch on Falcon 9 (skimage.data.rocket)",
          "c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c"),
    Photo("china", "sklearn", "datasets/images/china.jpg", "train", "CC BY 2.0",
          "flickr user danielbuechele (sklearn.datasets.load_sample_images)",
          "8378025ad2519d649d02e32bd98990db4ab572357d9f09841c2fbfbb4fefad29"),
    Photo("grass", "skimage", "data/grass.png", "train", "CC0",
          "linolafett on DeviantArt (skimage.data.grass)",
          "b6b6022426b38936c43a4ac09635cd78af074e90f42ffa8227ac8b7452d39f89"),
    Photo("brick", "skimage", "data/brick.png", "train", "CC0",
          "CC0Textures Bricks25 (skimage.data.brick)",
          "7966caf324f6ba843118d98f7a07746d22f6a343430add0233eca5f6eaaa8fcf"),
    Photo("chelsea", "skimage", "data/chelsea.png", "valid", "CC0",
          "Stefan van der Walt (skimage.data.chelsea)",
          "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb"),
    Photo("gravel", "skimage", "data/gravel.png", "valid", "CC0",
          "CC0Textures Gravel04 (skimage.data.gravel)",
          "c48615b451bf1e606fbd72c0aa9f8cc0f068ab7111ef7d93bb9b0f2586440c12"),
    Photo("flower", "sklearn", "datasets/images/flower.jpg", "test", "CC BY 2.0",
          "flickr user vultilion (sklearn.datasets.load_sample_images)",
          "a77f6ec41e353afdf8bdff2ea981b2955535d8d83294f8cfa49cf4e423dd5638"),
    Photo("grace_hopper", "matplotlib", "mpl-data/sample_data/grace_hopper.jpg", "test",
          "public domain (U.S. Navy official photograph)",
          "Grace Hopper portrait (matplotlib sample data)",
          "a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130"),
    Photo("coins", "skimage", "data/coins.png", "test", "no known copyright restrictions",
          "Greek coins from Pompeii, Brooklyn Museum (skimage.data.coins)",
          "f8d773fc9cfa6f4d8e5942dc34d0a0788fcaed2a4fefbbed0aef5398d7ef4cba"),
)


@dataclass(frozen=True)
class PatchSet:
    """Preprocessed vectors ``x`` (n, 63) of one split, and what they were drawn from."""

    x: np.ndarray
    dataset: str  # e.g. "BSDS300 8×8 patches" or STANDIN
    source: str  # "bsds300" or "photos"
    split: str
    kind: str  # "patches" or "tiny"
    seed: int
    images: tuple[str, ...]  # ids / names of the images sampled from
    info: dict = field(default_factory=dict, repr=False)  # provenance, photo licences

    @property
    def is_stand_in(self) -> bool:
        return self.source != "bsds300"


def _check(split: str, kind: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; valid: {', '.join(KINDS)}")


def preprocess(raw: np.ndarray, rng: np.random.Generator,
               dtype: type = np.float32) -> np.ndarray:
    """Uria et al. 2013: (n, 8, 8) or (n, 64) pixel values 0–255 → (n, 63) (module docstring).

    Computed in float64 and cast to ``dtype``. Values that are not finite, not integers or
    outside [0, 255] raise :class:`DataError`.
    """
    x = np.asarray(raw, dtype=np.float64).reshape(len(raw), -1)
    if x.shape[1] != PATCH * PATCH:
        raise DataError(f"patches have {x.shape[1]} pixels, expected {PATCH * PATCH}")
    if not np.isfinite(x).all():
        raise DataError(f"{int((~np.isfinite(x)).sum())} pixel values are NaN or infinite")
    if x.size and (x.min() < 0 or x.max() > 255 or not np.array_equal(x, np.round(x))):
        raise DataError(f"pixel values (span [{x.min()}, {x.max()}]) must be integer "
                        "levels 0–255: the U[0, 1) dequantisation noise assumes them")
    x = (x + rng.random(x.shape)) / 256.0
    x -= x.mean(axis=1, keepdims=True)
    return x[:, :DIM].astype(dtype)


def locations(shapes: Sequence[tuple[int, ...]], n: int, size: int,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(image index, row, column) of ``n`` corners, uniform over every (image, corner) pair."""
    counts = np.array([max(h - size + 1, 0) * max(w - size + 1, 0) for h, w, *_ in shapes],
                      dtype=np.float64)
    if counts.sum() == 0:
        raise DataError(f"no image is at least {size}×{size}")
    which = rng.choice(len(shapes), size=n, p=counts / counts.sum())
    u = rng.random((n, 2))
    hw = np.array([s[:2] for s in shapes], dtype=np.int64)[which] - size + 1
    return which, (u[:, 0] * hw[:, 0]).astype(np.int64), (u[:, 1] * hw[:, 1]).astype(np.int64)


def crop(images: Sequence[np.ndarray], which: np.ndarray, rows: np.ndarray,
         cols: np.ndarray, size: int) -> np.ndarray:
    """The uint8 ``size``×``size`` windows at the given (image, row, column) corners."""
    out = np.empty((len(which), size, size), dtype=np.uint8)
    ar = np.arange(size)
    for j in np.unique(which):
        sel = np.flatnonzero(which == j)
        r, c = rows[sel], cols[sel]
        out[sel] = images[j][r[:, None, None] + ar[None, :, None], c[:, None, None] + ar]
    return out


def extract(images: Sequence[np.ndarray], n: int, size: int,
            rng: np.random.Generator) -> np.ndarray:
    """``n`` uint8 ``size``×``size`` crops, uniform over every (image, corner) pair."""
    return crop(images, *locations([im.shape for im in images], n, size, rng), size)


def downscale(crops: np.ndarray, factor: int = TINY_CROP // PATCH) -> np.ndarray:
    """Average ``factor``×``factor`` blocks, round half up to uint8 (32×32 → 8×8, Figure 4b)."""
    n, h, w = crops.shape
    sums = crops.reshape(n, h // factor, factor, w // factor, factor).sum(axis=(2, 4),
                                                                          dtype=np.int64)
    k = factor * factor
    return ((sums + k // 2) // k).astype(np.uint8)  # = floor(mean + 1/2)


def _as_levels(im: np.ndarray, k: int) -> np.ndarray:
    """``im`` as uint8, or a :class:`DataError` unless it holds integer levels 0–255."""
    im = np.asarray(im)
    if im.ndim != 2:
        raise DataError(f"image {k} has shape {im.shape}; expected a 2-D grayscale image")
    if im.dtype == np.uint8:
        return im
    if not np.isfinite(im).all():
        raise DataError(f"image {k} holds NaN or infinite pixel values")
    if im.size and (im.min() < 0 or im.max() > 255 or not np.array_equal(im, np.round(im))):
        raise DataError(f"image {k} is not 8-bit: values must be integers 0–255 (the "
                        "dequantisation noise of the protocol assumes 256 levels)")
    return im.astype(np.uint8)


def sample(images: Sequence[np.ndarray], n: int, rng: np.random.Generator,
           kind: str = "patches", dtype: type = np.float32) -> np.ndarray:
    """Draw ``n`` preprocessed (n, 63) vectors of ``kind`` from grayscale 0–255 ``images``."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; valid: {', '.join(KINDS)}")
    images = [_as_levels(im, k) for k, im in enumerate(images)]
    size = PATCH if kind == "patches" else TINY_CROP
    where = locations([im.shape for im in images], n, size, rng)
    out = np.empty((n, DIM), dtype=dtype)
    for a in range(0, n, _CHUNK):  # bounded temporaries for 500,000 patches
        raw = crop(images, *(v[a:a + _CHUNK] for v in where), size)
        out[a:a + _CHUNK] = preprocess(raw if kind == "patches" else downscale(raw), rng, dtype)
    return out


def _rng(seed: int, split: str, kind: str) -> np.random.Generator:
    # one independent stream per (seed, split, kind): locations first, then the noise
    return np.random.default_rng([int(seed), SPLITS.index(split), KINDS.index(kind)])


def choose_valid(train_ids: Sequence[str], seed: int = VALID_SEED,
                 fraction: float = VALID_FRACTION) -> list[str]:
    """The held-out validation ids: a seeded permutation of the numerically sorted ids."""
    ids = sorted(train_ids, key=bsds300.id_order)
    k = max(1, round(fraction * len(ids)))
    perm = np.random.default_rng(seed).permutation(len(ids))
    return sorted((ids[i] for i in perm[:k]), key=bsds300.id_order)


def bsds300_split(data: bsds300.BSDS300, split: str) -> list[str]:
    """Keys (``"train/<id>"``) of the images in ``split``: 180 train / 20 valid / 100 test."""
    _check(split, "patches")
    if split == "test":
        return [f"test/{i}" for i in data.ids("test")]
    train = data.ids("train")
    pinned = set(train) == set(bsds300.image_ids("train"))
    valid = set(BSDS300_VALID_IDS if pinned else choose_valid(train))
    return [f"train/{i}" for i in train if (i in valid) == (split == "valid")]


@functools.lru_cache(maxsize=2)
def _load_bsds(folder: str, stamp: int) -> bsds300.BSDS300:
    return bsds300.load(folder)


def _bsds(path: str | Path | None) -> bsds300.BSDS300:
    folder = Path(path) if path is not None else bsds300.default_path()
    if not bsds300.is_prepared(folder):
        return bsds300.load(folder)  # raises DataMissingError naming the command
    return _load_bsds(str(folder.resolve()), (folder / "manifest.json").stat().st_mtime_ns)


def bsds300_patches(split: str, n: int, seed: int = 0, *, kind: str = "patches",
                    path: str | Path | None = None, dtype: type = np.float32) -> np.ndarray:
    """``n`` preprocessed BSDS300 vectors (n, 63) of ``split`` ("train"/"valid"/"test")."""
    _check(split, kind)
    data = _bsds(path)
    keys = bsds300_split(data, split)
    return sample([data.images[k] for k in keys], n, _rng(seed, split, kind), kind, dtype)


def _photo_file(photo: Photo) -> Path:
    spec = importlib.util.find_spec(photo.package)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"stand-in photo {photo.name}: package {photo.package} is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / photo.path


@functools.lru_cache(maxsize=1)
def photos() -> tuple[dict[str, np.ndarray], dict]:
    """The stand-in photos as uint8 grayscale (same conversion as BSDS300) and a manifest."""
    arrays, listing = {}, []
    for p in PHOTOS:
        f = _photo_file(p)
        if not f.is_file():
            raise DataError(f"stand-in photo {p.name}: {f} is missing from {p.package}")
        digest = sha256_file(f)
        if digest != p.sha256:
            warnings.warn(f"stand-in photo {p.name} ({f}) differs from the pinned copy "
                          f"(sha256 {digest}); the installed {p.package} changed it",
                          stacklevel=2)
        arrays[p.name] = bsds300.to_gray(f.read_bytes(), f"stand-in photo {p.name}")
        arrays[p.name].setflags(write=False)
        h, w = arrays[p.name].shape
        listing.append({"name": p.name, "package": p.package, "file": p.path, "split": p.split,
                        "license": p.license, "credit": p.credit, "sha256": digest,
                        "pinned": digest == p.sha256, "shape_hxw": [h, w]})
    manifest = {"dataset": STANDIN, "grayscale": bsds300.GRAYSCALE, "photos": listing,
                "split_rule": "whole photos per split, fixed in genrepro.data.patches.PHOTOS"}
    return arrays, manifest


def photo_patches(split: str, n: int, seed: int = 0, *, kind: str = "patches",
                  dtype: type = np.float32) -> np.ndarray:
    """``n`` preprocessed stand-in vectors (n, 63) from the photos of ``split``."""
    _check(split, kind)
    arrays, _ = photos()
    ims = [arrays[p.name] for p in PHOTOS if p.split == split]
    return sample(ims, n, _rng(seed, split, kind), kind, dtype)


def tiny_images(split: str, n: int, seed: int = 0, *, source: str = "auto",
                path: str | Path | None = None, dtype: type = np.float32) -> np.ndarray:
    """Figure 4b's 8×8 "tiny images": random 32×32 crops downscaled (module docstring)."""
    return load_patches(split, n=n, seed=seed, kind="tiny", source=source, path=path,
                        dtype=dtype).x


def counts(profile: str) -> dict[str, int]:
    """Patches per split in ``profile`` (``profiles.TABLE["deepgmm_data"]``)."""
    s = profiles.get("deepgmm_data", profile)
    return {"train": s.n_train, "valid": s.n_valid, "test": s.n_test}


def load_patches(split: str, profile: str = "quick", *, n: int | None = None,
                 seed: int | None = None, kind: str = "patches", source: str = "auto",
                 path: str | Path | None = None, dtype: type = np.float32) -> PatchSet:
    """The chapter's data: BSDS300 when prepared (``source="auto"``), else the stand-in.

    ``n`` defaults to the profile's count for ``split`` and ``seed`` to its seed;
    ``source`` is "auto", "bsds300" (a :class:`DataMissingError` if not prepared) or
    "photos". The returned :class:`PatchSet` names the dataset, stand-in or not.
    """
    _check(split, kind)
    if source not in ("auto", "bsds300", "photos"):
        raise ValueError(f"unknown source {source!r}; valid: auto, bsds300, photos")
    n = counts(profile)[split] if n is None else int(n)
    seed = profiles.get("deepgmm_data", profile).seed if seed is None else int(seed)
    if source == "auto":
        source = "bsds300" if bsds300.is_prepared(path) else "photos"
    if source == "bsds300":
        data = _bsds(path)
        keys = bsds300_split(data, split)
        x = sample([data.images[k] for k in keys], n, _rng(seed, split, kind), kind, dtype)
        info = {k: data.manifest.get(k) for k in ("dataset", "source", "grayscale", "license")}
        names = tuple(keys)
    else:
        x = photo_patches(split, n, seed, kind=kind, dtype=dtype)
        info = copy.deepcopy(photos()[1])
        names = tuple(p.name for p in PHOTOS if p.split == split)
    return PatchSet(x, NAMES[(source, kind)], source, split, kind, seed, names, info)
