"""The README's main command: `lanecam demo` on one scenario, as a user runs it."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from lanecam.cli import main
from lanecam.store import CaptureVault, MasterKey


def test_demo_prints_the_table_and_writes_an_encrypted_report(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "report"
    assert main(["demo", "--scenario", "night", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "1/1 night" in text and "capture rate:" in text and "false matches 0" in text
    assert "vault audit chain: OK" in text
    row = next(line for line in text.splitlines() if line.startswith("night "))
    assert "biden" in row and "front_passenger" in row
    sheet = cv2.imread(str(out / "sheets" / "night-1.png"), cv2.IMREAD_GRAYSCALE)
    assert sheet is not None and sheet.shape[1] == 330
    # the crops live only in the vault, readable with the report's key
    with CaptureVault(out / "vault", MasterKey.from_file(out / "master.key"), 86400) as v:
        assert v.verify().ok and len(v.records()) == 1
    assert not list(out.rglob("*crop*"))
