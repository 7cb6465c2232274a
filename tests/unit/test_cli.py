"""The README's main command, run as a new user would: a separate process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

pytestmark = pytest.mark.emulator


def run_cli(*args: str, cwd: Path, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYLON_CAMEMU"}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "lanecam.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=240)


def test_emulator_tour_discovers_and_writes_pngs(tmp_path: Path) -> None:
    r = run_cli("emulators", "--out", "out", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "5 camera(s)" in r.stdout
    img = cv2.imread(str(tmp_path / "out" / "pylon-emulator.png"), cv2.IMREAD_UNCHANGED)
    assert img.shape == (1040, 1024)
    # Testimage2 is a ramp: every row steps by one grey level per column (mod 256)
    assert ((img[0, 1:].astype(int) - img[0, :-1]) % 256 == 1).all()
    viky = cv2.imread(str(tmp_path / "out" / "viky.png"), cv2.IMREAD_UNCHANGED)
    assert viky.shape == (400, 400) and viky.std() > 0


def test_grab_reports_a_typed_error_for_a_missing_camera(tmp_path: Path) -> None:
    r = run_cli("grab", "--emulate", "1", "--camera", "pylon:no-such-serial", cwd=tmp_path)
    assert r.returncode == 2
    assert "DeviceLostError" in r.stderr and "0815-0000" in r.stderr
    assert not (tmp_path / "lanecam-grab.png").exists()


def test_discover_without_producers_says_how_to_add_them(tmp_path: Path) -> None:
    r = run_cli("discover", "--emulate", "2", cwd=tmp_path)
    assert r.returncode == 0
    assert r.stdout.count("Emulation") == 2 and "--viky" in r.stdout
