"""The serial trigger-sensor contract: behaviour every streaming sensor driver must show.

Subclass :class:`SerialSensorContract` in a test module (name starting with ``Test``) and fill
in its hooks: :meth:`~SerialSensorContract.fake` (a firmware fake on a pseudo-terminal, see
:class:`SerialFake`), :meth:`~SerialSensorContract.make` (the driver on the fake's port),
:meth:`~SerialSensorContract.place_target`, :meth:`~SerialSensorContract.value` and
:meth:`~SerialSensorContract.assert_reconfigured`, and set
:attr:`~SerialSensorContract.expected`.  pytest then checks, through the OS serial layer:
host-stamped monotonic readings, timeouts when the sensor falls silent, recovery from garbage
on the line, and unplug/replug (typed :class:`~lanecam.errors.DeviceLostError`, reconnection
with the driver's settings restored).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, Protocol

import pytest

from lanecam.errors import DeviceLostError, DeviceTimeoutError, ProtocolError

__all__ = ["SerialFake", "SerialSensor", "SerialSensorContract", "read_until"]


class SerialFake(Protocol):
    """What the contract needs of a firmware fake (e.g. :class:`lanecam.devices.fakes.PtyFake`)."""

    port: str
    silent: bool

    def __enter__(self) -> Any: ...

    def __exit__(self, *exc: object) -> Any: ...

    def inject(self, data: bytes) -> None:
        """Put raw bytes on the line towards the driver."""

    def unplug(self) -> None:
        """The device disappears (port path gone)."""

    def replug(self) -> None:
        """The device comes back behind the same path, in its power-on state."""


class SerialSensor(Protocol):
    """What the contract needs of a driver: open/close, ``read(timeout)`` and its ``link``."""

    link: Any  # a lanecam.devices.serial_link.SerialLink

    def open(self) -> None: ...

    def close(self) -> None: ...

    def read(self, timeout: float | None = None) -> Any: ...


def read_until(sensor: Any, pred: Callable[[Any], bool], tries: int = 40,
               timeout_s: float = 1.0) -> Any:
    """The first reading of ``sensor`` (each read waits ≤ ``timeout_s`` s) that ``pred``
    accepts, within ``tries`` readings; fails the test otherwise."""
    for _ in range(tries):
        r = sensor.read(timeout=timeout_s)
        if pred(r):
            return r
    raise AssertionError(f"no matching reading in {tries} readings")


Rig = tuple[Any, Any]  # (firmware fake, opened driver)


class SerialSensorContract:
    """Every serial trigger sensor: stamped readings, timeouts, garbage, unplug/replug.

    Not collected by itself (its name does not start with ``Test``).
    """

    #: the value (SI units, as :meth:`value` returns it) of a target placed at 3 m
    expected: ClassVar[float]
    #: bytes that are no valid message of the protocol (a broken frame, text, a half line)
    garbage: ClassVar[bytes] = b"\x59\x59\x00\xff\x5a\x07garbage\xfe\xff\r\n"

    def fake(self) -> SerialFake:
        """A new, unstarted firmware fake (a context manager that serves ``.port``)."""
        raise NotImplementedError

    def make(self, port: str) -> SerialSensor:
        """The driver under test, unopened, on ``port``."""
        raise NotImplementedError

    def place_target(self, fake: Any, range_m: float) -> None:
        """Make ``fake`` report a target at ``range_m`` metres (after power-on too)."""
        raise NotImplementedError

    def value(self, reading: Any) -> float | None:
        """The checked quantity of a reading (``None``: the reading carries none)."""
        raise NotImplementedError

    def assert_reconfigured(self, fake: Any) -> None:
        """Assert the driver re-applied its settings to ``fake`` after a replug."""
        raise NotImplementedError

    @pytest.fixture
    def rig(self) -> Iterator[Rig]:
        """The fake, serving a target at 3 m, and the opened driver on its port."""
        with self.fake() as fake:
            self.place_target(fake, 3.0)
            sensor = self.make(fake.port)
            sensor.open()
            yield fake, sensor
            sensor.close()

    def test_readings_are_stamped_with_host_monotonic_time(self, rig: Rig) -> None:
        _, sensor = rig
        before = time.monotonic_ns()
        r = read_until(sensor, lambda r: self.value(r) is not None)
        assert before <= r.t_ns <= time.monotonic_ns()
        assert self.value(r) == pytest.approx(self.expected, abs=0.01)

    def test_consecutive_readings_are_monotonic(self, rig: Rig) -> None:
        _, sensor = rig
        stamps = [sensor.read(timeout=1.0).t_ns for _ in range(5)]
        assert stamps == sorted(stamps)

    def test_silent_sensor_times_out(self, rig: Rig) -> None:
        fake, sensor = rig
        fake.silent = True
        sensor.link.reset_input()
        with pytest.raises(DeviceTimeoutError):
            for _ in range(50):  # drain what was already in flight, then time out
                sensor.read(timeout=0.3)

    def test_garbage_on_the_line_then_readings_continue(self, rig: Rig) -> None:
        fake, sensor = rig
        fake.inject(self.garbage)
        got = None
        for _ in range(40):
            try:
                got = sensor.read(timeout=1.0)
            except ProtocolError:
                continue
            if self.value(got) is not None:
                break
        assert got is not None and self.value(got) == pytest.approx(self.expected, abs=0.01)

    def test_unplug_raises_device_lost_and_replug_recovers_with_settings(self, rig: Rig) -> None:
        fake, sensor = rig
        sensor.read(timeout=1.0)
        fake.unplug()
        with pytest.raises(DeviceLostError):
            for _ in range(100):
                sensor.read(timeout=1.0)
        with pytest.raises(DeviceLostError):
            sensor.read(timeout=0.2)  # still gone: reconnect attempt fails, typed
        fake.replug()  # power-on state: the settings are gone
        self.place_target(fake, 3.0)
        r = read_until(sensor, lambda r: self.value(r) is not None)
        assert self.value(r) == pytest.approx(self.expected, abs=0.01)
        assert sensor.link.counters.losses >= 1 and sensor.link.counters.reconnects == 1
        self.assert_reconfigured(fake)
