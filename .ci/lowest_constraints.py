"""Print pip constraints pinning every direct dependency (and the named extras) of
pyproject.toml to its declared lower bound: ``numpy>=1.26`` becomes ``numpy==1.26``.

CI installs the project with these constraints to check that the declared ranges are true.
A requirement without a ``>=`` lower bound is an error: its lowest version is undeclared.
Usage: python .ci/lowest_constraints.py [EXTRA ...] > constraints.txt
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")


def lower_bound(requirement: str) -> tuple[str, str]:
    m = REQ.match(requirement)
    if m is None:
        raise SystemExit(f"cannot parse requirement {requirement!r}")
    name, spec = m.group(1), m.group(3).split(";")[0]
    bounds = [s.strip()[2:].strip() for s in spec.split(",") if s.strip().startswith(">=")]
    if len(bounds) != 1:
        raise SystemExit(f"{requirement!r} declares no single '>=' lower bound")
    return name, bounds[0]


def main(extras: list[str]) -> None:
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    optional = project.get("optional-dependencies", {})
    for extra in extras:
        if extra not in optional:
            raise SystemExit(f"no extra {extra!r}; declared: {sorted(optional)}")
        reqs += optional[extra]
    for name, version in sorted(lower_bound(r) for r in reqs):
        print(f"{name}=={version}")


if __name__ == "__main__":
    main(sys.argv[1:])
