"""Base for firmware fakes: a device state machine on the far side of a real pseudo-terminal.

The fake owns the pty master; drivers open :attr:`PtyFake.port` (a stable symlink to the pty
slave) through pyserial like any ``/dev/tty*``.  A thread feeds received bytes to
:meth:`PtyFake._on_bytes` and calls :meth:`PtyFake._on_tick` so streaming devices can emit at
their configured rate.  :meth:`PtyFake.unplug` closes the pty (the driver sees the port vanish);
:meth:`PtyFake.replug` creates a new one behind the same path.

:meth:`PtyFake.start_inline` serves the same state machine without a pty or a thread, for a
:class:`~lanecam.devices.fakes.inline.InlinePort` that runs it inside the driver's reads on a
simulated clock (deterministic simulation; the pty path is the one the device tests use).

What a pty cannot do: modem-status lines (CTS/DSR/DCD/RI) cannot be driven from the master side
and ``TIOCMGET`` fails on a pty slave; baud rate and parity are accepted but have no effect.
"""

from __future__ import annotations

import errno
import logging
import os
import pty
import select
import tempfile
import threading
import tty
from pathlib import Path

from ...clock import MONOTONIC, Clock

__all__ = ["PtyFake"]

log = logging.getLogger(__name__)


class PtyFake:
    """A firmware state machine served on a pseudo-terminal, running in a daemon thread.

    Args:
        clock: time base for the fake's own schedule (streaming rates), default monotonic.
        tick_s: longest wait between :meth:`_on_tick` calls (s).
        name: used for the thread name and the port symlink.
    """

    def __init__(self, *, clock: Clock = MONOTONIC, tick_s: float = 0.002, name: str = "fake"):
        self.clock = clock
        self.tick_s = tick_s
        self.name = name
        self._dir: Path | None = None
        self.port = ""  # the stable device path, set by start()
        self._master: int | None = None
        self._slave: int | None = None
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.received = bytearray()  # everything the driver sent, for inspection
        self.dropped_bytes = 0  # output lost because nobody was reading (full pty buffer)
        self.failure: BaseException | None = None  # an exception that ended the thread
        self._inline: bytearray | None = None  # output waiting for an InlinePort (inline mode)

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> PtyFake:
        """Create the pty and start the firmware thread; returns self."""
        self._dir = Path(tempfile.mkdtemp(prefix=f"lanecam-{self.name}-"))
        self.port = str(self._dir / "tty")
        self.replug()
        self._thread = threading.Thread(target=self._run, name=f"fake-{self.name}", daemon=True)
        self._thread.start()
        return self

    def start_inline(self) -> PtyFake:
        """Serve the firmware to an :class:`~lanecam.devices.fakes.inline.InlinePort`: no pty,
        no thread; ``port`` becomes ``inline://NAME``.  Returns self."""
        with self._lock:
            self.port = f"inline://{self.name}"
            self._inline = bytearray()
            self._on_power_on()
        return self

    @property
    def inline_output(self) -> bytearray | None:
        """Bytes sent and not yet read by the inline port (None: not in inline mode)."""
        return self._inline

    def __enter__(self) -> PtyFake:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop the thread, close the pty and remove the port path."""
        self._stop.set()
        self._inline = None
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._dir is not None:
            self.unplug()
            self._dir.rmdir()
            self._dir = None
        if self.failure is not None:
            raise RuntimeError(f"fake {self.name} thread failed") from self.failure

    def unplug(self) -> None:
        """The device disappears: pty closed, port path removed."""
        with self._lock:
            for fd in (self._master, self._slave):
                if fd is not None:
                    os.close(fd)
            self._master = self._slave = None
            if self.port:
                try:
                    os.unlink(self.port)
                except FileNotFoundError:
                    pass  # already unplugged
            self._on_unplug()

    def replug(self) -> None:
        """The device (re)appears behind the same port path, in its power-on state."""
        if not self.port:
            raise RuntimeError("start() the fake first")
        with self._lock:
            if self._master is not None:
                self.unplug()
            master, slave = pty.openpty()
            tty.setraw(slave)
            os.set_blocking(master, False)
            self._master, self._slave = master, slave
            tmp = self.port + ".new"
            os.symlink(os.ttyname(slave), tmp)
            os.replace(tmp, self.port)
            self._on_power_on()

    @property
    def plugged(self) -> bool:
        return self._master is not None

    # -- firmware side -------------------------------------------------------------------------
    def _send(self, data: bytes) -> None:
        """Transmit ``data`` to the driver (lost, and counted, if the port buffer is full)."""
        with self._lock:
            if self._inline is not None:
                self._inline += data
                return
            if self._master is None:
                self.dropped_bytes += len(data)
                return
            try:
                n = os.write(self._master, data)
            except BlockingIOError:
                n = 0
            except OSError as exc:
                if exc.errno != errno.EIO:
                    raise
                n = 0
            self.dropped_bytes += len(data) - n

    def _on_bytes(self, data: bytes) -> None:
        """Handle bytes from the driver (override)."""

    def _on_tick(self, now_ns: int) -> None:
        """Periodic work such as streaming reports (override)."""

    def _on_power_on(self) -> None:
        """Reset to power-on state (override); called under the lock on (re)plug."""

    def _on_unplug(self) -> None:
        """Hook called under the lock when the device disappears (override)."""

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                with self._lock:
                    master = self._master
                if master is None:
                    self._stop.wait(self.tick_s)
                    continue
                try:
                    ready, _, _ = select.select([master], [], [], self.tick_s)
                except (OSError, ValueError):  # fd closed by unplug() in another thread
                    continue
                data = b""
                if ready:
                    with self._lock:
                        if self._master != master:
                            continue
                        try:
                            data = os.read(master, 4096)
                        except BlockingIOError:
                            data = b""
                        except OSError as exc:  # EIO: no slave open right now
                            if exc.errno != errno.EIO:
                                raise
                            data = b""
                            self._stop.wait(self.tick_s)
                with self._lock:
                    if data:
                        self.received += data
                        self._on_bytes(data)
                    if self._master is not None:
                        self._on_tick(self.clock.now_ns())
        except BaseException as exc:  # reported by stop(); a dead fake must fail the test
            self.failure = exc
            log.exception("fake %s crashed", self.name)
