"""Hypothesis fuzzing of the recording format and the replay decoders.

Properties: any bytes only ever read as a recording or raise RecordingError (with a known
reason); what the writer writes reads back exactly; and a stream decodes to the same events
however the port cut it into chunks.
"""

from __future__ import annotations

import io

from fuzz_counts import COUNTS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lanecam.devices.fakes import command_frame, data_frame
from lanecam.devices.fakes.ops243_objects import report_line
from lanecam.devices.sensors.recording import (
    Chunk,
    RecordingError,
    RecordingWriter,
    iter_recording,
)
from lanecam.devices.sensors.replay import decode_stream, decoder_for

FUZZ = settings(max_examples=1000, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])

_header = b"LCSREC\x01\x00\x02\x00\x00\x00{}"
_blobs = st.one_of(
    st.binary(max_size=200),
    st.binary(max_size=120).map(lambda b: _header + b),
    st.tuples(st.integers(0, 2**64 - 1), st.integers(-2**63, 2**63 - 1),
              st.integers(0, 2**32 - 1), st.binary(max_size=40)).map(
        lambda t: _header + t[0].to_bytes(8, "little") + t[1].to_bytes(8, "little", signed=True)
        + t[2].to_bytes(4, "little") + t[3]),
)


@FUZZ
@given(_blobs)
def test_recording_reader_only_raises_recording_error(blob: bytes) -> None:
    COUNTS["recording reader"] += 1
    try:
        meta, chunks = iter_recording(io.BytesIO(blob))
        got = list(chunks)
    except RecordingError as exc:
        assert exc.reason in RecordingError.REASONS
        return
    assert isinstance(meta, dict)
    assert all(1 <= len(c.data) for c in got)
    assert [c.mono_ns for c in got] == sorted(c.mono_ns for c in got)


_chunks = st.lists(st.tuples(st.integers(0, 10**6), st.integers(-2**63, 2**63 - 1),
                             st.binary(min_size=1, max_size=50)), max_size=12)


@FUZZ
@given(_chunks, st.dictionaries(st.text(max_size=5), st.integers(), max_size=3))
def test_recordings_round_trip(parts: list[tuple[int, int, bytes]], meta: dict) -> None:
    COUNTS["recording round trip"] += 1
    out = io.BytesIO()
    w = RecordingWriter(out, meta)
    mono = 0
    expected = []
    for step, wall, data in parts:
        mono += step
        w.write(data, mono, wall)
        expected.append(Chunk(mono, wall, data))
    got_meta, chunks = iter_recording(io.BytesIO(out.getvalue()))
    assert got_meta == meta and list(chunks) == expected


def _cut(stream: bytes, cuts: list[int]) -> list[tuple[bytes, int, int]]:
    parts, pos = [], 0
    for c in cuts:
        parts.append((stream[pos:pos + c], 0, 0))
        pos += c
    parts.append((stream[pos:], 0, 0))
    return [p for p in parts if p[0]]


def _events(model: str, parts: list[tuple[bytes, int, int]]) -> list[dict]:
    return list(decode_stream(decoder_for(model), parts))


_radar_lines = st.lists(st.one_of(
    st.sampled_from([b'{"speed": 3.5, "direction": "outbound"}', b"12.30,-4.00", b"\xff{",
                     b'{"Units":"m-per-sec"}', b'"m",20.10,30.62', b"",
                     report_line(5.0, 5.5, [9.0, 10.0], [3.0, 4.0]).rstrip()]),
    st.binary(max_size=30).filter(lambda b: b"\n" not in b)), max_size=10)


@FUZZ
@given(_radar_lines, st.lists(st.integers(1, 60), max_size=12))
def test_radar_decoding_does_not_depend_on_how_the_stream_was_cut(
        lines: list[bytes], cuts: list[int]) -> None:
    COUNTS["radar replay chunking"] += 1
    stream = b"".join(ln + b"\r\n" for ln in lines)
    assert _events("ops243-c", _cut(stream, cuts)) == _events("ops243-c", [(stream, 0, 0)])


_lidar_parts = st.lists(st.one_of(
    st.builds(data_frame, st.integers(0, 65535), st.integers(0, 65535)),
    st.builds(command_frame, st.integers(0, 255), st.binary(max_size=3)),
    st.binary(max_size=6)), max_size=10)


@FUZZ
@given(_lidar_parts, st.lists(st.integers(1, 20), max_size=12))
def test_lidar_decoding_keeps_every_valid_frame_whatever_the_cuts(
        parts: list[bytes], cuts: list[int]) -> None:
    COUNTS["lidar replay chunking"] += 1
    stream = b"".join(parts)
    whole = [e for e in _events("tf02-pro", [(stream, 0, 0)]) if e["type"] != "fault"]
    cut = [e for e in _events("tf02-pro", _cut(stream, cuts)) if e["type"] != "fault"]
    assert cut == whole
