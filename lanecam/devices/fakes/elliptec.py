"""Thorlabs Elliptec rotation mount (ELL14) firmware fake.

Protocol as read from third-party drivers (see :mod:`lanecam.devices.rotators`): host commands
``<address><cmd>[data]`` with **no terminator** (the fake frames them by the command's data
length), replies ``<address><CODE><payload>\\r\\n``.  Implemented: ``in`` → ``IN``, ``gs`` →
``GS`` (busy ``09`` while moving; otherwise the latched status, which the read clears),
``gp`` → ``PO`` (interpolated while moving), ``ma``/``mr`` + 8 hex pulses and ``ho0``/``ho1``
→ ``PO`` when the motion ends, ``st`` → ``GS00`` (stops where it is), ``gv``/``sv`` velocity
(% of the maximum), ``go`` → ``HO``.  Anything else addressed to it → ``GS03``; a malformed
value → ``GS04``; a motion command while moving → ``GS09``.  An incomplete command is dropped
after ``comm_timeout_s`` and latches status 01.  Commands for other addresses are ignored.

Motion model: a move of Δ pulses takes ``|Δ| / speed`` on the fake's clock, then ``settle_s``
until the ``PO`` reply.  Relative moves wrap into one revolution (ASSUMED); ``ho0`` homes by
decreasing counts, ``ho1`` by increasing counts (ASSUMED).  The physical angle is kept across
unplug/replug (the mount does not move when power goes; a move in progress stops).

Fault knobs: ``mute`` (no replies), ``inject(data)`` (bytes sent ahead of the next reply, or
now with ``now=True``), ``unplug()``/``replug()``, ``jam`` (motion commands stall: ``GS02``
after ``motor_timeout_s``, latched), ``early_move_window_s`` (pylablib's quirk: a move issued
less than this after the previous reply goes to 0 instead).
"""

from __future__ import annotations

import collections
from dataclasses import dataclass

from ...clock import MONOTONIC, Clock
from .base import PtyFake

__all__ = ["ElliptecFake", "ElliptecMove"]

_ADDRESSES = "0123456789ABCDEF"
#: characters of data after each command this fake understands
_DATA_LEN = {"in": 0, "gs": 0, "gp": 0, "st": 0, "gv": 0, "go": 0, "ma": 8, "mr": 8, "ho": 1,
             "sv": 2}
_HEX = frozenset("0123456789ABCDEFabcdef")


@dataclass
class ElliptecMove:
    """One motion: clock times (ns) of its start, arrival and completion reply; pulses from →
    to (to is unwrapped: from + Δ); ``jammed`` = it stalled and never left ``from``."""

    command: str
    start_ns: int
    arrive_ns: int
    end_ns: int
    from_p: int
    to_p: int
    jammed: bool = False

    @property
    def duration_s(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9


class ElliptecFake(PtyFake):
    """An Elliptec rotation mount at bus ``address``.

    Args:
        pulses_per_rev: the scale it reports in ``in`` (ELL14: 143360 per the sources used).
        speed_deg_s: angular speed at 100 % velocity.
        power_on_deg: the mechanical angle at the first power-on.
    """

    def __init__(self, *, address: str = "0", model_code: int = 14, serial: str = "11400999",
                 year: int = 2021, firmware: int = 0x15, hardware: int = 0x01,
                 travel: int = 360, pulses_per_rev: int = 143360, speed_deg_s: float = 430.0,
                 settle_s: float = 0.02, motor_timeout_s: float = 2.5,
                 comm_timeout_s: float = 0.5, power_on_deg: float = 0.0,
                 early_move_window_s: float = 0.0, clock: Clock = MONOTONIC,
                 name: str = "elliptec") -> None:
        super().__init__(clock=clock, name=name)
        if len(address) != 1 or address not in _ADDRESSES:
            raise ValueError("address must be one of 0-9, A-F")
        self.address = address
        self.model_code = model_code
        self.serial = serial
        self.year = year
        self.firmware = firmware
        self.hardware = hardware
        self.travel = travel
        self.pulses_per_rev = pulses_per_rev
        self.speed_deg_s = speed_deg_s
        self.settle_s = settle_s
        self.motor_timeout_s = motor_timeout_s
        self.comm_timeout_s = comm_timeout_s
        self.early_move_window_s = early_move_window_s
        self.mute = False  # True: execute nothing, answer nothing (a hung module)
        self.jam = False  # True: motion stalls, GS02 after the motor time-out
        self.commands: list[str] = []  # every complete command addressed to this module
        self.replies: list[bytes] = []  # every reply sent (injected bytes excluded)
        self.moves: collections.deque[ElliptecMove] = collections.deque(maxlen=256)
        self.garbage_bytes = 0  # bytes that could not start a command
        self.position_p = round(power_on_deg * pulses_per_rev / 360.0) % pulses_per_rev
        self.status = 0  # latched status code
        self.velocity_pct = 100
        self._motion: ElliptecMove | None = None
        self._rx = bytearray()
        self._rx_since: int | None = None
        self._inject = bytearray()
        self._last_reply_ns: int | None = None

    # -- simulator / test API ------------------------------------------------------------------
    def inject(self, data: bytes, *, now: bool = False) -> None:
        """Line noise: ``data`` goes out just ahead of the next reply (or at once)."""
        with self._lock:
            if now:
                self._send(bytes(data))
            else:
                self._inject += data

    @property
    def moving(self) -> bool:
        with self._lock:
            return self._motion is not None

    def angle_at(self, ns: int) -> float:
        """The physical mechanical angle (deg, [0, 360)) at clock time ``ns``, mid-move
        included (linear in time between the start and the arrival of a move)."""
        with self._lock:
            p = self._pulses_at(int(ns))
        return (p % self.pulses_per_rev) * 360.0 / self.pulses_per_rev

    @property
    def angle_deg(self) -> float:
        """The physical mechanical angle now (deg)."""
        return self.angle_at(self.clock.now_ns())

    # -- firmware ------------------------------------------------------------------------------
    def _pulses_at(self, ns: int) -> float:
        seg = None
        for m in reversed(self.moves):
            if m.start_ns <= ns:
                seg = m
                break
        if seg is None:  # before every recorded move: where the first one started
            return float(self.moves[0].from_p if self.moves else self.position_p)
        if seg.jammed or seg.arrive_ns <= seg.start_ns or ns >= seg.arrive_ns:
            return float(seg.from_p if seg.jammed else seg.to_p)
        f = (ns - seg.start_ns) / (seg.arrive_ns - seg.start_ns)
        return seg.from_p + (seg.to_p - seg.from_p) * f

    def _on_power_on(self) -> None:
        self._rx = bytearray()
        self._rx_since = None
        self.status = 0
        self.velocity_pct = 100
        self._last_reply_ns = None

    def _on_unplug(self) -> None:
        m = self._motion
        if m is not None:  # power gone: the mount stops where it is
            now = self.clock.now_ns()
            here = round(self._pulses_at(now))
            m.to_p, m.arrive_ns, m.end_ns = here, min(now, m.arrive_ns), now
            self.position_p = here % self.pulses_per_rev
            self._motion = None

    def _reply(self, code: str, payload: str = "") -> None:
        msg = f"{self.address}{code}{payload}\r\n".encode("ascii")
        self.replies.append(msg)
        out = bytes(self._inject) + msg
        self._inject.clear()
        self._last_reply_ns = self.clock.now_ns()
        self._send(out)

    def _on_bytes(self, data: bytes) -> None:
        if not self._rx:
            self._rx_since = self.clock.now_ns()
        self._rx += data
        while self._rx:
            if chr(self._rx[0]) not in _ADDRESSES:
                self._rx.pop(0)
                self.garbage_bytes += 1
                continue
            if len(self._rx) < 3:
                break
            addr = chr(self._rx[0])
            cmd = bytes(self._rx[1:3]).decode("ascii", "replace")
            n = _DATA_LEN.get(cmd, 0)
            if len(self._rx) < 3 + n:
                break
            data_s = bytes(self._rx[3:3 + n]).decode("ascii", "replace")
            del self._rx[:3 + n]
            if addr != self.address:
                continue  # another module on the bus
            self.commands.append(cmd + data_s)
            if not self.mute:
                self._execute(cmd, data_s)
        self._rx_since = self.clock.now_ns() if self._rx else None

    def _execute(self, cmd: str, data: str) -> None:
        now = self.clock.now_ns()
        if cmd == "in":
            self._reply("IN", f"{self.model_code:02X}{self.serial[:8]:0>8}{self.year:04d}"
                              f"{self.firmware:02X}{self.hardware:02X}{self.travel:04X}"
                              f"{self.pulses_per_rev:08X}")
        elif cmd == "gs":
            if self._motion is not None:
                self._reply("GS", "09")
            else:
                self._reply("GS", f"{self.status:02X}")
                self.status = 0
        elif cmd == "gp":
            p = round(self._pulses_at(now)) % self.pulses_per_rev
            self._reply("PO", f"{p & 0xFFFFFFFF:08X}")
        elif cmd == "go":
            self._reply("HO", "00000000")
        elif cmd == "gv":
            self._reply("GV", f"{self.velocity_pct:02X}")
        elif cmd == "sv":
            v = int(data, 16) if _HEX.issuperset(data) else -1
            if not 1 <= v <= 100:
                self._error(4)
            else:
                self.velocity_pct = v
                self._reply("GS", "00")
        elif cmd == "st":
            if self._motion is not None:
                m = self._motion
                here = round(self._pulses_at(now))
                m.to_p, m.arrive_ns, m.end_ns = here, min(now, m.arrive_ns), now
                self.position_p = here % self.pulses_per_rev
                self._motion = None
            self._reply("GS", "00")
        elif cmd in ("ma", "mr", "ho"):
            self._motion_command(cmd, data, now)
        else:
            self._error(3)

    def _error(self, code: int) -> None:
        self.status = code
        self._reply("GS", f"{code:02X}")

    def _motion_command(self, cmd: str, data: str, now: int) -> None:
        if self._motion is not None:
            self._reply("GS", "09")
            return
        ppr = self.pulses_per_rev
        cur = self.position_p
        if cmd == "ho":
            if data not in ("0", "1"):
                self._error(4)
                return
            delta = -cur if data == "0" else (ppr - cur) % ppr
        else:
            if len(data) != 8 or not _HEX.issuperset(data):
                self._error(4)
                return
            v = int(data, 16)
            v = v - (1 << 32) if v & 0x80000000 else v
            if cmd == "ma":
                if not 0 <= v < ppr:
                    self._error(4)
                    return
                target = v
            else:
                target = cur + v
            early = (self.early_move_window_s > 0 and self._last_reply_ns is not None
                     and (now - self._last_reply_ns) / 1e9 < self.early_move_window_s)
            if early:
                target = 0  # pylablib: "it can move to 0 instead"
            delta = target - cur
        pulses_per_s = ppr / 360.0 * self.speed_deg_s * self.velocity_pct / 100.0
        if self.jam:
            arrive = now
            end = now + round(self.motor_timeout_s * 1e9)
        else:
            arrive = now + round(abs(delta) / pulses_per_s * 1e9)
            end = arrive + round(self.settle_s * 1e9)
        self._motion = ElliptecMove(cmd, now, arrive, end, cur, cur + delta, self.jam)
        self.moves.append(self._motion)

    def _on_tick(self, now_ns: int) -> None:
        if self._rx and self._rx_since is not None and \
                (now_ns - self._rx_since) / 1e9 > self.comm_timeout_s:
            self._rx.clear()
            self._rx_since = None
            self.status = 1  # communication time-out: an incomplete command
        m = self._motion
        if m is None or now_ns < m.end_ns:
            return
        self._motion = None
        if m.jammed:
            self.status = 2
            if not self.mute:
                self._reply("GS", "02")
            return
        self.position_p = m.to_p % self.pulses_per_rev
        if not self.mute:
            self._reply("PO", f"{self.position_p:08X}")
