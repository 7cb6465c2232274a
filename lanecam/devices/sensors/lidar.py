"""Benewake TF-Luna / TF02-Pro lidar in UART mode (range in metres, strength, temperature).

Every reading carries ``t_ns``, the host monotonic time (injected clock) at which the driver
received it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from ...clock import MONOTONIC, Clock
from ...errors import ConfigError, DeviceTimeoutError, LimitError, ProtocolError
from ...readings import LidarReading
from ..serial_link import FrameDecoder, FrameSpec, SerialLink, sum8
from .base import SerialSensor

__all__ = ["LidarModel", "TF_LUNA", "TF02_PRO", "BenewakeLidar", "parse_benewake_frame",
           "BENEWAKE_DATA", "BENEWAKE_REPLY"]


def _valid_data(frame: bytes) -> bool:
    return sum8(frame[:8]) == frame[8]


def _valid_reply(frame: bytes) -> bool:
    return sum8(frame[:-1]) == frame[-1]


#: 9-byte data frame ``59 59 DL DH AL AH TL TH CS`` (TF-Luna manual p.12).
BENEWAKE_DATA = FrameSpec("benewake-data", b"\x59\x59", _valid_data, size=9)
#: Command reply ``5A Len ID payload CS``; Len counts the whole frame (manual p.27).  Replies
#: the driver uses are 5-8 bytes; longer lengths are treated as garbage to bound resync delay.
BENEWAKE_REPLY = FrameSpec("benewake-reply", b"\x5a", _valid_reply, length_index=1,
                           min_size=4, max_size=16)


@dataclass(frozen=True)
class LidarModel:
    """Datasheet limits of one TF-series model."""

    name: str
    min_range_m: float
    max_range_m: float
    max_frame_rate_hz: int
    min_strength: int  # below: unreliable
    out_of_range_cm: int | None  # distance code the sensor sends when it sees nothing


#: TF-Luna: 0.2-8 m, frame rate <= 250 Hz, Amp < 100 or = 65535 unreliable
#: (SJ-PM-TF-Luna A05 pp.12, 24; easymanua.ls/benewake/tf-luna/manual?p=12).
TF_LUNA = LidarModel("TF-Luna", 0.2, 8.0, 250, 100, None)
#: TF02-Pro: 0.1-40 m, <= 1000 Hz; strength < 60 forces Dist = 4500 cm
#: (easymanua.ls/benewake/tf02-pro/manual/304590?p=9; TF02-i command table).
TF02_PRO = LidarModel("TF02-Pro", 0.1, 40.0, 1000, 60, 4500)
_SATURATED = 65535  # Amp = 65535: over-exposed, unreliable (TF-Luna manual p.12)


def parse_benewake_frame(frame: bytes, t_ns: int, model: LidarModel = TF_LUNA,
                         source: str = "") -> LidarReading:
    """Decode one 9-byte data frame; ProtocolError on bad length, header or checksum."""
    if len(frame) != 9:
        raise ProtocolError(f"data frame has {len(frame)} bytes, need 9", device=source or None)
    if frame[0] != 0x59 or frame[1] != 0x59:
        raise ProtocolError("data frame header is not 59 59", device=source or None)
    if sum8(frame[:8]) != frame[8]:
        raise ProtocolError("data frame checksum mismatch", device=source or None)
    dist_cm = frame[2] | frame[3] << 8
    amp = frame[4] | frame[5] << 8
    temp_c = (frame[6] | frame[7] << 8) / 8.0 - 256.0
    range_m = dist_cm / 100.0
    reliable = (
        model.min_strength <= amp < _SATURATED
        and model.min_range_m <= range_m <= model.max_range_m
        and dist_cm != model.out_of_range_cm
    )
    return LidarReading(t_ns, range_m, amp, temp_c, reliable, source)


def _command(ident: int, payload: bytes = b"") -> bytes:
    body = bytes([0x5A, 4 + len(payload), ident]) + payload
    return body + bytes([sum8(body)])


class BenewakeLidar(SerialSensor):
    """Benewake TF-Luna / TF02-Pro in UART mode (115200 8N1 default, manual p.12).

    Args:
        frame_rate_hz: output rate set on :meth:`open` (1..model max; 0 = single-trigger mode).
    """

    kind = "lidar"

    def __init__(
        self,
        link: SerialLink,
        *,
        model: LidarModel = TF_LUNA,
        frame_rate_hz: int = 100,
        clock: Clock = MONOTONIC,
        name: str | None = None,
    ) -> None:
        super().__init__(link, clock=clock, name=name or model.name)
        self.model = model
        self._check_rate(frame_rate_hz)
        self.frame_rate_hz = frame_rate_hz
        self._decoder = FrameDecoder([BENEWAKE_DATA, BENEWAKE_REPLY], max_buffer=1024)
        self._pending: deque[LidarReading] = deque(maxlen=64)

    @property
    def _decoder_empty(self) -> bool:
        """No buffered bytes and no queued reading (nothing more without new input)."""
        return not len(self._decoder) and not self._pending

    def _check_rate(self, hz: int) -> None:
        top = self.model.max_frame_rate_hz
        if isinstance(hz, bool) or not isinstance(hz, int) or not 0 <= hz <= top:
            raise LimitError("frame rate must be an integer 0..max Hz", device=self.name,
                             feature="frame_rate_hz", allowed=(0, self.model.max_frame_rate_hz))

    def set_frame_rate(self, hz: int) -> None:
        """Set the output rate (Hz); re-applied after reconnects."""
        self._check_rate(hz)
        self.frame_rate_hz = hz
        if self.link.is_open:
            self._configure()

    def _exchange(self, cmd: bytes, timeout: float | None = None) -> bytes:
        """Send a command frame and wait for its echo/reply (ID must match)."""
        self.link.write(cmd)
        budget = self.link.timeout if timeout is None else timeout
        deadline = self.link.now_s() + budget
        while True:
            left = deadline - self.link.now_s()
            if left <= 0:
                raise DeviceTimeoutError(f"no reply to command {cmd.hex(' ')}",
                                         device=self.name, feature=f"0x{cmd[2]:02X}")
            try:
                spec, frame = self.link.read_frame(self._decoder, timeout=left)
            except DeviceTimeoutError as exc:
                raise DeviceTimeoutError(f"no reply to command {cmd.hex(' ')}",
                                         device=self.name, feature=f"0x{cmd[2]:02X}") from exc
            if spec is BENEWAKE_DATA:
                self._keep(self._pending,
                           parse_benewake_frame(frame, self.clock.now_ns(), self.model, self.name))
                continue
            if frame[2] != cmd[2]:
                raise ProtocolError(f"reply {frame.hex(' ')} to command {cmd.hex(' ')}",
                                    device=self.name)
            return frame

    def _do_configure(self) -> None:
        self._decoder.clear()
        rate = _command(0x03, self.frame_rate_hz.to_bytes(2, "little"))
        echo = self._exchange(rate)
        if echo != rate:
            raise ProtocolError(f"frame rate not accepted: sent {rate.hex(' ')}, "
                                f"echo {echo.hex(' ')}", device=self.name,
                                feature="frame_rate_hz")
        enable = _command(0x07, b"\x01")
        if self._exchange(enable) != enable:
            raise ProtocolError("output enable not echoed", device=self.name)
        self._pending.clear()

    def version(self) -> str:
        """Firmware version ``V1.V2.V3``: command ``5A 04 01 5F``, reply
        ``5A 07 01 V1 V2 V3 SU``."""
        if self.link.is_lost:
            self.recover()
        reply = self._exchange(_command(0x01))
        if len(reply) != 7:
            raise ProtocolError(f"version reply {reply.hex(' ')} is not 7 bytes",
                                device=self.name, feature="0x01")
        return f"{reply[3]}.{reply[4]}.{reply[5]}"

    def trigger(self, timeout: float | None = None) -> LidarReading:
        """One measurement in single-trigger mode (frame rate 0): ``5A 04 04 62``."""
        if self.frame_rate_hz != 0:
            raise ConfigError("single trigger needs frame_rate_hz = 0", device=self.name,
                              key="frame_rate_hz")
        if self.link.is_lost:
            self.recover()
        self.link.write(_command(0x04))
        return self._do_read(self.link.timeout if timeout is None else timeout)

    def _do_read(self, timeout: float) -> LidarReading:
        if self._pending:
            return self._pending.popleft()
        deadline = self.link.now_s() + timeout
        while True:
            left = deadline - self.link.now_s()
            if left <= 0:
                raise DeviceTimeoutError(f"no lidar frame within {timeout:g} s",
                                         device=self.name)
            spec, frame = self.link.read_frame(self._decoder, timeout=left)
            if spec is BENEWAKE_DATA:
                return parse_benewake_frame(frame, self.clock.now_ns(), self.model, self.name)
            self._count("unsolicited_reply", frame.hex(" "))
