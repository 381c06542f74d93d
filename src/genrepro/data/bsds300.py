"""BSDS300 (Martin et al. 2001): the natural images of the Deep GMM chapter.

van den Oord & Schrauwen 2014 §5 model 8×8 patches of the Berkeley Segmentation Dataset's
300 images, preprocessed as Uria, Murray & Larochelle 2013 (RNADE) did. The patches are
drawn by :mod:`genrepro.data.patches`; this module only turns the official images into
verified grayscale pixel arrays.

* ``python data_prep/bsds300.py --source PATH`` reads the official ``BSDS300-images.tgz``
  or its extracted ``BSDS300/`` folder (``images/train/*.jpg``: 200, ``images/test/*.jpg``:
  100, ``iids_train.txt``, ``iids_test.txt``). Every image is checked against the SHA-256
  pinned in :data:`CHECKSUMS`; all missing or altered images are listed in one
  :class:`DataError`, and nothing is written unless all 300 verify.
* Grayscale (:data:`GRAYSCALE`): ITU-R BT.601 luma as Pillow computes it,
  ``Image.convert("L")`` = ``round(0.299 R + 0.587 G + 0.114 B)`` on the decoded 0–255 RGB
  values, kept as uint8. Uria et al. do not state their conversion; MATLAB's ``rgb2gray``
  uses the same BT.601 weights, so a MATLAB-made copy differs from ours at most by rounding.
  Integer levels 0–255 are what the protocol's uniform dequantisation noise assumes.
* Output ``<data>/bsds300/``: ``images.npz`` (uncompressed, ≈46 MB; one uint8 (H, W) array
  per image, keys ``train_<id>`` / ``test_<id>``; 481×321 or 321×481, orientation kept) and
  ``manifest.json`` (source, the 300 checksums, the splits, the conversion, the npz SHA-256).

BSDS300 is provided by UC Berkeley for non-commercial research and educational use (cite
Martin, Fowlkes, Tal & Malik, ICCV 2001). It is never fetched automatically: download
``BSDS300-images.tgz`` from :data:`URL` yourself.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import PIL
from PIL import Image

from genrepro.data.prep import (
    DataError,
    DataMissingError,
    atomic_dir,
    sha256_bytes,
    sha256_file,
    write_json,
)
from genrepro.paths import data_dir

NAME = "bsds300"
SPLITS: tuple[str, ...] = ("train", "test")
URL = "https://www2.eecs.berkeley.edu/Research/Projects/CS/vision/bsds/BSDS300-images.tgz"
PREPARE_COMMAND = "python data_prep/bsds300.py --source BSDS300-images.tgz"
NPZ = "images.npz"
GRAYSCALE = ("ITU-R BT.601 luma via Pillow Image.convert('L'): "
             "round(0.299 R + 0.587 G + 0.114 B) of the decoded 0-255 RGB values, uint8")
LICENSE = ("BSDS300 images: UC Berkeley, for non-commercial research and educational use; "
           "cite Martin, Fowlkes, Tal & Malik, ICCV 2001")

_IMAGE = re.compile(r"(?:^|/)images/(train|test)/([^/]+\.jpg)$")
_IIDS = re.compile(r"(?:^|/)iids_(train|test)\.txt$")


@dataclass(frozen=True)
class BSDS300:
    """Prepared BSDS300: ``images["train/2092"]`` is a uint8 (H, W) grayscale array."""

    images: dict[str, np.ndarray]
    manifest: dict

    def ids(self, split: str) -> list[str]:
        """The image ids of ``split`` ("train" or "test"), sorted numerically."""
        _check_split(split)
        return sorted((k.split("/", 1)[1] for k in self.images if k.startswith(split + "/")),
                      key=id_order)

    def split(self, split: str) -> list[np.ndarray]:
        """The images of ``split`` in the order of :meth:`ids`."""
        return [self.images[f"{split}/{i}"] for i in self.ids(split)]


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"unknown BSDS300 split {split!r}; valid: {', '.join(SPLITS)}")


def id_order(image_id: str) -> tuple[int, str]:
    """Sort key: numeric ids by value (BSDS300 ids are numbers), others after them."""
    return (int(image_id), "") if image_id.isdigit() else (1 << 62, image_id)


def image_ids(split: str, checksums: Mapping[str, str] | None = None) -> list[str]:
    """The ids of ``split`` named in ``checksums`` (default: the pinned 200 / 100), sorted."""
    _check_split(split)
    sums = CHECKSUMS if checksums is None else checksums
    ids = [k.split("/", 1)[1].removesuffix(".jpg") for k in sums if k.startswith(split + "/")]
    return sorted(ids, key=id_order)


def _short(names: list[str], k: int = 12) -> str:
    head = ", ".join(names[:k])
    return head + (f", … and {len(names) - k} more" if len(names) > k else "")


def _read_dir(src: Path) -> tuple[dict[str, bytes], dict[str, set[str]], str]:
    if (src / "images").is_dir():
        root = src
    elif (src / "BSDS300" / "images").is_dir():
        root = src / "BSDS300"
    else:
        raise DataError(f"--source {src}: no images/ folder (expected the extracted BSDS300/ "
                        "folder with images/train and images/test, or BSDS300-images.tgz)")
    raw: dict[str, bytes] = {}
    iids: dict[str, set[str]] = {}
    for split in SPLITS:
        for p in sorted((root / "images" / split).glob("*.jpg")):
            raw[f"{split}/{p.name}"] = p.read_bytes()
        ids_file = root / f"iids_{split}.txt"
        if ids_file.is_file():
            iids[split] = set(ids_file.read_text().split())
    return raw, iids, f"dir:{root.resolve()}"


def _read_tgz(src: Path) -> tuple[dict[str, bytes], dict[str, set[str]], str]:
    raw: dict[str, bytes] = {}
    iids: dict[str, set[str]] = {}
    try:
        with tarfile.open(src, "r:*") as tar:
            for member in tar:  # reading every member finds truncation and bad CRCs
                if not member.isfile():
                    continue
                name = member.name.replace("\\", "/")
                fobj = tar.extractfile(member)
                if fobj is None:
                    continue
                data = fobj.read()
                if m := _IMAGE.search(name):
                    raw[f"{m[1]}/{m[2]}"] = data
                elif m := _IIDS.search(name):
                    iids[m[1]] = set(data.decode("ascii", "replace").split())
            while tar.fileobj is not None and tar.fileobj.read(1 << 20):
                pass  # read to the end so gzip checks its CRC and length trailer
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        raise DataError(f"--source {src}: not a readable .tgz archive; it is corrupt or "
                        f"truncated ({type(e).__name__}: {e}). Download {URL} again.") from e
    return raw, iids, f"tgz:{src.resolve()} (sha256 {sha256_file(src)})"


def read_source(source: str | Path) -> tuple[dict[str, bytes], dict[str, set[str]], str]:
    """Raw JPEG bytes keyed ``"train/<id>.jpg"``, the iids lists found, and a provenance line."""
    src = Path(source)
    if src.is_dir():
        return _read_dir(src)
    if src.is_file():
        return _read_tgz(src)
    raise DataError(f"--source {src}: no such file or folder")


def verify(raw: Mapping[str, bytes], checksums: Mapping[str, str], what: str) -> None:
    """Raise one :class:`DataError` listing every missing and every altered image."""
    missing = [k for k in checksums if k not in raw]
    altered = [k for k in checksums if k in raw and sha256_bytes(raw[k]) != checksums[k]]
    if missing or altered:
        parts = []
        if missing:
            parts.append(f"{len(missing)} of {len(checksums)} images are missing: "
                         f"{_short(missing)}")
        if altered:
            parts.append(f"{len(altered)} images are altered (SHA-256 differs from the pinned "
                         f"value): {_short(altered)}")
        raise DataError(f"BSDS300 from {what}: " + "; ".join(parts) + ". Use the official, "
                        f"unmodified BSDS300-images.tgz ({URL}) or its extracted folder.")


def to_gray(data: bytes, what: str) -> np.ndarray:
    """Decode an image and convert it to uint8 BT.601 luma (see :data:`GRAYSCALE`)."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            gray = np.asarray(im.convert("L"), dtype=np.uint8)
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise DataError(f"{what}: cannot decode the image ({e})") from e
    return gray


def prepare(source: str | Path | None, out: str | Path | None = None,
            checksums: Mapping[str, str] | None = None,
            log: Callable[[str], None] = print) -> Path:
    """Verify BSDS300 at ``source`` (.tgz or folder) and write ``out`` (default ``<data>/bsds300``).

    ``checksums`` maps ``"train/<id>.jpg"`` / ``"test/<id>.jpg"`` to SHA-256 (default the
    pinned :data:`CHECKSUMS`; tests pass their own for tiny fake trees). Images outside it
    are ignored. Nothing is left at ``out`` unless every image verified and decoded.
    """
    sums = dict(CHECKSUMS if checksums is None else checksums)
    if source is None:
        raise DataError(f"BSDS300 is not fetched automatically (non-commercial licence). "
                        f"Download {URL} and run:\n    {PREPARE_COMMAND}")
    out = Path(out) if out is not None else data_dir() / NAME
    raw, iids, provenance = read_source(source)
    verify(raw, sums, provenance)
    for split, listed in iids.items():
        expected = set(image_ids(split, sums))
        if listed != expected:
            odd = sorted(listed ^ expected, key=id_order)
            raise DataError(f"BSDS300 from {provenance}: iids_{split}.txt does not list the "
                            f"{split} images ({len(odd)} ids differ: {_short(odd)})")
    extra = sorted(set(raw) - set(sums))
    if extra:
        log(f"[bsds300] ignoring {len(extra)} image(s) without a pinned checksum: {_short(extra)}")
    gray = {k.removesuffix(".jpg"): to_gray(raw[k], f"BSDS300 {k}") for k in sums}
    shapes: dict[str, int] = {}
    for g in gray.values():
        shapes[f"{g.shape[0]}x{g.shape[1]}"] = shapes.get(f"{g.shape[0]}x{g.shape[1]}", 0) + 1
    with atomic_dir(out) as tmp:
        np.savez(tmp / NPZ, **{k.replace("/", "_"): v for k, v in gray.items()})
        write_json(tmp / "manifest.json", {
            "dataset": "BSDS300",
            "source": provenance,
            "raw_sha256": sums,
            "splits": {s: image_ids(s, sums) for s in SPLITS},
            "grayscale": GRAYSCALE,
            "dtype": "uint8",
            "shapes_hxw": shapes,
            "npz": NPZ,
            "npz_sha256": sha256_file(tmp / NPZ),
            "pillow": PIL.__version__,
            "license": LICENSE,
            "prepared": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        })
    log(f"[bsds300] wrote {out}: {len(gray)} grayscale images from {provenance}")
    return out


def default_path() -> Path:
    """Where the prepared BSDS300 lives: ``<data>/bsds300``."""
    return data_dir() / NAME


def is_prepared(path: str | Path | None = None) -> bool:
    """Whether ``path`` (default :func:`default_path`) holds a prepared BSDS300."""
    folder = Path(path) if path is not None else default_path()
    return (folder / NPZ).is_file() and (folder / "manifest.json").is_file()


def load(path: str | Path | None = None) -> BSDS300:
    """Load prepared BSDS300; a :class:`DataMissingError` naming the command when absent."""
    folder = Path(path) if path is not None else default_path()
    if not is_prepared(folder):
        raise DataMissingError("BSDS300", folder, PREPARE_COMMAND)
    manifest = json.loads((folder / "manifest.json").read_text())
    images: dict[str, np.ndarray] = {}
    with np.load(folder / NPZ) as f:
        for split in SPLITS:
            for i in manifest["splits"][split]:
                key = f"{split}_{i}"
                if key not in f.files:
                    raise DataError(f"{folder / NPZ}: image {split}/{i} is missing; prepare again")
                arr = f[key]
                if arr.dtype != np.uint8 or arr.ndim != 2 or min(arr.shape) < 8:
                    raise DataError(f"{folder / NPZ}: {split}/{i} is {arr.dtype} {arr.shape}, "
                                    "not a uint8 grayscale image; prepare again")
                images[f"{split}/{i}"] = arr
    return BSDS300(images, manifest)


# SHA-256 of the 300 official BSDS300 JPEGs, keyed by their path under BSDS300/images/.
# Computed from the maintainers' byte-exact copy (see SOURCE.md there): BIDS/BSDS500 commit
# a04b7c6c, whose train/val images are the BSDS300 train/test images, checked against the
# LFS oids of a BSDS300 layout in Lallapallooza/cycle_adv_ot (e38f5b53).
CHECKSUMS: dict[str, str] = {
    "train/2092.jpg": "274503ed987a029f7e128487ea1f657f563ee68e1bd3fb1f691e218a9aea054d",
    "train/8049.jpg": "418ea26f53efd8707399bea46c9a295c7c7e96b05b5b4792af7214649aba249b",
    "train/8143.jpg": "76e88b97c7640c2203a0f61d6739d8590f0c7e89d064d045cb68c65ead634fd9",
    "train/12003.jpg": "82209028e619fa21b087ea9e3863c05febbf1d05d9d4f078e6cd2fb233d67e2b",
    "train/12074.jpg": "2da4340200aea1bce9a52f3824d50eca50a3dd4a7a923ae3f6de494ae1152ba6",
    "train/15004.jpg": "2ed06661ad2089a06ad998a10206d7b4d4ea5340ad9418037d9585185981e0b9",
    "train/15088.jpg": "d66df9d54fd05a288493ab11a1383d60166f7fc3c48e4e883f0ec83d8586496b",
    "train/16052.jpg": "be60accfd2bfa991b779640994308a61cc7bea0c672a45fa2d5649e004a7f15e",
    "train/20008.jpg": "a051d50a0ad0680cd89fdd3e7aeed911ee53de62dce312f9e76334bf7389f8db",
    "train/22013.jpg": "1630638a74906aafc9aa3d7e21492b8c1ccf8f8faa29dbe349f3200f706ec547",
    "train/22090.jpg": "0d2571b84f29236b5baaa75c917f151876c3d77746796225ec2d6b92d699abe7",
    "train/22093.jpg": "924d70d1149bfd889b21baf09c7eca6c85068b70b86128f02ea5912028e9b796",
    "train/23025.jpg": "5603852f1c983746485bdf459c83961a9b208d540b838697a863056a9d3446d5",
    "train/23080.jpg": "e167d0c757e60b9d7832e893a84f04c3afd34627d5d3c3a68b5605161e44d6e7",
    "train/23084.jpg": "17f5011826155d9a424a66b0a7c176e4f3cbec01a70b1b3bb9c3a21ac13cf99a",
    "train/24004.jpg": "2d4ccde85f753a82f67c9261204c6b6333ab8484504cf433d4383382c87ebb87",
    "train/24063.jpg": "545d3a0f4cbe1fb6b7897ef3cae6a9fcaa681e39616ad73f4e4e99ba95d1a6fb",
    "train/25098.jpg": "4cf953fb3cc6bbb9089483a8bcdc3fb956b3ea9aeb444673f5ab4703fe25705a",
    "train/26031.jpg": "fba6d84e560eb3eed75ad615db4fdc3046d7c7f19d8f8c3bf027fca204abb9e3",
    "train/27059.jpg": "b2ad41923ca24fbe04b6b291dc8d1ed99eb79ad9060f93d99b4c715ac4684b91",
    "train/28075.jpg": "ffd87260a8e593287b3c35151b39d8861ba2a80d3b69ef5a0f6f9d089be5ab0d",
    "train/28096.jpg": "6bdb764890d0fc3d59ddd6419ee93188c0a5397cf14b94ca825ce25fc5299f7e",
    "train/33066.jpg": "3518a4a6a931578a21fa41603a5f22d39004136a0b6c3a66c951285a6b10ad63",
    "train/35008.jpg": "c96d0152195351dee60a3bbb1f7e719eb5d977f5d760a778ee7decda2a7f79dd",
    "train/35010.jpg": "1aec271e4b952acee3f5414899633f7d377ac054c7da57bcaa455ae30e40276f",
    "train/35058.jpg": "2cc200475b427bad74a7f58a7f031e320ab14a86affc7a3873301aa78402534a",
    "train/35070.jpg": "2451a585fc1817d732c81bd73b14a7614e2a1da7f647e288126a9a76b61df5e6",
    "train/35091.jpg": "391d904c55e8d1161d6096edb6b0507f9621801fc630ff186259be846d939d52",
    "train/41004.jpg": "18ab4ca2c20426fad316757ea6ab3b260fa6ea37ccff518cd4a7cc329091991b",
    "train/41025.jpg": "f251407ef9a59235329e84c4d37cdf730fcd1dd431eeafe60585d9af4e8ba789",
    "train/42044.jpg": "a8ef1539007cfeda438d7c20cd4e009c5ca5e31fbdbd73dd40683897361222b8",
    "train/42078.jpg": "8581db9f492bf49c7c4ccd3afa51d5af4bd9f2584f1478aaba76072a8cb2cd9f",
    "train/43070.jpg": "b1530a4865876dc03e202d63e8c7f53e6005e951858d1971f222d3fce4ad2574",
    "train/43083.jpg": "f84b16dc078d7ec78712be49223bbde0378a85d7546980e00849bf717721c7bd",
    "train/45077.jpg": "be1cc8eccd4d479e7c7af652b445813caba0078fa53214ef8b29daef2040fbe2",
    "train/46076.jpg": "0dd7dd057a991aba7b44e809a3d03aaf75c8ab889f8b56c5cd1eb1493246f0f8",
    "train/48055.jpg": "2dbf3f3f6203be60b47f17f33553bb855de73b065cc309b718d7a4289320dc61",
    "train/54005.jpg": "dd779e6b4a42380908dfc22423edd559ed0fd063420991a6d6b45986d6827d18",
    "train/55067.jpg": "18b06e3e62c990d7a3ff385e7caee567b008c5c92c7073d0d5bae16bcaf963bf",
    "train/55075.jpg": "42a554b3cc0eed83ee5ba8b4a1470cf7318e75dd27fc6ca621411e3ca13d7292",
    "train/56028.jpg": "766ba9a6405c78d0f7114f8b502de63a78c2d1cf5b0fcd437fdd20bb7165e80b",
    "train/59078.jpg": "0c17430f9e2250cf5a60e10cb65079cf8df3dad8881a2e7bb5a23e24bf0803e4",
    "train/60079.jpg": "112c3f4f07287535a093ba931e49ee972fef1ceccb02df25bd1390b4a47113cc",
    "train/61060.jpg": "25c41d4456ad719d6fe6397e65bcfffa9a75d21e50a7866169e7ffdcff245ae4",
    "train/61086.jpg": "e35da38a9202415a56cb5eeb4ce33cd83f39035a4098193881072f85968cf7e6",
    "train/65010.jpg": "a9fd6ca16e5240c9db1cd435ed42cdabddaa3fb7a7e229a71a3fef8efa75b378",
    "train/65019.jpg": "f5c2174b99323b9471090ae16efddb50937430d122225502bdebee0db29bcaa6",
    "train/65074.jpg": "30b3d41657fe2f12937a21b55ef12f4353b790081d974462b809177332331b64",
    "train/65132.jpg": "f2f34b87c0425d5392ebbd6aba9761cb76b5c2e16609a7a57977519b3184fa28",
    "train/66039.jpg": "6077f1d3c4c03aac7be0851276558ef68b8a73ea94274db74dfdcecdfc7a482f",
    "train/66075.jpg": "cc01e01f2610d83a999569acd34cccc61698fef2ec06b0ee839282c52e57fb37",
    "train/67079.jpg": "37f4f4ae413fd239e5b4c504b62fc970450d47527b7048b2ea88720391f97d8d",
    "train/68077.jpg": "bc19d03ee0abaf862c05c386fe94a6d72946661a2613932c6b959f50b0d079bc",
    "train/71046.jpg": "046813509539dbe475f389c8afc86e78ab1b661736a2e0ce5ac8f2becb3d305f",
    "train/76002.jpg": "3b6097fcf9468966497876ef6a6717b4fe0f56767053936b718161a8dca75f04",
    "train/78019.jpg": "1436d47bdef4749c71ebdbba473508cfa23e0eee6a01c7eb62c80118a488692c",
    "train/80099.jpg": "e56ed8b4ecb8246ed8096360bcebc13a4489872520d665c39be34915cf51db88",
    "train/87065.jpg": "0e09f38f2f09e2eee85b9b3ed447a29e6e7b3506f5ac936a2948f4b2e9ce33bb",
    "train/90076.jpg": "bd9f9463f273b26cbd0a39e653e13a48f3884c41db03ce7fadd75313e6479230",
    "train/92059.jpg": "71cf42a1550c534cefb59fe712635ab25682b2239300bb53983f16cb81e0ed3b",
    "train/94079.jpg": "37c4fe1f79704719bb93b8c1c1f95ea5d3feea8b39779ad9f2ac4fca1ad8a145",
    "train/95006.jpg": "78201312e9625758f755002e2f62bb45fede72a0623d4511baaf69dd80952b65",
    "train/97017.jpg": "14af2c9a1e7711930840fc502b89b3c46416c894c48a0e1bb271a23d35b7d160",
    "train/100075.jpg": "b4b2461595dc3f70270574715acf287dc70027ec9d419a9917ed242036d1b0e5",
    "train/100080.jpg": "d52ff44bf19e17f49389eca134bcf57a90d27b15671952fabbd2f2334f75aa8e",
    "train/100098.jpg": "156fd9710dccd7bf3a821977f8d8155da0eccca553086f73771073e17a418aa6",
    "train/103041.jpg": "1e7ad4076e21f5558e487fddbd20f9553cc4e84629814a79c711f20c38e08461",
    "train/104022.jpg": "0300ff07de52aaa0b5d77b4497df1eb5aee2347b9d40f10a6a756aae51c133c5",
    "train/105019.jpg": "57e66c0eecb325b507a022c45fb7f44868dc56aef2d4c36db4abe45d56e443ee",
    "train/105053.jpg": "5d801fa5c75ffb4e7d3af8042a7db1b00b9e5599bcf4801e4b81e95b0cdb19ad",
    "train/106020.jpg": "9cd3230d2afde28af85b40cc591e54979f69bf615b68654daaf5e2ac9a88dbe5",
    "train/106025.jpg": "68c0e1afd93d8c4782d97bacea36453e59e2921d261e6f8622dc0832b2196f65",
    "train/108041.jpg": "4d6b84cff81706d1fb2e10e8225d24c28bf3b3d39d68c572ff2b4fe3adbfe1b9",
    "train/108073.jpg": "97d56ee9ea1481464b0e4a486315737771e65542d9fdfe6580cb8f30dcbadf66",
    "train/109034.jpg": "1ea4e38e1357dea48bb0698d3d69fea800e8346bac40b0646121e8ac985e28e9",
    "train/112082.jpg": "ba0aee5213b2433aae60bc69e933f26dd547ba797319bc807f63d4c5391e60ad",
    "train/113009.jpg": "6b53775a7a66783fec86a5d6cd69a48ec6907825882f799af2241b31f3bec7db",
    "train/113016.jpg": "f53e7355d1cb0ef5286ed4083ea6c264c5df296d9b79e47768b741eca9ed40ad",
    "train/113044.jpg": "896df50d4bab6e05655db1b84485ab7463dab7b44b52a87134ca9061e7bd94e6",
    "train/117054.jpg": "15ef2e322dcaa34da30625c98e42e1eb0428911ee45104c483e464571ac4b7c6",
    "train/118020.jpg": "da00f706075bda5d4a4fb9482ac7454980ceb56aa177578b8edd58af045bd676",
    "train/118035.jpg": "e15e989aa1f50a0870b5da340a0e939c721fa02b9d2dbb0229f92188fd634907",
    "train/122048.jpg": "82ce6619f12d5c0625436aabf6f281ad9111753d1429c61274cec358ddee08fe",
    "train/124084.jpg": "db2fd9ed255d3d9125637b15ffe60779bb01e135cbb6ccd56bcb54be74653d61",
    "train/126039.jpg": "f8327a5e7cc0c8ce726b52043eb28b9ee8009f49d60f8822f77472a2512dd071",
    "train/130034.jpg": "f7ec41ecf32e2473fa4bf4cddfdd75991028666fb70c093078ede877491991f6",
    "train/134008.jpg": "27cafae75673a3dddeb065651a4007fc22ab5ad542df556287a051613caf3865",
    "train/134052.jpg": "f0d44fc6f469a2161a8156d3b8d8a5773e027f014b380a1e341c2ed613f07e9b",
    "train/135037.jpg": "2e9a39a111dc6af1a1af3bc7a88c85b4a206aa42cef01adbbcb9f67ea3bb4216",
    "train/135069.jpg": "667aafa575f92a0f46d2e35021e056a0f5dd781b42787e3146e8d85799af1812",
    "train/138032.jpg": "2f4f4beae33576d2d16defaed093939e3d9dfda74c2385385d017d0706647c92",
    "train/138078.jpg": "156743043490583baa9af1ab4d1ae1811359bc5fa94d5c5de3e5b522f4099eb4",
    "train/140055.jpg": "bb7a083e833fde82c57b1df0ba95c0d0577f50ae3bb687cb71a066d414d117aa",
    "train/140075.jpg": "701e224e47e3de85a84ef3fe0f203412db9aa870eb50d1c1f792a763a0e7b3a3",
    "train/144067.jpg": "00053961cb5ab696951a0684c5707bf3b67fb4ba3c3fdc0c4bc75e4f87480e2e",
    "train/145014.jpg": "22d67130d0cd1f49e43b3968f30ace97d99ff5910fce67929208683c334e2672",
    "train/145053.jpg": "08385cc993040101a9274df03fe69eb1be0911fee6370675eb9fde79c5c7bd96",
    "train/147021.jpg": "34d7ac9fa5e9e2fd50c3b7cd107315620b7dab16ff8832cf642e8fc6d3334b34",
    "train/147062.jpg": "2f61cc55df5fbf5f41df3964a1cc7538503c2ee747004bb77c096ce5bee2e868",
    "train/151087.jpg": "0ad59de11bcbdf8687e3f706834f5eee3e2ae7040b492e65c4e4e9673edc80b0",
    "train/153077.jpg": "110645113f9d5c2eb024358a62c87931a6478b102c5c4e9d3ecd1ebb13dc232d",
    "train/153093.jpg": "690cdb2ccfcc5a6d7d8a97ca87be3d5270876a044bb6fdb541ae51b2608623c8",
    "train/155060.jpg": "5254d4eb0edc12f02b981e58b57a91c51c8f886507e44a2d52ef5a1447cbbd9f",
    "train/156079.jpg": "f00f7cd383ca7952b12071aa7d3ac23faf2903f187679374d0473c840fa20447",
    "train/157036.jpg": "b51b5f204153a5a7b405fd9ff5121183cd4c8e64ea8d4c660933c4980b558b1e",
    "train/159029.jpg": "bb2dfcfcf6889b4791b3e7990a36669ad1b6b8d5299500879046328edf6b40b7",
    "train/159045.jpg": "505d42ffdc0a397baa7b2f2d47026613fd56dbfac2aac79f616838f11374687e",
    "train/159091.jpg": "b38575cd4fb844fb60eb2ed78fb384c6bd96557018e01bfa4e102593106cd839",
    "train/161062.jpg": "54593ca91901025a58ee5c3d0018ba1becc240cc5f5773935cf477455d9b10bf",
    "train/163014.jpg": "d3e56ee4417eba2b38feabf86f8707913d8703cab38691650376eda3db9c41fd",
    "train/163062.jpg": "b66eaa74e2a2a3130284a3cd92b08fab0f679137f25edf3870462f8e8e31d862",
    "train/164074.jpg": "a6a0a2f76bc102579ba47c6a076f1be1564640976fccc524a9e6420061c3a288",
    "train/166081.jpg": "34216b6ce9050572b99502f7d67397caf712487864a0a85c94b921211e73b4d0",
    "train/169012.jpg": "a1580a729655fc9a63ca0d644130e770512e492f2a95d1c0121f4183e42ded50",
    "train/170054.jpg": "2f3cfc625e2361f264a2de6f15d9dbadb85e7d45bfa905fc630bb316f3b32a67",
    "train/172032.jpg": "497d9795ad4eac1c754e2175c26d2ae1a19fa1016c6dd1fe626c870d1e9b0b25",
    "train/173036.jpg": "ce4dd846ad9a8742c401fff0811762b29d1d5942e61bb67ddecd44f49d6a85e4",
    "train/176019.jpg": "ba9443d741bba1dc79d9946902a7f85b9808c65fe42986745ff9b872a10bd7fe",
    "train/176035.jpg": "f26789b6d421e8909898b3b0d4b67b91fab32e529e963f398793f015f286f866",
    "train/176039.jpg": "0799daf823e07de1910179b720779230f8aa076bbbac51ecc954d47aa1dc53bc",
    "train/178054.jpg": "8b76b03f5af5720cab1165a19e2d138c767abd95b807d108b29c0db5c0bdeaa2",
    "train/181018.jpg": "dbb26238f5097adc06ae16d8eca151072c7c1f62c2207d8c6635b97d880794bc",
    "train/181079.jpg": "d5c7b9a1dd70eb66c6faa1426f5abe24c3e878d7636c65cd70b450a1d9cf1a30",
    "train/181091.jpg": "8f9e26f3489b528b200a40de6dbfadec16a7505875998d6cd1fa80157e7bcd2a",
    "train/183055.jpg": "bd0c5c4df40bb1b449b71b5e0efde7781599a7724a12a20c0d6902d03e6011be",
    "train/183087.jpg": "8161ad4c000dc28bc80cf741a8c367e54327a1b7625ce52498bd56ab6f82da7d",
    "train/187003.jpg": "740ef38713b6a0e2efa0cfa67333cf960b904e88587d75e89215fa83c0c4556a",
    "train/187029.jpg": "e65e91083c8ee708181253fc41c8c6d14ddf45ab3f293c72faa98312632e759a",
    "train/187039.jpg": "f707dedd9d4477e9a140f07779afed480ad660233a4a69fb26564ecae8727863",
    "train/187071.jpg": "480d5e90c77fd119c0124de3b03d50217fc508bfcbc6b9415ebf56728120aeab",
    "train/187083.jpg": "3a208757b2191f68cc8643f015dd88075160f0920866e2ec8c078e6f8db42158",
    "train/188005.jpg": "373ef08b1963766234931ce4ebca06840b42dbc6a5a37c1b42a75654618c82ab",
    "train/188063.jpg": "a63954d1f0fc671278dd3f71f1a0d821f78eb04d51c01abd6706a7e03567a388",
    "train/188091.jpg": "c5f55fc1a53d803704fbf2c9d22f5bf4a352816a36936ed3e92192e313c9f183",
    "train/189003.jpg": "1c54dd3ef1530b2ebd9bdede0c6aa6700fbf65c25ea36a3fa0aa48668e6f5b11",
    "train/189011.jpg": "33f96f0bfcb6d4bbb09555789ee73194c7c30f62f2af824b603f8c04ad684452",
    "train/196015.jpg": "40595bda6fb918d106541af67cc8e0426a04c6e5863c407ef2a73374c12e76a9",
    "train/198004.jpg": "a3f266b543e084eb9486bae66a09304bb9b90711819e1e4614f72a1a9eb5fc6b",
    "train/198023.jpg": "70b5b6cdea34366b9007972603ebd3b2e794e69305393f1b6430af93933e0cb4",
    "train/198054.jpg": "99d4493b459f08f64fe5f84e25434409c7611f818b840eb47b1307d0d46f06ee",
    "train/202012.jpg": "3ccc19af8ce606272d83533ed97e29743ef07c8087f95798ab01ec9706631357",
    "train/207056.jpg": "7658f456c08f06af0c435fceac05d154278239ca3f6841ea2c633c6a2c8c4d62",
    "train/209070.jpg": "c56032950e50ccebca38ebe3a1545b7c9a374d069d03083fa35cbd490d4e9aa2",
    "train/216041.jpg": "7e55b55f1db1dab5c1f3aaf34d7ea6c88fa16da189d58dacf4fb41bab093f262",
    "train/216053.jpg": "f77bad9b7ab42da16c49fb478ae3ac533d6b22b283d4ae389a448e3858915e47",
    "train/216066.jpg": "504ca6b60e5f2159b01b47c769953e4540a6eedcf9412760a591b7366e339d04",
    "train/225017.jpg": "976e768d57a080a70fb8f5b9294614cb20f9fb87d62e627f79e90e7b4f0cb8f2",
    "train/227040.jpg": "076c53879666e97155d5ecb7538aaaf196c944f798ac91cb92e563b97dda1b5a",
    "train/227046.jpg": "5dbeff235cce6d52f08a68f74e9362be8e008f01e3d4b87d75ba5526d1496873",
    "train/231015.jpg": "52f766c478c17ca494ae55677b1d77b448d31119c9935b8a2523e04083b9a08e",
    "train/232038.jpg": "cd8761daf9f64337f01119777b26ffb975ec113da6d0e1b22608700f675e2445",
    "train/236017.jpg": "2122231b75ce09ef22471aefe8a94ff595ca6cd048dadb3174fb6535c8241a38",
    "train/238011.jpg": "5434d6bd1f0077fefdd629f87eb58384f8c03f92e5fdce648db7dbdc216dd599",
    "train/239007.jpg": "d30c8fe68aa274ec3a0c0a98c0c62419013033faa4f0ba46b4bdab8fb3c2e2a9",
    "train/239096.jpg": "d8cc6eba60e3ad80bcd1932a7506b524813c1217a678bfd5b5a275b21cf62e66",
    "train/242078.jpg": "433f30806efec69645d37561043e88b46a8500d5a6e508acaf08d3df28c8ed0a",
    "train/245051.jpg": "cfa804a708b2b742a3edfdf5bffc5038ad8882b999a2eb25275e142cf805f842",
    "train/246016.jpg": "f0d4c02752e0883e838911cef69b2a579a5e47776a373d32a135089a999f7480",
    "train/246053.jpg": "111118f64a172e9c67d14da0a5a7a41878ea29d804db0b14a12c03f344b0c678",
    "train/247085.jpg": "0bab7ce141b0b2094685f0a10fa671796f7e18f36c28022fe701f019735aa200",
    "train/249061.jpg": "4e7e2815c209ff5a736590464a99bd3ad2cb1ffe6ee75c855973e67e276e0f1e",
    "train/249087.jpg": "3da8ba0bac946efde6840c5d7bf787cafa4bd198eefb408105270114616e878f",
    "train/253036.jpg": "7a54cba62c89a3e4042c000d9f9333f940e5f7c88e18a11e88a6ea5cf771796a",
    "train/254033.jpg": "62dba2a03d58e1fee456829ae170019c4dddf57c4ab0b855453d0fd127f64033",
    "train/254054.jpg": "d92db03f3a55c6d7e13decc2977ad970935691a19b843ab9e0564d749aea2109",
    "train/260081.jpg": "7118955b0c6d988e86907d5334385963af3c48440c7ad1bb6185a2359f6598c0",
    "train/268002.jpg": "9ad84bc002d93644d2e6304a50abcf4997ed84136d17d8e074e33e1488a88f21",
    "train/271008.jpg": "51810e553db1d021984d797753285f6dded11db5919a55a131a196d988228450",
    "train/271031.jpg": "49a045a1d2711c4dcd9ffe6f83a56b8c11d7308ab88fedceaf735e4d290457bd",
    "train/274007.jpg": "c71cd2933b7f209292d204ab1da52e9d707f9115789f08a553b0a62712ba29f9",
    "train/277095.jpg": "f6fe046b7f597c565443429dbc3d51d8239023038438b2fde68010316ed40ed0",
    "train/285036.jpg": "bad41816602b3d7aba1497f746bd3a851911ca1275814b8d13d9376b5c4810cb",
    "train/286092.jpg": "232614953c26018ca9f1038acf1c58912672be9960f433f35aff53111537ca1b",
    "train/292066.jpg": "8c810fe5667d2323067808678e7d1315e3e6d3ed6d6259516c55d4458a0a1373",
    "train/293029.jpg": "463c7966c89174d26afb6a19bb6a78a206b96dc622ace8837b6bb3abfa0eaf8a",
    "train/299091.jpg": "97c5eddecfc1fd3678300f73c094ce4292d66fb659957e960f9afb79b8e0db9e",
    "train/301007.jpg": "adfe1661c7be8537f7c29cbb5832603fc685442146d161fb7a69b0836a339acf",
    "train/302003.jpg": "a80e9a11541b6b93e21ef1d9b21e2434d3d2b729307a5ac86b1a02e066bc52b4",
    "train/309004.jpg": "6f12849beaa81204d9e2d9af32f78d6d95d09ca5036c61cd9216675dd8d48f14",
    "train/310007.jpg": "17e8a7650be55c9ca9393a613b95d13ab329ae80571b1a096bb7e72a24e46b88",
    "train/311068.jpg": "3146e0e94f979e2c0cd7bd50b694134734f54380bac9325ae24cfbfefd8d928f",
    "train/311081.jpg": "c0e14ae2bd9800fe2ea8470eb45a6001aacf85ca884eda65371e6ee21d8ec608",
    "train/314016.jpg": "d6c0b2e35420643aa21a16a3a7b480a525d8b7bc7f0ba1f13ba4f10f5d3c280e",
    "train/317080.jpg": "5ff96228e4bb947da0901f617c4492d6ecadef81729fee603e8c0fbda142f716",
    "train/323016.jpg": "5ab43672021c622a34fa85931a6f63d10e2c93b297e5c0dd894d3ea25148a42d",
    "train/326038.jpg": "b63ecef521773f1c7b773b562422acf66aaf3f5fb14d38b6a320746bbd40d054",
    "train/353013.jpg": "8b7696a58f1228ac42e8eb5b9ac0af9f100ea4b7eadb0cf66602d878002814f4",
    "train/361084.jpg": "f080e7868d5ea74b31076e2a9a268c056fd73f6830ec1f4c4eb8814e4070fad7",
    "train/365025.jpg": "2e1c5061a9565ded28b65ab0b80b382baa5a0fb586ed0b23809b475e672938f6",
    "train/365073.jpg": "139268398b47476ae6e645527e9837d57cefe69f000ad23def31ddef1542d9dd",
    "train/368016.jpg": "f3a61a291a3f47a3dd3e495f334ba0a4f5876d9b355dcaf3c35564d2c158ead4",
    "train/368078.jpg": "8b38267196f7b7f608c2eb1db535075d6e5d3b8df9e6180db6ad8bcbd30a8561",
    "train/370036.jpg": "aefde573f8a7e4396ad40682697200e9083ec586e6ab166f46d62920d638dd6e",
    "train/372047.jpg": "eb4314d3803bba3cd57cdd2be72c7dbe521045579f09fc25a5913752c88753f9",
    "train/374020.jpg": "c4bf625ad708d23f951b3efb0550612098b89ed485d5e076a6ecb441327a5790",
    "train/374067.jpg": "1c4ef7ec171169ecabbd23ce3ba06bcd6978efe69e98bd6ec361b6bbff3d8bb3",
    "train/376001.jpg": "c91f6ed09df383dd0ac8471d63d93fab4cd6a1a58a8dd6c2dbe0a2bb8b55d14a",
    "train/376020.jpg": "51746eda824648e30e297aa60f8cfedc416a0c12b75fdabe09f76c710bd40864",
    "train/385028.jpg": "f77f509acec929bbedf9f641febc8cc57ba5db26677606357af94837a5218b86",
    "train/388016.jpg": "0cd67065b3ece3c4b88cd4abbd1c49b8b9aa4cd94d848b54533310d15142b680",
    "test/3096.jpg": "c66477f036b84d478e322c9cc2bd257969d29579549bcf7f35087f2e40d19ff5",
    "test/8023.jpg": "c14e203930593ff50b0457bb96a1b1f8165a8b2ceb7c0ebb9ddb283641464f4e",
    "test/12084.jpg": "937a95df6a3ded078400451ac163cac6ec20f0ca912c741ae7427d6fca84175d",
    "test/14037.jpg": "5cbff02cd015ece351725d5f89a880d6a70f71f383b412c81071c66546ce5076",
    "test/16077.jpg": "19d4d8a03773c9b65f4e4cfed7b0f5674ebe07a9cc4800de554f0c30556c85ec",
    "test/19021.jpg": "e896602e24ac9c4f043fb67ecbe05d9b98c28a3ecd31c0e4ddc057ec1cca782e",
    "test/21077.jpg": "775c0d915b6a5261790eb99fc62afdec4664f9e3cbc2e2d5e724cc69afee3413",
    "test/24077.jpg": "d1a4b952de4b1b130f82675757f40fbe22fd71c4e4eb454ffa0b1d9f89bdec63",
    "test/33039.jpg": "9a54f363c4abc7be52b638724d06ce8cce372e6ebd9e5f48833d73fa1ea2a9ee",
    "test/37073.jpg": "16e3f09d490cea1bec87326bc02e0440bdb0f7b530a008ce858784c0c476aaff",
    "test/38082.jpg": "ebc17d84d39ad6a6c7735079edf295c453d31a5c7892e75eaaa7a3bd9bd2bec0",
    "test/38092.jpg": "3bdf276d8084f31744b5ea5a88296cd929e5ae09f7571c597f687b8b2f100037",
    "test/41033.jpg": "1048d94225898e420b3381ce1b3fd682b27ada4825326f9657fa198a6a1ab64a",
    "test/41069.jpg": "e440f8eca36a7e503e1f2e5bf4fd4a17d9fbf092cf490e7940c2d02ad90713d2",
    "test/42012.jpg": "8681423a18c8910f38c801bd3c0dc21627aa99035994c6e37e13dad7424fddd2",
    "test/42049.jpg": "a947a1fc0f0f83fc5ae52a907709447d7a5c3b74bd6bfadf75794116731985c8",
    "test/43074.jpg": "b1284bc51ace9a8dc849ac4d63c377e3480627c6982fa3c7a794ad31c46ad2bd",
    "test/45096.jpg": "8a9cd328ef7c8339f0246ec73c14eda01a29545b5fe4782a3c118976e44f26bf",
    "test/54082.jpg": "b5a25d284128cc3e4307c404d26a57107945609bd974ebaac0f026607e98f9b2",
    "test/55073.jpg": "539d516840aa3daebe57f5d65d7ca13f4877c8da6ad0a12745bb58fe823a7119",
    "test/58060.jpg": "cea82e71a4bbee23d89c18538cd565c9e43a1f4995de6d605352505f83094277",
    "test/62096.jpg": "733d222d7aaaff4702b6412eff824e676f37be9fa59a52cf7740ab7695928ef8",
    "test/65033.jpg": "7971752b0552d3f8df80cf83656d8f1b10fabefe4cfd1fb5434a97b784b23bff",
    "test/66053.jpg": "bc27ff2d520d63f8ffc8575269a14c295788542cb723fcce6bda3752e9de27a7",
    "test/69015.jpg": "11ee0b6169a765f20df6126e542deeec1b5e0cac2fa45894cc4990b1358a6248",
    "test/69020.jpg": "b48ee9eba4e447d411da427cdd19c01d519d2efef81858d9a15447f687d477c3",
    "test/69040.jpg": "fa2492dcdd305967280ea566f2fd2edf21c60104edc0407c2d8aba75fffb4e05",
    "test/76053.jpg": "6cc809339a953a105ee1bfdf074200181d0e04240e68c830f7aeb21be237c72c",
    "test/78004.jpg": "14ab48ad51e27fb7e3b60bcdfba6d5354a4af957893455b5dd53e624da71b971",
    "test/85048.jpg": "7802d81358356ae5033fdd4be7b475e9e28d6eb5eabba3559594214c603c8ba5",
    "test/86000.jpg": "216fca8c3f045c3161e2053a7e85923c874f64e662b4c929d73afdb1c0cd4cbe",
    "test/86016.jpg": "f53ca96f3024531f85fcd148833ac37944f4ae8dcb4492905e3469f3f102c970",
    "test/86068.jpg": "4a76e8193007a2b86183ecf175c43239377f4deaf6957ef95069ed8c455cb36f",
    "test/87046.jpg": "166d637f2602865b43c7f98926056172fc8df29d1daff62af96d80feabd43980",
    "test/89072.jpg": "b08020789fcfc502fc3902489d1f1c80f3de55c1a6e5456b930b04c6db78c825",
    "test/97033.jpg": "0598c9c6d44af64c04e314f41c21453da7c4bb94adfda48f71548d98b4287d3e",
    "test/101085.jpg": "dbefbd4ae3749913ee9fffcdb663bea87ab6634dc8b989422f741243bdbedc8a",
    "test/101087.jpg": "d755a74144410290cff5e214bb7cbf352a8cb920d45fac3d992b9772ad92a017",
    "test/102061.jpg": "35ce0a9baaebae00c19f6abccd1d7b3ecd8f1c62003e178610b2179c082f0a8e",
    "test/103070.jpg": "6d1d9e564b5459e969f65470ff03aa3104af779e93c93ca434ad546477e27261",
    "test/105025.jpg": "6678e84e923e5c1b085afe43ae2fc3735f7f424e02eaefe50a64405f76b9b51b",
    "test/106024.jpg": "ea31189313c34be7b7a48b7cd776c17f3afb5585de37a6e740a638320fa9847d",
    "test/108005.jpg": "e0210b50350e928e35f048fe4b8ea54e58200c58ae3bb5ff619b2074b38fac01",
    "test/108070.jpg": "6a5d0dd5e9e0a14f680b1c8225b151268c40a41935add1c91483575fd5db51cb",
    "test/108082.jpg": "389d781d17c9809aeec1f609a324725aa694aea668036bc17f79176a729f7071",
    "test/109053.jpg": "91819e7ece60560b5f37398dacd12fc1ac41d095f3454bee965645781599a968",
    "test/119082.jpg": "8cf5ce02395627b797b3da7a3845bcb0da14d66942d422a1c898372b67536d4c",
    "test/123074.jpg": "f47e336f7f3c4da54d5d95b6217e4381ea62a8ff12d061f39da48539794aa82a",
    "test/126007.jpg": "4a61a754b422680d24a148430cab10c3bb548aeee3f51ae8dc39cd783ef854ad",
    "test/130026.jpg": "ab2865a5f0e54ad3a1b2f911b701560b1537e9c4ced6064d9759d33be0906761",
    "test/134035.jpg": "fe71f4eed285623dc41b1be0d767f7223fe496a979ac16b264c47649655e1e7c",
    "test/143090.jpg": "b080362885015372c4d808000009820d044e21de1ea39f89b02307bfc73a0beb",
    "test/145086.jpg": "ea31167eece902040a4dfc2e50e1a6112a6888c19566aa93ba698ec754f6e815",
    "test/147091.jpg": "208f65955ad60894070a3b768ea7f241c87a3919cfc00ecae9ecf2c51220c791",
    "test/148026.jpg": "270c2f11ddb596713ebdcbec5c69031a6df97f18cc9d8c5b26cf96a3ef74102c",
    "test/148089.jpg": "d48e9934d24f6c96fcefa9db9b821a4803529786f50a088c78420454f597006f",
    "test/156065.jpg": "2328df0f0f479e98fe313142bdc9d6463937e0ab6e7811f0b2ffb79329e946e2",
    "test/157055.jpg": "65d2f1fa2847bf9b0207318e880b0dedae82793f5c3ab59b01ff72b2de686062",
    "test/159008.jpg": "ce52eb682bc3686ba6907fa7fde3ea8a7f87b105aecfe43b93992ef3c9bad6f2",
    "test/160068.jpg": "c757c98def260243a45eb6092d9be75efe77810451d2954e17acc495bb876d6a",
    "test/163085.jpg": "3886bc975ea9321e3a26536a95a441aeef14af3a5c3313872af23a0d76d55ac6",
    "test/167062.jpg": "120d3b4c9eab16d6dad58004a6ce647a7007ca25a6b98e248a35ed5e70c6d5bf",
    "test/167083.jpg": "0f09dd34a9d48f8650d1912cb4c4d1e90d33dd559223a27985cf6d6eda75ebe1",
    "test/170057.jpg": "a485834fbbc26a08067e0ffef314c2129541d548f9f8dbc0923086c9569ba6c7",
    "test/175032.jpg": "8e7b3faa193f7e6f36ab9b092dd7062b7d01e70ff59fe60123b7eabc951c8740",
    "test/175043.jpg": "be578b68f530951b117c8bd04c5a79d2061da1d9a6c4c20d10ebc30c509eca89",
    "test/182053.jpg": "61ce1ee72993d333bde9191794d63650f21f40cbfb4c630992c3d5e5680b9b65",
    "test/189080.jpg": "c8db7afe744b586a8fd7ebb535fd73dd764e3c3335c34be4a59b162cea941100",
    "test/196073.jpg": "56367543b34bf798dbe0a721f59cdeffdb67c176e8c75347b5974631b379bbe8",
    "test/197017.jpg": "59e30cd9332aa9331665ccd9c32b4f5738d64747584d989de33ff5220d91733b",
    "test/208001.jpg": "3056ff21b07978dfd9c7043a10b7eb024f5bce1612b15650b6dc8cb52b069800",
    "test/210088.jpg": "a9f75c4315a16c10abadff1fc7f4b409b173ba6326e95e821ef5a41c02639f30",
    "test/216081.jpg": "0a20b477293947433784dd7e0acb42e05364ef2294d49c5480a574a87aafac04",
    "test/219090.jpg": "1f3f81c986fdca765d654d0ad05c6f7d68a0412ee4178bdfa0491558c03d6202",
    "test/220075.jpg": "0fcc3e2e5b34f47858dc58587897d6b849558a38a8b9454ebb54a78236b2d0af",
    "test/223061.jpg": "0246cf68cc5dba8185e0da2d5df04b90bee7b3f2ed85ab106913b929d115c139",
    "test/227092.jpg": "00c00ab0b495598981ff87740e0085d91d8ac4ae39d327ef9b1de774426161cf",
    "test/229036.jpg": "3ed19e58c2c7c2b67d8624ce7a1b1a929daec59e5fc7b4217f966f00853fa9b7",
    "test/236037.jpg": "b2698ff2e33f683f2666fdc786ad46eab070922df51c9026767744722ea06851",
    "test/241004.jpg": "510b533e488a6aff986d3b7560a368ffed4a3fa6fefb7aa010376ef4e06e79b3",
    "test/241048.jpg": "70c5e137c0b102852ae93c5ddf0e315e06297ed009dfe309d54c4cab02074457",
    "test/253027.jpg": "a2936a80c928a0efb8db070a2e46bd6ef4a2f22d33b59db6eb91ca6676faed52",
    "test/253055.jpg": "9e7248e4683233f8c8e61e5c4d342ef199d85ae0329116e46ca155de869d296b",
    "test/260058.jpg": "3ce26289f3f2dadd74052a81f4da2120ee825e8fdcf6014798cfb8a15343bad7",
    "test/271035.jpg": "d01d3266ddb456a47fb382c73862b8d48927e3f000be9587a0aba9aea66bc881",
    "test/285079.jpg": "62c16ed71f166b59340fac19748abca19c613b668296733854fbd8911f5bad4e",
    "test/291000.jpg": "1e3b80ec6631fa47a7357cb67d8e6235ca843839eff7f06e4c283ea7befcfb05",
    "test/295087.jpg": "6f5023c2d062b4078c174f703899cc36a29895608531e7d2d6e2d32997d39d4f",
    "test/296007.jpg": "d271c849ec0aca6a92845c0dff6f18c74e507dc93fc0703be0cb006058ca6458",
    "test/296059.jpg": "9601b534d81275e5e5844198567015105e5feb418e45a0cfa58545e2d472b955",
    "test/299086.jpg": "817939c0da8ad228271a1a1cd87f5a31fe93c741617fb478bb95d9ba3a34d2c2",
    "test/300091.jpg": "543e73769b6040f38f9214b777e255f48697e72b8ad61fb001c84e852e2530d1",
    "test/302008.jpg": "f8935ab579adfe9d1a71282a025bc25a81ec4e7b6b0468fa1d1ec913f6643fe4",
    "test/304034.jpg": "4d529bb81d75bf03f52d969c90cc145a152ea76e878c5833d537df28a62eb7dc",
    "test/304074.jpg": "5f9d7dbb32bc871450ce1384e5fbca5df7cfd5edbafb4464aed140194d41329e",
    "test/306005.jpg": "27d7bee0b32e7a458c982d2009e81ef06111bd5716204ea6522cd4a95cdefea0",
    "test/351093.jpg": "bd51e0dd49e656705534c8c7d55a7c98314330b06b366e9866e7a9965e128ce0",
    "test/361010.jpg": "fe806b64c91cff4d3c4755d84d6e449581ec064be0593d8c7b483e76dcbf7cb1",
    "test/376043.jpg": "96e30f229df06707d78c518d6d3de2233fb2b06b6245511d2896b67b13b10561",
    "test/385039.jpg": "60b0a5d2e60b8cb6871fe0ff3a1a3a5623aadc2284155515aef5da8b4839a9f9",
}
