"""Gardasoft RT-series (RS-232) LED controller firmware fake.

From the RT-20 / RC1xx manuals (hw_protocols §2.1): commands end with CR, several per line
separated by ``;``, parameters comma separated, times in ms unless suffixed ``us``/``ms``/``s``,
brightness in % (up to 999 in pulse mode); every reply ends with the ``>`` prompt; nothing is
persistent until ``AW``, and power-on restores the saved settings (so a controller can power up
emitting: the driver must switch it off first).

The error line format is not in the stored manuals.  This fake answers ``Err <code>`` before
the prompt with these codes (its own convention, mirrored by the driver):
1 unknown command, 2 bad syntax / parameter count, 3 value out of range, 4 overdrive limit
(brightness vs pulse width, RT-series table), and ``GR`` returns the last event code
(0 = none) and clears it; :meth:`GardasoftRTFake.inject_fault` raises an event (e.g. 149,
over-temperature in the Raytec/Gardasoft event list) and switches every output off.
``ST<c>`` answers the channel's setting in command syntax (``RS1,50``, ``RW1,50``,
``RT1,0.5,0.25,300,20``) — the stored manuals name ST's fields but not their layout, so this is
the fake's convention too.

Faults on the wire: :attr:`GardasoftRTFake.faults` (a
:class:`~lanecam.devices.fakes.reply_faults.ReplyFaults`) schedules stray prompts, duplicated,
truncated, delayed or ignored replies at any command line; :meth:`GardasoftRTFake.inject`
sends unsolicited bytes now; ``power_on_prompt`` is sent when the first line after a power-on
arrives, ahead of anything else (a real controller prints a prompt as it comes up; sent any
earlier it would be flushed when the driver reopens the port) and ``boot_ignore_lines`` command lines after power-on
are lost while it boots; ``latency_s`` delays executing and answering each line (a real
controller is not instantaneous: a driver that returns before the reply is seen to).
"""

from __future__ import annotations

import re
import time
from collections import deque
from dataclasses import dataclass

from ...clock import MONOTONIC, Clock
from .base import PtyFake
from .reply_faults import ReplyFaults

__all__ = ["ChannelState", "GardasoftRTFake", "RT_OVERDRIVE"]

#: RT-series pulse-mode overdrive table: (max brightness %, max pulse ms, max duty fraction).
#: Source: Gardasoft RT-20 series manual p.57 (easymanua.ls/gardasoft/rt-20-series/manual?p=57).
RT_OVERDRIVE: tuple[tuple[float, float, float], ...] = (
    (100, 999.0, 1.00), (200, 30.0, 0.30), (300, 10.0, 0.20), (500, 2.0, 0.10), (999, 1.0, 0.05),
)

_TIME = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(us|ms|s)?\s*$", re.IGNORECASE)


@dataclass
class ChannelState:
    """One output channel: mode and parameters as the controller holds them (ms, %)."""

    mode: str = "continuous"  # continuous | switched | pulse
    brightness: float = 0.0
    pulse_ms: float = 0.0
    delay_ms: float = 0.0
    retrigger_ms: float = 0.0

    @property
    def emitting(self) -> bool:
        """Lit now (continuous) or lit on the next trigger (switched/pulse)."""
        return self.brightness > 0


@dataclass
class _Pulse:
    channel: int
    t_ns: int
    pulse_ms: float
    brightness: float


class _Reject(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class GardasoftRTFake(PtyFake):
    """An RT controller with ``channels`` outputs.

    Args:
        power_on: channel → state restored at power-on (the "saved" settings); default channel 1
            continuous at 50 %, i.e. lit, as a forgotten ``AW`` would leave it.
        max_pulse_ms: the controller's pulse-width range (ms).
        power_on_prompt: bytes sent ahead of the first reply after every power-on (default none).
        boot_ignore_lines: command lines lost after every power-on (default 0).
    """

    def __init__(
        self,
        channels: int = 2,
        *,
        power_on: dict[int, ChannelState] | None = None,
        version: str = "RT260-20 (HW02) V031",
        max_pulse_ms: float = 999.0,
        min_pulse_ms: float = 0.001,
        clock: Clock = MONOTONIC,
        power_on_prompt: bytes = b"",
        boot_ignore_lines: int = 0,
    ) -> None:
        super().__init__(clock=clock, name="gardasoft-rt")
        self.faults = ReplyFaults(self._send)
        self.power_on_prompt = power_on_prompt
        self.boot_ignore_lines = boot_ignore_lines
        self._prompt_due = False
        #: seconds between receiving a command line and executing/answering it (0: at once)
        self.latency_s = 0.0
        self._todo: deque[tuple[int, str]] = deque()  # (due ns, line) awaiting the latency
        self.n_channels = channels
        self.version = version
        self.max_pulse_ms = max_pulse_ms
        self.min_pulse_ms = min_pulse_ms
        self.saved = power_on if power_on is not None else {
            1: ChannelState("continuous", 50.0)}
        self.state: dict[int, ChannelState] = {}
        self.pulses: list[_Pulse] = []
        self.lines: list[str] = []  # every command line received
        self.last_event = 0
        self.mute = False  # True: stop answering (a hung controller)
        self._rx = bytearray()
        self._on_power_on()

    # -- simulator / test API ------------------------------------------------------------------
    def emitting(self) -> bool:
        """True if any channel is lit or armed to light."""
        with self._lock:
            return any(s.emitting for s in self.state.values())

    def inject_fault(self, code: int = 149) -> None:
        """Raise controller event ``code`` and switch every output off (self-protection)."""
        with self._lock:
            self.last_event = code
            for s in self.state.values():
                s.brightness = 0.0

    def inject(self, data: bytes = b">") -> None:
        """Send ``data`` unasked, now (e.g. a stray prompt)."""
        with self._lock:
            self._send(data)

    def trigger(self, channel: int = 1, at_ns: int | None = None) -> None:
        """A trigger edge on ``channel``'s input (e.g. camera ExposureActive) at clock time
        ``at_ns`` (default now; a simulator that renders a frame after its exposure passes the
        exposure's start so the retrigger and duty-cycle checks see the real edge times)."""
        with self._lock:
            self._fire(channel, self.clock.now_ns() if at_ns is None else int(at_ns))

    # -- firmware ------------------------------------------------------------------------------
    def _on_power_on(self) -> None:
        self._rx.clear()
        self.state = {c: ChannelState() for c in range(1, self.n_channels + 1)}
        for c, s in self.saved.items():
            self.state[c] = ChannelState(s.mode, s.brightness, s.pulse_ms, s.delay_ms,
                                         s.retrigger_ms)
        self._last_fire: dict[int, int] = {}
        if hasattr(self, "faults"):  # the first power-on runs before __init__ has finished
            self.faults.clear()
            self._todo.clear()
            for _ in range(self.boot_ignore_lines):
                self.faults.schedule("ignore", _)
            self._prompt_due = bool(self.power_on_prompt)

    def _on_tick(self, now_ns: int) -> None:
        while self._todo and self._todo[0][0] <= time.monotonic_ns():
            self._run_line(self._todo.popleft()[1])
        self.faults.tick()

    def _on_bytes(self, data: bytes) -> None:
        self._rx += data
        while (k := self._rx.find(b"\r")) >= 0:
            raw = bytes(self._rx[:k])
            del self._rx[: k + 1]
            line = raw.decode("ascii", "replace").strip().lstrip("\n")
            self.lines.append(line)
            if self._prompt_due:
                self._prompt_due = False
                self._send(self.power_on_prompt)
            if self.mute or self.faults.next_line_ignored():
                continue
            if self.latency_s > 0:  # executed (and answered) after the controller's latency
                self._todo.append((time.monotonic_ns() + int(self.latency_s * 1e9), line))
            else:
                self._run_line(line)

    def _run_line(self, line: str) -> None:
        out: list[str] = []
        for cmd in (c.strip() for c in line.split(";")):
            if not cmd:
                continue
            try:
                reply = self._execute(cmd)
            except _Reject as rej:
                out.append(f"Err {rej.code}")
                break
            if reply is not None:
                out.append(reply)
        self.faults.reply("".join(f"{x}\r\n" for x in out).encode() + b">")

    def _channel(self, text: str) -> int:
        try:
            c = int(text)
        except ValueError:
            raise _Reject(2) from None
        if not 1 <= c <= self.n_channels:
            raise _Reject(3)
        return c

    @staticmethod
    def _ms(text: str) -> float:
        m = _TIME.match(text)
        if not m:
            raise _Reject(2)
        value = float(m.group(1))
        unit = (m.group(2) or "ms").lower()
        return value * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]

    @staticmethod
    def _pct(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise _Reject(2) from None
        if not 0 <= v <= 999:
            raise _Reject(3)
        return v

    def _execute(self, cmd: str) -> str | None:
        op, args = cmd[:2].upper(), [a for a in cmd[2:].split(",")] if cmd[2:] else []
        if op == "VR" and not args:
            return self.version
        if op == "GR" and not args:
            code, self.last_event = self.last_event, 0
            return str(code)
        if op == "ST" and len(args) == 1:
            return self._status(self._channel(args[0]))
        if op == "AW" and not args:
            self.saved = {c: ChannelState(s.mode, s.brightness, s.pulse_ms, s.delay_ms,
                                          s.retrigger_ms) for c, s in self.state.items()}
            return None
        if op == "TT" and len(args) in (1, 2):
            return None
        if op == "TR" and len(args) == 1:
            self._fire(self._channel(args[0]), self.clock.now_ns())
            return None
        if op == "RS" and len(args) == 2:
            c, s = self._channel(args[0]), self._pct(args[1])
            if s > 100:
                raise _Reject(4)
            self.state[c] = ChannelState("continuous", s)
            return None
        if op == "RW" and len(args) in (2, 4):
            c, s = self._channel(args[0]), self._pct(args[1])
            if s > 100:
                raise _Reject(4)
            self.state[c] = ChannelState("switched", s)
            return None
        if op == "RT" and len(args) in (4, 5):
            c = self._channel(args[0])
            p, d, s = self._ms(args[1]), self._ms(args[2]), self._pct(args[3])
            r = self._ms(args[4]) if len(args) == 5 else 0.0
            if not self.min_pulse_ms <= p <= self.max_pulse_ms or d > 999:
                raise _Reject(3)
            row = next(row for row in RT_OVERDRIVE if s <= row[0])
            if p > row[1]:
                raise _Reject(4)
            self.state[c] = ChannelState("pulse", s, p, d, r)
            return None
        if op in {"VR", "GR", "AW", "TT", "TR", "RS", "RW", "RT", "ST"}:
            raise _Reject(2)
        raise _Reject(1)

    def _status(self, c: int) -> str:
        s = self.state[c]

        def num(x: float) -> str:
            return f"{x:.3f}".rstrip("0").rstrip(".")

        if s.mode == "pulse":
            return (f"RT{c},{num(s.pulse_ms)},{num(s.delay_ms)},{num(s.brightness)},"
                    f"{num(s.retrigger_ms)}")
        return f"{'RS' if s.mode == 'continuous' else 'RW'}{c},{num(s.brightness)}"

    def _fire(self, c: int, now: int) -> None:
        s = self.state.get(c)
        if s is None or s.mode != "pulse" or s.brightness <= 0:
            return
        row = next(row for row in RT_OVERDRIVE if s.brightness <= row[0])
        # the controller ignores triggers that would exceed the duty-cycle limit or come
        # before the retrigger delay has elapsed
        min_gap_ms = max(s.pulse_ms / row[2], s.retrigger_ms)
        last = self._last_fire.get(c)
        if last is not None and (now - last) / 1e6 < min_gap_ms:
            return
        self._last_fire[c] = now
        self.pulses.append(_Pulse(c, now, s.pulse_ms, s.brightness))
