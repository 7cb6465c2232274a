"""A lane config's ``[cameras.transport]`` and ``[gige]`` applied to the cameras a lane opens
(:func:`lanecam.lane.gige_setup.apply_gige`), on real GenICam XMLs behind GenApi.

The vendor XMLs need ``LANECAM_GENICAM_XML_DIR`` (tests/data/genicam/SOURCES.md); the shipped
Aravis fake camera has no GigE nodes, so there every setting is a typed refusal."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from test_gige_xml import ACE2, ACE_CLASSIC, DATA, FLIR, _cam, device_writes, vendor

from lanecam.clock import ManualClock
from lanecam.config import parse_lane_config
from lanecam.devices.cameras import load_profile, load_profiles
from lanecam.devices.cameras.gige_budget import share_link, stream_need
from lanecam.devices.cameras.gige_ptp import PtpLockError
from lanecam.errors import UnsupportedFeatureError
from lanecam.lane.gige_setup import apply_gige
from lanecam.testing.xml_camera import XmlCamera

LINK = {"link": "eth1", "link_mbps": 8.0, "mtu": 1500, "heartbeat_s": 1.0}
DOC: dict[str, Any] = {
    "lane": {"id": "n1"},
    "capture": {"frame_rate_hz": 2.0},
    "cameras": [{"name": "a", "device": "pylon:1", "width_px": 320, "height_px": 240,
                 "transport": dict(LINK)},
                {"name": "b", "device": "pylon:2", "width_px": 320, "height_px": 240,
                 "transport": dict(LINK)}],
}


def _cfg(*, transport: bool = True, **gige: Any) -> Any:
    doc = copy.deepcopy(DOC)
    if not transport:
        for c in doc["cameras"]:
            del c["transport"]
    if gige:
        doc["gige"] = gige
    return parse_lane_config(doc)


@vendor
def test_two_cameras_on_one_link_share_its_budget() -> None:
    cfg = _cfg()
    with _cam(ACE2) as a, _cam(FLIR, serial="xml-1") as b:
        done = apply_gige(cfg, [a, b]).transport
        needs = []
        for cam in (a, b):
            bpp = 8 if str(cam.get("pixel_format")) == "Mono8" else 16
            needs.append(stream_need(cam.id, 320, 240, bpp, 2.0, 1500))
        shares = share_link(needs, 8.0, headroom=0.9)
        for cam, share in zip((a, b), shares, strict=True):
            writes = {w.node: w.value for w in done[cam.id]}
            assert writes["GevSCPSPacketSize"] == 1500 == cam._do_get("GevSCPSPacketSize")
            assert writes["DeviceLinkThroughputLimit"] == int(share.rate_bytes_per_s)
            assert cam._do_get("GevHeartbeatTimeout") == 1000
        total = sum(s.rate_bytes_per_s for s in shares)
        assert total == pytest.approx(8e6 / 8 * 0.9)


@vendor
def test_ptp_on_every_camera_then_the_lock_awaited() -> None:
    cfg = _cfg(transport=False, ptp=True, ptp_lock_timeout_s=2.0)
    clock = ManualClock()
    with _cam(ACE_CLASSIC, clock=clock) as a, _cam(FLIR, clock=clock, serial="xml-1") as b:
        device_writes(a, {"GevIEEE1588Status": "Slave"})
        device_writes(b, {"GevIEEE1588StatusLatched": "Slave"})
        setup = apply_gige(cfg, [a, b], clock=clock)
        assert a._do_get("GevIEEE1588") is True and b._do_get("GevIEEE1588") is True
        assert {s.status for s in setup.ptp.values()} == {"Slave"} and len(setup.ptp) == 2
        device_writes(b, {"GevIEEE1588StatusLatched": "Listening"})
        with pytest.raises(PtpLockError) as e:
            apply_gige(cfg, [a, b], clock=clock)
        assert e.value.status == "Listening" and e.value.waited_s >= 2.0
        assert e.value.device == b.id


@vendor
def test_action_keys_are_written_to_every_camera_without_arming() -> None:
    cfg = _cfg(transport=False, action={"device_key": 0x4711, "group_key": 7, "group_mask": 1})
    with _cam(ACE_CLASSIC) as a, _cam(ACE2, serial="xml-1") as b:
        setup = apply_gige(cfg, [a, b])
        assert setup.action_keys == [a.id, b.id]
        for cam in (a, b):
            assert cam._do_get("ActionDeviceKey") == 0x4711
            assert cam._do_get("ActionGroupKey") == 7 and cam._do_get("ActionGroupMask") == 1
            assert not cam.is_armed


def _fake() -> XmlCamera:
    profiles = load_profiles()
    profiles["aravis-fake"] = load_profile(DATA / "profiles" / "aravis-fake.toml", profiles)
    return XmlCamera(DATA / "aravis-fake-camera.xml", profiles=profiles)


@pytest.mark.parametrize(("gige", "transport", "feature"), [
    ({}, True, "GevSCPSPacketSize"),
    ({"ptp": True}, False, "ptp_enable"),
    ({"action": {"device_key": 1, "group_key": 1, "group_mask": 1}}, False, "action_command"),
], ids=["transport", "ptp", "action"])
def test_a_camera_without_gige_nodes_is_a_typed_refusal(gige: dict[str, Any], transport: bool,
                                                         feature: str) -> None:
    doc = copy.deepcopy(DOC)
    doc["cameras"] = [doc["cameras"][0]]
    if not transport:
        del doc["cameras"][0]["transport"]
    doc["gige"] = gige
    with _fake() as cam:
        with pytest.raises(UnsupportedFeatureError) as e:
            apply_gige(parse_lane_config(doc), [cam])
        assert e.value.feature == feature
        assert cam.node_writes == []


def test_the_builder_applies_the_gige_settings(tmp_path: Path) -> None:
    """build_lane calls apply_gige when the config has GigE settings (here: refused on a
    camera without them, before any sensor is opened)."""
    import contextlib

    from lanecam.lane.builder import build_lane

    class Opener:
        def camera(self, cfg: Any, buffer_count: int) -> XmlCamera:
            return _fake()

        def camera_model(self, cfg: Any, camera: Any) -> Any:
            from lanecam.lane.connect import HARDWARE
            return HARDWARE.camera_model(cfg, camera)

    doc = copy.deepcopy(DOC)
    doc["cameras"] = [doc["cameras"][0]]
    with contextlib.ExitStack() as stack, pytest.raises(UnsupportedFeatureError) as e:
        build_lane(parse_lane_config(doc), None, None, stack, opener=Opener())  # type: ignore[arg-type]
    assert e.value.feature == "GevSCPSPacketSize"



def _emulator_cfg(gige: dict[str, Any], transport: dict[str, Any] | None) -> Any:
    from emulated_cameras import PYLON_SERIALS

    doc = copy.deepcopy(DOC)
    cam = {k: v for k, v in doc["cameras"][0].items() if k != "transport"}
    doc["cameras"] = [{**cam, "device": f"pylon:{PYLON_SERIALS[0]}"}]
    if transport is not None:
        doc["cameras"][0]["transport"] = transport
    doc["gige"] = gige
    return parse_lane_config(doc)


def test_transport_on_the_pylon_emulator_through_the_lanes_opener() -> None:
    """The pylon camera emulator (opened as the lane opens ``pylon:SERIAL``) offers a packet size
    and a throughput limit: both are written and read back; it has no heartbeat node, so a
    heartbeat in the config is refused before anything is written."""
    from lanecam.lane.connect import HARDWARE

    link = {"link": "eth1", "link_mbps": 1000, "mtu": 1500}
    cfg = _emulator_cfg({}, link)
    cam = HARDWARE.camera(cfg.cameras[0], 8)
    with cam:
        before = cam._do_get("GevSCPSPacketSize")
        with pytest.raises(UnsupportedFeatureError) as e:
            apply_gige(_emulator_cfg({}, {**link, "heartbeat_s": 2.0}), [cam])
        assert e.value.feature == "GevHeartbeatTimeout"
        assert cam._do_get("GevSCPSPacketSize") == before  # all checked before any write
        mode, limit = (cam._do_get("DeviceLinkThroughputLimitMode"),
                       cam._do_get("DeviceLinkThroughputLimit"))
        try:
            writes = {w.node: w.value for w in apply_gige(cfg, [cam]).transport[cam.id]}
            need = stream_need(cam.id, 320, 240, 8, 2.0, 1500)
            rate = int(share_link([need], 1000.0)[0].rate_bytes_per_s)
            assert writes == {"GevSCPSPacketSize": 1500, "DeviceLinkThroughputLimitMode": "On",
                              "DeviceLinkThroughputLimit": rate}
            assert cam._do_get("GevSCPSPacketSize") == 1500
            assert cam._do_get("DeviceLinkThroughputLimit") == rate
        finally:  # the emulator is shared by the other tests of this process
            cam._do_set("DeviceLinkThroughputLimit", limit)
            cam._do_set("DeviceLinkThroughputLimitMode", mode)
            cam._do_set("GevSCPSPacketSize", before)


@pytest.mark.parametrize(("gige", "feature"), [
    ({"ptp": True}, "ptp_enable"),
    ({"action": {"device_key": 1, "group_key": 1, "group_mask": 1}}, "action_command"),
], ids=["ptp", "action"])
def test_the_pylon_emulator_has_no_ptp_or_actions_and_says_so(gige: dict[str, Any],
                                                              feature: str) -> None:
    from lanecam.lane.connect import HARDWARE

    cfg = _emulator_cfg(gige, None)
    with HARDWARE.camera(cfg.cameras[0], 8) as cam:
        with pytest.raises(UnsupportedFeatureError) as e:
            apply_gige(cfg, [cam])
        assert e.value.feature == feature
