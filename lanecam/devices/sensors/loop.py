"""Inductive-loop detector (relay / opto output) debounced into entry/exit edges (times in ns)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from ...clock import MONOTONIC, Clock
from ...errors import ConfigError
from ...readings import LoopEdge
from ..serial_link import SerialLink

__all__ = ["LineStateSource", "ModemLineSource", "CallableLineSource", "LoopDetector"]


@runtime_checkable
class LineStateSource(Protocol):
    """A digital input: the loop detector's relay/opto output as seen by the host."""

    def read_state(self) -> bool:
        """True = asserted (vehicle present, after any polarity inversion)."""
        ...


class ModemLineSource:
    """A modem-status input of a serial port (``cts``, ``dsr`` or ``cd``) as the loop input.

    Wire the detector's dry contact between e.g. RTS (driven high as the supply) and CTS.
    A pseudo-terminal cannot report these lines: reading raises UnsupportedFeatureError.
    """

    def __init__(self, link: SerialLink, line: str = "cts", *, active_low: bool = False,
                 supply: str | None = "rts") -> None:
        if line not in ("cts", "dsr", "cd"):
            raise ConfigError("loop input must be a modem status line", key="line",
                              allowed=["cts", "dsr", "cd"])
        self.link = link
        self.line = line
        self.active_low = active_low
        self.supply = supply

    def open(self) -> None:
        """Open the link and raise the supply line feeding the contact."""
        self.link.open()
        if self.supply is not None:
            self.link.set_output_line(self.supply, True)

    def read_state(self) -> bool:
        return self.link.modem_line(self.line) != self.active_low


class CallableLineSource:
    """Any ``() -> bool`` as a line source (a camera input line reader, a simulator)."""

    def __init__(self, read: Callable[[], bool]) -> None:
        self._read = read

    def read_state(self) -> bool:
        return bool(self._read())


class LoopDetector:
    """Debounces a loop detector's presence output into entry/exit edges.

    Call :meth:`poll` often (≥ 10× per ``debounce_s``).  A new state must persist for
    ``debounce_s`` (s) before it is reported; shorter pulses are counted in ``bounces`` and
    dropped.  The edge's ``t_ns`` is when the new state was first seen.
    """

    kind = "loop"

    def __init__(self, source: LineStateSource, *, debounce_s: float = 0.02,
                 clock: Clock = MONOTONIC, name: str = "loop") -> None:
        if not debounce_s >= 0:
            raise ConfigError("debounce must be >= 0 s", key="debounce_s")
        self.source = source
        self.debounce_ns = round(debounce_s * 1e9)
        self.clock = clock
        self.name = name
        self._stable: bool | None = None
        self._candidate: tuple[bool, int] | None = None
        self.bounces = 0

    @property
    def present(self) -> bool | None:
        """The debounced state (None before the first poll)."""
        return self._stable

    def poll(self) -> LoopEdge | None:
        """Sample the input once; return an edge if the debounced state just changed."""
        state = self.source.read_state()
        now = self.clock.now_ns()
        if self._stable is None:
            self._stable = state
            return None
        if state == self._stable:
            if self._candidate is not None:
                self.bounces += 1
                self._candidate = None
            return None
        if self._candidate is None or self._candidate[0] != state:
            self._candidate = (state, now)
        first_seen = self._candidate[1]
        if now - first_seen >= self.debounce_ns:
            self._stable = state
            self._candidate = None
            return LoopEdge(first_seen, state, self.name)
        return None
