"""The calibration core: outputs of a run, fragment merging, ``calibrate apply``, exit codes."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lanecam.calibration import Calibration, write_outputs
from lanecam.calibration import cli as cal_cli
from lanecam.calibration.fragment import apply_fragments, load_fragments, merge_fragments
from lanecam.cli import main
from lanecam.config import load_lane_config
from lanecam.errors import ConfigError

LANE = """\
# north lane, surveyed 2026-11-30
[lane]
id = "north-1"

[[cameras]]
name = "driver"        # windshield camera
device = "sim"
height_m = 2.0

[[cameras]]
name = "side"
device = "sim"
lateral_m = 3.0
"""


def _cal(quality: str = "good", height: float = 2.13) -> Calibration:
    return Calibration(kind="pose", estimate={"height_m": height}, uncertainty={"height_m": 0.004},
                       fragment={"cameras": [{"name": "driver", "height_m": height,
                                              "pitch_deg": -3.5}]},
                       quality=quality, why="test", truth={"height_m": 2.1},
                       error={"height_m": height - 2.1})


def test_good_run_writes_three_files_and_poor_run_removes_the_fragment(tmp_path: Path) -> None:
    drawn = []
    paths = write_outputs(_cal(), tmp_path, lambda fig: drawn.append(fig.add_subplot()))
    assert set(paths) == {"json", "png", "toml"} and len(drawn) == 1
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    doc = json.loads(paths["json"].read_text())
    assert doc["kind"] == "pose" and doc["quality"] == "good"
    assert doc["truth"] == {"height_m": 2.1} and doc["error"]["height_m"] == pytest.approx(0.03)
    assert load_fragments(tmp_path) == [("pose", {"cameras": [
        {"name": "driver", "height_m": 2.13, "pitch_deg": -3.5}]})]
    paths = write_outputs(_cal("poor"), tmp_path)
    assert "toml" not in paths and not (tmp_path / "pose.toml").exists()
    assert json.loads(paths["json"].read_text())["quality"] == "poor"


def test_non_finite_estimates_are_written_as_null(tmp_path: Path) -> None:
    cal = Calibration("pose", {"height_m": float("nan")}, {}, {}, "poor", "no board")
    assert json.loads(write_outputs(cal, tmp_path)["json"].read_text())["estimate"] == {
        "height_m": None}


def test_merge_by_camera_name_keeps_comments_and_reports_each_change() -> None:
    text, changes = merge_fragments(LANE, [("pose", _cal().fragment),
                                           ("radar", {"capture": {"frames": 20}})])
    assert [str(c.path) for c in changes] == ["cameras[driver].height_m",
                                              "cameras[driver].pitch_deg", "capture.frames"]
    assert (changes[0].old, changes[0].new, changes[1].old) == (2.0, 2.13, None)
    assert "# north lane, surveyed 2026-11-30" in text and "# windshield camera" in text
    assert "lateral_m = 3.0" in text


@pytest.mark.parametrize("frag", [
    {"cameras": [{"name": "nobody", "height_m": 2.0}]},     # no such camera
    {"cameras": [{"height_m": 2.0}]},                       # entry without a name
    {"cameras": [{"name": "driver", "height_m": 99.0}]},    # out of range for the lane config
    {"capture": {"framez": 3}},                             # unknown key
    {"lane": {"id": {"x": 1}}},                             # a table where a value is
])
def test_a_fragment_that_would_break_the_config_is_refused(frag: dict) -> None:
    with pytest.raises(ConfigError):
        merge_fragments(LANE, [("bad", frag)])


def test_apply_writes_a_config_run_accepts_and_keeps_a_backup(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture
                                                              ) -> None:
    lane = tmp_path / "lane.toml"
    lane.write_text(LANE)
    out = tmp_path / "cal"
    write_outputs(_cal(), out)
    assert main(["calibrate", "apply", str(out), str(lane), "--dry-run"]) == 0
    assert "cameras[driver].height_m: 2.0 -> 2.13" in capsys.readouterr().out
    assert lane.read_text() == LANE
    assert main(["calibrate", "apply", str(out), str(lane)]) == 0
    cfg = load_lane_config(lane)
    assert cfg.cameras[0].height_m == 2.13 and cfg.cameras[0].pitch_deg == -3.5
    assert (tmp_path / "lane.toml.bak").read_text() == LANE
    assert apply_fragments(out, lane) == []          # idempotent: nothing left to change


def test_apply_without_fragments_or_with_garbage_fails_typed(tmp_path: Path) -> None:
    lane = tmp_path / "lane.toml"
    lane.write_text(LANE)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError):
        apply_fragments(tmp_path / "empty", lane)
    (tmp_path / "empty" / "pose.toml").write_bytes(b"[cameras\xff")
    with pytest.raises(ConfigError):
        apply_fragments(tmp_path / "empty", lane)
    assert main(["calibrate", "apply", str(tmp_path / "empty"), str(lane)]) == 2
    assert lane.read_text() == LANE


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_fragment_loader_fuzz(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    d = tmp_path_factory.mktemp("frag")
    (d / "x.toml").write_bytes(data)
    try:
        frags = load_fragments(d)
        merge_fragments(LANE, frags)
    except ConfigError:
        pass


def _procedure(quality: str) -> types.ModuleType:
    mod = types.ModuleType("lanecam_test_procedure")
    mod.HELP = "test procedure"
    mod.add_arguments = lambda p: p.add_argument("--height", type=float, default=2.13)
    mod.run = lambda args: (_cal(quality, args.height), None)
    return mod


@pytest.mark.parametrize("quality,code", [("good", 0), ("poor", 3)])
def test_exit_status_follows_the_fit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     quality: str, code: int) -> None:
    monkeypatch.setitem(sys.modules, "lanecam_test_procedure", _procedure(quality))
    monkeypatch.setitem(cal_cli.PROCEDURES, "pose", "lanecam_test_procedure")
    assert main(["calibrate", "pose", "--sim", "x", "--out", str(tmp_path)]) == code
    assert (tmp_path / "pose.toml").exists() == (quality == "good")
    assert main(["calibrate", "pose", "--out", str(tmp_path)]) == 2   # neither lane nor --sim


def test_every_procedure_has_a_script_and_a_subcommand() -> None:
    import subprocess

    scripts = Path(__file__).parents[2] / "calibration"
    assert {p.stem for p in scripts.glob("*.py")} == set(cal_cli.PROCEDURES)
    out = subprocess.run([sys.executable, str(scripts / "radar.py"), "--help"],
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0 and "--sim" in out.stdout


@pytest.mark.parametrize("quality,code", [("good", 0), ("poor", 3)])
def test_script_entry_exits_like_the_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             quality: str, code: int) -> None:
    monkeypatch.setitem(sys.modules, "lanecam_test_procedure", _procedure(quality))
    monkeypatch.setitem(cal_cli.PROCEDURES, "pose", "lanecam_test_procedure")
    assert cal_cli.script_main("pose", ["--sim", "x", "--out", str(tmp_path)]) == code
    assert cal_cli.script_main("pose", ["-v", "--out", str(tmp_path)]) == 2
