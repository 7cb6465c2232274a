"""Exact byte exchanges of the OPS243 radar driver: every command and error path."""

from __future__ import annotations

import pytest

from lanecam.clock import ManualClock
from lanecam.devices.sensors import OPS243Radar, RadarReading, RadarSettings
from lanecam.errors import (
    DeviceTimeoutError,
    LimitError,
    ProtocolError,
    UnsupportedFeatureError,
)
from lanecam.testing import expected_exchange

UNITS = (b"UM", b'{"Units":"m-per-sec"}\r\n')
RATE = (b"S2", b'{"SamplingRate":20000}\r\n')
INBOUND = (b"R+", b'{"DirectionFilter":"Inbound"}\r\n')
MIN_SPEED = (b"R>0.5\r", b'{"RequiredMinSpeed":"0.500"}\r\n')
MAX_SPEED = (b"R<45\r", b'{"RequiredMaxSpeed":"45.000"}\r\n')
# the two lines the manual documents for uM (UM-003 p.8)
RANGE_UNITS = (b"uM", (b'{"Units":"Value", "RangeUnit":"m"}\r\n'
                      b'{"Resolutions":"Value", "RangeResolution_m":0.0777}\r\n'))
REPORTS = (b"O2", b'{"NumberOfReports":2}\r\n')
OBJECTS_OFF = (b"Oc", b'{"ObjectReport":"Off"}\r\n')
JSON_ON = (b"OJ", b'{"OutputFeature":"JSON"}\r\n')


def info(rate: int = 20000, min_speed: float = 0.5) -> tuple[bytes, bytes]:
    """``??`` (sent with ``U?``, whose reply ends it) and the radar's reply (manual p.7
    layout, then p.8's ``{"Units":...}``) for these settings."""
    return (b"??U?", b'{"Product":"OPS243"}\r\n{"Version":"1.3.1"}\r\n'
            + f'{{"SamplingRate":{rate}, "resolution":0.1215}}\r\n'.encode()
            + b'{"SampleSize":1024}\r\n{"Clock":"54"}\r\n{"PowerMode":"Continuous"}\r\n'
            + b'{"Squelch":"100"}\r\n'
            + f'{{"RequiredMinSpeed":"{min_speed:.3f}"}}\r\n'.encode()
            + b'{"Units":"m-per-sec"}\r\n')


INFO = info()
CONFIG_A = [UNITS, RATE, INBOUND, MIN_SPEED, MAX_SPEED, REPORTS, OBJECTS_OFF, JSON_ON, INFO]
CONFIG_C = [UNITS, RATE, INBOUND, MIN_SPEED, MAX_SPEED, RANGE_UNITS, REPORTS, OBJECTS_OFF,
            JSON_ON, INFO]


def test_configure_ops243_a() -> None:
    with expected_exchange(CONFIG_A) as link:
        OPS243Radar(link, model="OPS243-A").open()


def test_configure_ops243_c_with_range_filters_and_plain_output() -> None:
    s = RadarSettings(sampling_rate_hz=50000, min_speed_mps=1.25, max_speed_mps=60,
                      inbound_only=False, json=False, min_range_m=3, max_range_m=40.5)
    pairs = [UNITS, (b"SL", b'{"SamplingRate":50000}\r\n'),
             (b"R|", b'{"DirectionFilter":"Both"}\r\n'),
             (b"R>1.25\r", b'{"RequiredMinSpeed":"1.250"}\r\n'),
             (b"R<60\r", b'{"RequiredMaxSpeed":"60.000"}\r\n'), RANGE_UNITS,
             (b"r>3\r", b'{"RequiredMinRange":"3.000"}\r\n'),
             (b"r<40.5\r", b'{"RequiredMaxRange":"40.500"}\r\n'), REPORTS, OBJECTS_OFF,
             (b"Oj", b'{"OutputFeature":"Plain"}\r\n'), info(50000, 1.25)]
    with expected_exchange(pairs) as link:
        OPS243Radar(link, model="OPS243-C", settings=s).open()


def test_identify() -> None:
    with expected_exchange([*CONFIG_A, (b"?P", b'{"Product":"OPS243 Doppler"}\r\n')]) as link:
        radar = OPS243Radar(link, model="OPS243-A")
        radar.open()
        assert radar.identify() == "OPS243 Doppler"


def test_json_reports_are_stamped_with_the_injected_clock() -> None:
    clock = ManualClock(start_ns=5_000_000_000)
    pairs = [*CONFIG_C,
             (None, b'{"speed": 13.41, "direction": "inbound"}\r\n'),
             (None, b'{"range": 24.5, "unit": "m"}\r\n'),
             (None, b'{"speed": 2.5, "direction": "outbound"}\r\n')]
    with expected_exchange(pairs) as link:
        radar = OPS243Radar(link, clock=clock)
        radar.open()
        assert radar.read() == RadarReading(5_000_000_000, 13.41, None, "OPS243-C")
        clock.advance(0.05)
        assert radar.read() == RadarReading(5_050_000_000, None, 24.5, "OPS243-C")
        assert radar.read().speed_mps == -2.5


def test_plain_numeric_reports() -> None:
    s = RadarSettings(json=False, reports=1)
    pairs = [*CONFIG_C[:-4], (b"O1", b'{"NumberOfReports":1}\r\n'), OBJECTS_OFF,
             (b"Oj", b'{"OutputFeature":"Plain"}\r\n'), INFO,
             (None, b"12.30\r\n"), (None, b"-4.00\r\n"), (None, b'"m",31.20\r\n'),
             (None, b"137.429, 3.6\r\n")]
    with expected_exchange(pairs) as link:
        radar = OPS243Radar(link, settings=s)
        radar.open()
        assert [radar.read().speed_mps for _ in range(2)] == [12.3, -4.0]
        assert radar.read().range_m == 31.2
        assert radar.read().speed_mps == 3.6


def test_reports_arriving_during_configuration_are_dropped_and_late_acks_skipped() -> None:
    pairs = [(b"UM", b'{"speed": 9.0, "direction": "inbound"}\r\n{"Units":"m-per-sec"}\r\n'),
             *CONFIG_A[1:], (None, b'{"Clock":"54"}\r\n\r\n{"speed": 7.5}\r\n')]
    with expected_exchange(pairs) as link:
        radar = OPS243Radar(link, model="OPS243-A")
        radar.open()
        assert radar.read().speed_mps == 7.5
        assert radar.ignored_acks == 1


def test_wrong_units_ack_is_a_protocol_error() -> None:
    with expected_exchange([(b"UM", b'{"Units":"mph"}\r\n')]) as link:
        with pytest.raises(ProtocolError, match="acknowledged"):
            OPS243Radar(link).open()


def test_missing_ack_times_out_naming_the_command() -> None:
    with expected_exchange([UNITS, (b"S2", None)]) as link:
        with pytest.raises(DeviceTimeoutError) as exc:
            OPS243Radar(link).open()
        assert exc.value.feature == "S2"


def test_garbage_line_is_a_protocol_error_and_the_next_report_survives() -> None:
    pairs = [*CONFIG_A, (None, b"\xff\xfe{]]\r\n"), (None, b'{"speed": 3.0}\r\n')]
    with expected_exchange(pairs) as link:
        radar = OPS243Radar(link, model="OPS243-A")
        radar.open()
        with pytest.raises(ProtocolError):
            radar.read()
        assert radar.read().speed_mps == 3.0
        assert link.counters.protocol_errors == 1


def test_non_finite_and_aliased_speeds_are_rejected() -> None:
    pairs = [*CONFIG_A, (None, b'{"speed": NaN}\r\n'), (None, b'{"speed": 70.0}\r\n')]
    with expected_exchange(pairs) as link:
        radar = OPS243Radar(link, model="OPS243-A")
        radar.open()
        with pytest.raises(ProtocolError, match="finite"):
            radar.read()
        with pytest.raises(ProtocolError, match="beyond"):
            radar.read()  # 70 m/s cannot come from a 20 ksps radar (62.2 m/s limit)


def test_silent_radar_times_out() -> None:
    with expected_exchange(CONFIG_A) as link:
        radar = OPS243Radar(link, model="OPS243-A")
        radar.open()
        with pytest.raises(DeviceTimeoutError):
            radar.read(timeout=0.03)


def test_range_filters_on_a_doppler_only_radar_send_nothing() -> None:
    with expected_exchange([]), pytest.raises(UnsupportedFeatureError):
        OPS243Radar(_never_link(), model="OPS243-A",
                    settings=RadarSettings(max_range_m=30.0))


def test_a_sampling_rate_that_aliases_road_speeds_is_refused_before_sending() -> None:
    with expected_exchange([]) as link:
        with pytest.raises(LimitError, match="aliasing"):
            OPS243Radar(link, settings=RadarSettings(sampling_rate_hz=10000,
                                                     max_speed_mps=45.0))
        radar = OPS243Radar(link)
        with pytest.raises(LimitError):
            radar.configure(RadarSettings(sampling_rate_hz=12345))


def _never_link():  # a link that is never opened: constructors must not do I/O
    from lanecam.devices.serial_link import SerialLink

    def refuse(url, **kw):
        raise AssertionError("the constructor opened the port")

    return SerialLink("never://", port_factory=refuse)


def test_constructors_do_no_io() -> None:
    from lanecam.devices.illuminators import GardasoftRT
    from lanecam.devices.sensors import BenewakeLidar

    OPS243Radar(_never_link())
    BenewakeLidar(_never_link())
    GardasoftRT(_never_link())


@pytest.mark.parametrize(("rate", "cmd"), [(1000, b"SI"), (5000, b"SV"), (10000, b"SX"),
                                           (20000, b"S2"), (50000, b"SL"), (100000, b"SC")])
def test_every_sampling_rate_command(rate: int, cmd: bytes) -> None:
    # manual p.9; max speed filter kept under each rate's aliasing limit (31.1 m/s per 10 ksps)
    top = min(45.0, 31.1 * rate / 10000 * 0.99)
    s = RadarSettings(sampling_rate_hz=rate, min_speed_mps=0.0, max_speed_mps=round(top, 2))
    # (until this change any JSON line was taken as the acknowledgement, "{}" included)
    top_s = f"{top:.2f}".rstrip("0").rstrip(".")
    pairs = [UNITS, (cmd, f'{{"SamplingRate":{rate}}}\r\n'.encode()), INBOUND,
             (b"R>0\r", b'{"RequiredMinSpeed":"0.000"}\r\n'),
             (f"R<{top_s}\r".encode(), f'{{"RequiredMaxSpeed":"{top:.3f}"}}\r\n'.encode()),
             REPORTS, OBJECTS_OFF, JSON_ON, info(rate, 0.0)]
    with expected_exchange(pairs) as link:
        OPS243Radar(link, model="OPS243-A", settings=s).open()


# --- multi-object reports (On, n > 1) ---------------------------------------------------------
def test_json_multi_object_reports_carry_every_speed_and_range() -> None:
    # speeds signed (+ inbound), strongest first; ranges a separate list (FMCW spectrum)
    pairs = [*CONFIG_C,
             (None, b'{"speed":[11.18,-3.2]}\r\n'),
             (None, b'{"range":[20.1,30.62],"unit":"m"}\r\n'),
             (None, b'{"speed":[11.18]}\r\n'),
             (None, b'{"speed":[9.5,8.25],"direction":"inbound"}\r\n')]
    with expected_exchange(pairs) as link:
        radar = OPS243Radar(link, clock=ManualClock(start_ns=7))
        radar.open()
        assert radar.read() == RadarReading(7, 11.18, None, "OPS243-C", (11.18, -3.2), ())
        r = radar.read()
        assert r.range_m == 20.1 and r.ranges == (20.1, 30.62) and r.speeds == ()
        assert radar.read().speeds == (11.18,)
        assert radar.read().speeds == (9.5, 8.25)


def test_plain_multi_object_reports_split_on_commas() -> None:
    s = RadarSettings(json=False, reports=3)
    pairs = [*CONFIG_C[:-4], (b"O3", b'{"NumberOfReports":3}\r\n'), OBJECTS_OFF,
             (b"Oj", b'{"OutputFeature":"Plain"}\r\n'), INFO,
             (None, b"11.18,-3.20\r\n"), (None, b'"m",20.10,30.62,41.00\r\n'),
             (None, b"12.30\r\n"), (None, b"1.0,2.0,3.0,4.0\r\n"), (None, b"5.5\r\n")]
    with expected_exchange(pairs) as link:
        radar = OPS243Radar(link, settings=s)
        radar.open()
        assert radar.read().speeds == (11.18, -3.2)  # not (time, speed): no OT was sent
        assert radar.read().ranges == (20.1, 30.62, 41.0)
        assert radar.read().speeds == (12.3,)
        with pytest.raises(ProtocolError, match="number of fields"):
            radar.read()  # four objects from a radar set to report three
        assert radar.read().speed_mps == 5.5
        assert link.counters.protocol_errors == 1


def test_multi_object_garbage_is_a_protocol_error() -> None:
    pairs = [*CONFIG_C,
             (None, b'{"speed":[11.0,"x"]}\r\n'), (None, b'{"range":[12.0,-1.0]}\r\n'),
             (None, b'{"speed":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]}\r\n'),
             (None, b'{"speed":[11.0,70.0]}\r\n'), (None, b'{"speed":[10.0]}\r\n')]
    with expected_exchange(pairs) as link:
        radar = OPS243Radar(link)
        radar.open()
        for match in ("not a number", "outside", "more than 16", "beyond"):
            with pytest.raises(ProtocolError, match=match):
                radar.read()
        assert radar.read().speeds == (10.0,)


def test_reports_setting_is_checked_before_sending() -> None:
    with expected_exchange([]) as link:
        for bad in (0, 10, True, 2.0):
            with pytest.raises(LimitError):
                OPS243Radar(link, settings=RadarSettings(reports=bad))  # type: ignore[arg-type]


def test_single_value_readings_fill_the_lists() -> None:
    r = RadarReading(1, 3.0, 12.0)
    assert r.speeds == (3.0,) and r.ranges == (12.0,)
    assert RadarReading(1, None, None, speeds=(4.0, 5.0)).speed_mps == 4.0
    with pytest.raises(ValueError):
        RadarReading(1, 3.0, None, speeds=(4.0,))
