"""Injectable clocks: the real monotonic clock and a manually advanced one for simulation.

Times are integer nanoseconds on the host's monotonic time base (``time.monotonic_ns``);
durations at the API are seconds (float).
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "MonotonicClock", "ManualClock", "MONOTONIC"]


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


MONOTONIC = MonotonicClock()
