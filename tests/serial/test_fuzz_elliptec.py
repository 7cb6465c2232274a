"""Hypothesis fuzzing of the Elliptec reply parser and the rotator driver's resynchronisation.

Properties: arbitrary bytes only ever take the typed ProtocolError path (or parse into a reply
whose payload fits its code); pulse encoding round-trips; and after any garbage line the driver
raises ProtocolError, resynchronises, and the next command gets its own reply.  Examples are
counted in ``fuzz_counts.COUNTS``.
"""

from __future__ import annotations

from fuzz_counts import COUNTS
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lanecam.clock import ManualClock
from lanecam.devices.rotators import (
    ELLIPTEC_REPLY_LENGTHS,
    ElliptecInfo,
    ElliptecRotator,
    decode_pulses,
    encode_pulses,
    parse_elliptec_info,
    parse_elliptec_reply,
)
from lanecam.errors import ProtocolError
from lanecam.testing import expected_exchange

FUZZ = settings(max_examples=1000, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])
STREAM = settings(max_examples=150, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.too_slow])

_hexish = st.text(alphabet="0123456789ABCDEFabcdefXZ \x00\xff-", max_size=34)
# lines that look like the device's replies, to reach the deeper branches
_reply_like = st.builds(
    lambda a, c, p, end: (a + c + p).encode("latin-1") + end,
    st.sampled_from(list("0123456789ABCDEFaG ")),
    st.sampled_from([*ELLIPTEC_REPLY_LENGTHS, "po", "XX", "P", ""]),
    _hexish,
    st.sampled_from([b"", b"\r", b"\r\n", b"\n"]),
)
_any_reply = st.one_of(st.binary(max_size=80), _reply_like)


@FUZZ
@given(_any_reply)
def test_reply_parser_only_raises_protocol_error(raw: bytes) -> None:
    COUNTS["elliptec reply parser"] += 1
    try:
        addr, code, payload = parse_elliptec_reply(raw)
    except ProtocolError:
        return
    assert addr in "0123456789ABCDEF" and len(addr) == 1
    assert len(payload) == ELLIPTEC_REPLY_LENGTHS[code]
    if code in ("PO", "HO", "GJ", "BO"):
        assert -(1 << 31) <= decode_pulses(payload) < (1 << 31)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.one_of(st.text(alphabet="0123456789ABCDEF", min_size=30, max_size=30),
                 st.text(max_size=32)))
def test_info_parser_only_raises_protocol_error(payload: str) -> None:
    COUNTS["elliptec IN payload parser"] += 1
    try:
        info = parse_elliptec_info(payload)
    except ProtocolError:
        return
    assert isinstance(info, ElliptecInfo) and 0 <= info.year <= 9999


@FUZZ
@given(st.integers(-(1 << 31), (1 << 31) - 1))
def test_pulse_encoding_round_trips(pulses: int) -> None:
    COUNTS["elliptec pulse encoding"] += 1
    text = encode_pulses(pulses)
    assert len(text) == 8 and text == text.upper()
    assert decode_pulses(text) == pulses


IN = (b"0in", b"0IN0E1140099920211501016800023000\r\n")


@STREAM
@given(st.one_of(st.binary(max_size=600), _reply_like))
def test_driver_resynchronises_after_any_garbage_line(garbage: bytes) -> None:
    assume(b"\n" not in garbage)
    try:
        parse_elliptec_reply(garbage + b"\r")
        assume(False)  # a valid reply is not garbage
    except ProtocolError:
        pass
    COUNTS["elliptec driver resync (garbage line + reply)"] += 1
    pairs = [IN, (b"0gp", garbage + b"\r\n0PO00004600\r\n"), (b"0gs", b"0GS00\r\n"),
             (b"0gp", b"0PO00008C00\r\n")]
    with expected_exchange(pairs, baudrate=9600, timeout=0.5) as link:
        rot = ElliptecRotator(link, clock=ManualClock(), resync_quiet_s=0.001)
        rot.open()
        try:
            rot.angle_deg()
        except ProtocolError:
            pass
        else:
            raise AssertionError("garbage was accepted as a reply")
        assert rot.angle_deg() == 90.0  # its own reply, not the stale one
