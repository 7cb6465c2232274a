"""Decode a sensor byte stream (a recording, or a file of raw lines / raw bytes) into events.

One decoder per sensor model with a byte stream: the OPS243 radars (ASCII lines, up to
:data:`~lanecam.devices.sensors.ops243_protocol.OPS243_MAX_LINE` bytes) and the Benewake TF
lidars (binary frames, resynchronising on garbage).  The inductive-loop detector has none:
lanecam reads it as a contact state (modem line or camera input), so there is nothing to
record or replay.

Each event is a JSON-ready dict: a reading (``"type"`` = ``RadarReading``, ``RadarObject``,
``LidarReading``), a reply (``"type"`` = ``"reply"``: an acknowledgement or query answer), or
a fault (``"type"`` = ``"fault"`` with ``"error"`` (type name), ``"feature"`` and ``"detail"``)
— garbage is reported, never skipped silently.  ``t_ns`` / ``t_wall_ns`` are the host clocks
of the read that completed the line or frame (None for a file without timestamps).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from ...errors import ConfigError, ProtocolError
from ..serial_framing import FrameDecoder
from .lidar import BENEWAKE_DATA, TF02_PRO, TF_LUNA, LidarModel, parse_benewake_frame
from .ops243_protocol import OPS243_MAX_LINE, parse_ops243_line
from .recording import Chunk

__all__ = ["MODELS", "Event", "StreamDecoder", "decode_chunks", "decode_stream", "decoder_for"]

Event = dict[str, Any]
#: Sensor models with a byte stream (the loop detector has none: see the module notes).
MODELS = ("ops243-a", "ops243-c", "tf-luna", "tf02-pro")
_NO_STREAM = ("loop",)


class StreamDecoder(Protocol):
    def feed(self, data: bytes, t_ns: int | None, t_wall_ns: int | None) -> list[Event]: ...

    def finish(self) -> list[Event]: ...


def _fault(exc: ProtocolError, t_ns: int | None, t_wall_ns: int | None) -> Event:
    return {"type": "fault", "t_ns": t_ns, "t_wall_ns": t_wall_ns,
            "error": type(exc).__name__, "feature": exc.feature, "detail": exc.message}


def _reading(obj: Any, t_ns: int | None, t_wall_ns: int | None) -> Event:
    ev: Event = {"type": type(obj).__name__}
    ev.update(dataclasses.asdict(obj))
    ev["t_ns"], ev["t_wall_ns"] = t_ns, t_wall_ns
    for k, v in ev.items():
        if isinstance(v, tuple):
            ev[k] = list(v)
    return ev


class RadarLineDecoder:
    """OPS243 lines (LF-terminated, CR stripped); ``reports`` as the radar was set (``On``)."""

    def __init__(self, source: str, reports: int = 2, max_speed_mps: float = 310.8) -> None:
        self.source = source
        self.reports = reports
        self.max_speed_mps = max_speed_mps
        self._buf = bytearray()
        self._long = False  # inside an over-long line

    def _line(self, line: bytes, t: int | None, w: int | None) -> list[Event]:
        if not line.strip(b"\r\n\t "):
            return []
        try:
            got = parse_ops243_line(line, t or 0, max_speed_mps=self.max_speed_mps,
                                    source=self.source, reports=self.reports)
        except ProtocolError as exc:
            return [_fault(exc, t, w)]
        if isinstance(got, dict):
            return [{"type": "reply", "t_ns": t, "t_wall_ns": w, "reply": got}]
        return [_reading(got, t, w)]

    def feed(self, data: bytes, t_ns: int | None, t_wall_ns: int | None) -> list[Event]:
        out: list[Event] = []
        self._buf += data
        while True:
            k = self._buf.find(b"\n")
            if k < 0:
                if len(self._buf) > OPS243_MAX_LINE + 1:
                    self._long = True
                    self._buf.clear()
                return out
            line = bytes(self._buf[:k])
            del self._buf[: k + 1]
            if self._long or len(line.rstrip(b"\r")) > OPS243_MAX_LINE:
                self._long = False
                exc = ProtocolError(f"line longer than {OPS243_MAX_LINE} bytes",
                                    device=self.source, feature="line_length")
                out.append(_fault(exc, t_ns, t_wall_ns))
                continue
            out += self._line(line, t_ns, t_wall_ns)

    def finish(self) -> list[Event]:
        rest, self._buf = bytes(self._buf), bytearray()
        if self._long:
            exc = ProtocolError("stream ended inside an over-long line", device=self.source,
                                feature="line_length")
            return [_fault(exc, None, None)]
        return self._line(rest, None, None) if rest.strip() else []


class LidarFrameDecoder:
    """Benewake TF data frames and command replies; garbage reported as it is skipped."""

    def __init__(self, source: str, model: LidarModel) -> None:
        from .lidar import BENEWAKE_REPLY

        self.source = source
        self.model = model
        self._dec = FrameDecoder([BENEWAKE_DATA, BENEWAKE_REPLY], max_buffer=4096)

    def _drain(self, t: int | None, w: int | None, flush: bool) -> list[Event]:
        out: list[Event] = []
        while True:
            g0, c0 = self._dec.garbage_bytes, self._dec.checksum_errors
            got = self._dec.pop(flush=flush)
            if self._dec.garbage_bytes > g0:
                out.append({"type": "fault", "t_ns": t, "t_wall_ns": w,
                            "error": "ProtocolError", "feature": "garbage",
                            "detail": f"{self._dec.garbage_bytes - g0} byte(s) skipped, "
                                      f"{self._dec.checksum_errors - c0} checksum error(s)"})
            if got is None:
                return out
            spec, frame = got
            if spec is BENEWAKE_DATA:
                out.append(_reading(parse_benewake_frame(frame, t or 0, self.model,
                                                         self.source), t, w))
            else:
                out.append({"type": "reply", "t_ns": t, "t_wall_ns": w, "reply": frame.hex(" ")})

    def feed(self, data: bytes, t_ns: int | None, t_wall_ns: int | None) -> list[Event]:
        self._dec.feed(data)
        return self._drain(t_ns, t_wall_ns, flush=False)

    def finish(self) -> list[Event]:
        out = self._drain(None, None, flush=True)
        if len(self._dec):
            n = len(self._dec)
            self._dec.clear()
            out.append({"type": "fault", "t_ns": None, "t_wall_ns": None,
                        "error": "ProtocolError", "feature": "truncated",
                        "detail": f"stream ended inside a frame ({n} byte(s))"})
        return out


def decoder_for(model: str, *, reports: int = 2) -> StreamDecoder:
    """The decoder for a sensor model (``MODELS``); ConfigError for one without a stream."""
    if model in _NO_STREAM:
        raise ConfigError("the inductive-loop detector has no byte stream to replay "
                          "(lanecam reads it as a contact state)", key="model",
                          allowed=list(MODELS))
    if model in ("ops243-a", "ops243-c"):
        return RadarLineDecoder(model.upper(), reports=reports)
    lidars = {"tf-luna": TF_LUNA, "tf02-pro": TF02_PRO}
    if model in lidars:
        return LidarFrameDecoder(lidars[model].name, lidars[model])
    raise ConfigError(f"unknown sensor model {model!r}", key="model", allowed=list(MODELS))


def decode_stream(decoder: StreamDecoder,
                  parts: Iterable[tuple[bytes, int | None, int | None]]) -> Iterator[Event]:
    """Every event of ``(data, t_ns, t_wall_ns)`` parts, in order (the decoder's tail last)."""
    for data, t, w in parts:
        yield from decoder.feed(data, t, w)
    yield from decoder.finish()


def decode_chunks(decoder: StreamDecoder, chunks: Iterable[Chunk]) -> Iterator[Event]:
    """Every event of a recording's chunks, in order."""
    return decode_stream(decoder, ((c.data, c.mono_ns, c.wall_ns) for c in chunks))
