"""Build the identity gallery (one folder per person) from a snapshot of voteview/member_photos.

The photos are not in this repository; this script rebuilds them from a local git snapshot of
https://github.com/voteview/member_photos (a clone, or the bare git directory of one):

    git clone https://github.com/voteview/member_photos /tmp/member_photos
    python bench/build_gallery.py --repo /tmp/member_photos --out /work/shared/gallery

Selection: ``members.csv`` rows whose photo came from the Biographical Directory of the United
States Congress (``source == bio_guide``) and who served in the ``--min-congress``-th Congress
or later (default 105th, 1997–99: modern official portraits).  Each person's current photo is
``1.jpg``; earlier versions of the same file in the repository's history are kept as ``2.jpg``,
``3.jpg`` … only when they are a *different photograph* (fewer than ``--same-photo-points`` ORB keypoints,
default 30, agree with every kept photo under one similarity transform, mirrored or not), so
re-crops, mirror images and re-compressions of one photograph are not genuine pairs.  On the
snapshot used (commit 687cf7a9), all 369 earlier versions of selected people were the same
photograph (100–900 agreeing keypoints).  A person listed under several ICPSR ids (same full
name and birth year: party switches, a senator who became president) is one folder.
Photos from Wikipedia or manual sources are never taken (other licences).

Writes ``<out>/<person-id>/<n>.jpg``, ``<out>/SOURCES.tsv`` (one row per image: person id,
file, repository, path, commit, terms) and ``<out>/LICENSE.md``.  Needs Pillow and git.
"""

from __future__ import annotations

import argparse
import csv
import io
import subprocess
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

REPO_URL = "https://github.com/voteview/member_photos"
TERMS = ("public domain: US federal government work (17 U.S.C. 105), official portrait from "
         "the Biographical Directory of the US Congress (bioguide.congress.gov)")


@dataclass(frozen=True)
class Version:
    """One stored version of a person's photo: git blob id and the commit that introduced it."""

    blob: str
    commit: str


def git(repo: Path, *args: str) -> bytes:
    """Run git in ``repo`` and return its stdout (raises on failure)."""
    return subprocess.run(["git", "-C", str(repo), *args], check=True,
                          capture_output=True).stdout


def selected_people(repo: Path, min_congress: int) -> dict[str, list[str]]:
    """Photo paths of each person (bio_guide photos, serving in ≥ ``min_congress``), keyed by
    the first ICPSR id listed.  ICPSR ids are per party and office (a member who changed
    party, or a senator who became president, has several), so rows with the same full name
    and birth year are one person."""
    rows = csv.DictReader(io.StringIO(git(repo, "show", "HEAD:members.csv").decode()))
    by_person: dict[tuple[str, str], tuple[str, list[str]]] = {}
    for row in rows:
        if row["source"] == "bio_guide" and int(row["congress"]) >= min_congress:
            key = (row["name"], row["born"])
            by_person.setdefault(key, (row["icpsr"], []))[1].append(row["image"])
    return dict(by_person.values())


def versions_by_path(repo: Path) -> dict[str, list[Version]]:
    """Every blob each ``images/bio_guide`` path has held, newest first, with its commit."""
    log = git(repo, "log", "--raw", "--no-abbrev", "--format=C %H",
              "--", "images/bio_guide").decode()
    found: dict[str, list[Version]] = {}
    commit = ""
    for line in log.splitlines():
        if line.startswith("C "):
            commit = line[2:].strip()
        elif line.startswith(":"):
            meta, path = line.split("\t", 1)
            new_blob = meta.split()[3]
            if set(new_blob) != {"0"}:
                found.setdefault(path, []).append(Version(new_blob, commit))
    return found


def grey(data: bytes) -> np.ndarray:
    """Decoded 8-bit grey image of JPEG/PNG bytes."""
    return np.asarray(Image.open(io.BytesIO(data)).convert("L"))


def shared_points(a: np.ndarray, b: np.ndarray) -> int:
    """ORB keypoints of ``a`` that map onto ``b`` by one similarity transform (RANSAC, 3 px).

    One photograph re-cropped, rescaled or re-compressed keeps hundreds (100–900 measured on
    this source); two photographs of a person share few.  Mirror images: call with b flipped.
    """
    orb = cv2.ORB_create(1000)
    ka, da = orb.detectAndCompute(a, None)
    kb, db = orb.detectAndCompute(b, None)
    if da is None or db is None:
        return 0
    matches = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(da, db)
    if len(matches) < 4:
        return 0
    pa = np.float32([ka[m.queryIdx].pt for m in matches])
    pb = np.float32([kb[m.trainIdx].pt for m in matches])
    _, mask = cv2.estimateAffinePartial2D(pa, pb, method=cv2.RANSAC, ransacReprojThreshold=3)
    return 0 if mask is None else int(mask.sum())


def distinct_photos(repo: Path, versions: list[Version], min_shared: int
                    ) -> list[tuple[Version, bytes]]:
    """The newest version, then older ones that are different photographs from all kept.

    Two versions are one photograph when ≥ ``min_shared`` keypoints agree, mirrored or not.
    """
    first = git(repo, "cat-file", "blob", versions[0].blob)
    out = [(versions[0], first)]
    kept = [grey(first)]
    for v in versions[1:]:
        data = git(repo, "cat-file", "blob", v.blob)
        g = grey(data)
        if all(max(shared_points(k, g), shared_points(k, np.ascontiguousarray(g[:, ::-1])))
               < min_shared for k in kept):
            out.append((v, data))
            kept.append(g)
    return out


LICENSE_TEXT = """# Identity gallery: licence and sources

Official portraits of members of the United States Congress (105th Congress, 1997, and later),
as published in the Biographical Directory of the United States Congress
(bioguide.congress.gov) and collected, resized to 600 px height (4:5), by
{url} (commit {commit}).

Terms: official House and Senate photographs are works of the United States federal
government and are not subject to copyright in the United States (17 U.S.C. 105); they are
used here as public-domain images.  The collecting repository carries no licence file of its
own; it states that it believes its use of low-resolution images "freely obtained largely from
public domain or government sources" is fair use.  Only
its `bio_guide` images are used (never its Wikipedia or manual images, whose terms differ).
Caveat: a portrait supplied to the Directory by a member's office may have been made by a
private photographer; no such case is known here, but the per-image terms rest on the source
(the Directory), not on a per-image statement.

Counts: {people} people, {images} images, {multi} people with two or more different
photographs (genuine pairs).  Per-image source, path, commit and terms: `SOURCES.tsv`.  Faces are biometric data: use them
for measuring matchers, never to identify anyone; no image of this folder is committed to the
lanecam repository.  Rebuild with `python bench/build_gallery.py --repo CLONE --out DIR`.
"""


def build(repo: Path, out: Path, min_congress: int, min_shared: int) -> tuple[int, int, int]:
    """Write the gallery; returns (people, people with ≥ 2 photos, images)."""
    head = git(repo, "rev-parse", "HEAD").decode().strip()
    history = versions_by_path(repo)
    out.mkdir(parents=True, exist_ok=True)
    rows = [("person", "file", "repository", "path", "commit", "terms")]
    people = multi = images = 0
    for icpsr, paths in selected_people(repo, min_congress).items():
        versions = [(p, v) for p in paths for v in history.get(p, [])]
        if not versions:
            continue
        person = f"vv{icpsr}"
        folder = out / person
        folder.mkdir(exist_ok=True)
        photos = distinct_photos(repo, [v for _, v in versions], min_shared)
        where = {v.blob: p for p, v in versions}
        for i, (v, data) in enumerate(photos, start=1):
            (folder / f"{i}.jpg").write_bytes(data)
            rows.append((person, f"{person}/{i}.jpg", REPO_URL, where[v.blob], v.commit, TERMS))
        people += 1
        multi += len(photos) >= 2
        images += len(photos)
    with (out / "SOURCES.tsv").open("w", newline="") as f:
        csv.writer(f, delimiter="\t", lineterminator="\n").writerows(rows)
    (out / "LICENSE.md").write_text(LICENSE_TEXT.format(
        url=REPO_URL, commit=head, people=people, images=images, multi=multi))
    return people, multi, images


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repo", type=Path, required=True, help="git snapshot of member_photos")
    ap.add_argument("--out", type=Path, required=True, help="gallery folder to write")
    ap.add_argument("--min-congress", type=int, default=105)
    ap.add_argument("--same-photo-points", type=int, default=30,
                    help="shared keypoints at or above which two versions are one photograph")
    a = ap.parse_args()
    people, multi, images = build(a.repo, a.out, a.min_congress, a.same_photo_points)
    print(f"{people} people, {multi} with ≥ 2 different photos, {images} images -> {a.out}")


if __name__ == "__main__":
    main()
