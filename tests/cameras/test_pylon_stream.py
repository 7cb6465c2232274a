"""pylon's stream grabber on the camera emulator: statistics count injected failed buffers; the
GigE-only resend and socket parameters are refused by name (the emulator's grabber has none)."""

from __future__ import annotations

import pytest

from lanecam.devices.cameras import Trigger
from lanecam.devices.cameras.pylon import PylonCamera
from lanecam.devices.cameras.pylon_stream import (
    StreamGrabberSettings,
    configure_stream_grabber,
    stream_statistics,
)
from lanecam.errors import DeviceError, UnsupportedFeatureError

pytestmark = pytest.mark.emulator


def test_statistics_count_failed_buffers(pylon_cam: PylonCamera) -> None:
    before = stream_statistics(pylon_cam)
    assert {"Total_Buffer_Count", "Failed_Buffer_Count", "Failed_Packet_Count",
            "Resend_Request_Count", "Buffer_Underrun_Count"} <= set(before)
    pylon_cam.arm(Trigger.software())
    pylon_cam.configure({"failed_buffer_count": 2})
    pylon_cam.execute("failed_buffer")
    with pylon_cam.capture_burst(4, timeout_s=2.0) as burst:
        assert burst.incomplete_count == 2
    after = stream_statistics(pylon_cam)
    assert after["Total_Buffer_Count"] - before["Total_Buffer_Count"] >= 4
    assert after["Failed_Buffer_Count"] - before["Failed_Buffer_Count"] == 2


def test_gige_only_parameters_are_refused_by_name(pylon_cam: PylonCamera) -> None:
    with pytest.raises(UnsupportedFeatureError) as e:
        configure_stream_grabber(pylon_cam, StreamGrabberSettings(enable_resend=True,
                                                                  packet_timeout_ms=40))
    assert e.value.feature == "EnableResend" and "PacketTimeout" in str(e.value)
    assert configure_stream_grabber(pylon_cam, StreamGrabberSettings()) == {}


def test_not_while_streaming(pylon_cam: PylonCamera) -> None:
    pylon_cam.arm(Trigger.software())
    with pytest.raises(DeviceError) as e:
        configure_stream_grabber(pylon_cam, StreamGrabberSettings(enable_resend=True))
    assert e.value.feature == "stream_grabber"
