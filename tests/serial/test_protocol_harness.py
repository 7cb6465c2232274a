"""The exchange harness itself must fail on extra, missing, wrong and unread messages."""

from __future__ import annotations

import pytest

from lanecam.testing import ExchangeError, expected_exchange


def test_matching_exchange_passes_even_when_written_in_pieces() -> None:
    with expected_exchange([(b"VR\r", b"RT260\r\n>")]) as link:
        link.open()
        link.write(b"V")
        link.write(b"R\r")
        assert link.read_until(b">") == b"RT260\r\n>"


def test_wrong_write_fails() -> None:
    with pytest.raises(ExchangeError, match="expected"):
        with expected_exchange([(b"VR\r", b">")]) as link:
            link.open()
            link.write(b"GR\r")


def test_extra_write_fails() -> None:
    with pytest.raises(ExchangeError, match="after the exchange ended"):
        with expected_exchange([]) as link:
            link.open()
            link.write(b"X")


def test_missing_write_fails() -> None:
    with pytest.raises(ExchangeError, match="incomplete"):
        with expected_exchange([(b"VR\r", b">")]) as link:
            link.open()


def test_unread_reply_fails_at_next_write() -> None:
    with pytest.raises(ExchangeError, match="unread reply"):
        with expected_exchange([(b"A", b"x>"), (b"B", b">")]) as link:
            link.open()
            link.write(b"A")
            link.write(b"B")


def test_unread_reply_fails_at_end_even_if_buffered_in_the_link() -> None:
    with pytest.raises(ExchangeError, match="unread"):
        with expected_exchange([(b"A", b"one\ntwo\n")]) as link:
            link.open()
            link.write(b"A")
            assert link.read_line() == b"one"


def test_unsolicited_reply_is_readable_in_order() -> None:
    with expected_exchange([(None, b"1\n"), (None, b"2\n")]) as link:
        link.open()
        assert link.read_line() == b"1"
        assert link.read_line() == b"2"
