"""Sensor stream recordings: the raw bytes a serial sensor sent, with host timestamps.

``lanecam sensor record DEVICE FILE`` writes one; ``lanecam sensor replay MODEL FILE``
(:mod:`lanecam.devices.sensors.replay`) decodes it, so a lane can be debugged from a capture
and tests can run on captured streams.  The bytes are kept exactly as received (the TF lidars
send binary frames), in chunks as the port delivered them.

**Format** (all integers little-endian)::

    header  b"LCSREC"           6 bytes, magic
            version             u8 (= 1)
            flags               u8 (= 0, reserved)
            meta_len            u32, 0..65536
            meta                meta_len bytes of UTF-8 JSON: an object ({"device", "model",
                                "baudrate", "lanecam", "started_wall_ns"}; readers ignore keys
                                they do not know)
    chunk*  mono_ns             u64, host monotonic clock (ns) when the bytes were read
            wall_ns             i64, host wall clock (ns since the Unix epoch), same moment
            length              u32, 1..1048576
            data                length bytes, as received

``mono_ns`` never decreases from one chunk to the next.  A file cut short (a recorder killed
mid-write) ends in a truncated chunk: readers yield every whole chunk before it and then raise
:class:`RecordingError` with ``reason == "truncated"``.
"""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from ...clock import MONOTONIC, Clock
from ...errors import ProtocolError
from ..serial_link import SerialLink

__all__ = ["MAGIC", "MAX_CHUNK", "Chunk", "RecordingError", "RecordingWriter", "is_recording",
           "iter_recording", "record_stream"]

MAGIC = b"LCSREC"
VERSION = 1
MAX_META = 65536
MAX_CHUNK = 1 << 20
_HEAD = struct.Struct("<6sBBI")
_CHUNK = struct.Struct("<QqI")


class RecordingError(ProtocolError):
    """A recording file is malformed; ``reason`` says how (decide on it, not the message):
    ``magic``, ``version``, ``meta``, ``truncated``, ``chunk_length`` or ``time_backwards``;
    ``offset`` is the byte offset of the offending part."""

    REASONS = ("magic", "version", "meta", "truncated", "chunk_length", "time_backwards")

    def __init__(self, message: str, *, reason: str, offset: int) -> None:
        if reason not in self.REASONS:
            raise ValueError(f"unknown reason {reason!r}")
        self.reason = reason
        self.offset = offset
        super().__init__(f"{message} (at byte {offset})", feature=f"recording.{reason}")


@dataclass(frozen=True)
class Chunk:
    """Bytes as one read returned them, with the host clocks at that read."""

    mono_ns: int
    wall_ns: int
    data: bytes


def is_recording(head: bytes) -> bool:
    """True if ``head`` (the first bytes of a file) starts a recording."""
    return head.startswith(MAGIC)


class RecordingWriter:
    """Writes the header at construction, then one record per :meth:`write`."""

    def __init__(self, fh: BinaryIO, meta: dict[str, Any]) -> None:
        blob = json.dumps(meta, sort_keys=True).encode("utf-8")
        if len(blob) > MAX_META:
            raise RecordingError("metadata too large", reason="meta", offset=len(MAGIC))
        self._fh = fh
        self._last = 0
        self.chunks = 0
        self.bytes = 0
        fh.write(_HEAD.pack(MAGIC, VERSION, 0, len(blob)) + blob)

    def write(self, data: bytes, mono_ns: int, wall_ns: int) -> None:
        """Append ``data`` (split into chunks of at most :data:`MAX_CHUNK`); empty is a no-op."""
        if mono_ns < self._last:
            raise RecordingError("monotonic time went backwards", reason="time_backwards",
                                 offset=-1)
        self._last = mono_ns
        for i in range(0, len(data), MAX_CHUNK):
            part = data[i:i + MAX_CHUNK]
            self._fh.write(_CHUNK.pack(mono_ns, wall_ns, len(part)) + part)
            self.chunks += 1
            self.bytes += len(part)

    def flush(self) -> None:
        self._fh.flush()


def _read_exact(fh: BinaryIO, n: int) -> bytes:
    out = b""
    while len(out) < n:
        got = fh.read(n - len(out))
        if not got:
            break
        out += got
    return out


def _read_header(fh: BinaryIO) -> tuple[dict[str, Any], int]:
    head = _read_exact(fh, _HEAD.size)
    if not head.startswith(MAGIC[: len(head)]) or len(head) < len(MAGIC):
        raise RecordingError("not a lanecam sensor recording", reason="magic", offset=0)
    if len(head) < _HEAD.size:
        raise RecordingError("header cut short", reason="truncated", offset=len(head))
    _, version, _flags, meta_len = _HEAD.unpack(head)
    if version != VERSION:
        raise RecordingError(f"recording format {version}, this lanecam reads {VERSION}",
                             reason="version", offset=len(MAGIC))
    if meta_len > MAX_META:
        raise RecordingError("metadata length out of range", reason="meta", offset=8)
    blob = _read_exact(fh, meta_len)
    if len(blob) < meta_len:
        raise RecordingError("metadata cut short", reason="truncated", offset=_HEAD.size)
    try:
        meta = json.loads(blob.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise RecordingError("metadata is not JSON", reason="meta", offset=_HEAD.size) from None
    if not isinstance(meta, dict):
        raise RecordingError("metadata is not a JSON object", reason="meta", offset=_HEAD.size)
    return meta, _HEAD.size + meta_len


def iter_recording(fh: BinaryIO) -> tuple[dict[str, Any], Iterator[Chunk]]:
    """(metadata, chunks) of the recording open in ``fh``; the header is checked now, each
    chunk as it is read (RecordingError from the iterator at the first bad one)."""
    meta, offset = _read_header(fh)

    def chunks() -> Iterator[Chunk]:
        pos, last = offset, 0
        while True:
            head = _read_exact(fh, _CHUNK.size)
            if not head:
                return
            if len(head) < _CHUNK.size:
                raise RecordingError("chunk header cut short", reason="truncated", offset=pos)
            mono, wall, n = _CHUNK.unpack(head)
            if not 1 <= n <= MAX_CHUNK:
                raise RecordingError(f"chunk length {n} out of range", reason="chunk_length",
                                     offset=pos)
            if mono < last:
                raise RecordingError("monotonic time went backwards", reason="time_backwards",
                                     offset=pos)
            data = _read_exact(fh, n)
            if len(data) < n:
                raise RecordingError("chunk data cut short", reason="truncated", offset=pos)
            last = mono
            pos += _CHUNK.size + n
            yield Chunk(mono, wall, data)

    return meta, chunks()


def record_stream(link: SerialLink, fh: BinaryIO, meta: dict[str, Any], *,
                  duration_s: float | None = None, max_bytes: int | None = None,
                  clock: Clock = MONOTONIC, poll_s: float = 0.05) -> RecordingWriter:
    """Copy everything ``link`` (open) receives into a recording until ``duration_s`` (s) has
    passed, ``max_bytes`` were written or KeyboardInterrupt; DeviceLostError if the port goes
    (what was received until then is written and flushed first)."""
    writer = RecordingWriter(fh, meta)
    end = None if duration_s is None else clock.now_ns() + int(duration_s * 1e9)
    try:
        while (end is None or clock.now_ns() < end) and \
                (max_bytes is None or writer.bytes < max_bytes):
            data = link.read_chunk(timeout=poll_s)
            if data:
                writer.write(data, clock.now_ns(), time.time_ns())
    except KeyboardInterrupt:
        pass
    finally:
        writer.flush()
    return writer
