"""Binary framing for serial sensors: frame types and a pure, resynchronising decoder.

A :class:`FrameSpec` describes one frame type (fixed header, fixed or length-byte size,
checksum); a :class:`FrameDecoder` takes bytes in and valid frames out, skipping garbage byte by
byte (counted) without ever losing the next valid frame.  No I/O: the transport
(:class:`~lanecam.devices.serial_link.SerialLink.read_frame`) feeds it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import ConfigError

__all__ = ["FrameSpec", "FrameDecoder", "sum8"]


def sum8(data: bytes | bytearray | memoryview) -> int:
    """Low byte of the sum of ``data`` (Benewake / many UART sensors' checksum)."""
    return sum(data) & 0xFF


@dataclass(frozen=True)
class FrameSpec:
    """One binary frame type.

    ``size`` is the fixed frame length in bytes, or ``None`` when byte ``length_index`` holds the
    whole frame length (header to checksum inclusive) bounded by ``min_size``..``max_size``.
    ``valid(frame)`` checks the checksum (and anything else that makes a frame plausible).
    """

    name: str
    header: bytes
    valid: Callable[[bytes], bool]
    size: int | None = None
    length_index: int | None = None
    min_size: int = 0
    max_size: int = 0

    def __post_init__(self) -> None:
        if not self.header:
            raise ConfigError("a frame needs a non-empty header", key=f"{self.name}.header")
        if self.size is None:
            if self.length_index is None or self.length_index < len(self.header):
                raise ConfigError("variable frames need a length byte after the header",
                                  key=f"{self.name}.length_index")
            if not self.length_index < self.min_size <= self.max_size:
                raise ConfigError("need length_index < min_size <= max_size",
                                  key=f"{self.name}.min_size")
        elif self.size <= len(self.header):
            raise ConfigError("frame size must exceed the header", key=f"{self.name}.size")

    def length(self, buf: bytes | bytearray, i: int) -> int | None:
        """Frame length starting at ``buf[i]``; ``None`` if not known yet; ``0`` if impossible."""
        if self.size is not None:
            return self.size
        assert self.length_index is not None
        if len(buf) <= i + self.length_index:
            return None
        n = buf[i + self.length_index]
        return n if self.min_size <= n <= self.max_size else 0


class FrameDecoder:
    """Pure (no I/O) resynchronising decoder for one or more :class:`FrameSpec` types.

    Feed bytes with :meth:`feed`; take frames with :meth:`pop`.  A complete valid candidate is
    released unless a *later* header inside its span starts another complete valid frame (then
    the earlier one was garbage and is skipped) or may still do so (then it waits for more
    bytes, or for ``flush=True`` when the line has gone quiet).  The buffer is bounded.
    """

    def __init__(self, specs: Sequence[FrameSpec], *, max_buffer: int = 4096) -> None:
        if not specs:
            raise ConfigError("a decoder needs at least one frame spec", key="specs")
        self.specs = tuple(specs)
        self._buf = bytearray()
        self._max = max_buffer
        self.garbage_bytes = 0
        self.checksum_errors = 0
        self.frames = 0

    def __len__(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> None:
        self._buf += data
        if len(self._buf) > self._max:  # keep the tail: it may hold a frame's beginning
            drop = len(self._buf) - self._max
            del self._buf[:drop]
            self.garbage_bytes += drop

    def clear(self) -> None:
        self.garbage_bytes += len(self._buf)
        self._buf.clear()

    def _header_at(self, i: int) -> tuple[FrameSpec | None, bool]:
        """(spec, complete_header) for a header (or a header prefix at the end) at ``i``."""
        buf = self._buf
        for spec in self.specs:
            h = spec.header
            seg = bytes(buf[i : i + len(h)])
            if seg == h:
                return spec, True
            if len(seg) < len(h) and h.startswith(seg):
                return spec, False
        return None, False

    def _candidate(self, i: int) -> tuple[str, FrameSpec | None, int]:
        """Classify the candidate at ``i``: 'none', 'partial', 'bad', 'checksum' or 'ok'."""
        spec, full = self._header_at(i)
        if spec is None:
            return "none", None, 0
        if not full:
            return "partial", spec, 0
        n = spec.length(self._buf, i)
        if n is None:
            return "partial", spec, 0
        if n == 0:
            return "bad", spec, 0
        if len(self._buf) < i + n:
            return "partial", spec, n
        if not spec.valid(bytes(self._buf[i : i + n])):
            return "checksum", spec, n
        return "ok", spec, n

    def _later_valid(self, i: int, end: int) -> tuple[int | None, bool]:
        """First j in (i, end) starting a complete valid frame; and whether any j is undecided."""
        undecided = False
        for j in range(i + 1, min(end, len(self._buf))):
            kind, _, _ = self._candidate(j)
            if kind == "ok":
                return j, undecided
            if kind == "partial":
                undecided = True
        return None, undecided

    def _drop(self, n: int) -> None:
        del self._buf[:n]
        self.garbage_bytes += n

    def pop(self, *, flush: bool = False) -> tuple[FrameSpec, bytes] | None:
        """The next confirmed frame, or ``None`` if more bytes are needed."""
        while self._buf:
            kind, spec, n = self._candidate(0)
            if kind == "none":
                self._drop(1)
                continue
            if kind == "bad":
                self._drop(1)
                continue
            if kind == "checksum":
                self.checksum_errors += 1
                self._drop(1)
                continue
            if kind == "partial":
                # an incomplete frame waits for its bytes (a quiet line does not end it), unless
                # a complete valid frame already starts inside it: then it was garbage
                j, _ = self._later_valid(0, len(self._buf))
                if j is not None:
                    self._drop(j)
                    continue
                return None
            assert spec is not None
            j, undecided = self._later_valid(0, n)
            if j is not None:
                self._drop(j)
                continue
            if undecided and not flush:
                return None
            frame = bytes(self._buf[:n])
            del self._buf[:n]
            self.frames += 1
            return spec, frame
        return None
