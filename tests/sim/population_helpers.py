"""A small identity gallery built from the project's MIT test photos (tests/data/faces)."""

from __future__ import annotations

import shutil
from pathlib import Path

PHOTOS = Path(__file__).parents[1] / "data" / "faces"
PEOPLE = {"p-obama": ["obama.jpg", "obama2.jpg"], "p-biden": ["biden.jpg", "biden2.jpg"],
          "p-lmm": ["lin-manuel-miranda.png"]}


def make_gallery(root: Path, people: dict[str, list[str]] = PEOPLE) -> Path:
    """A gallery folder at ``root``: one sub-folder per person, the licence at the top."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(PHOTOS / "LICENSE-face_recognition.txt", root / "LICENSE.txt")
    for person, files in people.items():
        (root / person).mkdir()
        for f in files:
            shutil.copy(PHOTOS / f, root / person / f)
    return root
