"""GigE transport, PTP and action-command node writes on real GenICam XMLs (GenApi engine).

The shipped Aravis fake camera has none of these nodes: there every call is a typed refusal.
The vendor XMLs (Basler classic and ace 2, FLIR Blackfly S, Allied Vision Manta) need
``LANECAM_GENICAM_XML_DIR`` (not redistributable; tests/data/genicam/SOURCES.md).  What a
device would change by itself (its PTP state, its clock) is written into the register memory
behind GenApi, as the camera would, through the XML's own registers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lanecam.clock import ManualClock
from lanecam.devices.cameras import load_profile, load_profiles
from lanecam.devices.cameras.gige_action import arm_action_group
from lanecam.devices.cameras.gige_budget import delay_ticks, share_link, stream_need
from lanecam.devices.cameras.gige_ptp import (
    PtpLockError,
    enable_ptp,
    latch_pair,
    measure_clock_map,
    ptp_state,
    wait_for_ptp_lock,
)
from lanecam.devices.cameras.gige_transport import apply_transport, packet_size_for
from lanecam.errors import DeviceError, LimitError, UnsupportedFeatureError
from lanecam.testing.xml_camera import XmlCamera

DATA = Path(__file__).parents[1] / "data" / "genicam"
XML_DIR = os.environ.get("LANECAM_GENICAM_XML_DIR", "")
vendor = pytest.mark.skipif(not XML_DIR, reason="set LANECAM_GENICAM_XML_DIR to the vendor "
                            "XMLs (not redistributable, not shipped)")

ACE_CLASSIC = ("Basler-acA1300-60gm.xml", "Basler", "acA1300-60gm")
ACE2 = ("Basler-a2A2600-20gmBAS.xml", "Basler", "a2A2600-20gmBAS")
FLIR = ("FLIR_BFS_PGE_19S4M.xml", "FLIR", "Blackfly S BFS-PGE-19S4M")
MANTA = ("AVT_Manta_G235C.xml", "Allied Vision Technologies", "Manta G-235C")


def _cam(case: tuple[str, str, str], **kwargs: Any) -> XmlCamera:
    f, v, m = case
    return XmlCamera(Path(XML_DIR) / f, vendor=v, model=m, **kwargs)


def device_writes(cam: XmlCamera, values: dict[str, Any]) -> None:
    """The device changes its own read-only registers (a status, a latched time).  A 64-bit
    value behind a ``(P1<<32)|P2`` swiss knife is split into its two registers."""
    assert cam.device is not None
    clone = cam.device.writable_clone()
    for name, value in values.items():
        el = cam.device.elements[name]
        p = el.find("{*}pValue") if el.find("{*}pValue") is not None else el.find("pValue")
        sk = cam.device.elements.get(p.text.strip()) if p is not None else None
        if sk is not None and sk.tag.endswith("IntSwissKnife"):
            regs = {v.get("Name"): v.text.strip() for v in sk if v.tag.endswith("pVariable")}
            clone.get_node(regs["P1"]).value = value >> 32
            clone.get_node(regs["P2"]).value = value & 0xFFFF_FFFF
        else:
            clone.get_node(name).value = value
    cam.device.nodemap._invalidate_nodes()


@pytest.fixture
def fake() -> Iterator[XmlCamera]:
    profiles = load_profiles()
    profiles["aravis-fake"] = load_profile(DATA / "profiles" / "aravis-fake.toml", profiles)
    with XmlCamera(DATA / "aravis-fake-camera.xml", profiles=profiles) as cam:
        yield cam


def test_a_camera_without_gige_nodes_refuses_by_name(fake: XmlCamera) -> None:
    with pytest.raises(UnsupportedFeatureError) as e:
        packet_size_for(fake, 9000)
    assert e.value.feature == "GevSCPSPacketSize"
    with pytest.raises(UnsupportedFeatureError) as e:
        enable_ptp(fake)
    assert e.value.feature == "ptp_enable"
    with pytest.raises(UnsupportedFeatureError) as e:
        arm_action_group([fake], 1, 1, 1)
    assert e.value.feature == "action_command" and not fake.is_armed
    assert fake.node_writes == []


# ---------------------------------------------------------------- transport
def _share(cam: XmlCamera, mtu: int, link_mbps: float) -> Any:
    size = packet_size_for(cam, mtu)
    return share_link([stream_need(cam.id, 640, 480, 8, 2.0, size)], link_mbps)[0]


@vendor
@pytest.mark.parametrize(("case", "limit"), [
    (ACE2, ["DeviceLinkThroughputLimitMode", "DeviceLinkThroughputLimit"]),
    (FLIR, ["DeviceLinkThroughputLimit"]),
    (ACE_CLASSIC, ["GevSCPD"]),
], ids=["ace2", "flir", "ace-classic"])
def test_transport_writes_packet_size_share_and_heartbeat(case: tuple[str, str, str],
                                                          limit: list[str]) -> None:
    with _cam(case) as cam:
        share = _share(cam, 1500, 8.0)  # 8 Mb/s: within the seeded image's ranges
        writes = apply_transport(cam, share, heartbeat_s=1.0)
        nodes = [w.node for w in writes]
        assert nodes == ["GevSCPSPacketSize", *limit, "GevHeartbeatTimeout"]
        assert cam.node_writes == [(w.node, w.value) for w in writes]
        assert cam._do_get("GevSCPSPacketSize") == share.need.packet_size <= 1500
        assert cam._do_get("GevHeartbeatTimeout") == 1000
        if limit[-1] == "GevSCPD":
            hz = int(cam._do_get("GevTimestampTickFrequency"))
            assert cam._do_get("GevSCPD") == delay_ticks(share.delay_s, hz)
        else:
            assert cam._do_get("DeviceLinkThroughputLimit") == int(share.rate_bytes_per_s)


@vendor
def test_a_rate_outside_the_live_range_writes_nothing() -> None:
    with _cam(MANTA) as cam:  # StreamBytesPerSecond: the seeded range is [1e6, 1e6]
        share = _share(cam, 1500, 8.0)
        with pytest.raises(LimitError) as e:
            apply_transport(cam, share)
        assert e.value.feature == "StreamBytesPerSecond" and "1000000" in str(e.value.allowed)
        assert cam.node_writes == []


@vendor
def test_packet_size_follows_the_xml_increment_and_max() -> None:
    with _cam(ACE2) as cam:  # GevSCPSPacketSize 500…8192 step 1
        assert packet_size_for(cam, 9000) == 8192 and packet_size_for(cam, 1500) == 1500
        with pytest.raises(LimitError):
            packet_size_for(cam, 400)
    with _cam(ACE_CLASSIC) as cam:  # step 4
        assert packet_size_for(cam, 1499) == 1496


@vendor
def test_transport_is_refused_while_streaming() -> None:
    with _cam(ACE2) as cam:
        share = _share(cam, 1500, 8.0)
        cam.arm()
        with pytest.raises(DeviceError) as e:
            apply_transport(cam, share)
        assert e.value.feature == "transport"


# ---------------------------------------------------------------- PTP
@vendor
@pytest.mark.parametrize(("case", "switch", "status"), [
    (ACE_CLASSIC, ("GevIEEE1588", True), "GevIEEE1588Status"),
    (FLIR, ("GevIEEE1588", True), "GevIEEE1588StatusLatched"),
    (MANTA, ("PtpMode", "Slave"), "PtpStatus"),
], ids=["ace-classic", "flir", "manta"])
def test_ptp_is_enabled_and_the_lock_awaited(case: tuple[str, str, str],
                                             switch: tuple[str, Any], status: str) -> None:
    class LockingClock(ManualClock):
        """The camera reaches Slave 3 s after PTP is switched on."""

        def sleep(self, seconds: float) -> None:
            super().sleep(seconds)
            if self.now_ns() >= 3e9:
                device_writes(cam, {status: "Slave"})

    clock = LockingClock()
    with _cam(case, clock=clock) as cam:
        device_writes(cam, {status: "Listening"})
        assert enable_ptp(cam) == switch[0]
        assert cam._do_get(switch[0]) == switch[1]
        assert ptp_state(cam).status == "Listening"
        state = wait_for_ptp_lock(cam, timeout_s=10.0, poll_s=0.5)
        assert state.status == "Slave" and state.locked()
        assert clock.now_ns() == 3_000_000_000
        if case is FLIR:  # the data set is latched before the latched status is read
            assert ("GevIEEE1588DataSetLatch", None) in cam.node_writes


@vendor
def test_no_lock_is_a_typed_error_with_the_status_and_advice() -> None:
    clock = ManualClock()
    with _cam(ACE_CLASSIC, clock=clock) as cam:
        enable_ptp(cam)
        device_writes(cam, {"GevIEEE1588Status": "Listening"})
        with pytest.raises(PtpLockError) as e:
            wait_for_ptp_lock(cam, timeout_s=5.0, poll_s=1.0)
    err = e.value
    assert (err.status, err.servo, err.waited_s, err.feature) == ("Listening", None, 5.0,
                                                                   "ptp_status")
    assert "no PTP master heard" in str(err) and isinstance(err, TimeoutError)


@vendor
def test_a_master_camera_is_locked_only_when_allowed() -> None:
    with _cam(MANTA, clock=ManualClock()) as cam:
        device_writes(cam, {"PtpStatus": "Master"})
        assert not ptp_state(cam).locked()
        assert wait_for_ptp_lock(cam, 1.0, accept_master=True).status == "Master"


# ---------------------------------------------------------------- camera clock
class LatchingCamera(XmlCamera):
    """Latching copies the device clock (offset + drift on the host clock) into the value
    register, 40 µs into a GVCP round trip of 80 µs."""

    offset_ticks = 5_000_000_000
    drift = 25e-6  # the camera runs 25 ppm fast
    tick_hz = 125_000_000

    def _do_execute(self, node: str) -> None:
        if node == "GevTimestampControlLatch":
            assert isinstance(self.clock, ManualClock)
            self.clock.advance(40e-6)
            host_s = self.clock.now_ns() / 1e9
            ticks = self.offset_ticks + round(host_s * (1 + self.drift) * self.tick_hz)
            device_writes(self, {"GevTimestampValue": ticks})
            self.clock.advance(40e-6)
        super()._do_execute(node)


@vendor
def test_camera_time_maps_to_host_time_with_offset_and_drift() -> None:
    clock = ManualClock(start_ns=1_000_000_000_000)
    f, v, m = ACE_CLASSIC
    with LatchingCamera(Path(XML_DIR) / f, vendor=v, model=m, clock=clock) as cam:
        pair = latch_pair(cam)
        assert pair.window_ns == 80_000 and ("GevTimestampControlLatch", None) in cam.node_writes
        cmap = measure_clock_map(cam, latches=6, interval_s=1.0, tick_hz=cam.tick_hz,
                                 realtime=lambda: 1_700_000_000_000_000_000)
    assert cmap.drift_ppm == pytest.approx(25.0, abs=0.01)
    assert cmap.residual_ns < 10  # ticks are 8 ns
    host = 1_003_500_000_000  # a frame stamped at host 1003.5 s
    ticks = cam.offset_ticks + round(host / 1e9 * (1 + cam.drift) * cam.tick_hz)
    assert abs(cmap.to_host_ns(ticks) - host) < 16
    assert abs(cmap.to_camera_ticks(host) - ticks) <= 2
    realtime_offset = 1_700_000_000_000_000_000 - clock.now_ns()
    assert cmap.to_realtime_ns(ticks) - cmap.to_host_ns(ticks) == realtime_offset


# ---------------------------------------------------------------- action commands
@vendor
def test_one_action_group_over_three_families() -> None:
    cams = [_cam(c) for c in (ACE_CLASSIC, ACE2, MANTA)]
    for c in cams:
        c.open()
    try:
        arm_action_group(cams, 0x4711, 0x112233, 0x1)
        for c in cams:
            assert c.is_armed and c.trigger_mode is not None
            assert c._do_get("ActionDeviceKey") == 0x4711
            assert c._do_get("ActionGroupKey") == 0x112233
            assert c._do_get("ActionGroupMask") == 0x1
            assert ("TriggerSource", "Action1") in c.node_writes
    finally:
        for c in cams:
            c.close()


@vendor
def test_flir_write_only_action_keys_are_written_unread() -> None:
    with _cam(FLIR) as cam:
        arm_action_group([cam], 0x4711, 0x112233, 0x1)
        writes = dict(cam.node_writes)
        assert (writes["ActionDeviceKey"], writes["ActionGroupKey"],
                writes["ActionGroupMask"]) == (0x4711, 0x112233, 0x1)
        assert ("TriggerSource", "Action0") in cam.node_writes  # FLIR's only action signal


@vendor
def test_a_group_with_one_camera_lacking_actions_touches_none() -> None:
    # Manta G-125B: older firmware, no ActionDeviceKey (avt-gige.toml)
    cams = [_cam(ACE2), _cam(("AVT_Manta_G125B.xml", "Allied Vision Technologies",
                              "Manta G-125B"))]
    for c in cams:
        c.open()
    try:
        with pytest.raises(UnsupportedFeatureError):
            arm_action_group(cams, 1, 2, 4)
        assert all(c.node_writes == [] and not c.is_armed for c in cams)
    finally:
        for c in cams:
            c.close()


def test_keys_are_32_bit_and_the_mask_nonzero(fake: XmlCamera) -> None:
    for bad in ((-1, 1, 1), (1, 2**32, 1), (1, 1, 0), (True, 1, 1)):
        with pytest.raises(LimitError):
            arm_action_group([fake], *bad)
    assert fake.node_writes == []
