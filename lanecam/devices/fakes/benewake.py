"""Benewake TF-Luna / TF02-Pro lidar firmware fake.

Data frames (TF-Luna manual SJ-PM-TF-Luna A05 p.12; TF02-Pro manual p.9)::

    59 59 DistL DistH AmpL AmpH TempL TempH CS      CS = sum(bytes 0..7) & 0xFF

emitted at the configured frame rate.  Commands are ``5A Len ID payload CS`` (TF02-i command
table, hw_protocols §1.3): ``03`` frame rate (echoed; 0 Hz = single-trigger mode), ``04``
single trigger, ``07`` output on/off (echoed), ``01`` version.  Quirks kept: the TF-Luna does
not check command checksums by default; settings are volatile (power-on restores 100 Hz);
no target in range reads as low strength (TF-Luna) or Dist 4500 cm with strength < 60
(TF02-Pro).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ...clock import MONOTONIC, Clock
from .base import PtyFake

__all__ = ["LidarTarget", "BenewakeFake", "data_frame", "command_frame"]


def _cs(data: bytes | bytearray) -> int:
    return sum(data) & 0xFF


def data_frame(dist_cm: int, strength: int, temp_raw: int = 2048 + 8 * 25) -> bytes:
    """A 9-byte data frame (``temp_raw`` = (°C + 256) × 8; default 25 °C)."""
    body = bytes([0x59, 0x59, dist_cm & 0xFF, dist_cm >> 8 & 0xFF, strength & 0xFF,
                  strength >> 8 & 0xFF, temp_raw & 0xFF, temp_raw >> 8 & 0xFF])
    return body + bytes([_cs(body)])


def command_frame(ident: int, payload: bytes = b"") -> bytes:
    """``5A Len ID payload CS`` with Len counting the whole frame."""
    body = bytes([0x5A, 4 + len(payload), ident]) + payload
    return body + bytes([_cs(body)])


@dataclass(frozen=True)
class LidarTarget:
    """What the beam hits: range (m) and return strength (raw Amp units)."""

    range_m: float
    strength: int = 1500


@dataclass(frozen=True)
class _Model:
    max_range_m: float
    max_rate_hz: int
    checks_command_checksum: bool
    no_target: tuple[int, int]  # (dist_cm, strength) when nothing is in range


_MODELS = {
    # TF-Luna: 0.2-8 m, <=250 Hz (manual p.24); Amp < 100 means unreliable
    "TF-Luna": _Model(8.0, 250, False, (0, 20)),
    # TF02-Pro: 0.1-40 m, <=1000 Hz; strength < 60 forces Dist = 4500 cm (manual p.9)
    "TF02-Pro": _Model(40.0, 1000, True, (4500, 30)),
}


class BenewakeFake(PtyFake):
    """TF-series firmware on a pty; :meth:`set_target` or a ``target`` callable feeds it."""

    def __init__(
        self,
        model: str = "TF-Luna",
        *,
        target: Callable[[], LidarTarget | None] | None = None,
        clock: Clock = MONOTONIC,
    ) -> None:
        if model not in _MODELS:
            raise ValueError(f"unknown Benewake model {model!r}; known {sorted(_MODELS)}")
        super().__init__(clock=clock, name=model.lower())
        self.model = model
        self._spec = _MODELS[model]
        self._source = target
        self._static: LidarTarget | None = None
        self._rx = bytearray()
        self.commands: list[bytes] = []
        self.silent = False
        self.corrupt_next = 0  # number of upcoming frames sent with a wrong checksum
        self.truncate_next = 0  # number of upcoming frames cut after 5 bytes
        self.temperature_c = 25.0
        self._reset()

    def set_target(self, range_m: float | None, strength: int = 1500) -> None:
        with self._lock:
            self._static = None if range_m is None else LidarTarget(range_m, strength)

    def inject(self, data: bytes) -> None:
        self._send(data)

    def _reset(self) -> None:
        self.frame_rate_hz = 100
        self.output_enabled = True
        self._next_ns: int | None = None

    def _on_power_on(self) -> None:
        self._rx.clear()
        self._reset()

    def _frame_now(self) -> bytes:
        tgt = self._source() if self._source is not None else self._static
        temp_raw = round((self.temperature_c + 256) * 8)
        if tgt is None or not 0 < tgt.range_m <= self._spec.max_range_m:
            dist, amp = self._spec.no_target
        else:
            dist, amp = round(tgt.range_m * 100), tgt.strength
        frame = bytearray(data_frame(dist, amp, temp_raw))
        if self.corrupt_next:
            self.corrupt_next -= 1
            frame[8] ^= 0xFF
        if self.truncate_next:
            self.truncate_next -= 1
            frame = frame[:5]
        return bytes(frame)

    def _on_bytes(self, data: bytes) -> None:
        self._rx += data
        while self._rx:
            k = self._rx.find(b"\x5a")
            if k < 0:
                self._rx.clear()
                return
            del self._rx[:k]
            if len(self._rx) < 2:
                return
            n = self._rx[1]
            if n < 4:
                del self._rx[:1]
                continue
            if len(self._rx) < n:
                return
            frame = bytes(self._rx[:n])
            del self._rx[:n]
            if self._spec.checks_command_checksum and _cs(frame[:-1]) != frame[-1]:
                continue
            self.commands.append(frame)
            self._execute(frame)

    def _execute(self, frame: bytes) -> None:
        ident = frame[2]
        if ident == 0x03 and len(frame) == 6:
            rate = frame[3] | frame[4] << 8
            if rate <= self._spec.max_rate_hz:
                self.frame_rate_hz = rate
                self._next_ns = None
            self._send(frame)  # the device echoes the command
        elif ident == 0x07 and len(frame) == 5:
            self.output_enabled = bool(frame[3])
            self._send(frame)
        elif ident == 0x04:
            self._send(self._frame_now())
        elif ident == 0x01:
            self._send(command_frame(0x01, bytes([2, 1, 0])))  # 5A 07 01 V1 V2 V3 SU

    def _on_tick(self, now_ns: int) -> None:
        if not self.output_enabled or self.frame_rate_hz == 0 or self.silent:
            self._next_ns = None
            return
        period = int(1e9 / self.frame_rate_hz)
        if self._next_ns is None:
            self._next_ns = now_ns + period
            return
        if now_ns < self._next_ns:
            return
        missed = (now_ns - self._next_ns) // period
        self._next_ns += period * (missed + 1)
        self._send(self._frame_now())
