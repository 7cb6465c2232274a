"""Feature files on the pylon camera emulator, against pypylon's own FeaturePersistence.

Cameras 0815-0001 and 0815-0002 are changed here; each test puts both back as they were
(pylon's own LoadFromString of a snapshot taken before the test).  "Unchanged" is checked
the strongest way available: pylon's SaveToString of the camera, text for text.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from emulated_cameras import PYLON_SERIALS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lanecam.devices.cameras.feature_file import (
    MAGIC,
    FeatureFile,
    FeatureFileError,
    parse_feature_file,
    read_feature_file,
)
from lanecam.devices.cameras.feature_load import (
    LoadReport,
    ModelMismatchError,
    SettingsApplyError,
    SettingsRejectedError,
)
from lanecam.devices.cameras.pylon import PylonCamera, pylon_sdk
from lanecam.devices.cameras.selector_state import Relations
from lanecam.devices.cameras.types import Trigger
from lanecam.errors import DeviceError

pytestmark = pytest.mark.emulator

DATA = Path(__file__).resolve().parents[1] / "data" / "pfs"
REAL_GIGE = DATA / "basler_ace_gige_node-camera-admin.pfs"


def snapshot(cam: PylonCamera) -> str:
    pylon, _ = pylon_sdk()
    return str(pylon.FeaturePersistence.SaveToString(cam.native.GetNodeMap()))


def selector_values(cam: PylonCamera) -> dict[str, str]:
    n = cam.native
    return {s: getattr(n, s).Value for s in ("TriggerSelector", "LineSelector",
                                              "UserOutputSelector")}


@pytest.fixture
def cams() -> Iterator[tuple[PylonCamera, PylonCamera]]:
    pylon, _ = pylon_sdk()
    pair = tuple(PylonCamera(s, device_class="BaslerCamEmu") for s in PYLON_SERIALS[1:3])
    for c in pair:
        c.open()
    before = [snapshot(c) for c in pair]
    try:
        yield pair  # type: ignore[misc]
    finally:
        for c, text in zip(pair, before):
            if c.is_armed:
                c.disarm()
            pylon.FeaturePersistence.LoadFromString(text, c.native.GetNodeMap(), False)
            c.close()


def commission(cam: PylonCamera) -> None:
    """Settings an integrator would set in pylon Viewer, selected features included."""
    n = cam.native
    n.Width.Value, n.OffsetX.Value, n.Gain.Value = 640, 64, 3.3
    n.ExposureTime.Value, n.DeviceUserID.Value = 800.0, "lane 1 driver"
    n.TriggerSelector.Value = "FrameEnd"
    n.TriggerMode.Value, n.TriggerSource.Value = "On", "Line1"
    n.TriggerSelector.Value = "FrameStart"
    n.LineSelector.Value = "Line2"
    n.LineMode.Value = "Output"
    n.LineSource.Value = "ExposureActive"
    n.LineSelector.Value = "Line1"


def test_a_file_lanecam_saves_loads_in_pypylon_with_validation(cams, tmp_path: Path) -> None:
    a, b = cams
    pylon, _ = pylon_sdk()
    commission(a)
    report = a.save_settings(tmp_path / "a.pfs")
    assert report.keys > 50 and report.not_writable == ("ResultingFrameRateAbs",)
    pylon.FeaturePersistence.Load(str(tmp_path / "a.pfs"), b.native.GetNodeMap(), True)
    assert snapshot(b) == snapshot(a)


def test_a_file_pypylon_saves_loads_in_lanecam(cams, tmp_path: Path) -> None:
    a, b = cams
    pylon, _ = pylon_sdk()
    commission(a)
    pylon.FeaturePersistence.Save(str(tmp_path / "pylon.pfs"), a.native.GetNodeMap())
    ff = read_feature_file(tmp_path / "pylon.pfs")
    major_minor = tuple(int(x) for x in ff.genapi_version.split(".")[:2])
    # pylon 8 (GenApi 3.5) writes selectors in braces, pylon 7 (GenApi 3.1) in sequence
    assert any(e.selectors for e in ff.entries) == (major_minor >= (3, 5))
    report = b.load_settings(tmp_path / "pylon.pfs")
    assert report.applied and report.complete and not report.model_differences
    assert snapshot(b) == snapshot(a)


def resolve(ff: FeatureFile, rel: Relations) -> dict[tuple[str, tuple[tuple[str, str], ...]],
                                                    str]:
    """Each key of a file under the selector state it is written in (sequence or braces)."""
    state: dict[str, str] = {}
    out = {}
    for e in ff.entries:
        if not e.selectors and rel.is_selector(e.name):
            state[e.name] = e.value
            continue
        braced = dict(e.selectors)
        ctx = tuple((s, braced.get(s, state.get(s, "?"))) for s in rel.selectors_of(e.name))
        out[(e.name, ctx)] = e.value
    return out


def test_lanecam_and_pypylon_write_the_same_keys_and_values(cams) -> None:
    a, _ = cams
    pylon, _ = pylon_sdk()
    commission(a)
    ours = parse_feature_file(a.settings_text()[0])
    theirs = parse_feature_file(str(pylon.FeaturePersistence.SaveToString(
        a.native.GetNodeMap())))
    rel = Relations(a._do_node_text())
    assert ours.device == theirs.device
    mine, pylons = resolve(ours, rel), resolve(theirs, rel)
    assert mine.keys() == pylons.keys() and len(mine) > 80
    for key, text in mine.items():
        try:
            assert math.isclose(float(text), float(pylons[key]), rel_tol=1e-9), key
        except ValueError:
            assert text == pylons[key], key


def test_dry_run_checks_everything_and_changes_nothing(cams, tmp_path: Path) -> None:
    a, b = cams
    commission(a)
    a.save_settings(tmp_path / "a.pfs")
    b.native.TriggerSelector.Value = "ExposureActive"  # a selector state the file differs from
    before = snapshot(b), selector_values(b)
    report = b.load_settings(tmp_path / "a.pfs", dry_run=True)
    assert report.dry_run and not report.applied and report.complete
    assert any(w.name == "TriggerMode" and w.context == (("TriggerSelector", "FrameEnd"),)
               and (w.text, w.previous) == ("On", "Off") for w in report.writes)
    assert (snapshot(b), selector_values(b)) == before


def test_a_file_for_another_model_is_refused_before_anything(cams) -> None:
    _, b = cams
    before = snapshot(b)
    with pytest.raises(ModelMismatchError) as err:
        b.load_settings(REAL_GIGE)
    assert set(err.value.differences) == {"model", "product_guid", "version_guid"}
    assert err.value.file_device is not None and err.value.file_device.model == "GigECamera"
    headerless = parse_feature_file(f"# {MAGIC}\nWidth\t640\n")
    with pytest.raises(ModelMismatchError) as err:
        b.load_settings(headerless)
    assert err.value.differences == ("device",)
    assert snapshot(b) == before


def test_a_real_ace_gige_file_lists_every_refused_key_and_applies_the_rest(cams) -> None:
    """pypylon applies part of this file and throws one 2 KB message listing the first ~35
    errors; here every refusal is a typed entry, and the keys it cannot place are not written
    under the wrong selector."""
    _, b = cams
    n = b.native
    n.TriggerSelector.Value = "FrameStart"
    report = b.load_settings(REAL_GIGE, any_model=True)
    assert report.applied and set(report.model_differences) == {"model", "product_guid",
                                                                "version_guid"}
    kinds = {(p.line, p.name): p.kind for p in report.problems}
    assert len(report.problems) > 100
    assert kinds[(21, "PixelFormat")] == "unknown_entry"           # YUV422Packed
    assert kinds[(5, "GainSelector")] == "missing"
    assert kinds[(6, "GainRaw")] == "out_of_range"                 # 100 < 192 on the emulator
    assert kinds[(39, "TriggerSelector")] == "unknown_entry"       # AcquisitionStart
    assert kinds[(40, "TriggerMode")] == "under_rejected_selector"  # not put on FrameStart
    assert kinds[(80, "LineInverter")] == "under_rejected_selector"  # Out1: no such line
    assert (n.Width.Value, n.Height.Value, n.OffsetX.Value) == (1920, 1080, 4)
    assert n.ExposureAuto.Value == "Continuous" and n.GevSCPSPacketSize.Value == 576
    n.TriggerSelector.Value = "FrameStart"
    assert n.TriggerSource.Value == "Line1"                          # line 53, FrameStart
    assert selector_values(b)["TriggerSelector"] == "FrameStart"


def test_selectors_in_sequence_and_in_braces_are_followed_then_put_back(cams) -> None:
    _, b = cams
    n = b.native
    n.TriggerSelector.Value, n.LineSelector.Value = "FrameBurstStart", "Line3"
    text = (f"# {MAGIC}\n# Device = Basler::BaslerCamEmu\n"
            "TriggerSelector\tFrameEnd\nTriggerMode\tOn\n"
            "TriggerSelector\tExposureStart\nTriggerMode\tOn\nTriggerSource\tLine2\n"
            "TriggerDelay\t{TriggerSelector=FrameEnd}\t125.0\n"
            "LineMode\t{LineSelector=Line2}\tOutput\n"
            "TriggerSelector\tFrameStart\n")
    report = b.load_settings(parse_feature_file(text), any_model=True)
    assert report.complete and [w.line for w in report.writes] == [4, 6, 7, 8, 9]
    assert selector_values(b)["TriggerSelector"] == "FrameBurstStart"
    assert selector_values(b)["LineSelector"] == "Line3"
    got = {}
    for sel in ("FrameEnd", "ExposureStart", "FrameStart"):
        n.TriggerSelector.Value = sel
        got[sel] = (n.TriggerMode.Value, n.TriggerSource.Value, n.TriggerDelay.Value)
    assert got == {"FrameEnd": ("On", "Software", 125.0),
                   "ExposureStart": ("On", "Line2", 0.0),
                   "FrameStart": ("Off", "Software", 0.0)}
    n.LineSelector.Value = "Line2"
    assert n.LineMode.Value == "Output"


NTH_FILE_KEYS = ["Width\t4096", "Gain\t6.0", "DeviceUserID\tcommissioned",
                 "TriggerSelector\tFrameEnd", "TriggerMode\tOn", "TriggerSelector\tFrameStart",
                 "ExposureTime\t1234.0", "BlackLevel\t12.0", "ReverseX\t1"]


@pytest.mark.parametrize("nth", [2, 5, len(NTH_FILE_KEYS) + 1])
def test_a_key_refused_mid_way_undoes_every_write(cams, nth: int) -> None:
    """``OffsetX 8`` passes the check (the camera is 1024 wide), but after ``Width 4096`` the
    camera refuses it: everything written before it is put back, newest first."""
    _, b = cams
    b.native.TriggerSelector.Value = "FrameActive"
    lines = NTH_FILE_KEYS[:nth - 1] + ["OffsetX\t8"] + NTH_FILE_KEYS[nth - 1:]
    text = f"# {MAGIC}\n# Device = Basler::BaslerCamEmu\n" + "\n".join(lines) + "\n"
    before = snapshot(b), selector_values(b)
    with pytest.raises(SettingsApplyError) as err:
        b.load_settings(parse_feature_file(text), any_model=True)
    e = err.value
    assert (e.line, e.feature, e.key) == (nth + 2, "OffsetX", f"line {nth + 2}")
    assert e.restored and not e.undo_failures
    assert e.undone == sum(1 for k in lines[:nth - 1] if not k.startswith("TriggerSelector"))
    assert isinstance(e, DeviceError)
    assert (snapshot(b), selector_values(b)) == before


def test_strict_refuses_a_file_with_any_unwritable_key(cams) -> None:
    _, b = cams
    text = f"# {MAGIC}\n# Device = Basler::BaslerCamEmu\nWidth\t800\nLUTEnable\t1\n"
    before = snapshot(b)
    with pytest.raises(SettingsRejectedError) as err:
        b.load_settings(parse_feature_file(text), any_model=True, strict=True)
    assert err.value.key == "line 4" and err.value.report.problems[0].kind == "missing"
    assert snapshot(b) == before


def test_keys_repeated_under_a_selector_this_camera_lacks_are_not_guessed(cams) -> None:
    """An ace classic file holds GainRaw once per tap (GainSelector All/Tap1/Tap2); pylon writes
    all three into the emulator's single GainRaw, the last one winning."""
    _, b = cams
    text = (f"# {MAGIC}\n# Device = Basler::BaslerCamEmu\nGainSelector\tAll\nGainRaw\t300\n"
            "GainSelector\tTap1\nGainRaw\t400\nGainRaw\t500\nWidth\t512\n")
    gain = b.native.GainRaw.Value
    report = b.load_settings(parse_feature_file(text), any_model=True)
    assert [(p.line, p.kind) for p in report.problems] == [
        (3, "missing"), (4, "conflicting"), (5, "missing"), (6, "conflicting"),
        (7, "conflicting")]
    assert b.native.GainRaw.Value == gain and b.native.Width.Value == 512


def test_streaming_camera_refuses_feature_files(cams, tmp_path: Path) -> None:
    a, _ = cams
    a.arm(Trigger.software())
    with pytest.raises(DeviceError) as err:
        a.save_settings(tmp_path / "x.pfs")
    assert err.value.feature == "save_settings"
    assert not (tmp_path / "x.pfs").exists()


def test_a_load_updates_lanecams_view_and_reconnect_does_not_undo_it(cams) -> None:
    """The emulator, like a power-cycled camera, comes back with its startup settings after a
    reconnect; lanecam must not then put back a value the file replaced."""
    _, b = cams
    b.configure({"exposure_time": 0.002, "gain": 12.0})
    text = f"# {MAGIC}\n# Device = Basler::BaslerCamEmu\nExposureTimeAbs\t5000.0\n"
    b.load_settings(parse_feature_file(text), any_model=True)
    assert b.get("exposure_time") == pytest.approx(0.005)
    assert b._exposure_s == pytest.approx(0.005)
    b.reconnect()
    assert b.get("exposure_time") != pytest.approx(0.002)
    assert b.get("gain") == pytest.approx(12.0, abs=0.05)  # not in the file: still restored


junk = st.one_of(st.binary(min_size=1, max_size=200),
                 st.sampled_from([b"Width 640\n", b"\x00\x00", b"Width\t\n",
                                  b"Gain\t{GainSelector=All, X=1}\t1\n", b"x" * 70000 + b"\n"]))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.integers(0, 3), junk, st.booleans())
def test_a_malformed_file_raises_before_the_camera_is_touched(cams, tmp_path: Path, at: int,
                                                              bad: bytes, header: bool) -> None:
    _, b = cams
    good = [b"Width\t800", b"TriggerSelector\tFrameEnd", b"TriggerMode\tOn", b"Gain\t2.0"]
    body = good[:at] + [bad.replace(b"\n", b"\x00") if b"\t" in bad else bad] + good[at:]
    data = (f"# {MAGIC}\n# Device = Basler::BaslerCamEmu\n".encode() if header else b"") \
        + b"\n".join(body) + b"\n"
    path = tmp_path / "fuzz.pfs"
    path.write_bytes(data)
    before = snapshot(b)
    try:
        report = b.load_settings(path, any_model=True, dry_run=True)
    except FeatureFileError as exc:
        assert exc.line is not None or exc.reason == "too_large"
    else:
        assert report.dry_run
    assert snapshot(b) == before


def test_user_sets_on_the_emulator(cams) -> None:
    """What the emulator offers; save and the startup set run on GenApi in
    test_feature_files_genapi.py."""
    from lanecam.errors import LimitError, UnsupportedFeatureError

    _, b = cams
    sets = b.user_sets
    assert sets.names() == ("Default",) and sets.selected() == "Default"
    b.configure({"exposure_time": 0.003})
    sets.load("Default")  # the emulator's UserSetLoad runs and changes nothing
    assert b._applied == {}  # the set replaced them: reconnect must not bring them back
    with pytest.raises(LimitError) as err:
        sets.load("UserSet1")
    assert err.value.allowed == ["Default"]
    with pytest.raises(UnsupportedFeatureError) as uerr:
        sets.save("Default")  # the emulator has no UserSetSave
    assert uerr.value.feature == "UserSetSave"
    with pytest.raises(UnsupportedFeatureError):
        sets.startup()


def test_the_same_settings_in_sequence_and_in_braces_write_the_same_keys(cams) -> None:
    """The two synthetic USB files (SOURCES.md) hold the same settings in GenApi 3.1 and 3.5
    layouts; on the emulator they must plan the same writes under the same selector state."""
    _, b = cams
    seq = b.load_settings(DATA / "synthetic_usb_sequential_crlf.pfs", any_model=True,
                          dry_run=True)
    inl = b.load_settings(DATA / "synthetic_usb_inline_nested.pfs", any_model=True,
                          dry_run=True)

    def as_set(r: LoadReport) -> set[tuple[str, tuple[tuple[str, str], ...], str]]:
        return {(w.name, w.context, w.text) for w in r.writes}

    shared = {w.name for w in inl.writes} & {w.name for w in seq.writes}
    assert {k for k in as_set(seq) if k[0] in shared} == {k for k in as_set(inl)
                                                          if k[0] in shared}
    assert ("TriggerMode", (("TriggerSelector", "FrameStart"),), "On") in as_set(inl)
    assert [(n.line, n.name, n.selector) for n in inl.notes] == [(10, "Gain", "GainSelector")]
    applied = b.load_settings(DATA / "synthetic_usb_sequential_crlf.pfs", any_model=True)
    assert applied.applied and b.native.Width.Value == 800 and b.native.OffsetX.Value == 16
