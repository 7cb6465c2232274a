"""Reply fault injection for request/reply firmware fakes: a small state machine on the reply path.

A fake passes every command line's reply through :meth:`ReplyFaults.reply` and calls
:meth:`ReplyFaults.tick` from its ``_on_tick``.  Faults are scheduled against the *n*-th
command line from now (:meth:`ReplyFaults.schedule`), so a test can hit any point of any
driver call:

* ``"stray"`` — an unsolicited prompt (``stray`` bytes, e.g. ``b"\\r\\n>"``) just before the reply;
* ``"stray_after"`` — the same just after it;
* ``"duplicate"`` — the reply sent twice;
* ``"truncate"`` — only the first half of the reply (the rest is never sent);
* ``"delay"`` — the reply held back ``delay_s`` (s), e.g. past the driver's timeout; replies
  after it queue behind it, as on a busy controller;
* ``"ignore"`` — the line is neither executed nor answered (bytes lost while booting).

The fault state machine lives under the fake's lock; times are the host monotonic clock (ns).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

__all__ = ["FAULT_KINDS", "ReplyFaults"]

FAULT_KINDS = ("stray", "stray_after", "duplicate", "truncate", "delay", "ignore")


class ReplyFaults:
    """Scheduled reply faults and a delayed-output queue.

    Args:
        send: transmits bytes to the driver now.
        stray: the unsolicited bytes of a ``"stray"`` fault.
        delay_s: how long a ``"delay"`` fault holds a reply back (s).
    """

    def __init__(self, send: Callable[[bytes], None], *, stray: bytes = b"\r\n>",
                 delay_s: float = 0.5) -> None:
        self._send = send
        self.stray = stray
        self.delay_s = delay_s
        self._line = 0  # command lines seen
        self._plan: dict[int, list[str]] = {}
        self._queue: deque[tuple[int, bytes]] = deque()  # (due ns, bytes), in order
        self.applied: list[tuple[int, str]] = []  # (line number, kind) as they happened

    def schedule(self, kind: str, line: int = 0) -> None:
        """Apply ``kind`` to the ``line``-th command line from now (0 = the next one)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown reply fault {kind!r}")
        self._plan.setdefault(self._line + line, []).append(kind)

    def clear(self) -> None:
        """Forget scheduled faults and held-back output."""
        self._plan.clear()
        self._queue.clear()

    @property
    def pending(self) -> bool:
        """Faults still scheduled or output still held back."""
        return bool(self._plan or self._queue)

    def next_line_ignored(self) -> bool:
        """Count one received command line; True if it is to be ignored (not executed)."""
        kinds = self._plan.get(self._line, [])
        if "ignore" in kinds:
            self.applied.append((self._line, "ignore"))
            self._plan.pop(self._line)
            self._line += 1
            return True
        return False

    def reply(self, data: bytes) -> None:
        """Send the reply to the current line, with its scheduled faults."""
        kinds = self._plan.pop(self._line, [])
        n = self._line
        self._line += 1
        delay = 0.0
        for kind in kinds:
            self.applied.append((n, kind))
            if kind == "stray":
                data = self.stray + data
            elif kind == "stray_after":
                data = data + self.stray
            elif kind == "duplicate":
                data = data + data
            elif kind == "truncate":
                data = data[: len(data) // 2]
            elif kind == "delay":
                delay = self.delay_s
        self._emit(data, delay)

    def _emit(self, data: bytes, delay_s: float) -> None:
        now = time.monotonic_ns()
        due = now + int(delay_s * 1e9)
        if self._queue:
            due = max(due, self._queue[-1][0])
        self._queue.append((due, data))
        self.tick()

    def tick(self) -> None:
        """Send every held-back reply that is due (in order)."""
        now = time.monotonic_ns()
        while self._queue and self._queue[0][0] <= now:
            _, data = self._queue.popleft()
            if data:
                self._send(data)
