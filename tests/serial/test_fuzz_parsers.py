"""Hypothesis fuzzing of every serial parser.

Properties: arbitrary bytes only ever take the typed ProtocolError path (or parse); and after
any garbage, the next valid frame or line is never lost.  Examples are counted in
``fuzz_counts.COUNTS`` and printed at the end of the run.
"""

from __future__ import annotations

import json

import pytest
from fuzz_counts import COUNTS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lanecam.devices.fakes import command_frame, data_frame
from lanecam.devices.illuminators import parse_rt_reply
from lanecam.devices.sensors import (
    BENEWAKE_DATA,
    BENEWAKE_REPLY,
    TF02_PRO,
    BenewakeLidar,
    LidarReading,
    OPS243Radar,
    RadarReading,
    parse_benewake_frame,
    parse_ops243_line,
)
from lanecam.devices.serial_link import FrameDecoder
from lanecam.errors import DeviceError, DeviceTimeoutError, ProtocolError
from lanecam.testing import expected_exchange

FUZZ = settings(max_examples=1000, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])
STREAM = settings(max_examples=300, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.too_slow])

# lines that look like the device's output, to reach the deeper branches
_json_values = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(),
                         st.text(max_size=8), st.none(), st.booleans(),
                         st.sampled_from(["inbound", "outbound", "m", "mph"]))
_json_lines = st.dictionaries(
    st.sampled_from(["speed", "range", "direction", "unit", "Units", "DetectedObjectVelocity",
                     "x"]), _json_values, max_size=4,
).map(lambda d: json.dumps(d).encode())
_plain_lines = st.lists(
    st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(str),
              st.sampled_from(['"m"', '"mps"', '"x"', "", "-", "1e999"])),
    min_size=1, max_size=4).map(lambda xs: ",".join(xs).encode())
_any_line = st.one_of(st.binary(max_size=300), _json_lines, _plain_lines)


@FUZZ
@given(_any_line)
def test_radar_line_parser_only_raises_protocol_error(line: bytes) -> None:
    COUNTS["ops243 line parser"] += 1
    try:
        got = parse_ops243_line(line, 0)
    except ProtocolError:
        return
    assert isinstance(got, (RadarReading, dict))
    if isinstance(got, RadarReading):
        for v in (got.speed_mps, got.range_m):
            assert v is None or abs(v) < 1e3


# multi-object reports (On, n > 1): JSON lists, and plain lines of several values
_json_lists = st.dictionaries(
    st.sampled_from(["speed", "range", "direction", "unit", "magnitude"]),
    st.one_of(_json_values, st.lists(_json_values, max_size=18)), max_size=4,
).map(lambda d: json.dumps(d).encode())
_plain_many = st.lists(
    st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(lambda f: f"{f:.2f}"),
              st.sampled_from(['"m"', '"mps"', '"x"', "", "-", "1e999", '"'])),
    min_size=1, max_size=12).map(lambda xs: ",".join(xs).encode())


@FUZZ
@given(st.one_of(_json_lists, _plain_many, _any_line), st.integers(1, 9))
def test_radar_multi_object_parser_only_raises_protocol_error(line: bytes, reports: int) -> None:
    COUNTS["ops243 multi-object line parser"] += 1
    try:
        got = parse_ops243_line(line, 0, reports=reports)
    except ProtocolError:
        return
    assert isinstance(got, (RadarReading, dict))
    if isinstance(got, RadarReading):
        assert len(got.speeds) <= 16 and len(got.ranges) <= 16
        if not line.lstrip().startswith(b"{"):
            assert len(got.speeds) + len(got.ranges) <= reports
        for v in (*got.speeds, *got.ranges):
            assert abs(v) <= 310.8
        assert got.speed_mps == (got.speeds[0] if got.speeds else None)
        assert got.range_m == (got.ranges[0] if got.ranges else None)


_speeds = st.lists(st.floats(-62.0, 62.0).map(lambda v: round(v, 2)), min_size=1, max_size=9)
_ranges = st.lists(st.floats(0.0, 200.0).map(lambda v: round(v, 2)), min_size=1, max_size=9)


@FUZZ
@given(_speeds, _ranges, st.booleans())
def test_radar_multi_object_reports_round_trip(speeds: list[float], ranges: list[float],
                                               as_json: bool) -> None:
    COUNTS["ops243 multi-object round trip"] += 1
    n = max(len(speeds), len(ranges), 2)
    if as_json:
        sl = json.dumps({"speed": speeds}).encode()
        rl = json.dumps({"range": ranges, "unit": "m"}).encode()
    else:
        sl = ",".join(f"{v:.2f}" for v in speeds).encode()
        rl = ('"m",' + ",".join(f"{r:.2f}" for r in ranges)).encode()
    got_s = parse_ops243_line(sl, 0, reports=n)
    got_r = parse_ops243_line(rl, 0, reports=n)
    assert isinstance(got_s, RadarReading) and isinstance(got_r, RadarReading)
    assert list(got_s.speeds) == speeds and list(got_r.ranges) == ranges


@FUZZ
@given(st.one_of(st.binary(min_size=0, max_size=12),
                 st.binary(min_size=7, max_size=7).map(lambda b: b"\x59\x59" + b
                                                       + bytes([sum(b"\x59\x59" + b) & 0xFF]))))
def test_lidar_frame_parser_only_raises_protocol_error(frame: bytes) -> None:
    COUNTS["benewake frame parser"] += 1
    try:
        r = parse_benewake_frame(frame, 0, TF02_PRO)
    except ProtocolError:
        return
    assert isinstance(r, LidarReading) and 0 <= r.range_m <= 655.35


@FUZZ
@given(st.one_of(st.binary(max_size=300),
                 st.lists(st.sampled_from([b"Err 4", b"0", b"VR", b"\r\n", b">", b"\x00", b"x"]),
                          max_size=6).map(b"".join)))
def test_rt_reply_parser_only_raises_typed_errors(raw: bytes) -> None:
    COUNTS["gardasoft reply parser"] += 1
    try:
        lines = parse_rt_reply(raw)
    except ProtocolError:
        return
    except DeviceError as exc:  # only a well-formed "Err <n>" line may take this path
        assert exc.feature is not None and exc.feature.startswith("Err ")
        return
    assert raw.endswith(b">") and all(isinstance(ln, str) for ln in lines)


_frames = st.builds(data_frame, st.integers(0, 65535), st.integers(0, 65535),
                    st.integers(0, 65535))
_replies = st.builds(command_frame, st.integers(0, 255), st.binary(max_size=4))
_garbage = st.one_of(
    st.binary(max_size=64),
    # garbage made of frame fragments and stray headers is the hard case
    st.lists(st.one_of(st.binary(max_size=3), st.just(b"\x59\x59"), st.just(b"\x5a"),
                       _frames.map(lambda f: f[:5]), _frames.map(lambda f: f[3:]), _frames),
             max_size=8).map(b"".join),
)


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(_garbage, _frames, st.lists(st.integers(1, 20), max_size=10))
def test_frame_decoder_never_loses_the_frame_after_garbage(garbage: bytes, frame: bytes,
                                                           cuts: list[int]) -> None:
    COUNTS["frame decoder resync (garbage + frame)"] += 1
    dec = FrameDecoder([BENEWAKE_DATA, BENEWAKE_REPLY])
    stream = garbage + frame
    out = []
    pos = 0
    for c in cuts:  # arbitrary chunking, as a serial port delivers it
        dec.feed(stream[pos:pos + c])
        pos += c
        while (got := dec.pop()) is not None:
            out.append(got[1])
    dec.feed(stream[pos:])
    while (got := dec.pop(flush=True)) is not None:
        out.append(got[1])
    assert out and out[-1] == frame
    for f in out:
        assert (f[0] == 0x59 and len(f) == 9) or f[0] == 0x5A


@FUZZ
@given(st.binary(max_size=200))
def test_frame_decoder_accepts_any_bytes(data: bytes) -> None:
    COUNTS["frame decoder arbitrary bytes"] += 1
    dec = FrameDecoder([BENEWAKE_DATA, BENEWAKE_REPLY], max_buffer=64)
    dec.feed(data)
    while (got := dec.pop(flush=True)) is not None:
        spec, f = got
        assert spec.valid(f)
    assert len(dec) <= 64


# every command acknowledged by its own keys (until object reports, any JSON line was taken
# as an acknowledgement, so "{}" served)
from test_exchange_radar import CONFIG_A


@STREAM
@given(st.one_of(st.binary(max_size=700), _any_line), st.floats(0.5, 45.0))
def test_radar_driver_never_loses_the_report_after_garbage(garbage: bytes, speed: float) -> None:
    COUNTS["ops243 driver resync (garbage + line)"] += 1
    valid = json.dumps({"speed": round(speed, 2), "direction": "inbound"}).encode()
    with expected_exchange([*CONFIG_A, (None, garbage + b"\n" + valid + b"\r\n")],
                           timeout=0.02) as link:
        radar = OPS243Radar(link, model="OPS243-A")
        radar.open()
        last = None
        for _ in range(len(garbage) + 3):
            try:
                last = radar.read()
            except ProtocolError:
                continue
            except DeviceTimeoutError:
                break
            if link.exhausted:
                break
        assert last is not None and last.speed_mps == round(speed, 2)


@STREAM
@given(st.one_of(st.binary(max_size=700), _any_line, _json_lists),
       st.lists(st.floats(0.5, 45.0).map(lambda v: round(v, 2)), min_size=1, max_size=2))
def test_radar_driver_never_loses_a_multi_object_report_after_garbage(
        garbage: bytes, speeds: list[float]) -> None:
    COUNTS["ops243 driver resync (garbage + multi-object line)"] += 1
    valid = json.dumps({"speed": speeds}).encode()
    with expected_exchange([*CONFIG_A, (None, garbage + b"\n" + valid + b"\r\n")],
                           timeout=0.02) as link:
        radar = OPS243Radar(link, model="OPS243-A")
        radar.open()
        last = None
        for _ in range(len(garbage) + 3):
            try:
                last = radar.read()
            except ProtocolError:
                continue
            except DeviceTimeoutError:
                break
            if link.exhausted:
                break
        assert last is not None and list(last.speeds) == speeds


@STREAM
@given(_garbage, st.integers(20, 800))
def test_lidar_driver_never_loses_the_frame_after_garbage(garbage: bytes, dist_cm: int) -> None:
    COUNTS["benewake driver resync (garbage + frame)"] += 1
    rate = bytes.fromhex("5A 06 03 64 00 C7")
    on = bytes.fromhex("5A 05 07 01 67")
    frame = data_frame(dist_cm, 1000)
    with expected_exchange([(rate, rate), (on, on), (None, garbage + frame)],
                           timeout=0.05) as link:
        lidar = BenewakeLidar(link)
        lidar.open()
        last = None
        while not (link.exhausted and lidar._decoder_empty):
            last = lidar.read()
        assert last is not None and last.range_m == dist_cm / 100


def test_counts_are_recorded() -> None:
    # runs after the fuzz tests in file order; proves the counter is wired, so the report
    # printed at the end is the number of examples actually executed
    if not COUNTS:
        pytest.fail("no fuzz examples were counted")
