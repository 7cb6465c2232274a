"""Injectable clocks: the real monotonic clock, a manually advanced one, and a simulated clock
that runs cooperating threads deterministically.

Times are integer nanoseconds on the host's monotonic time base (``time.monotonic_ns``);
durations at the API are seconds (float).
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "MonotonicClock", "ManualClock", "SimulatedClock", "MONOTONIC",
           "is_cooperative"]


@runtime_checkable
class Clock(Protocol):
    """Anything that tells monotonic time in ns and can wait."""

    def now_ns(self) -> int:
        """Monotonic time, nanoseconds."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (s) of this clock's time."""
        ...


class MonotonicClock:
    """The host's monotonic clock."""

    def now_ns(self) -> int:
        return time.monotonic_ns()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class ManualClock:
    """A clock that only moves when told to; ``sleep`` advances it instantly (thread-safe)."""

    def __init__(self, start_ns: int = 0) -> None:
        self._t = int(start_ns)
        self._lock = threading.Lock()

    def now_ns(self) -> int:
        with self._lock:
            return self._t

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (s, ≥ 0)."""
        if seconds < 0:
            raise ValueError("a monotonic clock cannot go back")
        with self._lock:
            self._t += round(seconds * 1e9)

    def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))


class _Member:
    """A thread run by a :class:`SimulatedClock`."""

    __slots__ = ("name", "wake_ns")

    def __init__(self, name: str) -> None:
        self.name = name
        self.wake_ns = 0


class SimulatedClock:
    """Deterministic simulated time for a set of cooperating threads (thread-safe).

    Threads started with :meth:`start_threads` run one at a time: the one that holds the
    clock's turn runs until it waits on the clock (:meth:`sleep`), then the turn passes to the
    member with the earliest wake-up time (ties: first come, first served) and the clock jumps
    to that time.  Work between two waits takes no simulated time, so the same inputs give the
    same interleaving, the same timestamps and the same results on any machine, at whatever
    speed the CPU allows.  A member must wait only through this clock: blocking on anything
    else (a queue, an event, a socket) while holding the turn stops simulated time.

    A thread that is not a member (the one that built the lane, a test) may read the time at
    any moment; its :meth:`sleep` advances the clock itself while no member runs (as a
    :class:`ManualClock` does), and otherwise waits, in real time, until the members' clock
    has passed the wake-up time.
    """

    cooperative = True

    def __init__(self, start_ns: int = 0) -> None:
        self._t = int(start_ns)
        self._cv = threading.Condition()
        self._members: dict[threading.Thread, _Member] = {}
        self._ready: list[tuple[int, int, _Member]] = []
        self._order = itertools.count()
        self._turn: _Member | None = None

    def now_ns(self) -> int:
        with self._cv:
            return self._t

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (s, ≥ 0) from outside the members."""
        if seconds < 0:
            raise ValueError("a monotonic clock cannot go back")
        self.sleep(seconds)

    @property
    def members(self) -> int:
        """How many threads the clock runs now."""
        with self._cv:
            return len(self._members)

    def sleep(self, seconds: float) -> None:
        dt = max(0, round(max(0.0, seconds) * 1e9))
        with self._cv:
            me = self._members.get(threading.current_thread())
            if me is None:
                self._outsider_sleep(dt)
                return
            me.wake_ns = self._t + dt
            heapq.heappush(self._ready, (me.wake_ns, next(self._order), me))
            self._turn = None
            self._pass_turn()
            while self._turn is not me:
                self._cv.wait()

    def _outsider_sleep(self, dt: int) -> None:
        """A non-member waits ``dt`` ns: advance alone, or follow the members (lock held)."""
        target = self._t + dt
        if not self._members:
            self._t = target
            return
        while self._t < target and self._members:
            self._cv.wait(0.05)
        self._t = max(self._t, target)

    def _pass_turn(self) -> None:
        """Give the turn to the earliest-waking member and move the clock there (lock held)."""
        if self._turn is not None or not self._ready:
            return
        wake, _, member = heapq.heappop(self._ready)
        self._t = max(self._t, wake)
        self._turn = member
        self._cv.notify_all()

    def start_threads(self, workers: Sequence[tuple[str, Callable[[], None]]]
                      ) -> list[threading.Thread]:
        """Start ``(name, fn)`` workers as members, all registered before any runs (so the
        first turns go in list order, now); returns the started daemon threads."""
        threads = []
        with self._cv:
            for name, fn in workers:
                member = _Member(name)
                t = threading.Thread(target=self._member_body, args=(member, fn), name=name,
                                     daemon=True)
                self._members[t] = member
                heapq.heappush(self._ready, (self._t, next(self._order), member))
                threads.append(t)
        for t in threads:
            t.start()
        with self._cv:
            self._pass_turn()
        return threads

    def _member_body(self, me: _Member, fn: Callable[[], None]) -> None:
        with self._cv:
            while self._turn is not me:
                self._cv.wait()
        try:
            fn()
        finally:
            with self._cv:
                del self._members[threading.current_thread()]
                self._turn = None
                self._pass_turn()
                self._cv.notify_all()


def is_cooperative(clock: object) -> bool:
    """Does ``clock`` run its threads cooperatively (a :class:`SimulatedClock`)?  Their waits
    must then go through the clock."""
    return bool(getattr(clock, "cooperative", False))


MONOTONIC = MonotonicClock()
