"""A pyserial-like port wired straight to a firmware fake, for deterministic simulation.

On a :class:`~lanecam.clock.SimulatedClock` the lane's threads take turns and simulated time
moves only when they wait on the clock; a pty served by the fake's own thread would deliver
bytes at real-time moments instead.  :class:`InlinePort` runs the fake's state machine
inside the driver's I/O: a write reaches the firmware at once, a read first lets the firmware
do its periodic work at the clock's *now*, and when nothing is waiting it waits ``poll_s`` of
that clock (simulated time moves, the firmware's schedule with it).  Give the
:class:`~lanecam.devices.serial_link.SerialLink` the same clock (``clock=``) so its timeouts
run on simulated time too.  The bytes are the fake's, byte for byte, and the production
drivers parse them as they would from a pty.
"""

from __future__ import annotations

from typing import Any

from serial.serialutil import SerialException

from .base import PtyFake

__all__ = ["InlinePort"]


class InlinePort:
    """A port of ``fake`` (started with :meth:`PtyFake.start_inline`); ``poll_s``: how long
    (s, on the fake's clock) an empty read waits."""

    def __init__(self, fake: PtyFake, *, poll_s: float = 1e-3, **_settings: Any) -> None:
        if fake.inline_output is None:
            raise SerialException(f"{fake.name}: not served inline (start_inline() first)")
        self.fake = fake
        self.poll_s = poll_s
        self.is_open = True
        self.timeout: float | None = None

    def open(self) -> None:
        self.is_open = True

    def close(self) -> None:
        self.is_open = False

    def _buffer(self) -> bytearray:
        """The fake's pending output after its periodic work at the clock's now."""
        if not self.is_open:
            raise SerialException("port is closed")
        with self.fake._lock:
            buf = self.fake.inline_output
            if buf is None:
                raise SerialException(f"{self.fake.name}: device gone")
            self.fake._on_tick(self.fake.clock.now_ns())
            return buf

    @property
    def in_waiting(self) -> int:
        return len(self._buffer())

    def read(self, size: int = 1) -> bytes:
        """Up to ``size`` bytes; waits ``poll_s`` of the clock first when none are waiting."""
        buf = self._buffer()
        if not buf:
            self.fake.clock.sleep(self.poll_s)
            buf = self._buffer()
        with self.fake._lock:
            out = bytes(buf[:size])
            del buf[:size]
        return out

    def write(self, data: bytes) -> int:
        self._buffer()
        with self.fake._lock:
            self.fake.received += data
            self.fake._on_bytes(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def reset_input_buffer(self) -> None:
        self._buffer().clear()
