"""Exact byte-exchange harness for serial drivers (after pymeasure's ``expected_protocol``).

``expected_exchange([(sent, reply), ...])`` yields a real :class:`SerialLink` whose port replays
the exchange: every write must match the next ``sent`` exactly (it may arrive in pieces), its
``reply`` then becomes readable; ``(None, reply)`` is an unsolicited reply (a streaming report)
readable once every earlier pair is done; ``reply=None`` means the device says nothing.  The
exchange fails on a wrong or extra write, on a write while a reply is still unread, and at the
end on missing writes or unread bytes (in the port or in the link's buffer).  An empty
exchange proves nothing was sent.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from lanecam.devices.serial_link import SerialLink

__all__ = ["ExchangeError", "ExpectedLink", "ExpectedPort", "Pair", "expected_exchange"]

#: One step of an exchange: ``(bytes the driver sends, bytes the device replies)``; ``None``
#: as the first item is an unsolicited reply, ``None`` as the second a silent device.
Pair = tuple[bytes | None, bytes | None]


class ExchangeError(AssertionError):
    """The driver deviated from the expected exchange."""


class ExpectedPort:
    """A pyserial-like port object replaying ``pairs``."""

    def __init__(self, pairs: Sequence[Pair]) -> None:
        self.pairs = list(pairs)
        self.index = 0
        self.written = b""
        self.out = bytearray()
        self.is_open = True
        self.timeout: float | None = None

    def _fail(self, msg: str) -> None:
        raise ExchangeError(f"{msg} (at pair {self.index} of {len(self.pairs)})")

    def _release_unsolicited(self) -> None:
        while not self.out and self.index < len(self.pairs) and self.pairs[self.index][0] is None:
            reply = self.pairs[self.index][1]
            self.index += 1
            if reply:
                self.out += reply

    # -- pyserial surface used by SerialLink ---------------------------------------------------
    def open(self) -> None:
        self.is_open = True

    def close(self) -> None:
        self.is_open = False

    def flush(self) -> None:
        return None

    def reset_input_buffer(self) -> None:
        self.out.clear()

    @property
    def in_waiting(self) -> int:
        self._release_unsolicited()
        return len(self.out)

    def read(self, size: int = 1) -> bytes:
        self._release_unsolicited()
        chunk = bytes(self.out[:size])
        del self.out[:size]
        return chunk

    def write(self, data: bytes) -> int:
        if self.out:
            self._fail(f"unread reply {bytes(self.out)!r} present when writing {data!r}; "
                       "a read is missing or the exchange is wrong")
        if self.index >= len(self.pairs):
            self._fail(f"unexpected write {data!r} after the exchange ended")
        sent, reply = self.pairs[self.index]
        if sent is None:
            self._fail(f"write {data!r} while the device was due to send {reply!r} unasked")
        self.written += data
        if self.written == sent:
            self.written = b""
            self.index += 1
            if reply:
                self.out += reply
        elif not sent.startswith(self.written):
            self._fail(f"wrote {self.written!r}, expected {sent!r}")
        return len(data)

    def verify(self, link: SerialLink) -> None:
        """Fail unless every pair was used and no reply byte is left unread anywhere."""
        if self.written:
            self._fail(f"incomplete write {self.written!r}")
        if self.index < len(self.pairs):
            self._fail(f"exchange incomplete: next expected {self.pairs[self.index]!r}")
        if self.out or link.pending:
            self._fail(f"unread reply bytes: port {bytes(self.out)!r}, link {link.pending} B")


class ExpectedLink(SerialLink):
    """A SerialLink whose port is an :class:`ExpectedPort` (``.expected``)."""

    expected: ExpectedPort

    @property
    def exhausted(self) -> bool:
        """No byte is left anywhere: not in the exchange, the port or the link's buffer."""
        p = self.expected
        p._release_unsolicited()
        return p.index >= len(p.pairs) and not p.out and not self.pending


@contextmanager
def expected_exchange(pairs: Sequence[Pair], *, timeout: float = 0.05,
                      **link_kwargs: Any) -> Iterator[ExpectedLink]:
    """A SerialLink over an :class:`ExpectedPort`; verifies the exchange on clean exit.

    ``timeout`` (s) is the link's read timeout; ``link_kwargs`` go to :class:`SerialLink`.
    The link is not opened: the driver (or the test) opens it as it would a real port.
    """
    port = ExpectedPort(pairs)
    link = ExpectedLink("expected://", timeout=timeout, name="expected",
                        port_factory=lambda url, **kw: port, **link_kwargs)
    link.expected = port
    yield link
    port.verify(link)
