"""Exact byte exchanges of the Benewake TF-series driver: every command and error path."""

from __future__ import annotations

import pytest

from lanecam.clock import ManualClock
from lanecam.devices.fakes import data_frame
from lanecam.devices.sensors import TF02_PRO, TF_LUNA, BenewakeLidar, LidarReading
from lanecam.errors import ConfigError, DeviceTimeoutError, LimitError, ProtocolError
from lanecam.testing import expected_exchange

RATE_100 = bytes.fromhex("5A 06 03 64 00 C7")  # worked example, TF02-i command table
RATE_0 = bytes.fromhex("5A 06 03 00 00 63")  # trigger mode, same table
OUTPUT_ON = bytes.fromhex("5A 05 07 01 67")
TRIGGER = bytes.fromhex("5A 04 04 62")
CONFIG = [(RATE_100, RATE_100), (OUTPUT_ON, OUTPUT_ON)]
FRAME = data_frame(234, 800)  # 2.34 m, strength 800, 25 °C


def test_configure_sends_documented_frame_rate_and_output_frames() -> None:
    with expected_exchange(CONFIG) as link:
        BenewakeLidar(link).open()


def test_frame_rate_250_hz() -> None:
    rate = bytes.fromhex("5A 06 03 FA 00") + bytes([sum(bytes.fromhex("5A 06 03 FA 00")) & 0xFF])
    with expected_exchange([(rate, rate), (OUTPUT_ON, OUTPUT_ON)]) as link:
        BenewakeLidar(link, frame_rate_hz=250).open()


def test_reading_decodes_distance_strength_temperature_and_stamp() -> None:
    clock = ManualClock(start_ns=42)
    with expected_exchange([*CONFIG, (None, FRAME)]) as link:
        lidar = BenewakeLidar(link, clock=clock)
        lidar.open()
        assert lidar.read() == LidarReading(42, 2.34, 800, 25.0, True, "TF-Luna")


@pytest.mark.parametrize(("strength", "dist_cm", "model", "reliable"), [
    (99, 500, TF_LUNA, False),       # Amp < 100 (TF-Luna manual p.12)
    (100, 500, TF_LUNA, True),
    (65535, 500, TF_LUNA, False),    # over-exposed
    (900, 900, TF_LUNA, False),      # 9 m is beyond the TF-Luna's 8 m
    (59, 3000, TF02_PRO, False),     # TF02-Pro: strength < 60
    (60, 3000, TF02_PRO, True),
    (300, 4500, TF02_PRO, False),    # 4500 cm = "no target" code
])
def test_reliability_rules(strength: int, dist_cm: int, model, reliable: bool) -> None:
    with expected_exchange([*CONFIG, (None, data_frame(dist_cm, strength))]) as link:
        lidar = BenewakeLidar(link, model=model)
        lidar.open()
        assert lidar.read().reliable is reliable


def test_bad_checksum_frame_is_skipped_and_counted_next_frame_kept() -> None:
    bad = bytearray(FRAME)
    bad[8] ^= 0x01
    with expected_exchange([*CONFIG, (None, bytes(bad) + data_frame(777, 500))]) as link:
        lidar = BenewakeLidar(link)
        lidar.open()
        assert lidar.read().range_m == 7.77
        assert link.counters.checksum_errors == 1
        assert link.counters.garbage_bytes >= 1


def test_truncated_frame_then_valid_frame() -> None:
    with expected_exchange([*CONFIG, (None, FRAME[:5] + data_frame(555, 500))]) as link:
        lidar = BenewakeLidar(link)
        lidar.open()
        assert lidar.read().range_m == 5.55


def test_data_frames_arriving_during_configuration_are_not_mistaken_for_replies() -> None:
    with expected_exchange([(RATE_100, FRAME + RATE_100), (OUTPUT_ON, OUTPUT_ON),
                            (None, data_frame(100, 500))]) as link:
        lidar = BenewakeLidar(link)
        lidar.open()
        assert lidar.read().range_m == 1.0  # stale pre-configuration frame was dropped


def test_refused_frame_rate_echo_is_a_protocol_error() -> None:
    with expected_exchange([(RATE_100, RATE_0)]) as link:
        with pytest.raises(ProtocolError, match="frame rate not accepted"):
            BenewakeLidar(link).open()


def test_reply_to_another_command_is_a_protocol_error() -> None:
    with expected_exchange([(RATE_100, OUTPUT_ON)]) as link:
        with pytest.raises(ProtocolError, match="reply"):
            BenewakeLidar(link).open()


def test_missing_echo_times_out_naming_the_command() -> None:
    with expected_exchange([(RATE_100, None)]) as link:
        with pytest.raises(DeviceTimeoutError) as exc:
            BenewakeLidar(link).open()
        assert exc.value.feature == "0x03"


def test_single_trigger_mode() -> None:
    with expected_exchange([(RATE_0, RATE_0), (OUTPUT_ON, OUTPUT_ON), (TRIGGER, FRAME)]) as link:
        lidar = BenewakeLidar(link, frame_rate_hz=0)
        lidar.open()
        assert lidar.trigger().range_m == 2.34


def test_single_trigger_outside_trigger_mode_is_refused_without_io() -> None:
    with expected_exchange(CONFIG) as link:
        lidar = BenewakeLidar(link)
        lidar.open()
        with pytest.raises(ConfigError):
            lidar.trigger()


@pytest.mark.parametrize("rate", [251, -1, 1.5, True])
def test_out_of_range_frame_rate_sends_nothing(rate) -> None:
    with expected_exchange([]) as link:
        with pytest.raises(LimitError):
            BenewakeLidar(link, frame_rate_hz=rate)


def test_set_frame_rate_reconfigures() -> None:
    rate_20 = bytes.fromhex("5A 06 03 14 00 77")
    with expected_exchange([*CONFIG, (rate_20, rate_20), (OUTPUT_ON, OUTPUT_ON)]) as link:
        lidar = BenewakeLidar(link)
        lidar.open()
        lidar.set_frame_rate(20)


def test_silent_lidar_times_out() -> None:
    with expected_exchange(CONFIG) as link:
        lidar = BenewakeLidar(link)
        lidar.open()
        with pytest.raises(DeviceTimeoutError):
            lidar.read(timeout=0.03)


def test_version_query() -> None:
    version = bytes.fromhex("5A 04 01 5F")  # TF02-i command table
    reply = bytes.fromhex("5A 07 01 02 01 00") + bytes([sum(bytes.fromhex("5A07010201 00")) & 0xFF])
    with expected_exchange([*CONFIG, (version, reply)]) as link:
        lidar = BenewakeLidar(link)
        lidar.open()
        assert lidar.version() == "2.1.0"


def test_short_version_reply_is_a_protocol_error() -> None:
    version = bytes.fromhex("5A 04 01 5F")
    with expected_exchange([*CONFIG, (version, version)]) as link:
        lidar = BenewakeLidar(link)
        lidar.open()
        with pytest.raises(ProtocolError, match="version reply"):
            lidar.version()
