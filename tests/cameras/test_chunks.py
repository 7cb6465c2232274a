"""Per-frame truth from chunk data (``lanecam.devices.cameras.chunks``).

Measured: the pylon emulator has a writable ``ChunkModeActive`` but no ``ChunkSelector``, and
with chunk mode on ``StartGrabbing`` fails ("Cannot create chunk parser"), so lanecam refuses
there and frames say ``"configured"``; viky.cti has chunk mode with ``NrBounces`` and
``Scan3dData`` only (none lanecam reads) and Harvesters parses them per buffer.  The node writes
are checked by GenApi on the vendor XMLs (``LANECAM_GENICAM_XML_DIR``).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from emulated_cameras import VIKY_SERIALS

from lanecam.devices.cameras import CameraInfo, RawGrab, Trigger, load_profile, load_profiles
from lanecam.devices.cameras.acquisition import frame_meta
from lanecam.devices.cameras.chunks import CHUNK_KEYS
from lanecam.devices.cameras.harvesters import HarvestersCamera, viky_cti
from lanecam.devices.cameras.pylon import PylonCamera
from lanecam.errors import DeviceError, UnsupportedFeatureError
from lanecam.frames import IlluminationState
from lanecam.testing.xml_camera import XmlCamera

DATA = Path(__file__).parents[1] / "data" / "genicam"
XML_DIR = os.environ.get("LANECAM_GENICAM_XML_DIR", "")
ROWS = [r for r in tomllib.loads((DATA / "xmls.toml").read_text(encoding="utf-8"))["xml"]
        if r["model"]]
needs_xmls = pytest.mark.skipif(not XML_DIR, reason="set LANECAM_GENICAM_XML_DIR to the "
                                "vendor XMLs tests/data/genicam/xmls.toml lists")
INFO = CameraInfo("test", "V", "M", "1")


def _meta(raw: RawGrab):
    return frame_meta(raw, INFO, 5, exposure_s=0.002, gain_db=3.0,
                      illumination=IlluminationState(), polarizer_deg=None)


def test_metadata_says_where_exposure_and_gain_come_from() -> None:
    a = np.zeros((2, 2), np.uint8)
    m = _meta(RawGrab(a, None, 1))
    assert (m.exposure_s, m.exposure_source, m.gain_db, m.gain_source) == \
        (0.002, "configured", 3.0, "configured")
    m = _meta(RawGrab(a, None, 1, exposure_s=0.001))
    assert (m.exposure_s, m.exposure_source, m.gain_source) == (0.001, "device", "configured")
    m = _meta(RawGrab(a, None, 1, exposure_s=0.001, chunks={
        "exposure_time": 0.0015, "gain": 6.0, "timestamp": 123, "frame_counter": 7,
        "line_status": 0b101, "sequencer_set": 2}))
    assert (m.exposure_s, m.exposure_source, m.gain_db, m.gain_source) == \
        (0.0015, "chunk", 6.0, "chunk")
    assert (m.chunk_timestamp, m.frame_counter, m.line_status, m.sequencer_set) == (123, 7, 5, 2)
    m = frame_meta(RawGrab(a, None, 1), INFO, 5, exposure_s=None, gain_db=None,
                   illumination=IlluminationState(), polarizer_deg=None)
    assert (m.exposure_source, m.gain_source) == (None, None)


def test_pylon_emulator_refuses_chunks_and_frames_say_configured(pylon_cam: PylonCamera) -> None:
    with pytest.raises(UnsupportedFeatureError) as e:
        pylon_cam.enable_chunks()
    assert e.value.feature == "chunk_selector"
    assert pylon_cam.native.ChunkModeActive.Value is False  # looked at in chunk mode, left off
    assert pylon_cam.chunks_enabled == ()
    pylon_cam.arm(Trigger.software())
    with pylon_cam.capture_burst(2) as burst:
        assert len(burst) == 2
        for f in burst:
            assert f.meta.exposure_source == "configured" and f.meta.gain_source == "configured"
            assert f.meta.exposure_s == pylon_cam.get("exposure_time")
            assert f.meta.frame_counter is None and f.meta.chunk_timestamp is None


@pytest.fixture
def viky() -> Iterator[HarvestersCamera]:
    with HarvestersCamera(VIKY_SERIALS[0], cti=viky_cti()) as cam:
        yield cam


def test_viky_offers_no_chunk_lanecam_reads(viky: HarvestersCamera) -> None:
    with pytest.raises(UnsupportedFeatureError) as e:
        viky.enable_chunks()
    assert e.value.feature == "chunk_selector"
    assert set(e.value.allowed) == {"NrBounces", "Scan3dData"}  # type: ignore[arg-type]
    viky.arm()
    with viky.grab(3.0) as f:
        assert f.meta.exposure_source is None and f.meta.frame_counter is None


def test_harvesters_reads_each_buffers_chunks_on_viky() -> None:
    profiles = load_profiles()
    prof = load_profile(DATA / "profiles" / "viky-chunk-plumbing.toml", profiles)
    with HarvestersCamera(VIKY_SERIALS[1], cti=viky_cti(), profile=prof) as cam:
        report = cam.enable_chunks()
        assert list(report.enabled) == ["frame_counter"]
        assert set(report.missing) == set(CHUNK_KEYS) - {"frame_counter"}
        assert cam.chunks_enabled == ("frame_counter",)
        cam.arm()
        with pytest.raises(DeviceError):
            cam.disable_chunks()  # not while streaming
        for _ in range(3):
            with cam.grab(3.0) as f:  # NrBounces, parsed from this buffer by Harvesters
                assert isinstance(f.meta.frame_counter, int)
        assert cam.fault_counts["chunk_unreadable"] == 0
        cam.disarm()
        cam.disable_chunks()
        cam.arm()
        with cam.grab(3.0) as f:
            assert f.meta.frame_counter is None


def test_aravis_fake_camera_has_no_chunks() -> None:
    profiles = load_profiles()
    profiles["aravis-fake"] = load_profile(DATA / "profiles" / "aravis-fake.toml", profiles)
    with XmlCamera(DATA / "aravis-fake-camera.xml", profiles=profiles) as cam:
        with pytest.raises(UnsupportedFeatureError):
            cam.enable_chunks()
        assert cam.node_writes == []


#: per family's XMLs: chunk keys on, and the one the family's XMLs lack (measured)
FAMILIES = {"basler-classic-gige": {"gain"}, "basler-ace2": {"sequencer_set"},
            "flir-blackfly-s-gige": {"line_status"},
            "hikrobot-gige": {"exposure_time", "gain", "sequencer_set"}}


def _xml_rows() -> list[dict[str, str]]:
    if not XML_DIR:
        return [{"file": "-", "profile": "", "model": ""}]
    rows = tomllib.loads((DATA / "xmls.toml").read_text(encoding="utf-8"))["xml"]
    return [r for r in rows if r["profile"] in FAMILIES]


@needs_xmls
@pytest.mark.parametrize("row", _xml_rows(), ids=lambda r: r["file"])
def test_chunk_enables_are_checked_by_genapi(row: dict[str, str]) -> None:
    vendor = {"flir": "FLIR", "hikr": "Hikrobot"}.get(row["profile"][:4], "Basler")
    by = {"model": row["model"]} if row["model"] else {"profile": row["profile"]}
    with XmlCamera(Path(XML_DIR) / row["file"], vendor=vendor, **by) as cam:
        sel = cam.profile.feature("chunk_selector")
        assert sel is not None
        report = cam.enable_chunks()
        assert FAMILIES[row["profile"]] <= set(report.missing)
        assert {"timestamp", "frame_counter"} <= set(report.enabled)
        expect = [("ChunkModeActive", True)]
        for key in report.enabled:
            expect += [("ChunkSelector", sel.values[key]), ("ChunkEnable", True)]
        assert cam.node_writes[-len(expect):] == expect
        nm = cam.nodemap
        for key in report.enabled:  # GenApi kept each entry's enable
            nm.get_node("ChunkSelector").value = sel.values[key]
            assert nm.get_node("ChunkEnable").value is True
        cam.arm(Trigger.free_run())
        n = len(cam.node_writes)
        with pytest.raises(DeviceError):
            cam.enable_chunks()
        assert len(cam.node_writes) == n


@needs_xmls
@pytest.mark.parametrize("file", [r["file"] for r in ROWS if r["profile"].startswith("avt")][:2]
                         if XML_DIR else ["-"])
def test_avt_has_chunk_mode_but_no_selector(file: str) -> None:
    """AVT Mako/Manta XMLs: ChunkModeActive only (a fixed chunk layout lanecam does not
    map): refused, chunk mode left as it was."""
    row = next(r for r in ROWS if r["file"] == file)
    with XmlCamera(Path(XML_DIR) / file, vendor="Allied Vision Technologies",
                   model=row["model"]) as cam:
        cam.node_writes.clear()
        was = cam.nodemap.get_node("ChunkModeActive").value
        with pytest.raises(UnsupportedFeatureError) as e:
            cam.enable_chunks()
        assert e.value.feature == "chunk_selector"
        assert cam.node_writes == [("ChunkModeActive", True), ("ChunkModeActive", was)]
        assert cam.nodemap.get_node("ChunkModeActive").value == was


def test_chunks_are_enabled_again_after_a_reconnect() -> None:
    prof = load_profile(DATA / "profiles" / "viky-chunk-plumbing.toml", load_profiles())
    with HarvestersCamera(VIKY_SERIALS[2], cti=viky_cti(), profile=prof) as cam:
        cam.enable_chunks(("frame_counter",))
        cam.arm()
        cam.reconnect()
        assert cam.is_armed and cam.chunks_enabled == ("frame_counter",)
        with cam.grab(3.0) as f:
            assert isinstance(f.meta.frame_counter, int)
