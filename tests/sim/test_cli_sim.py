"""``lanecam sim render`` writes PNG frames and a contact sheet."""

from __future__ import annotations

from pathlib import Path

import cv2

from lanecam.cli import main


def test_sim_render_writes_frames_and_contact_sheet(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    rc = main(["sim", "render", "night", "--out", str(tmp_path), "--frames", "2",
               "--scale", "0.1", "--seed", "5"])
    assert rc == 0
    frames = sorted(tmp_path.glob("night_0*.png"))
    assert len(frames) == 2
    img = cv2.imread(str(frames[0]), cv2.IMREAD_UNCHANGED)
    assert img.shape == (204, 244) and img.dtype.name == "uint8"
    sheet = cv2.imread(str(tmp_path / "night_contact.png"), cv2.IMREAD_UNCHANGED)
    assert sheet is not None and sheet.shape[1] > img.shape[1]
    assert "wrote 2 frames" in capsys.readouterr().out


def test_sim_render_rejects_bad_arguments(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["sim", "render", "no_such", "--out", str(tmp_path)]) == 2
    assert "unknown scenario" in capsys.readouterr().err
    assert main(["sim", "render", "night", "--out", str(tmp_path), "--scale", "2"]) == 2
