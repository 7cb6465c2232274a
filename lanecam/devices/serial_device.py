"""One lifecycle for every serial device kind: open, close, guarded operations, faults, reconnect.

A :class:`SerialDevice` owns a :class:`~lanecam.devices.serial_link.SerialLink` (composition;
the constructor does no I/O).  Device kinds (sensors, illuminators, rotators) subclass it and
say what "a known state" means for them through these hooks:

* :meth:`SerialDevice._on_open` — after the link opened (identify, configure, switch off);
* :meth:`SerialDevice._on_safe_state` — first thing after a lost port came back, before
  anything else is sent (e.g. switch a lamp off and read it back);
* :meth:`SerialDevice._on_reconnect` — after the safe state (the device may have been
  power-cycled or replaced: identify, reconfigure);
* :meth:`SerialDevice._do_sync_query` — a query whose reply the driver can recognise, used to
  resynchronise (kinds with ``synchronises = True``);
* :meth:`SerialDevice._on_fault` — after a failed operation (resynchronise, switch off);
* :meth:`SerialDevice._on_close` — before the link closes.

Every operation that talks to the device runs through :meth:`SerialDevice._guarded`: a lost
port is reconnected first, and a failure (any :class:`~lanecam.errors.LanecamError`) is
counted in ``fault_counts`` by error type, leaves ``state == "faulted"``, runs the fault hook and is
re-raised — never swallowed.  Events a driver tolerates but the owner should know about (a
stale reply skipped while resynchronising, say) are logged at WARNING and counted in ``fault_counts``
under a name of their own via :meth:`SerialDevice._count`.

Request/reply devices (``synchronises = True``) track whether the link is in step: a reply that
is not the one awaited (wrong content, a timeout, a late or stray reply) marks it
``unsynchronised`` (:meth:`SerialDevice._mark_unsynchronised`), and :meth:`SerialDevice._resync`
(drain pending input — waiting for the line to go quiet when out of step — then the
recognisable query) resolves that before the next operation.  A reconnected link starts out of
step.
"""

from __future__ import annotations

import logging
from abc import ABC
from collections import Counter
from collections.abc import Callable
from typing import ClassVar, TypeVar

from ..clock import MONOTONIC, Clock
from ..errors import DeviceTimeoutError, LanecamError, ProtocolError
from .fault_counts import count
from .serial_link import SerialLink

__all__ = ["SerialDevice"]

log = logging.getLogger(__name__)
T = TypeVar("T")


class SerialDevice(ABC):
    """Lifecycle policy shared by every serial device.

    Args:
        link: the serial link (opened by :meth:`open`, not by the constructor).
        clock: waits and timestamps.
        name: for logs and errors (default: the link's name).

    ``state`` is ``closed_state`` before :meth:`open` and after :meth:`close`, ``ready_state``
    after a successful open or reconnect, ``"faulted"`` after a failed operation (kinds add
    their own states, e.g. an illuminator's ``"pulse"``).
    """

    kind: ClassVar[str] = "serial"
    #: request/reply device that resynchronises with :meth:`_do_sync_query`
    synchronises: ClassVar[bool] = False
    #: drain + recognisable query rounds before a resync gives up
    resync_attempts: ClassVar[int] = 3
    closed_state: ClassVar[str] = "closed"
    ready_state: ClassVar[str] = "ready"

    def __init__(self, link: SerialLink, *, clock: Clock = MONOTONIC,
                 name: str | None = None) -> None:
        self.link = link
        self.clock = clock
        self.name = name or link.name
        self.state = self.closed_state
        #: failed operations by error type, and tolerated-but-warned events by name
        self.fault_counts: Counter[str] = Counter()
        #: the last reply was not the one awaited: resynchronise before the next command
        self.unsynchronised = False
        #: silence (s) that ends a drain while out of step (default: the link's read timeout,
        #: so a reply that missed its timeout arrives inside the drain)
        self.resync_quiet_s: float = link.timeout

    def __enter__(self) -> SerialDevice:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        """Open the link and bring the device to a known state (the kind's ``_on_open``)."""
        self.link.open()
        self._guarded(self._on_open)
        self.state = self.ready_state

    def close(self) -> None:
        """Run the kind's ``_on_close`` (it may talk to the device), then close the link even
        if that failed (the failure is raised and leaves ``state == "faulted"``)."""
        try:
            self._on_close()
            self.state = self.closed_state
        finally:
            self.link.close()

    # -- policy --------------------------------------------------------------------------------
    def _ensure_link(self) -> None:
        """Reconnect a lost port and restore the device (DeviceLostError if it is still gone)."""
        if self.link.is_lost:
            self._reconnect()

    def _reconnect(self) -> None:
        try:
            self.link.reconnect()
            self.unsynchronised = self.synchronises  # a power-cycled device may say anything
            self._on_safe_state()
            self._on_reconnect()
        except LanecamError as exc:
            self._fault(exc)
            raise

    def _guarded(self, action: Callable[[], T], *, resync: bool = False) -> T:
        """Run ``action`` (reconnecting a lost port first, resynchronising first when asked or
        out of step); on failure, fault and re-raise."""
        self._ensure_link()
        try:
            if resync or self.unsynchronised:
                self._resync()
            return action()
        except LanecamError as exc:
            self._fault(exc)
            raise

    def _fault(self, exc: LanecamError) -> None:
        self.fault_counts[type(exc).__name__] += 1
        self.state = "faulted"
        log.error("%s: fault (%s)", self.name, exc)
        self._on_fault(exc)

    def _count(self, event: str, detail: str) -> None:
        """A tolerated event the owner should see: ``fault_counts[event] += 1`` and a WARNING (the
        1st, 10th, 100th, … time)."""
        count(self.fault_counts, log, self.name, event, detail)

    def _mark_unsynchronised(self, event: str, detail: str) -> None:
        """The reply was not the one awaited: count ``event``, warn, resync before the next
        command."""
        self.unsynchronised = True
        self._count(event, detail)

    def _resync(self) -> None:
        """Drain pending input (until quiet for ``resync_quiet_s`` when out of step), then
        the recognisable query; up to ``resync_attempts`` rounds, else the last error."""
        if not self.synchronises:
            return
        last: LanecamError | None = None
        for _ in range(self.resync_attempts):
            n = self.link.drain(self.resync_quiet_s if self.unsynchronised else 0.0)
            if n:
                self._count("stale_input_discarded", f"{n} B before a command")
            try:
                self._do_sync_query()
            except (ProtocolError, DeviceTimeoutError) as exc:
                self._mark_unsynchronised("resync_reply_unexpected", type(exc).__name__)
                last = exc
                continue
            self.unsynchronised = False
            return
        assert last is not None
        raise last

    # -- hooks (kinds override) ----------------------------------------------------------------
    def _on_open(self) -> None:
        """Bring a freshly opened device to a known state."""

    def _on_safe_state(self) -> None:
        """First action after a reconnect: bring the device to its safe state and verify it
        (default: nothing)."""

    def _on_reconnect(self) -> None:
        """Restore a device whose port was lost and came back (default: as after open)."""
        self._on_open()

    def _do_sync_query(self) -> None:
        """Send a query and check its reply is recognisably the answer to it (ProtocolError or
        DeviceTimeoutError if not); only called when ``synchronises``."""

    def _on_fault(self, exc: LanecamError) -> None:
        """Make the device safe after ``exc`` (add notes to ``exc`` if that fails too)."""

    def _on_close(self) -> None:
        """Last words to the device before the link closes."""
