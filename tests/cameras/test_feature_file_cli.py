"""``lanecam camera load-settings | save-settings | user-set`` as an integrator runs them: a
separate process on the pylon emulator (each process starts with fresh emulated cameras)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.emulator

REAL_GIGE = Path(__file__).resolve().parents[1] / "data" / "pfs" / \
    "basler_ace_gige_node-camera-admin.pfs"


def lanecam(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYLON_CAMEMU"}
    return subprocess.run([sys.executable, "-m", "lanecam.cli", "camera", *args,
                           "--emulate", "1"], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=240, check=False)


def test_save_then_load_the_same_cameras_file(tmp_path: Path) -> None:
    r = lanecam("save-settings", "pylon:0815-0000", "lane.pfs", "--crlf", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "lane.pfs").read_bytes().count(b"\r\n") > 100
    r = lanecam("load-settings", "pylon:0815-0000", "lane.pfs", "--dry-run", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = lanecam("load-settings", "pylon:0815-0000", "lane.pfs", "--json", cwd=tmp_path)
    report = json.loads(r.stdout)
    assert r.returncode == 0 and report["applied"] and not report["problems"]
    assert len(report["writes"]) > 50


def test_a_file_for_another_model_exits_2_and_with_any_model_lists_every_key(
        tmp_path: Path) -> None:
    r = lanecam("load-settings", "pylon:0815-0000", str(REAL_GIGE), cwd=tmp_path)
    assert r.returncode == 2 and "ModelMismatchError" in r.stderr
    r = lanecam("load-settings", "pylon:0815-0000", str(REAL_GIGE), "--any-model", "--dry-run",
                "--json", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    report = json.loads(r.stdout)
    assert report["dry_run"] and not report["applied"]
    assert {"line": 21, "name": "PixelFormat", "value": "YUV422Packed"}.items() <= \
        report["problems"][next(i for i, p in enumerate(report["problems"])
                                if p["line"] == 21)].items()
    assert len(report["problems"]) > 100


def test_a_malformed_file_exits_2_naming_the_line(tmp_path: Path) -> None:
    (tmp_path / "bad.pfs").write_text("# {05D8C294-F295-4dfb-9D01-096BD04049F4}\nWidth 640\n")
    r = lanecam("load-settings", "pylon:0815-0000", "bad.pfs", cwd=tmp_path)
    assert r.returncode == 2 and "FeatureFileError" in r.stderr and "line 2" in r.stderr


def test_user_set_list_and_load(tmp_path: Path) -> None:
    r = lanecam("user-set", "pylon:0815-0000", "list", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.splitlines()[0] == "Default  (selected)"
    r = lanecam("user-set", "pylon:0815-0000", "load", "UserSet1", cwd=tmp_path)
    assert r.returncode == 2 and "LimitError" in r.stderr
