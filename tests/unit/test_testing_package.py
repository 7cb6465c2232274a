"""``lanecam.testing`` sits on top: lanecam never imports it, and lanecam never needs pytest."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import lanecam

ROOT = Path(lanecam.__file__).parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    pkg = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts[:-1])
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = pkg.rsplit(".", node.level - 1)[0] if node.level else ""
            mod = f"{base}.{node.module}" if base and node.module else (node.module or base)
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
    return out


def test_nothing_outside_lanecam_testing_imports_it_or_pytest() -> None:
    offenders = []
    for path in ROOT.rglob("*.py"):
        if "testing" in path.relative_to(ROOT).parts[:1]:
            continue
        for mod in _imports(path):
            if mod.startswith(("lanecam.testing", "pytest", "_pytest")):
                offenders.append((str(path.relative_to(ROOT)), mod))
    assert offenders == []


def test_import_lanecam_does_not_load_pytest() -> None:
    code = ("import sys, lanecam, lanecam.lane, lanecam.sim, lanecam.devices.sensors; "
            "print('pytest' in sys.modules, 'lanecam.testing' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
