"""Ground truth is for evaluation only: no lanecam module outside lanecam.sim may reach it."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).parents[2] / "lanecam"


def _calibration_result(rel: Path, node: ast.Attribute) -> bool:
    """A calibration run against the simulator reports the injected truth beside its estimate
    (``KIND.json``'s ``truth``, the report's error column): the simulator's rig puts it into the
    :class:`~lanecam.calibration.Calibration` after the fit.  Only that field, read off the
    result (``cal.truth`` / ``self.truth``), is allowed in ``lanecam/calibration``."""
    return (rel.parts[0] == "calibration" and node.attr == "truth"
            and isinstance(node.value, ast.Name) and node.value.id in ("cal", "self"))


def test_nothing_outside_sim_reads_ground_truth() -> None:
    offenders = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG)
        if rel.parts[0] == "sim":
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and "truth" in node.module:
                offenders.append(f"{rel}: from {node.module}")
            if isinstance(node, ast.Import) and any("truth" in a.name for a in node.names):
                offenders.append(f"{rel}: import truth")
            if isinstance(node, ast.Attribute) and node.attr in ("ground_truth", "truth") \
                    and not _calibration_result(rel, node):
                offenders.append(f"{rel}: .{node.attr}")
            if isinstance(node, ast.ImportFrom) and node.module and node.module.endswith("sim") \
                    and any(a.name in ("truth", "FrameTruth", "FaceTruth") for a in node.names):
                offenders.append(f"{rel}: imports truth from sim")
    assert offenders == []
