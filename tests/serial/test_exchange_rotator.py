"""Exact byte exchanges of the Elliptec rotator driver: every command, error and fault path.

Elliptec commands carry no terminator; replies end with CR LF.  Positions are pulses of the
ELL14 scale the device reports in ``in`` (143360 per turn: 45° = 0x4600, 90° = 0x8C00).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest

from lanecam.clock import ManualClock
from lanecam.devices.rotators import ElliptecRotator
from lanecam.devices.serial_link import SerialLink
from lanecam.errors import (
    ConfigError,
    DeviceError,
    DeviceTimeoutError,
    LimitError,
    ProtocolError,
    UnsupportedFeatureError,
)
from lanecam.testing import Pair, expected_exchange

IN_PAYLOAD = "0E" "11400999" "2021" "15" "01" "0168" "00023000"
IN = (b"0in", f"0IN{IN_PAYLOAD}\r\n".encode())


def po(pulses: int) -> bytes:
    return f"0PO{pulses & 0xFFFFFFFF:08X}\r\n".encode()


GP_45 = (b"0gp", po(0x4600))


@contextmanager
def rotator(pairs: Sequence[Pair], **kw: Any) -> Iterator[ElliptecRotator]:
    with expected_exchange(pairs, baudrate=9600, timeout=0.2) as link:
        kw.setdefault("clock", ManualClock())
        yield ElliptecRotator(link, resync_quiet_s=0.01, **kw)


def test_constructor_does_no_io_and_open_identifies() -> None:
    with rotator([]) as rot:
        assert rot.state == "closed"
    with rotator([IN]) as rot:
        rot.open()
        assert rot.state == "ready"
        assert rot.info is not None and rot.info.model_code == 14
        assert rot.info.serial == "11400999" and rot.info.year == 2021
        assert rot.pulses_per_rev == 143360 and rot.info.travel == 360


def test_identify_re_reads_the_info() -> None:
    with rotator([IN, IN]) as rot:
        rot.open()
        text = rot.identify()
        assert "ELL14" in text and "11400999" in text and "143360" in text


@pytest.mark.parametrize(("payload", "key", "allowed"), [
    ("0E" "11400999" "2021" "15" "01" "0168" "00021555", "motion.pulses_per_rev", 136533),
    ("12" "11400999" "2021" "15" "01" "0168" "00023000", "rotator.model_code", 14),
    ("0E" "11400999" "2021" "15" "01" "00B4" "00023000", "motion.travel_deg", 180),
])
def test_a_device_disagreeing_with_the_profile_is_refused(payload: str, key: str,
                                                          allowed: int) -> None:
    with rotator([(b"0in", f"0IN{payload}\r\n".encode())]) as rot:
        with pytest.raises(ConfigError) as exc:
            rot.open()
        assert exc.value.key == key and exc.value.allowed == allowed
        assert rot.state == "faulted"


def test_angle_is_mechanical_plus_offset_modulo_the_period() -> None:
    with rotator([IN, (b"0gp", po(0x8C00)), (b"0gp", po(0x8C00))], offset_deg=100.0) as rot:
        rot.open()
        assert rot.angle_deg() == pytest.approx(10.0)  # 90 + 100 = 190 ≡ 10 (mod 180)
        rot.offset_deg = -30.0
        assert rot.angle_deg() == pytest.approx(60.0)


def test_moves_take_the_short_way_modulo_180_both_ways() -> None:
    pairs = [IN, (b"0gp", po(0x2300)),       # at 22.5°
             (b"0mrFFFFBA00", po(0x20D00)),   # to 157.5 ≡ -22.5: turn -45° → 337.5°
             (b"0mrFFFF7400", po(0x18100)),   # to 67.5: -90° (not +90) → 247.5°
             (b"0mr00002300", po(0x1A400))]   # to 90: +22.5° → 270°
    with rotator(pairs) as rot:
        rot.open()
        assert rot.move_to(157.5) == pytest.approx(157.5)
        assert rot.move_to(67.5) == pytest.approx(67.5)  # position cached: no gp
        assert rot.move_to(90.0) == pytest.approx(90.0)
        assert rot.counters.moves == 3 and rot.counters.faults == 0


def test_full_turn_period_and_absolute_moves() -> None:
    with rotator([IN, (b"0gp", po(0x2300)), (b"0mrFFFF5100", po(0x1A400))],
                 periodic_deg=360.0) as rot:
        rot.open()
        assert rot.move_to(270.0) == pytest.approx(270.0)  # -112.5° through 0
    with rotator([IN, GP_45, (b"0ma0000F500", po(0xF500))], periodic_deg=None) as rot:
        rot.open()
        assert rot.move_to(157.5) == pytest.approx(157.5)
        with pytest.raises(LimitError):
            rot.move_to(400.0)  # beyond the travel: refused before anything is sent


def test_a_move_smaller_than_one_step_sends_nothing() -> None:
    with rotator([IN, GP_45]) as rot:
        rot.open()
        assert rot.move_to(45.0 + 0.4 * rot.step_deg) == pytest.approx(45.0)
        assert rot.counters.moves == 1


def test_home_both_directions() -> None:
    with rotator([IN, (b"0ho0", po(0)), (b"0ho1", po(0))]) as rot:
        rot.open()
        assert rot.home() == 0.0
        assert rot.home("ccw") == 0.0
        assert rot.counters.homes == 2
        with pytest.raises(ConfigError):
            rot.home("up")


def test_move_commands_keep_the_gap_after_a_reply() -> None:
    clock = ManualClock()
    with rotator([IN, GP_45, (b"0mr00004600", po(0x8C00)), (b"0mrFFFFBA00", po(0x4600))],
                 clock=clock) as rot:
        rot.open()
        rot.angle_deg()  # reads are not delayed
        assert clock.now_ns() == 0
        rot.move_to(90.0)
        assert clock.now_ns() == pytest.approx(0.1e9)  # waited out the 0.1 s command gap
        rot.move_to(45.0)
        assert clock.now_ns() == pytest.approx(0.2e9)


def test_mechanical_timeout_is_typed_clears_the_latched_status_and_recovers() -> None:
    pairs = [IN, GP_45, (b"0mr00004600", b"0GS02\r\n"), (b"0gs", b"0GS02\r\n"),
             GP_45, (b"0mr00004600", po(0x8C00))]
    with rotator(pairs) as rot:
        rot.open()
        with pytest.raises(DeviceError, match="mechanical time-out") as exc:
            rot.move_to(90.0)
        assert exc.value.feature == "GS02" and not isinstance(exc.value, ProtocolError)
        assert rot.state == "faulted" and rot.counters.faults == 1
        assert rot.move_to(90.0) == pytest.approx(90.0)  # the position is re-read first
        assert rot.state == "ready"


def test_command_not_supported_is_an_unsupported_feature() -> None:
    with rotator([IN, (b"0ho0", b"0GS03\r\n"), (b"0gs", b"0GS03\r\n")]) as rot:
        rot.open()
        with pytest.raises(UnsupportedFeatureError) as exc:
            rot.home()
        assert exc.value.feature == "GS03"


def test_busy_status() -> None:
    with rotator([IN, (b"0gs", b"0GS09\r\n"), (b"0gs", b"0GS00\r\n")]) as rot:
        rot.open()
        assert rot.busy() is True
        assert rot.busy() is False


def test_a_latched_error_read_by_busy_is_typed() -> None:
    with rotator([IN, (b"0gs", b"0GS04\r\n"), (b"0gs", b"0GS00\r\n")]) as rot:
        rot.open()
        with pytest.raises(DeviceError, match="out of range"):
            rot.busy()


@pytest.mark.parametrize("reply", [b"0P\xff\x00garbage\r\n", b"0PO0000460\r\n",
                                   b"0PO0000460g\r\n", b"0XX00004600\r\n", b"\r\n",
                                   b"0po00004600\r\n"])
def test_garbage_is_a_protocol_error_then_the_next_command_works(reply: bytes) -> None:
    with rotator([IN, (b"0gp", reply), (b"0gs", b"0GS00\r\n"), GP_45]) as rot:
        rot.open()
        with pytest.raises(ProtocolError):
            rot.angle_deg()
        assert rot.link.counters.protocol_errors == 1
        assert rot.angle_deg() == pytest.approx(45.0)


def test_noise_line_ahead_of_the_reply_is_skipped_while_resynchronising() -> None:
    with rotator([IN, (b"0gp", b"\x13\x00\r\n" + po(0x8C00)), (b"0gs", b"0GS00\r\n"),
                  GP_45]) as rot:
        rot.open()
        with pytest.raises(ProtocolError):
            rot.angle_deg()
        assert rot.stale_replies == 1  # the real PO arrived after the noise: not trusted
        assert rot.angle_deg() == pytest.approx(45.0)


def test_reply_from_another_address_is_a_protocol_error() -> None:
    with rotator([IN, (b"0gp", b"1PO00004600\r\n"), (b"0gs", b"0GS00\r\n")]) as rot:
        rot.open()
        with pytest.raises(ProtocolError, match="address 1"):
            rot.angle_deg()


def test_a_move_ending_off_target_is_a_device_error() -> None:
    with rotator([IN, GP_45, (b"0mr00004600", po(0)), (b"0gs", b"0GS00\r\n")]) as rot:
        rot.open()
        with pytest.raises(DeviceError) as exc:
            rot.move_to(90.0)
        assert exc.value.feature == "position" and exc.value.allowed == 0.4


def test_move_timeout_waits_until_idle_and_skips_the_late_completion() -> None:
    pairs = [IN, GP_45, (b"0mr00004600", None), (b"0gs", b"0GS09\r\n"),
             (b"0gs", po(0x8C00) + b"0GS00\r\n"), GP_45]
    with rotator(pairs) as rot:
        rot.open()
        with pytest.raises(DeviceTimeoutError):
            rot.move_to(90.0, timeout_s=0.01)
        assert rot.stale_replies == 1 and rot.state == "faulted"
        rot.angle_deg()


def test_a_silent_device_times_out_and_the_failed_resync_is_reported() -> None:
    with rotator([IN, (b"0gp", None), (b"0gs", None)]) as rot:
        rot.open()
        with pytest.raises(DeviceTimeoutError) as exc:
            rot.angle_deg()
        assert any("resynchronising" in n for n in getattr(exc.value, "__notes__", []))


def test_invalid_arguments_send_nothing() -> None:
    with rotator([IN]) as rot:
        rot.open()
        for bad in (float("nan"), float("inf")):
            with pytest.raises(LimitError):
                rot.move_to(bad)
        with pytest.raises(LimitError):
            rot.move_to(10.0, timeout_s=0.0)


@pytest.mark.parametrize(("kw", "key"), [
    ({"address": "G"}, "address"), ({"address": "00"}, "address"),
    ({"periodic_deg": 7.0}, "periodic_deg"), ({"offset_deg": float("nan")}, "offset_deg"),
    ({"profile": "nonesuch"}, "nonesuch"),
])
def test_bad_configuration(kw: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as exc:
        ElliptecRotator(SerialLink("never://", baudrate=9600), **kw)
    assert exc.value.key == key


def test_link_baud_rate_must_match_the_profile() -> None:
    with pytest.raises(ConfigError) as exc:
        ElliptecRotator(SerialLink("never://"))  # the link's default is 115200
    assert exc.value.key == "baudrate" and exc.value.allowed == [9600]


def test_move_time_estimate_is_the_short_way_at_the_profile_speed() -> None:
    rot = ElliptecRotator(SerialLink("never://", baudrate=9600))
    p = rot.profile
    assert rot.move_time_s(10.0, 170.0) == pytest.approx(20.0 / p.speed_deg_s + p.settle_s)
    assert rot.move_time_s(0.0, 80.0) - p.settle_s == \
        pytest.approx(4 * (rot.move_time_s(0.0, 20.0) - p.settle_s))
    absolute = ElliptecRotator(SerialLink("never://", baudrate=9600), periodic_deg=None)
    assert absolute.move_time_s(10.0, 170.0) == pytest.approx(160.0 / p.speed_deg_s + p.settle_s)
