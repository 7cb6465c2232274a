"""bench/build_gallery.py and bench/matcher_thresholds.py cannot rot: both run here on a tiny
git repository and gallery made from the shipped photos (no shared gallery needed)."""

from __future__ import annotations

import csv
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import cv2
import pytest

ROOT = Path(__file__).resolve().parents[2]
FACES = ROOT / "tests" / "data" / "faces"


def _load(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod        # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                    *args], check=True, capture_output=True)


def _jpg(src: str, dst: Path, *, mirror: bool = False) -> None:
    img = cv2.imread(str(FACES / src))
    cv2.imwrite(str(dst), img[:, ::-1] if mirror else img)


def _members(repo: Path, rows: list[tuple[str, str, str, str]]) -> None:
    with (repo / "members.csv").open("w", newline="") as f:
        w = csv.writer(f, quoting=csv.QUOTE_ALL)
        w.writerow(["name", "icpsr", "state", "party", "congress", "chamber", "born", "died",
                    "image", "source", "provenance"])
        for name, icpsr, born, source in rows:
            w.writerow([name, icpsr, "X", "P", 110, "House", born, "",
                        f"images/{source}/{icpsr}.jpg", source, ""])


def test_build_gallery_merges_people_and_keeps_only_different_photographs(
        tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.fail("git is needed to build a gallery")
    repo = tmp_path / "member_photos"
    (repo / "images" / "bio_guide").mkdir(parents=True)
    (repo / "images" / "wiki").mkdir(parents=True)
    _git(repo.parent, "init", "-q", str(repo))
    bg = repo / "images" / "bio_guide"
    _jpg("obama.jpg", bg / "000001.jpg")
    _jpg("biden.jpg", bg / "000002.jpg")
    _jpg("obama2.jpg", bg / "000003.jpg")          # the same person under a second id
    _jpg("lin-manuel-miranda.png", repo / "images" / "wiki" / "000004.jpg")
    _members(repo, [("OBAMA, Barack", "000001", "1961", "bio_guide"),
                    ("BIDEN, Joe", "000002", "1942", "bio_guide"),
                    ("OBAMA, Barack", "000003", "1961", "bio_guide"),
                    ("MIRANDA, Lin", "000004", "1980", "wiki")])
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "one")
    _jpg("biden.jpg", bg / "000002.jpg", mirror=True)  # a mirror image: the same photograph
    _git(repo, "commit", "-qam", "two")
    mod = _load("build_gallery")
    out = tmp_path / "gallery"
    people, multi, images = mod.build(repo, out, 105, 30)
    assert (people, multi, images) == (2, 1, 3)
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["vv000001", "vv000002"]
    assert len(list((out / "vv000001").glob("*.jpg"))) == 2
    rows = list(csv.DictReader((out / "SOURCES.tsv").open(), delimiter="\t"))
    assert len(rows) == 3 and all(r["terms"].startswith("public domain") for r in rows)
    assert {r["path"] for r in rows} == {"images/bio_guide/000001.jpg",
                                         "images/bio_guide/000002.jpg",
                                         "images/bio_guide/000003.jpg"}
    assert "17 U.S.C. 105" in (out / "LICENSE.md").read_text()


def test_matcher_thresholds_bench_runs_on_a_tiny_gallery(tmp_path: Path) -> None:
    gallery = tmp_path / "g"
    for i, f in enumerate(["obama.jpg", "biden.jpg", "lin-manuel-miranda.png",
                           "alex-lacamoire.png"]):
        (gallery / f"p{i}").mkdir(parents=True)
        shutil.copy(FACES / f, gallery / f"p{i}" / f)
    out = tmp_path / "r.json"
    mod = _load("matcher_thresholds")
    assert mod.main(["--gallery", str(gallery), "--matchers", "sface",
                     "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    sface = res["matchers"]["sface"]
    assert res["people"] == 4 and set(sface["regimes"]) == {"full", "face64", "face40"}
    for v in sface["regimes"].values():
        assert v["impostor_pairs"] == 6 and v["genuine_pairs"] > 0
        assert not v["fit_supported"]          # six pairs cannot vouch for 1e-4
    # scores, counts and names only: no image or template bytes in the report
    def leaves(x: Any) -> list[Any]:
        if isinstance(x, dict):
            return [v for k in x.values() for v in leaves(k)]
        if isinstance(x, list):
            return [v for k in x for v in leaves(k)]
        return [x]
    assert all(isinstance(v, (int, float)) or (isinstance(v, str) and len(v) < 300)
               for v in leaves(res))
