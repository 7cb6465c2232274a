"""The serial trigger-sensor base: the shared serial lifecycle plus configure-on-open/reconnect.

Drivers receive a :class:`~lanecam.devices.serial_link.SerialLink` (composition), do no I/O in
the constructor, configure the device in :meth:`SerialSensor.open`, and after a lost port
reconnect *and reconfigure* before the next reading (a power-cycled sensor forgets volatile
settings, e.g. units, and would otherwise be misread).  Times are seconds at the API.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections import deque
from typing import Any, ClassVar

from ...clock import MONOTONIC, Clock
from ...readings import LidarReading, RadarReading
from ..serial_device import SerialDevice
from ..serial_link import SerialLink

__all__ = ["SerialSensor"]

log = logging.getLogger(__name__)


class SerialSensor(SerialDevice):
    """Policy layer shared by serial trigger sensors: open/configure/recover/read.

    Subclasses implement :meth:`_do_configure` (send settings, check acknowledgements) and
    :meth:`_do_read` (one reading within a deadline).  A read that times out is not a fault.
    """

    kind: ClassVar[str] = "sensor"

    def __init__(self, link: SerialLink, *, clock: Clock = MONOTONIC,
                 name: str | None = None) -> None:
        super().__init__(link, clock=clock, name=name)
        self._configured_generation: int | None = None

    @property
    def configured(self) -> bool:
        """Configured since the link last (re)opened."""
        return self._configured_generation == self.link.generation and self.link.is_open

    def _on_open(self) -> None:
        self._configure()

    def _on_close(self) -> None:
        self._configured_generation = None

    def _configure(self) -> None:
        self._configured_generation = None
        self._do_configure()
        self._configured_generation = self.link.generation
        log.info("%s: configured", self.name)

    def _keep(self, pending: deque[Any], reading: Any) -> None:
        """Queue a reading that arrived during a command exchange; a full queue drops its
        oldest reading, counted as ``fault_counts["pending_overflow"]``."""
        if pending.maxlen is not None and len(pending) == pending.maxlen:
            self._count("pending_overflow", f"dropped the oldest of {pending.maxlen} queued")
        pending.append(reading)

    def flush(self) -> None:
        """Discard readings received but not yet read: they would be stamped with the time
        they are read, not the time they were measured (call before a consumer starts)."""
        self.link.reset_input()

    def recover(self) -> None:
        """Reconnect a lost port and reconfigure (DeviceLostError if it is still gone)."""
        self._reconnect()

    def read(self, timeout: float | None = None) -> RadarReading | LidarReading:
        """The next reading; DeviceTimeoutError if none within ``timeout`` (s).

        After a lost port, this first reconnects and reconfigures; if the port is still
        missing it raises DeviceLostError again.
        """
        if self.link.is_lost:
            self.recover()
        elif not self.configured:
            self._configure()
        return self._do_read(self.link.timeout if timeout is None else timeout)

    @abstractmethod
    def _do_configure(self) -> None:
        """Send the settings and check their acknowledgements."""

    @abstractmethod
    def _do_read(self, timeout: float) -> RadarReading | LidarReading:
        """One reading within ``timeout`` (s), or DeviceTimeoutError."""
