"""Sensor recordings: the file format, ``lanecam sensor record`` from the firmware fakes on
real ptys, and ``lanecam sensor replay`` on recordings, raw line files and raw byte files."""

from __future__ import annotations

import io
import itertools
import json
import threading
import time
from pathlib import Path

import pytest

from lanecam.cli import main
from lanecam.devices.fakes import BenewakeFake, OPS243Fake
from lanecam.devices.sensors.recording import (
    MAX_CHUNK,
    Chunk,
    RecordingError,
    RecordingWriter,
    iter_recording,
)
from lanecam.devices.sensors.replay import decode_chunks, decoder_for
from lanecam.errors import ConfigError

DATA = Path(__file__).parents[1] / "data" / "sensors"
REAL = (DATA / "ops243_object_velocity_report.jsonl").read_bytes()
GOLDEN = DATA / "ops243_session.lcrec"


def build_session() -> bytes:
    """The shipped golden recording: the real object report and reconstructed lines, cut in
    chunks mid-line, with synthetic timestamps (see SOURCES.md)."""
    recon = (DATA / "ops243_reconstructed.txt").read_bytes().splitlines(keepends=True)
    stream = (b'{"Units":"m-per-sec"}\r\n' + b'{"speed": 13.41, "direction": "inbound"}\r\n'
              + REAL[:100] + REAL[100:] + b"12.30,-4.00\r\n" + b"\xff\xfe{]]\r\n"
              + recon[12] + b'{"range": 24.5, "unit": "m"}\r\n')
    cuts = [0, 23, 40, 150, 310, 330, 360, len(stream)]
    out = io.BytesIO()
    w = RecordingWriter(out, {"device": "/dev/ttyACM0", "model": "ops243-c",
                              "baudrate": 19200, "note": "synthetic timestamps"})
    for i, (a, b) in enumerate(itertools.pairwise(cuts)):
        w.write(stream[a:b], 1_000_000_000 + i * 50_000_000, 1_750_719_826_000_000_000 + i)
    return out.getvalue()


def _replay(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict]]:
    rc = main(["sensor", "replay", *args, "--json"])
    lines = capsys.readouterr().out.splitlines()
    return rc, [json.loads(ln) for ln in lines]


def test_the_golden_recording_is_what_the_writer_writes() -> None:
    assert GOLDEN.read_bytes() == build_session()  # the format is pinned


def test_round_trip_and_chunks_larger_than_the_limit_are_split() -> None:
    out = io.BytesIO()
    w = RecordingWriter(out, {"model": "tf-luna"})
    w.write(b"\x59" * (MAX_CHUNK + 5), 10, 20)
    w.write(b"\x00", 11, 21)
    meta, chunks = iter_recording(io.BytesIO(out.getvalue()))
    assert meta == {"model": "tf-luna"}
    got = list(chunks)
    assert [len(c.data) for c in got] == [MAX_CHUNK, 5, 1] and w.chunks == 3
    assert got[-1] == Chunk(11, 21, b"\x00")
    with pytest.raises(RecordingError) as exc:
        w.write(b"x", 5, 0)
    assert exc.value.reason == "time_backwards"


def test_a_recording_cut_anywhere_gives_its_whole_chunks_then_truncated() -> None:
    blob = build_session()
    _, full = iter_recording(io.BytesIO(blob))
    whole = list(full)
    for n in range(len(blob)):
        got = []
        try:
            _, chunks = iter_recording(io.BytesIO(blob[:n]))
            got.extend(chunks)
        except RecordingError as exc:
            assert exc.reason in ("truncated", "magic")
        assert got == whole[:len(got)]


@pytest.mark.parametrize(("blob", "reason"), [
    (b"NOTREC" + bytes(10), "magic"),
    (b"LCSREC\x02\x00\x00\x00\x00\x00", "version"),
    (b"LCSREC\x01\x00\x03\x00\x00\x00[1]", "meta"),
    (b"LCSREC\x01\x00\xff\xff\xff\x00", "meta"),
    (b"LCSREC\x01\x00\x02\x00\x00\x00{}" + bytes(16) + b"\x00\x00\x00\x00", "chunk_length"),
    (b"LCSREC\x01\x00\x02\x00\x00\x00{}" + (5).to_bytes(8, "little") + bytes(8)
     + b"\x01\x00\x00\x00x" + (4).to_bytes(8, "little") + bytes(8) + b"\x01\x00\x00\x00y",
     "time_backwards"),
])
def test_malformed_recordings_say_why(blob: bytes, reason: str) -> None:
    with pytest.raises(RecordingError) as exc:
        _, chunks = iter_recording(io.BytesIO(blob))
        list(chunks)
    assert exc.value.reason == reason and exc.value.feature == f"recording.{reason}"


def test_replay_of_the_golden_recording(capsys: pytest.CaptureFixture[str]) -> None:
    rc, events = _replay(capsys, "ops243-c", str(GOLDEN))
    assert rc == 0
    assert [e["type"] for e in events] == ["reply", "RadarReading", "RadarObject",
                                           "RadarReading", "fault", "RadarObject",
                                           "RadarReading"]
    obj = events[2]
    assert obj["speed_mps"] == -13.39 and obj["length_m"] == 9.86
    assert obj["t_ns"] == 1_000_000_000 + 6 * 50_000_000  # the chunk that completed it
    assert events[3]["speeds"] == [12.3, -4.0]
    assert events[4]["error"] == "ProtocolError" and events[4]["t_wall_ns"] is not None
    assert events[6]["range_m"] == 24.5


def test_replay_of_raw_lines_without_timestamps(capsys: pytest.CaptureFixture[str]) -> None:
    rc, events = _replay(capsys, "ops243-a", str(DATA / "ops243_reconstructed.txt"),
                         "--reports", "1")
    assert rc == 0 and len(events) == 15
    assert events[0]["speed_mps"] == 0.58 and events[1]["speed_mps"] == 3.6  # time, speed
    assert [e["type"] for e in events[2:12]] == ["reply"] * 10
    assert events[12]["type"] == events[13]["type"] == "RadarObject"
    assert events[14]["feature"] == "unit" and all(e["t_ns"] is None for e in events)


def test_replay_of_raw_lidar_bytes(capsys: pytest.CaptureFixture[str]) -> None:
    rc, events = _replay(capsys, "tf02-pro", str(DATA / "tf02pro_reconstructed.bin"))
    assert rc == 0
    readings = [e for e in events if e["type"] == "LidarReading"]
    assert [e["range_m"] for e in readings] == [7.5, 7.45, 7.35, 7.3, 45.0, 3.0]
    assert [e["reliable"] for e in readings] == [True] * 4 + [False, False]
    assert events[0] == {"type": "reply", "t_ns": None, "t_wall_ns": None,
                         "reply": "5a 06 03 64 00 c7"}
    faults = [e for e in events if e["type"] == "fault"]
    assert faults and all(e["feature"] == "garbage" for e in faults)


def test_replay_of_a_cut_recording_prints_what_it_had_then_the_fault(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cut = tmp_path / "cut.lcrec"
    cut.write_bytes(build_session()[:-7])
    rc, events = _replay(capsys, "ops243-c", str(cut))
    assert rc == 1
    assert events[-1]["error"] == "RecordingError"
    assert events[-1]["feature"] == "recording.truncated"
    assert [e["type"] for e in events[:-1]] == ["reply", "RadarReading"]  # chunks 0-5


def test_the_loop_detector_has_no_stream_to_replay() -> None:
    with pytest.raises(ConfigError) as exc:
        decoder_for("loop")
    assert exc.value.key == "model"


def test_record_the_radar_fake_and_replay_it(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    rec = tmp_path / "radar.lcrec"
    with OPS243Fake("OPS243-C") as fake:
        fake.set_target(12.5, 20.0)
        threading.Timer(1.0, fake.clear_target).start()
        assert main(["sensor", "record", fake.port, str(rec), "--model", "ops243-c",
                     "--configure", "--duration", "2.0"]) == 0
    capsys.readouterr()
    meta, chunks = iter_recording(rec.open("rb"))
    assert meta["model"] == "ops243-c" and meta["configured"] is True
    events = list(decode_chunks(decoder_for("ops243-c"), chunks))
    speeds = [e["speed_mps"] for e in events if e["type"] == "RadarReading" and e["speeds"]]
    assert speeds and set(speeds) == {12.5}
    ts = [e["t_ns"] for e in events]
    assert ts == sorted(ts) and not [e for e in events if e["type"] == "fault"]


def test_record_the_lidar_fake_without_configuring_and_replay_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = tmp_path / "lidar.lcrec"
    with BenewakeFake("TF02-Pro") as fake:
        fake.set_target(range_m=7.5)
        t0 = time.monotonic()
        assert main(["sensor", "record", fake.port, str(rec), "--model", "tf02-pro",
                     "--max-bytes", "90", "--duration", "5"]) == 0
        assert time.monotonic() - t0 < 5
    capsys.readouterr()
    rc, events = _replay(capsys, "tf02-pro", str(rec))
    readings = [e for e in events if e["type"] == "LidarReading"]
    assert rc == 0 and len(readings) >= 9 and {e["range_m"] for e in readings} == {7.5}
