"""The one serial lifecycle: every serial device kind inherits it unchanged, failures are
counted by error type, and tolerated events are warned about and counted by name."""

from __future__ import annotations

import logging

import pytest

from lanecam.devices.fakes import ElliptecFake, GardasoftRTFake
from lanecam.devices.illuminators import GardasoftRT, Illuminator
from lanecam.devices.rotators import ElliptecRotator, PolarizerRotator, load_rotator_profile
from lanecam.devices.sensors import BenewakeLidar, OPS243Radar, SerialSensor
from lanecam.devices.serial_device import SerialDevice
from lanecam.devices.serial_link import SerialLink
from lanecam.errors import DeviceLostError, DeviceTimeoutError

LIFECYCLE = ("open", "close", "_guarded", "_fault", "_reconnect", "_ensure_link", "__enter__",
             "__exit__")


@pytest.mark.parametrize("kind", [SerialSensor, OPS243Radar, BenewakeLidar, Illuminator,
                                  GardasoftRT, PolarizerRotator, ElliptecRotator])
def test_every_serial_kind_uses_the_one_lifecycle(kind: type) -> None:
    assert issubclass(kind, SerialDevice)
    for cls in kind.__mro__[: kind.__mro__.index(SerialDevice)]:
        assert not set(LIFECYCLE) & set(vars(cls)), cls


def test_a_failed_operation_is_counted_by_type_and_faults_the_device() -> None:
    with GardasoftRTFake() as fake:
        il = GardasoftRT(SerialLink(fake.port, timeout=0.3))
        il.open()
        assert il.state == "off" and not il.fault_counts
        fake.unplug()
        with pytest.raises(DeviceLostError):
            il.set_continuous(0.2)
        assert il.state == "faulted" and il.fault_counts["DeviceLostError"] == 1
        with pytest.raises(DeviceLostError):
            il.close()


def test_a_stale_reply_is_warned_about_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    profile = load_rotator_profile("thorlabs-ell14")
    with ElliptecFake(speed_deg_s=150.0, settle_s=profile.settle_s, power_on_deg=30.0,
                      motor_timeout_s=0.2) as fake:
        rot = ElliptecRotator(SerialLink(fake.port, baudrate=9600, timeout=0.3))
        rot.open()
        try:
            with caplog.at_level(logging.WARNING, logger="lanecam.devices.serial_device"):
                with pytest.raises(DeviceTimeoutError):
                    rot.move_to(90.0, timeout_s=0.01)  # 60°: 0.4 s, its PO arrives late
            assert rot.fault_counts["DeviceTimeoutError"] == 1 and rot.counters.faults == 1
            assert rot.fault_counts["stale_reply"] == 1 == rot.stale_replies
            assert any("stale_reply" in r.getMessage() for r in caplog.records)
            assert not rot.busy()
        finally:
            rot.close()
