"""Build the gallery the README's population report uses: the MIT-licensed photos of
tests/data/faces (the only people with two different photos: a face and a document) plus a
public-domain portrait gallery (one photo per person: strangers and the documents impostors
present), linked, not copied.

    python bench/build_gallery.py --repo CLONE --out /work/shared/gallery   # once
    python bench/report_gallery.py --public /work/shared/gallery --out /tmp/report-gallery
    lanecam sim gallery /tmp/report-gallery --check > /tmp/report-gallery/EXCLUDE.txt
    lanecam bench --population 700 --seed 1 --identities /tmp/report-gallery --workers 2

Never commit the result: the portraits stay where the gallery builder put them.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

FACES = Path(__file__).resolve().parents[1] / "tests" / "data" / "faces"
#: person → photos (the first by name is the face, the second the document)
MIT_PEOPLE = {"obama": ["obama.jpg", "obama2.jpg"], "biden": ["biden.jpg", "biden2.jpg"],
              "alex-lacamoire": ["alex-lacamoire.png", "alex-lacamoire2.jpg"],
              "lin-manuel-miranda": ["lin-manuel-miranda.png"]}
MIT_TERMS = "MIT (LICENSE.txt in the folder)"


def build(public: Path, out: Path) -> int:
    """Write the report gallery at ``out``; returns the number of people."""
    if out.exists():
        raise SystemExit(f"{out} exists; remove it first")
    out.mkdir(parents=True)
    rows = (public / "SOURCES.tsv").read_text().splitlines()
    for person, files in MIT_PEOPLE.items():
        (out / person).mkdir()
        shutil.copy(FACES / "LICENSE-face_recognition.txt", out / person / "LICENSE.txt")
        for f in files:
            shutil.copy(FACES / f, out / person / f)
            rows.append(f"{person}\t{person}/{f}\tlanecam\ttests/data/faces/{f}\t-\t{MIT_TERMS}")
    people = [d for d in sorted(public.iterdir()) if d.is_dir()]
    for d in people:
        (out / d.name).symlink_to(d.resolve(), target_is_directory=True)
    licence = (public / "LICENSE.md").read_text()
    (out / "LICENSE.md").write_text(
        licence + "\n---\nThe folders " + ", ".join(MIT_PEOPLE) + " hold the MIT-licensed "
        "photos of the face_recognition project (lanecam's tests/data/faces), under the "
        "licence in their own LICENSE.txt.\n")
    (out / "SOURCES.tsv").write_text("\n".join(rows) + "\n")
    return len(people) + len(MIT_PEOPLE)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--public", type=Path, required=True, help="the public-domain gallery")
    p.add_argument("--out", type=Path, required=True, help="where to build the report gallery")
    a = p.parse_args()
    print(f"{build(a.public, a.out)} people in {a.out}")


if __name__ == "__main__":
    main()
