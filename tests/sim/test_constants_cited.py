"""Every simulator constant cites its source (issue 5): physics_quality.md (PQ), a data sheet
or standard (http…, exact SI), the issue, or says ASSUMED / derived."""

from __future__ import annotations

import ast
import re
from pathlib import Path

CONSTANTS = Path(__file__).parents[2] / "lanecam" / "sim" / "constants.py"
MARKERS = re.compile(r"PQ §|ASSUMED|exact|https?://|issue 5|derived|data sheet|manual")


def test_every_constant_cites_a_source() -> None:
    lines = CONSTANTS.read_text().splitlines()
    tree = ast.parse(CONSTANTS.read_text())
    uncited = []
    for node in tree.body:
        if not isinstance(node, (ast.Assign, ast.AnnAssign)):
            continue
        first = node.lineno - 1
        text = [lines[i] for i in range(first, node.end_lineno or first + 1)]
        i = first - 1
        while i >= 0 and lines[i].lstrip().startswith("#"):  # the comment block above
            text.append(lines[i])
            if lines[i].startswith("# ---"):
                break
            i -= 1
        j = i
        while j >= 0 and lines[j].strip() and not lines[j].startswith("# ---"):
            j -= 1  # the section header governs the block it opens
        if j >= 0 and lines[j].startswith("# ---"):
            text.append(lines[j])
        if not MARKERS.search("\n".join(text)):
            uncited.append(lines[first].split("=")[0].strip())
    assert uncited == []
