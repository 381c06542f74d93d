"""Tests of the DC-IGN chairs data (Kulkarni et al. 2015 §4.2; views of Aubry et al. 2014).

Everything runs on tiny archives written here (a SweetHome3D ``.sh3f`` catalog, a ``.deb``
around it, Aubry-style ``rendered_chairs`` folders and tars); the real 120 MB Debian package
is only used when a cached copy already exists. Every test gets a private, empty
``GENREPRO_CACHE``, so none writes into the real raw-archive cache (~/.cache/genrepro).
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import lzma
import os
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image

from genrepro import profiles
from genrepro.data import DataError, DataMissingError, chairs, chairs_aubry, sweethome3d
from genrepro.data.prep import cache_dir

ROOT = Path(__file__).resolve().parents[1]
QUIET = dict(log=lambda s: None)
USER_CACHE = cache_dir()   # the real cache, read before any test redirects it; only ever read


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A per-test GENREPRO_CACHE, so no test writes into the real ~/.cache/genrepro."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("GENREPRO_CACHE", str(cache))
    return cache

CATALOG = """# test catalog
id=Test#Catalog
license=Creative Commons Attribution 3.0 United States license
id#1=Test#chair
name#1=Chair
tags#1=Seat
category#1=Living room
model#1=/test/chair/chair.obj
width#1=50
depth#1=50
height#1=90
creator#1=Ann Author
id#2=Test#table
name#2=Table
tags#2=
category#2=Kitchen
model#2=/test/table/table.obj
width#2=100
depth#2=60
height#2=75
creator#2=Bob
id#3=Test#stool
name#3=Bar stool
tags#3=Chair, Seat
category#3=Kitchen
model#3=/test/stool/stool.obj
modelRotation#3=1 0 0 0 0 1 0 -1 0
width#3=40
depth#3=40
height#3=80
creator#3=Caf\\u00e9 Maker
license#3=Public domain
"""


def chair_obj(z_up: bool = False) -> str:
    """A box chair (seat, back towards -z, four legs) as OBJ text with one material."""
    parts = [((0.5, 0.1, 0.5), (0, 0.45, 0)), ((0.5, 0.5, 0.06), (0, 0.75, -0.22))]
    parts += [((0.05, 0.4, 0.05), (x, 0.2, z)) for x in (-0.2, 0.2) for z in (-0.2, 0.2)]
    mesh = trimesh.util.concatenate([trimesh.creation.box(extents=e).apply_translation(t)
                                     for e, t in parts])
    if z_up:  # stored z-up; the catalog's modelRotation brings it back to y-up
        mesh.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, [1, 0, 0]))
    body = "\n".join(f"v {x:.5f} {y:.5f} {z:.5f}" for x, y, z in mesh.vertices)
    faces = "\n".join(f"f {a + 1} {b + 1} {c + 1}" for a, b, c in mesh.faces)
    return f"mtllib m.mtl\n{body}\nusemtl wood\n{faces}\n"


MTL = "newmtl wood\nKd 0.6 0.4 0.2\n"


def make_sh3f(path: Path, catalog: str = CATALOG, objs: dict[str, str] | None = None) -> Path:
    objs = objs if objs is not None else {
        "test/chair/chair.obj": chair_obj(), "test/table/table.obj": chair_obj(),
        "test/stool/stool.obj": chair_obj(z_up=True)}
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("PluginFurnitureCatalog.properties", catalog)
        for name, text in objs.items():
            z.writestr(name, text)
            z.writestr(name.rsplit("/", 1)[0] + "/m.mtl", MTL)
    return path


def _ar_member(name: str, data: bytes) -> bytes:
    head = f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(data):<10}`\n".encode()
    return head + data + (b"\n" if len(data) % 2 else b"")


def make_deb(path: Path, sh3f: Path) -> Path:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:xz") as tar:
        tar.add(sh3f, arcname=f"./{chairs.SH3F_DIR}Test.sh3f")
    control = lzma.compress(b"")
    path.write_bytes(b"!<arch>\n" + _ar_member("debian-binary", b"2.0\n")
                     + _ar_member("control.tar.xz", control)
                     + _ar_member("data.tar.xz", buf.getvalue()))
    return path


def make_aubry(root: Path, n_chairs: int = 3, incomplete: bool = True) -> Path:
    """A fake ``rendered_chairs`` folder: white 60×60 RGB PNGs, a dark box per view."""
    base = root / "rendered_chairs"
    for c in range(n_chairs + incomplete):
        d = base / f"chair{c:03d}" / "renders"
        d.mkdir(parents=True)
        views = [(p, t) for p in (20, 30) for t in (0, 90)]
        for i, (p, t) in enumerate(views[: 3 if c == n_chairs else 4]):
            img = np.full((60, 60, 3), 255, np.uint8)
            img[15 + c:45, 20 + t // 30:40] = (90, 100 + p, 110)
            img[25:30, 28:32] = 255              # an enclosed white part survives
            Image.fromarray(img).save(d / f"image_{i:03d}_p{p:03d}_t{t:03d}_r096.png")
    return base


def assert_clean(out: Path) -> None:
    assert not out.exists()
    assert not list(out.parent.glob(f".{out.name}.tmp-*"))


def test_profile_block() -> None:
    q, f = profiles.get("chairs", "quick"), profiles.get("chairs", "full")
    assert (q.image_size, f.image_size) == (64, 150)
    assert f.max_models is None and 0 < q.test_fraction < 1


def test_public_names_stay_in_chairs() -> None:
    """chairs.py is the public face: the moved SweetHome3D / Aubry code is re-exported."""
    for name in chairs.__all__:
        assert hasattr(chairs, name), name
    assert chairs.parse_catalog is sweethome3d.parse_catalog
    assert chairs.aubry_models is chairs_aubry.aubry_models
    assert chairs.fetch_deb is sweethome3d.fetch_deb and chairs.DEB_FILE == sweethome3d.DEB_FILE


def test_view_grid_and_split() -> None:
    az, el = chairs.view_grid()
    assert len(az) == 62 and sorted(set(el.tolist())) == [20.0, 30.0]
    assert np.allclose(az[:31], np.arange(31) * 360 / 31) and (az[:31] == az[31:]).all()
    a, b = chairs.split_models(50, 0.2, 0), chairs.split_models(50, 0.2, 0)
    assert (a == b).all() and a.sum() == 10
    assert chairs.split_models(2, 0.2, 0).sum() == 1 and chairs.split_models(1, 0.2, 0).sum() == 0


def test_catalog_parsing_and_selection() -> None:
    entries = chairs.parse_catalog(CATALOG.replace("\\\\", "\\"), "t.sh3f")
    assert [e.name for e in entries] == ["Chair", "Table", "Bar stool"]
    assert entries[2].creator == "Café Maker" and entries[2].rotation.shape == (3, 3)
    assert [chairs.seat_category(e) for e in entries] == ["chair", None, "stool"]
    assert [chairs.short_license(e.license) for e in entries] == ["CC-BY-3.0-US"] * 2 + ["CC0-1.0"]
    mk = lambda name, cat="Living room", tags="": chairs.CatalogEntry(  # noqa: E731
        "x", name, cat, tags, "", "", "m.obj", None, (1, 1, 1), "a")
    cases = {"Armchair ottoman": "armchair", "Corner sofa": "sofa", "Piano bench": "bench",
             "Puff": "stool", "Pool lounge": "chair", "Wheelchair": None, "Workbench": None,
             "Rocking horse": None, "Coffee table": None}
    assert {n: chairs.seat_category(mk(n)) for n in cases} == cases
    assert chairs.seat_category(mk("Seat Leon", "Vehicles")) is None


def test_prepare_sh3f_and_load(tmp_path: Path) -> None:
    out = tmp_path / "chairs"
    chairs.prepare(out, make_sh3f(tmp_path / "Test.sh3f"), size=24, max_models=None, **QUIET)
    with pytest.raises(ValueError):
        chairs.load_chairs("validation", path=out)
    full, train, test = (chairs.load_chairs(s, path=out) for s in ("all", "train", "test"))
    assert full.images.shape == (2, 62, 24, 24) and full.images.dtype == np.uint8
    assert len(train.model_ids) + len(test.model_ids) == 2 and len(test.model_ids) == 1
    assert set(full.model_ids) == {"Test#chair", "Test#stool"}   # the table is not a seat
    m = full.manifest
    credits = {d["id"]: (d["author"], d["license"], d["archive"], d["split"]) for d in m["models"]}
    assert credits["Test#chair"][:3] == ("Ann Author", "CC-BY-3.0-US", "Test.sh3f")
    assert credits["Test#stool"][:2] == ("Café Maker", "CC0-1.0")
    assert m["split"]["train"] == 1 and m["split"]["test"] == 1
    assert m["found_per_category"] == {"chair": 1, "stool": 1}
    imgs = full.images
    assert (imgs[:, :, 0, :] == 0).all() and (imgs[:, :, :, 0] == 0).all()  # black border
    assert (imgs.reshape(2, 62, -1).max(-1) > 50).all()                     # every view drawn
    assert not (imgs[:, 0] == imgs[:, 8]).all()                             # azimuth turns it
    # the z-up stool, turned upright by its modelRotation, has the chair's silhouette
    fg = imgs > 0
    assert (fg[0] ^ fg[1]).mean() < 0.05
    flat, model, az, el = full.flat()
    assert flat.shape == (124, 24, 24) and (model[:62] == 0).all() and az[1] == full.azimuth[1]
    chairs.prepare(out, tmp_path / "Test.sh3f", size=24, max_models=None, **QUIET)
    again = chairs.load_chairs("all", path=out)
    assert (again.images == full.images).all()                              # deterministic
    assert (again.manifest["models"][0]["split"] == full.manifest["models"][0]["split"])


def test_prepare_fake_deb_and_checksums(tmp_path: Path, private_cache: Path) -> None:
    deb = make_deb(tmp_path / "fake.deb", make_sh3f(tmp_path / "Test.sh3f"))
    out = tmp_path / "chairs"
    with pytest.raises(DataError, match="checksum mismatch"):   # the pinned sha256 refuses it
        chairs.prepare(out, deb, size=16, **QUIET)
    assert_clean(out)
    sha = hashlib.sha256(deb.read_bytes()).hexdigest()
    chairs.prepare(out, deb, size=16, max_models=1, deb_sha256=sha, **QUIET)
    c = chairs.load_chairs("all", path=out)
    assert c.images.shape == (1, 62, 16, 16) and c.manifest["source"]["sha256"] == sha
    assert c.manifest["source"]["path"] == str(deb.resolve())    # an explicit --source .deb
    assert not private_cache.exists()                               # is used in place


def test_default_source_downloads_verifies_and_caches(
        tmp_path: Path, private_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No --source: `apt-get download` (mocked here), checksum, kept in GENREPRO_CACHE."""
    deb = make_deb(tmp_path / "fake.deb", make_sh3f(tmp_path / "Test.sh3f"))
    calls = []

    def fake_apt(package: str, dest: str | os.PathLike) -> Path:
        calls.append(package)
        target = Path(dest) / chairs.DEB_FILE
        target.write_bytes(deb.read_bytes())
        return target

    monkeypatch.setattr(sweethome3d, "apt_download", fake_apt)
    monkeypatch.setenv("GENREPRO_DATA", str(tmp_path / "data"))
    out, cached = tmp_path / "data" / "chairs" / "quick", private_cache / chairs.DEB_FILE
    with pytest.raises(DataError, match="checksum mismatch"):      # pinned sha256 refuses it
        chairs.prepare(size=16, **QUIET)
    assert_clean(out)
    assert not cached.exists() and not list(private_cache.iterdir())
    sha = hashlib.sha256(deb.read_bytes()).hexdigest()
    chairs.prepare(size=16, deb_sha256=sha, **QUIET)
    chairs.prepare(size=16, deb_sha256=sha, **QUIET)                # second run: from the cache
    assert calls == [chairs.DEB_PACKAGE] * 2 and cached.read_bytes() == deb.read_bytes()
    c = chairs.load_chairs("all")
    assert c.images.shape == (2, 62, 16, 16)
    assert c.manifest["source"]["path"] == str(cached.resolve())
    assert not (tmp_path / "data" / "downloads").exists()          # nothing under <data>
    cached.write_bytes(b"truncated")                                # a bad cached copy is
    chairs.prepare(size=16, deb_sha256=sha, **QUIET)                # re-verified and refetched
    assert calls == [chairs.DEB_PACKAGE] * 3 and cached.read_bytes() == deb.read_bytes()


@pytest.mark.parametrize("kind", ["deb", "sh3f", "tar", "empty-dir", "no-seats", "empty-mesh",
                                  "missing-model", "bad-mesh"])
def test_bad_input_is_a_clear_error_and_leaves_nothing(tmp_path: Path, kind: str) -> None:
    out, sha = tmp_path / "chairs", None
    if kind == "deb":
        good = make_deb(tmp_path / "good.deb", make_sh3f(tmp_path / "Test.sh3f")).read_bytes()
        src = tmp_path / "bad.deb"
        src.write_bytes(good[: len(good) // 2])
        sha, match = hashlib.sha256(src.read_bytes()).hexdigest(), "not a readable .deb"
    elif kind == "sh3f":
        src = tmp_path / "bad.sh3f"
        src.write_bytes(make_sh3f(tmp_path / "Test.sh3f").read_bytes()[:300])
        match = "not a readable .sh3f"
    elif kind == "tar":
        src = tmp_path / "rendered_chairs.tar"
        src.write_bytes(b"garbage" * 200)
        match = "not a readable folder or tar"
    elif kind == "empty-dir":
        (src := tmp_path / "empty").mkdir()
        match = "no chairs found"
    elif kind == "no-seats":
        head, rest = CATALOG.split("id#1=")
        table_only = head + "id#2=" + rest.split("id#2=")[1].split("id#3=")[0]
        src = make_sh3f(tmp_path / "t.sh3f", table_only, {"test/table/table.obj": chair_obj()})
        match = "no seating models"
    else:
        obj = {"empty-mesh": "v 0 0 0\nv 1 0 0\n", "bad-mesh": "f 1 2 3\nv nan\n"}.get(kind)
        objs = {} if obj is None else {"test/chair/chair.obj": obj}
        src = make_sh3f(tmp_path / "t.sh3f", CATALOG.split("id#2")[0], objs)
        match = "missing" if obj is None else "test/chair/chair.obj"
    with pytest.raises(DataError, match=match):
        chairs.prepare(out, src, size=16, max_models=None, deb_sha256=sha, **QUIET)
    assert_clean(out)


def test_aubry_folder_and_tar(tmp_path: Path) -> None:
    folder = make_aubry(tmp_path)
    tar = tmp_path / "rendered_chairs.tar"
    with tarfile.open(tar, "w") as t:
        t.add(folder, arcname="rendered_chairs")
    results = []
    for src in (folder, tar):
        out = tmp_path / f"out-{src.suffix or 'dir'}"
        chairs.prepare(out, src, size=20, max_models=None, **QUIET)
        results.append(chairs.load_chairs("all", path=out))
    a, b = results
    assert a.images.shape == (3, 4, 20, 20) and a.images.dtype == np.uint8
    assert (a.images == b.images).all() and list(a.model_ids) == list(b.model_ids)
    assert a.manifest["skipped_incomplete"] == ["chair003"]
    assert a.elevation.tolist() == [20, 20, 30, 30] and a.azimuth.tolist() == [0, 90, 0, 90]
    img = a.images[0, 0]
    assert img[0, 0] == 0 and img[-1, -1] == 0          # white background → black
    assert 80 < np.median(img[img > 0]) < 130 and img.max() > 200  # gray kept; inner white too
    assert (img > 0).mean() > 0.4                        # cropped to the chair, not the frame


def test_aubry_image_masks_only_border_white() -> None:
    rgb = np.full((10, 10, 3), 255, np.uint8)
    rgb[2:8, 2:8] = 100
    rgb[4:6, 4:6] = 255
    g = chairs.aubry_image(rgb)
    assert g[0, 0] == 0 and g[3, 3] == 100 and g[4, 4] == 255


def test_load_missing_names_the_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DataMissingError, match="python data_prep/chairs.py"):
        chairs.load_chairs("train", path=tmp_path / "nothing")
    monkeypatch.setenv("GENREPRO_DATA", str(tmp_path))
    with pytest.raises(DataMissingError, match="chairs.py --profile full") as e:
        chairs.load_chairs("test", "full")
    assert e.value.path == tmp_path / "chairs" / "full"
    with pytest.raises(ValueError, match="unknown profile"):
        chairs.load_chairs("test", "paper")


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("prep_chairs", ROOT / "data_prep" / "chairs.py")
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    (empty := tmp_path / "empty").mkdir()
    assert cli.main(["--source", str(empty), "--out", str(tmp_path / "o")]) == 1
    assert "no chairs found" in capsys.readouterr().err
    src = make_sh3f(tmp_path / "Test.sh3f")
    assert cli.main(["--source", str(src), "--out", str(tmp_path / "o"), "--size", "16",
                     "--max-models", "all"]) == 0
    assert chairs.load_chairs("all", path=tmp_path / "o").images.shape == (2, 62, 16, 16)


def _cached_deb() -> Path | None:
    for cand in (os.environ.get("GENREPRO_CHAIRS_DEB"), USER_CACHE / chairs.DEB_FILE):
        if cand and Path(cand).is_file():
            return Path(cand)
    return None


def test_real_sweethome3d_deb(tmp_path: Path) -> None:
    """The pinned package itself, only when a local copy exists (it is 120 MB); the real
    cache is only read (the copy is passed as an explicit source, so nothing is written)."""
    deb = _cached_deb()
    if deb is None:
        reason = (f"no cached {chairs.DEB_FILE} in {USER_CACHE} (run python "
                  "data_prep/chairs.py, or set GENREPRO_CHAIRS_DEB); the real-package test "
                  "is skipped")
        print(reason)
        pytest.skip(reason)
    out = tmp_path / "chairs"
    chairs.prepare(out, deb, size=24, max_models=2, **QUIET)
    c = chairs.load_chairs("all", path=out)
    assert c.images.shape == (2, 62, 24, 24)
    found = c.manifest["found_per_category"]
    assert sum(found.values()) >= 80 and set(found) == {"chair", "armchair", "stool", "sofa",
                                                        "bench"}
    assert set(c.manifest["archives_sha256"].items()) <= set(chairs.SH3F_SHA256.items())
    assert all(m["author"] and m["license"] in ("CC0-1.0", "CC-BY-3.0", "CC-BY-3.0-US")
               for m in c.manifest["models"])
