"""OPS243 as it really talks: object reports (a real capture), the longest line, every
acknowledgement matched by its own keys, object mode switched at open, the radar's settings
queried at open.  Exact byte exchanges, plus the firmware fake on a real pty."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from test_exchange_radar import (
    CONFIG_A,
    INBOUND,
    INFO,
    JSON_ON,
    MAX_SPEED,
    MIN_SPEED,
    OBJECTS_OFF,
    RATE,
    REPORTS,
    UNITS,
    info,
)

from lanecam.clock import ManualClock
from lanecam.devices.fakes import OPS243Fake
from lanecam.devices.fakes.ops243_objects import report_line
from lanecam.devices.sensors import (
    OPS243_MAX_LINE,
    OPS243Radar,
    RadarObject,
    RadarReading,
    RadarSettings,
    parse_ops243_line,
    widest_object_report,
)
from lanecam.devices.sensors.ops243_protocol import OBJECT_KEYS
from lanecam.devices.serial_link import SerialLink
from lanecam.errors import ConfigError, DeviceTimeoutError, ProtocolError
from lanecam.testing import expected_exchange

DATA = Path(__file__).parents[1] / "data" / "sensors"
#: the real object report (banshee-data/velocity.report fixture, Apache-2.0; SOURCES.md)
REAL = (DATA / "ops243_object_velocity_report.jsonl").read_bytes().strip()
OBJECTS_ON = (b"OC", b'{"ObjectReport":"On"}\r\n')


def test_the_real_object_report_parses_into_a_typed_reading() -> None:
    assert len(REAL) == 307  # "about 300 bytes": over the old 200-byte limit
    got = parse_ops243_line(REAL, 42, source="r")
    assert got == RadarObject(42, -13.39, -11.33, 9.86, 1750719826.031, 1750719826.467,
                              0.736, 7, 55.0, 36.0, 2.799, "r")  # outbound: negative


def test_reconstructed_imperial_and_older_firmware_object_reports() -> None:
    lines = (DATA / "ops243_reconstructed.txt").read_bytes().splitlines()
    imperial = parse_ops243_line(lines[12], 0)
    assert isinstance(imperial, RadarObject)
    assert imperial.speed_mps == pytest.approx(27.41 * 0.44704)  # inbound: positive
    assert imperial.length_m == pytest.approx(35.62 * 0.3048)
    older = parse_ops243_line(lines[13], 0)
    assert isinstance(older, RadarObject) and older.speed_mps == -11.02
    assert older.frames == 9 and older.max_magnitude == 48.0 and older.speed_change is None
    with pytest.raises(ProtocolError) as exc:  # DetectedObjectVelocity in mph: not m/s
        parse_ops243_line(lines[14], 0)
    assert exc.value.feature == "unit"


@pytest.mark.parametrize(("mutate", "feature"), [
    (lambda d: d.update(classifier="object_sideways"), "classifier"),
    (lambda d: d.pop("length_m"), "length"),
    (lambda d: d.update(end_time="1750719825.000"), "end_time"),
    (lambda d: d.update(max_speed_mps="fast"), "max_speed_mps"),
    (lambda d: d.update(max_speed_mps=400.0), "max_speed"),
    (lambda d: d.pop("start_time"), "start_time"),
])
def test_malformed_object_reports_name_the_field(mutate, feature) -> None:  # type: ignore[no-untyped-def]
    import json

    d = json.loads(REAL)
    mutate(d)
    with pytest.raises(ProtocolError) as exc:
        parse_ops243_line(json.dumps(d).encode(), 0)
    assert exc.value.feature == feature


def test_a_report_without_direction_is_not_an_object_report() -> None:
    import json

    d = json.loads(REAL)
    del d["classifier"]
    assert parse_ops243_line(json.dumps(d).encode(), 0) == d  # left to ack matching (no key)


def test_the_longest_line_parses_and_one_byte_more_is_refused() -> None:
    widest = widest_object_report()
    assert len(widest) == OPS243_MAX_LINE == 377
    assert isinstance(parse_ops243_line(widest, 0), RadarObject)
    beyond = widest.replace(b"{", b"{ ", 1)  # the same report, one byte longer
    with pytest.raises(ProtocolError) as exc:
        parse_ops243_line(beyond, 0)
    assert exc.value.feature == "line_length"


def test_longest_line_through_the_driver_and_beyond() -> None:
    # as long as the widest report, with speeds a 20 ksps radar can measure
    widest = widest_object_report().replace(b"-695.23000", b"-12.345000")
    assert len(widest) == OPS243_MAX_LINE
    beyond = widest.replace(b"{", b"{ ", 1)
    pairs = [*CONFIG_A, (None, widest + b"\r\n" + beyond + b"\r\n" + b'{"speed": 4.0}\r\n')]
    with expected_exchange(pairs) as link:
        radar = OPS243Radar(link, model="OPS243-A")
        radar.open()
        with pytest.raises(ProtocolError):
            radar.read()  # the object report is queued; the over-long line is refused
        assert radar.read().speed_mps == 4.0
        assert len(radar.take_objects()) == 1 and radar.take_objects() == []


def test_a_link_that_would_discard_the_longest_report_is_refused() -> None:
    with pytest.raises(ConfigError) as exc:
        OPS243Radar(SerialLink("never://", max_line=200))
    assert exc.value.key == "max_line"


def test_object_reports_while_reading_are_queued_not_dropped_and_not_acks() -> None:
    clock = ManualClock(start_ns=9)
    pairs = [*CONFIG_A, (None, REAL + b"\n" + b'{"speed": 7.0, "direction": "inbound"}\r\n')]
    with expected_exchange(pairs) as link:
        radar = OPS243Radar(link, model="OPS243-A", clock=clock)
        radar.open()
        assert radar.read() == RadarReading(9, 7.0, None, "OPS243-A")
        assert radar.ignored_acks == 0
        (obj,) = radar.take_objects()
        assert obj.speed_mps == -13.39 and obj.length_m == 9.86 and obj.t_ns == 9


def test_object_report_during_configuration_does_not_shift_the_acknowledgements() -> None:
    # before: the report was consumed as the acknowledgement of S2, S2's as R+'s, ...
    pairs = [UNITS, (b"S2", REAL + b"\r\n" + RATE[1]), INBOUND, MIN_SPEED, MAX_SPEED,
             REPORTS, OBJECTS_OFF, JSON_ON, INFO]
    with expected_exchange(pairs) as link:
        radar = OPS243Radar(link, model="OPS243-A")
        radar.open()
        assert radar.fault_counts["unexpected_reply"] == 0
        assert radar.settings_report is not None and radar.settings_report.ok


def test_a_line_with_other_keys_is_counted_never_taken_as_the_acknowledgement() -> None:
    stray = b'{"RequiredMinSpeed":"0.500"}\r\n'  # a late ack of another command
    pairs = [UNITS, RATE, (b"R+", stray + INBOUND[1]), MIN_SPEED, MAX_SPEED, REPORTS,
             OBJECTS_OFF, JSON_ON, INFO]
    with expected_exchange(pairs) as link:
        radar = OPS243Radar(link, model="OPS243-A")
        radar.open()
        assert radar.fault_counts["unexpected_reply"] == 1


def test_a_command_whose_acknowledgement_never_comes_times_out_naming_it() -> None:
    # the uM reply of a -C arriving for an -A's R+: keys Units/RangeUnit, not DirectionFilter
    pairs = [UNITS, RATE, (b"R+", b'{"Units":"Value", "RangeUnit":"m"}\r\n{"Clock":"9"}\r\n')]
    with expected_exchange(pairs) as link:
        with pytest.raises(DeviceTimeoutError) as exc:
            OPS243Radar(link, model="OPS243-A").open()
        assert exc.value.feature == "R+"


def test_garbage_during_configuration_is_counted_and_the_ack_still_found() -> None:
    pairs = [UNITS, (b"S2", b"\xff\xfe{]]\r\n" + RATE[1]), INBOUND, MIN_SPEED, MAX_SPEED,
             REPORTS, OBJECTS_OFF, JSON_ON, INFO]
    with expected_exchange(pairs) as link:
        radar = OPS243Radar(link, model="OPS243-A")
        radar.open()
        assert radar.fault_counts["garbage_line"] == 1
        assert link.counters.protocol_errors == 1


def test_object_mode_is_switched_on_explicitly() -> None:
    pairs = [*CONFIG_A[:6], OBJECTS_ON, JSON_ON, INFO]
    with expected_exchange(pairs) as link:
        OPS243Radar(link, model="OPS243-A",
                    settings=RadarSettings(object_reports=True)).open()


def test_settings_reported_by_the_radar_are_compared() -> None:
    with expected_exchange([*CONFIG_A[:-1], INFO]) as link:
        radar = OPS243Radar(link, model="OPS243-A")
        radar.open()
        rep = radar.settings_report
        assert rep is not None and rep.ok and rep.product == "OPS243"
        assert rep.version == "1.3.1" and rep.reported["Squelch"] == "100"
        assert rep.not_reported == ()


def test_a_mismatching_setting_warns_and_counts_by_default() -> None:
    # the radar still samples at 10 ksps (a rate command that did not take)
    with expected_exchange([*CONFIG_A[:-1], info(rate=10000)]) as link:
        radar = OPS243Radar(link, model="OPS243-A")
        radar.open()
        (m,) = radar.settings_report.mismatches  # type: ignore[union-attr]
        assert (m.name, m.expected, m.reported) == ("SamplingRate", 20000, 10000)
        assert radar.fault_counts["settings_mismatch"] == 1


def test_a_mismatching_setting_raises_when_asked() -> None:
    with expected_exchange([*CONFIG_A[:-1], info(min_speed=0.0)]) as link:
        radar = OPS243Radar(link, model="OPS243-A",
                            settings=RadarSettings(on_mismatch="raise"))
        with pytest.raises(ProtocolError) as exc:
            radar.open()
        assert exc.value.feature == "RequiredMinSpeed" and exc.value.allowed == 0.5


def test_settings_a_firmware_leaves_out_are_listed_not_mismatched() -> None:
    short = (b"??U?", (b'{"Product":"OMPS242A"}\r\n{"Version":"1.2.0"}\r\n'
             b'{"Units":"m-per-sec"}\r\n'))  # the OPS242's shorter ?? reply (its manual p.5)
    with expected_exchange([*CONFIG_A[:-1], short]) as link:
        radar = OPS243Radar(link, model="OPS243-A")
        radar.open()
        rep = radar.settings_report
        assert rep is not None and rep.not_reported == ("SamplingRate", "RequiredMinSpeed")
        assert [m.name for m in rep.mismatches] == ["Product"]


def test_no_end_to_the_settings_reply_times_out() -> None:
    with expected_exchange([*CONFIG_A[:-1], (b"??U?", b'{"Product":"OPS243"}\r\n')]) as link:
        with pytest.raises(DeviceTimeoutError) as exc:
            OPS243Radar(link, model="OPS243-A").open()
        assert exc.value.feature == "??"


# -- the firmware fake -----------------------------------------------------------------------
def _shape(line: bytes) -> str:
    """A report line with its values blanked: key order, separators and quoting."""
    return re.sub(rb'(: )("?)[-0-9.a-z_]+("?)', rb"\1\2V\3", line.strip()).decode()


def test_the_fake_writes_object_reports_in_the_real_layout() -> None:
    made = report_line(1750719826.031, 1750719826.467, [-11.33, -13.39, -12.0],
                       [36.0, 55.0, 17.0])
    assert _shape(made) == _shape(REAL)
    assert tuple(re.findall(rb'"([a-z_]+)" :', made)) == tuple(k.encode() for k in OBJECT_KEYS)
    got = parse_ops243_line(made, 0)
    assert isinstance(got, RadarObject) and got.speed_mps == -13.39 and got.frames == 3
    assert got.length_m == pytest.approx(13.39 * 0.436, abs=0.01)  # speed × time in beam


def test_the_fake_answers_the_settings_query_as_documented() -> None:
    with OPS243Fake("OPS243-A") as fake:
        link = SerialLink(fake.port, timeout=0.5)
        with link:
            link.write(b"S2R>0.5\r??U?")
            lines = []
            while not lines or not lines[-1].startswith(b'{"Units"'):
                lines.append(link.read_line().strip())
    assert lines[:2] == [b'{"SamplingRate":20000}', b'{"RequiredMinSpeed":"0.500"}']
    assert lines[2:5] == [b'{"Product":"OPS243"}', b'{"Version":"1.3.1"}',
                          b'{"SamplingRate":20000, "resolution":0.1215}']
    assert lines[-2:] == [b'{"RequiredMinSpeed":"0.500"}', b'{"Units":"m-per-sec"}']


@pytest.mark.parametrize("model", ["OPS243-A", "OPS243-C"])
def test_a_vehicle_passing_the_fake_gives_one_object_report(model: str) -> None:
    with OPS243Fake(model) as fake:
        radar = OPS243Radar(SerialLink(fake.port, timeout=0.5), model=model,  # type: ignore[arg-type]
                            settings=RadarSettings(object_reports=True))
        with radar:
            assert fake.object_mode and radar.settings_report.ok  # type: ignore[union-attr]
            fake.set_target(12.5, 20.0)
            t0 = time.monotonic()
            while time.monotonic() - t0 < 0.6:
                radar.read(timeout=0.5)
            fake.clear_target()
            objs: list[RadarObject] = []
            deadline = time.monotonic() + 3.0
            while not objs and time.monotonic() < deadline:
                try:
                    radar.read(timeout=0.1)
                except DeviceTimeoutError:
                    pass
                objs = radar.take_objects()
    (obj,) = objs
    assert obj.speed_mps == pytest.approx(12.5) and obj.min_speed_mps == pytest.approx(12.5)
    # ~12 report periods of 51 ms in view (fewer if the fake's thread is starved under load)
    assert 0.3 < obj.end_s - obj.start_s < 1.5 and obj.frames is not None and obj.frames >= 4
    assert obj.length_m == pytest.approx(12.5 * (obj.duration_s or 0), abs=0.02)
