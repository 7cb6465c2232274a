"""A framed, timed, reconnecting serial link over pyserial; drivers receive one by composition.

``SerialLink(url)`` opens anything :func:`serial.serial_for_url` accepts (``/dev/ttyUSB0``,
``socket://host:port``, ``loop://``).  The constructor does no I/O; :meth:`SerialLink.open`
does.  Two framings are offered on one receive buffer (binary frame types and their decoder
live in :mod:`lanecam.devices.serial_framing` and are re-exported here):

* **line framing** (:meth:`SerialLink.read_line`): ASCII lines ending in a terminator.  A line
  longer than ``max_line`` bytes is discarded up to the next terminator and reported once as
  :class:`~lanecam.errors.ProtocolError`, so the following line is never lost.
* **binary framing** (:meth:`SerialLink.read_frame` with a :class:`FrameDecoder`): frames with a
  fixed header, a fixed or length-byte size and a checksum.  Garbage is skipped byte by byte
  (counted) and the decoder never releases a candidate frame that a later valid frame overlaps,
  so the next valid frame after any garbage is never lost.

Timeouts are I/O timeouts on the host monotonic clock (pyserial's own timeouts are OS time),
so they hold whatever clock the drivers use to stamp readings; an in-memory transport on
simulated time passes that simulation's clock (``clock=``), and its timeouts run on it
(:meth:`SerialLink.now_s`; drivers use it for their own deadlines).  A vanished port (pyserial
``SerialException`` or ``OSError``) raises :class:`~lanecam.errors.DeviceLostError` and closes
the port; further I/O raises it again until :meth:`SerialLink.reconnect` succeeds (counted in
``reconnects``).  Reopening is left to the driver's policy layer because the far side may have
power-cycled and lost its settings: drivers reconfigure before trusting data again.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import serial
from serial.serialutil import SerialException, SerialTimeoutException

try:  # POSIX ports raise termios.error (not an OSError) from tcdrain/tcsetattr on a dead tty
    import termios

    _TERMIOS_ERRORS: tuple[type[BaseException], ...] = (termios.error,)
except ImportError:  # Windows
    _TERMIOS_ERRORS = ()

from ..clock import Clock
from ..errors import (
    ConfigError,
    DeviceLostError,
    DeviceTimeoutError,
    ProtocolError,
    UnsupportedFeatureError,
)
from .serial_framing import FrameDecoder, FrameSpec, sum8

__all__ = [
    "FrameSpec",
    "FrameDecoder",
    "LinkCounters",
    "PortFactory",
    "SerialLink",
    "sum8",
]

log = logging.getLogger(__name__)

#: Builds an *unopened-or-opened* pyserial port from a URL and keyword settings.
PortFactory = Callable[..., Any]

#: Exceptions that mean the port itself failed (vanished, I/O error).
_PORT_ERRORS: tuple[type[BaseException], ...] = (SerialException, OSError, *_TERMIOS_ERRORS)
#: ... plus what pyserial raises for a malformed URL or setting when opening.
_OPEN_ERRORS: tuple[type[BaseException], ...] = (*_PORT_ERRORS, ValueError)

_POLL_S = 0.01  # pyserial read slice (s); the link's own deadline decides the timeout


@dataclass
class LinkCounters:
    """Running totals for one link (bytes, frames and every kind of failure)."""

    bytes_in: int = 0
    bytes_out: int = 0
    lines: int = 0
    frames: int = 0
    garbage_bytes: int = 0
    checksum_errors: int = 0
    protocol_errors: int = 0
    timeouts: int = 0
    losses: int = 0
    reconnects: int = 0

    def snapshot(self) -> LinkCounters:
        return dataclasses.replace(self)


def _default_factory(url: str, **settings: Any) -> Any:
    return serial.serial_for_url(url, **settings)


class SerialLink:
    """A serial port with framing, timeouts, counters and reconnection.

    Args:
        url: anything pyserial's ``serial_for_url`` accepts.
        baudrate: bits per second (ignored by USB CDC, ``socket://``, ``loop://``).
        timeout: default read timeout (s).
        name: device name used in error messages (default: the URL).
        max_line: longest accepted line (bytes, terminator excluded).
        port_factory: builds the pyserial port; tests inject recording ports here.
        clock: the clock timeouts run on (default: the host's monotonic clock).
        serial_settings: passed to pyserial (``bytesize``, ``parity``, ``stopbits``, ...).
    """

    def __init__(
        self,
        url: str,
        *,
        baudrate: int = 115200,
        timeout: float = 0.5,
        write_timeout: float = 0.5,
        name: str | None = None,
        max_line: int = 512,
        port_factory: PortFactory | None = None,
        clock: Clock | None = None,
        **serial_settings: Any,
    ) -> None:
        if timeout <= 0 or write_timeout <= 0:
            raise ConfigError("timeouts must be > 0 s", key="timeout")
        self.url = url
        self.name = name or url
        self.baudrate = baudrate
        self.timeout = timeout
        self.write_timeout = write_timeout
        self.max_line = max_line
        self._factory = port_factory or _default_factory
        self._clock = clock
        self._settings = serial_settings
        self._port: Any = None
        self._lost = False
        self._rx = bytearray()
        self._discarding = False  # inside an over-long line, skipping to its terminator
        self._lock = threading.RLock()
        self.generation = 0  # increments on every successful open
        self.counters = LinkCounters()

    def now_s(self) -> float:
        """The time timeouts run on (s): the host's monotonic clock, or the link's ``clock``."""
        return time.monotonic() if self._clock is None else self._clock.now_ns() / 1e9

    # -- lifecycle -----------------------------------------------------------------------------
    def __enter__(self) -> SerialLink:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def is_open(self) -> bool:
        return self._port is not None

    @property
    def pending(self) -> int:
        """Bytes received but not yet consumed by a read."""
        return len(self._rx)

    def open(self) -> None:
        """Open the port (idempotent).  Raises DeviceLostError if it cannot be opened."""
        with self._lock:
            if self._port is None:
                self._do_open()
                self._lost = False

    def close(self) -> None:
        """Close the port and drop buffered input (idempotent)."""
        with self._lock:
            self._lost = False
            self._do_close()
            self._rx.clear()
            self._discarding = False

    def reconnect(self) -> None:
        """Close and reopen now; DeviceLostError (still lost) if the port is missing."""
        with self._lock:
            self._do_close()
            self._rx.clear()
            self._discarding = False
            self._lost = True
            self._do_open()
            self._lost = False
            self.counters.reconnects += 1
            log.info("%s: reconnected", self.name)

    def _do_open(self) -> None:
        try:
            port = self._factory(
                self.url,
                baudrate=self.baudrate,
                timeout=_POLL_S,
                write_timeout=self.write_timeout,
                **self._settings,
            )
            if not port.is_open:
                port.open()
        except _OPEN_ERRORS as exc:
            raise DeviceLostError(f"cannot open serial port: {exc}", device=self.name) from exc
        self._port = port
        self.generation += 1
        log.debug("%s: opened (generation %d)", self.name, self.generation)

    def _do_close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except _PORT_ERRORS as exc:
                # the port is already gone; closing a dead fd must not hide the loss itself
                log.debug("%s: close after loss failed: %s", self.name, exc)

    @property
    def is_lost(self) -> bool:
        """True after the port vanished, until :meth:`reconnect` succeeds."""
        return self._lost

    def _ensure_open(self) -> Any:
        if self._port is not None:
            return self._port
        if self._lost:
            raise DeviceLostError("serial port lost; call reconnect()", device=self.name)
        raise DeviceLostError("link is not open; call open()", device=self.name)

    def _lose(self, exc: BaseException, what: str) -> DeviceLostError:
        self.counters.losses += 1
        self._lost = True
        self._do_close()
        self._rx.clear()
        self._discarding = False
        log.warning("%s: port lost during %s: %s", self.name, what, exc)
        return DeviceLostError(f"serial port lost during {what}: {exc}", device=self.name)

    # -- raw I/O -------------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        """Send ``data`` completely or raise (DeviceLostError / DeviceTimeoutError)."""
        with self._lock:
            port = self._ensure_open()
            try:
                n = port.write(data)
                port.flush()
            except SerialTimeoutException as exc:
                self.counters.timeouts += 1
                raise DeviceTimeoutError(f"write timed out: {exc}", device=self.name) from exc
            except _PORT_ERRORS as exc:
                raise self._lose(exc, "write") from exc
            if n is not None and n != len(data):
                self.counters.timeouts += 1
                raise DeviceTimeoutError(f"wrote {n} of {len(data)} bytes", device=self.name)
            self.counters.bytes_out += len(data)

    def _fill(self) -> int:
        """Read what the port has (waiting at most one poll slice); return the byte count."""
        port = self._ensure_open()
        try:
            waiting = port.in_waiting
            chunk = port.read(max(1, waiting))
        except _PORT_ERRORS as exc:
            raise self._lose(exc, "read") from exc
        if chunk:
            self._rx += chunk
            self.counters.bytes_in += len(chunk)
        return len(chunk)

    def reset_input(self) -> None:
        """Discard everything received so far (counted as garbage)."""
        with self._lock:
            port = self._ensure_open()
            try:
                waiting = port.in_waiting  # what the OS holds is discarded too: count it
                port.reset_input_buffer()
            except _PORT_ERRORS as exc:
                raise self._lose(exc, "reset_input") from exc
            self.counters.garbage_bytes += len(self._rx) + waiting
            self._rx.clear()
            self._discarding = False

    def drain(self, quiet_s: float = 0.0, *, max_s: float | None = None) -> int:
        """Discard every received byte and return how many (counted as garbage).

        With ``quiet_s`` > 0 (s) keep discarding until the line has been silent that long, so a
        late reply still on its way is discarded too; ProtocolError if the line does not go
        quiet within ``max_s`` (s, default ten times ``quiet_s``).
        """
        with self._lock:
            port = self._ensure_open()
            n = len(self._rx)
            self._rx.clear()
            self._discarding = False
            try:
                waiting = port.in_waiting
            except _PORT_ERRORS as exc:
                raise self._lose(exc, "drain") from exc
            if waiting:
                n += self._fill()
                self._rx.clear()
            start = last = self.now_s()
            limit = 10 * quiet_s if max_s is None else max_s
            while quiet_s > 0 and self.now_s() - last < quiet_s:
                if self.now_s() - start > limit:
                    raise ProtocolError(f"line not quiet for {quiet_s:g} s within {limit:g} s",
                                        device=self.name)
                if self._fill():
                    last = self.now_s()
                n += len(self._rx)
                self._rx.clear()
            self.counters.garbage_bytes += n
            return n

    def read_chunk(self, *, timeout: float | None = None) -> bytes:
        """Every byte received and not yet consumed, waiting up to ``timeout`` (s; default the
        link's) for the first; ``b""`` when none came (for recorders: no framing, no error
        on a quiet line)."""
        with self._lock:
            deadline = self.now_s() + (self.timeout if timeout is None else timeout)
            while not self._rx and self.now_s() < deadline:
                self._fill()
            if self._rx and self._port is not None:
                try:
                    waiting = self._port.in_waiting
                except _PORT_ERRORS as exc:
                    raise self._lose(exc, "read") from exc
                if waiting:
                    self._fill()
            out = bytes(self._rx)
            self._rx.clear()
            self._discarding = False
            return out

    # -- line framing --------------------------------------------------------------------------
    def read_line(self, terminator: bytes = b"\n", *, timeout: float | None = None) -> bytes:
        """The next line without its terminator (a trailing CR is kept; strip it if needed).

        Raises DeviceTimeoutError when no complete line arrives in ``timeout`` (s; default the
        link's), ProtocolError once per over-long line (the line after it is intact).
        """
        if not terminator:
            raise ConfigError("empty line terminator", key="terminator")
        with self._lock:
            deadline = self.now_s() + (self.timeout if timeout is None else timeout)
            while True:
                line = self._take_line(terminator)
                if line is not None:
                    self.counters.lines += 1
                    return line
                if self.now_s() >= deadline:
                    self.counters.timeouts += 1
                    raise DeviceTimeoutError(
                        f"no line within {self.timeout if timeout is None else timeout:g} s "
                        f"({len(self._rx)} bytes pending)", device=self.name)
                self._fill()

    def _take_line(self, terminator: bytes) -> bytes | None:
        k = self._rx.find(terminator)
        if self._discarding:
            if k < 0:
                keep = len(terminator) - 1  # a terminator may straddle two reads
                drop = max(0, len(self._rx) - keep)
                self.counters.garbage_bytes += drop
                del self._rx[:drop]
                return None
            self.counters.garbage_bytes += k + len(terminator)
            del self._rx[: k + len(terminator)]
            self._discarding = False
            self.counters.protocol_errors += 1
            raise ProtocolError(f"line longer than {self.max_line} bytes discarded",
                                device=self.name)
        if k < 0:
            if len(self._rx) > self.max_line + len(terminator):
                self._discarding = True
                return self._take_line(terminator)
            return None
        if k > self.max_line:
            self._discarding = True
            return self._take_line(terminator)
        line = bytes(self._rx[:k])
        del self._rx[: k + len(terminator)]
        return line

    def read_until(self, terminator: bytes, *, timeout: float | None = None) -> bytes:
        """Bytes up to and including ``terminator`` (for prompt-terminated replies)."""
        return self.read_line(terminator, timeout=timeout) + terminator

    # -- binary framing ------------------------------------------------------------------------
    def read_frame(
        self, decoder: FrameDecoder, *, timeout: float | None = None
    ) -> tuple[FrameSpec, bytes]:
        """The next valid frame of ``decoder``'s types; DeviceTimeoutError if none in time."""
        with self._lock:
            deadline = self.now_s() + (self.timeout if timeout is None else timeout)
            while True:
                if self._rx:
                    decoder.feed(bytes(self._rx))
                    self._rx.clear()
                g0, c0 = decoder.garbage_bytes, decoder.checksum_errors
                got = decoder.pop()
                if got is None and len(decoder) and self._fill() == 0:
                    # the line went quiet for a poll slice: release an undecided candidate
                    got = decoder.pop(flush=True)
                self.counters.garbage_bytes += decoder.garbage_bytes - g0
                self.counters.checksum_errors += decoder.checksum_errors - c0
                if got is not None:
                    self.counters.frames += 1
                    return got
                if self.now_s() >= deadline:
                    self.counters.timeouts += 1
                    raise DeviceTimeoutError(
                        f"no valid frame within {self.timeout if timeout is None else timeout:g} s"
                        f" ({len(decoder)} bytes pending)", device=self.name)
                if not len(decoder):
                    self._fill()

    # -- modem status lines --------------------------------------------------------------------
    def _modem_io(self, line: str, action: Callable[[Any], Any]) -> Any:
        with self._lock:
            port = self._ensure_open()
            try:
                return action(port)
            except NotImplementedError as exc:
                raise UnsupportedFeatureError(
                    f"this port type has no modem line {line.upper()}", device=self.name,
                    feature=line) from exc
            except OSError as exc:
                if exc.errno in (errno.ENOTTY, errno.EINVAL):  # e.g. a pseudo-terminal
                    raise UnsupportedFeatureError(
                        f"this port cannot access modem line {line.upper()}: {exc}",
                        device=self.name, feature=line) from exc
                raise self._lose(exc, f"modem line {line}") from exc
            except _PORT_ERRORS as exc:
                raise self._lose(exc, f"modem line {line}") from exc

    def modem_line(self, line: str) -> bool:
        """State of input line ``cts``, ``dsr``, ``cd`` or ``ri`` (True = asserted).

        Raises UnsupportedFeatureError when the port type cannot report it (e.g. a pty).
        """
        if line not in ("cts", "dsr", "cd", "ri"):
            raise ConfigError("unknown modem status line", key="line",
                              allowed=["cts", "dsr", "cd", "ri"])
        return bool(self._modem_io(line, lambda port: getattr(port, line)))

    def set_output_line(self, line: str, state: bool) -> None:
        """Drive output line ``rts`` or ``dtr`` (UnsupportedFeatureError on a pty)."""
        if line not in ("rts", "dtr"):
            raise ConfigError("unknown modem control line", key="line", allowed=["rts", "dtr"])
        self._modem_io(line, lambda port: setattr(port, line, state))
