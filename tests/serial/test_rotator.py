"""The Elliptec rotator driver against its firmware fake on a real pty, the fake's own
protocol behaviour, and the rotator profile loader."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lanecam.clock import ManualClock
from lanecam.devices.fakes import ElliptecFake
from lanecam.devices.rotators import (
    ElliptecRotator,
    load_rotator_profile,
    parse_elliptec_reply,
)
from lanecam.devices.serial_link import SerialLink
from lanecam.errors import (
    ConfigError,
    DeviceError,
    DeviceLostError,
    DeviceTimeoutError,
    ProtocolError,
)

PROFILE = load_rotator_profile("thorlabs-ell14")
STEP = 360.0 / PROFILE.pulses_per_rev  # one pulse (deg)


def deg(x: float) -> object:
    """An angle to within one pulse."""
    return pytest.approx(x, abs=1.01 * STEP)


def link(fake: ElliptecFake) -> SerialLink:
    return SerialLink(fake.port, baudrate=9600, timeout=0.3)


@pytest.fixture
def fake() -> Iterator[ElliptecFake]:
    # the fake moves at the profile's speed and settles in the profile's time, so the driver's
    # estimate can be compared with what the motor really did
    with ElliptecFake(speed_deg_s=PROFILE.speed_deg_s, settle_s=PROFILE.settle_s,
                      power_on_deg=30.0, motor_timeout_s=0.2) as f:
        yield f


@pytest.fixture
def rot(fake: ElliptecFake) -> Iterator[ElliptecRotator]:
    r = ElliptecRotator(link(fake))
    yield r
    r.close()


def _raw(lk: SerialLink, cmd: bytes) -> tuple[str, str, str]:
    lk.write(cmd)
    return parse_elliptec_reply(lk.read_line(b"\n"))


# ---------------------------------------------------------------------------------------------
# driver ↔ fake
# ---------------------------------------------------------------------------------------------
def test_no_io_before_open_then_identify(fake: ElliptecFake, rot: ElliptecRotator) -> None:
    assert fake.commands == []
    rot.open()
    assert fake.commands == ["in"]
    assert "11400999" in rot.identify()
    assert rot.pulses_per_rev == fake.pulses_per_rev


def test_home_and_moves_both_ways_the_short_way(fake: ElliptecFake,
                                                rot: ElliptecRotator) -> None:
    rot.open()
    assert rot.angle_deg() == deg(30.0)
    assert rot.home() == 0.0 and fake.angle_deg == 0.0
    assert rot.move_to(45.0) == deg(45.0)
    assert fake.angle_deg == deg(45.0)
    # 170° ≡ -10° for a polarizer: turn back 55° through 0, not forward 125°
    assert rot.move_to(170.0) == deg(170.0)
    assert fake.angle_deg == deg(350.0)
    # and forward 20° through 0 again
    assert rot.move_to(10.0) == deg(10.0)
    assert fake.angle_deg == deg(10.0)
    turns = [(m.to_p - m.from_p) * 360.0 / fake.pulses_per_rev for m in fake.moves]
    assert turns[1:] == pytest.approx([45.0, -55.0, 20.0], abs=rot.step_deg)
    assert rot.counters.moves == 3 and rot.counters.homes == 1 and rot.counters.faults == 0


def test_moves_block_until_done_and_last_as_estimated(fake: ElliptecFake,
                                                      rot: ElliptecRotator) -> None:
    rot.open()
    rot.home()
    durations = []
    for a, b in ((0.0, 20.0), (20.0, 100.0)):  # 20° then 80°
        rot.move_to(b)
        m = fake.moves[-1]
        assert not fake.moving and fake.clock.now_ns() >= m.end_ns  # returned after the end
        assert rot.move_time_s(a, b) == pytest.approx(m.duration_s, rel=1e-3)
        durations.append((m.arrive_ns - m.start_ns) / 1e9)
    assert durations[1] / durations[0] == pytest.approx(4.0, rel=0.01)


def test_busy_while_moving_and_a_timed_out_move_is_waited_out(fake: ElliptecFake,
                                                              rot: ElliptecRotator) -> None:
    fake.speed_deg_s = 150.0  # slow enough that the exchanges below happen mid-move
    with link(fake) as lk:
        lk.write(b"0ma00008C00")  # 90° from 30°: 0.4 s
        assert _raw(lk, b"0gs") == ("0", "GS", "09")
        assert _raw(lk, b"0ho0") == ("0", "GS", "09")  # motion refused while busy
        assert parse_elliptec_reply(lk.read_line(b"\n", timeout=2.0)) == ("0", "PO", "00008C00")
        assert _raw(lk, b"0gs") == ("0", "GS", "00")
    rot.open()
    with pytest.raises(DeviceTimeoutError):
        rot.move_to(0.0, timeout_s=0.01)  # 90° back: 0.6 s
    # the driver polled until idle, skipping the late PO: the next command is in step
    assert b"0GS09\r\n" in fake.replies[-3:] and rot.stale_replies == 1
    assert not rot.busy()
    assert rot.angle_deg() == deg(0.0)


def test_mechanical_jam_is_a_typed_fault_then_moves_work_again(fake: ElliptecFake,
                                                               rot: ElliptecRotator) -> None:
    rot.open()
    fake.jam = True
    with pytest.raises(DeviceError, match="mechanical") as exc:
        rot.move_to(90.0)
    assert exc.value.feature == "GS02"
    assert fake.angle_deg == deg(30.0)  # it never moved
    assert fake.commands[-1] == "gs" and fake.status == 0  # the latched status was read out
    assert rot.state == "faulted" and rot.counters.faults == 1
    fake.jam = False
    assert rot.move_to(90.0) == deg(90.0)
    assert fake.angle_deg == deg(90.0) and rot.state == "ready"


@pytest.mark.parametrize("noise", [b"\x00\xffnoise\r\n", b"\x13", b"0GS"])
def test_garbage_is_a_protocol_error_then_the_next_command_works(
        fake: ElliptecFake, rot: ElliptecRotator, noise: bytes) -> None:
    rot.open()
    fake.inject(noise)
    with pytest.raises(ProtocolError):
        rot.angle_deg()
    assert rot.link.counters.protocol_errors == 1
    assert rot.angle_deg() == deg(30.0)
    assert rot.move_to(60.0) == deg(60.0)


def test_unplug_is_lost_then_recovers_with_re_identification(fake: ElliptecFake,
                                                             rot: ElliptecRotator) -> None:
    rot.open()
    rot.move_to(45.0)
    fake.unplug()
    with pytest.raises(DeviceLostError):
        rot.angle_deg()
    with pytest.raises(DeviceLostError):
        rot.move_to(90.0)  # still unplugged: typed, no hang
    fake.replug()
    n = len(fake.commands)
    assert rot.angle_deg() == deg(45.0)  # the mount did not turn without power
    # brought idle (gs), re-identified (in), then its position read back (gp)
    assert fake.commands[n:] == ["gs", "in", "gp"]
    assert rot.link.counters.reconnects == 1 and rot.counters.reconnects == 1
    assert rot.move_to(90.0) == deg(90.0)


def test_a_hung_module_times_out(fake: ElliptecFake, rot: ElliptecRotator) -> None:
    rot.open()
    fake.mute = True
    with pytest.raises(DeviceTimeoutError):
        rot.angle_deg()
    fake.mute = False
    assert rot.angle_deg() == deg(30.0)


def test_the_command_gap_avoids_the_move_to_zero_quirk() -> None:
    # a wide quirk window (0.3 s) and a matching gap, so that scheduling delays cannot hide it
    with ElliptecFake(early_move_window_s=0.3, power_on_deg=30.0) as fake:
        with ElliptecRotator(link(fake), profile=dataclasses.replace(PROFILE,
                                                                     command_gap_s=0.3)) as rot:
            assert rot.move_to(60.0) == deg(60.0)
            assert rot.move_to(90.0) == deg(90.0)  # right after the last reply
        hasty = dataclasses.replace(PROFILE, command_gap_s=0.0)
        with ElliptecRotator(link(fake), profile=hasty) as rot:
            rot.angle_deg()
            with pytest.raises(DeviceError) as exc:
                rot.move_to(120.0)  # issued at once: the module goes to 0 instead
            assert exc.value.feature == "position"
        assert fake.angle_deg == 0.0


# ---------------------------------------------------------------------------------------------
# the fake itself
# ---------------------------------------------------------------------------------------------
def test_fake_angle_interpolates_mid_move_on_its_clock() -> None:
    clock = ManualClock(1_000_000_000)
    with ElliptecFake(clock=clock, speed_deg_s=100.0, settle_s=0.0) as fake, link(fake) as lk:
        t0 = clock.now_ns()
        lk.write(b"0ma00008C00")  # 0 → 90° at 100°/s: 0.9 s of fake time
        deadline = time.monotonic() + 2.0
        while not fake.moving and time.monotonic() < deadline:
            time.sleep(0.001)
        assert fake.moving
        assert fake.angle_at(t0 - 1) == 0.0
        clock.advance(0.45)
        assert fake.angle_deg == pytest.approx(45.0, abs=0.01)
        assert fake.angle_at(t0 + 300_000_000) == pytest.approx(30.0, abs=0.01)
        clock.advance(0.5)
        assert parse_elliptec_reply(lk.read_line(b"\n", timeout=2.0)) == ("0", "PO", "00008C00")
        assert fake.angle_deg == deg(90.0)
        assert fake.angle_at(t0 + 450_000_000) == pytest.approx(45.0, abs=0.01)  # history


def test_fake_status_codes_latch_until_read(fake: ElliptecFake) -> None:
    with link(fake) as lk:
        assert _raw(lk, b"0zz") == ("0", "GS", "03")  # not supported
        assert _raw(lk, b"0gs") == ("0", "GS", "03")  # latched ...
        assert _raw(lk, b"0gs") == ("0", "GS", "00")  # ... until read
        assert _raw(lk, b"0maXYZ12345") == ("0", "GS", "04")  # not a hex value
        assert _raw(lk, b"0sv00") == ("0", "GS", "04")  # velocity 0 %
        assert _raw(lk, b"0gs") == ("0", "GS", "04")
        assert _raw(lk, b"0gv") == ("0", "GV", "64")
        lk.write(b"1gs")  # another module's address: no answer
        with pytest.raises(DeviceTimeoutError):
            lk.read_line(b"\n", timeout=0.05)
        lk.write(b"0g")  # an incomplete command is dropped after the comm time-out
        deadline = time.monotonic() + 5.0
        while fake.status != 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _raw(lk, b"0gs") == ("0", "GS", "01")
        assert fake.commands[-1] == "gs"  # "0g" never became a command


def test_fake_stops_where_it_is() -> None:
    clock = ManualClock()
    with ElliptecFake(clock=clock, speed_deg_s=100.0) as fake, link(fake) as lk:
        lk.write(b"0mr00008C00")
        deadline = time.monotonic() + 2.0
        while not fake.moving and time.monotonic() < deadline:
            time.sleep(0.001)
        clock.advance(0.3)
        assert _raw(lk, b"0st") == ("0", "GS", "00")
        assert not fake.moving and fake.angle_deg == pytest.approx(30.0, abs=0.01)
        clock.advance(1.0)
        assert fake.angle_deg == pytest.approx(30.0, abs=0.01)


def test_sim_ticker_thread_drives_a_manual_clock_move() -> None:
    """A driver on simulated time: a ticker advances the fake's clock; the move completes."""
    clock = ManualClock()
    stop = threading.Event()

    def ticker() -> None:
        while not stop.is_set():
            clock.advance(0.01)
            stop.wait(0.001)

    with ElliptecFake(clock=clock) as fake:
        thread = threading.Thread(target=ticker, daemon=True)
        thread.start()
        try:
            with ElliptecRotator(link(fake), clock=clock) as rot:
                assert rot.move_to(135.0) == deg(135.0)
        finally:
            stop.set()
            thread.join()
    assert fake.moves[-1].end_ns <= clock.now_ns()


# ---------------------------------------------------------------------------------------------
# profile loader
# ---------------------------------------------------------------------------------------------
SRC = Path(__file__).parents[2] / "firmware_profiles/rotators/thorlabs-ell14.toml"


def test_the_shipped_profile() -> None:
    assert PROFILE.model == "ELL14" and PROFILE.model_code == 14
    assert PROFILE.pulses_per_rev == 143360 and PROFILE.travel_deg == 360
    assert PROFILE.baudrate == 9600 and PROFILE.protocol == "elliptec"
    assert load_rotator_profile(SRC) == PROFILE


@pytest.mark.parametrize(("old", "new", "key"), [
    ("pulses_per_rev = 143360", "pulses_per_rev = 0", "motion.pulses_per_rev"),
    ("pulses_per_rev = 143360", "pulses_per_rev = 143360.5", "motion.pulses_per_rev"),
    ("speed_deg_s = 430.0", "speed_deg_s = -1.0", "motion.speed_deg_s"),
    ("speed_deg_s = 430.0", 'speed_deg_s = "fast"', "motion.speed_deg_s"),
    ("settle_s = 0.05", "", "motion.settle_s"),
    ("[motion]", "[motion]\nclamp = true", "motion.clamp"),
    ('protocol = "elliptec"', 'protocol = "apt"', "rotator.protocol"),
    ('name = "thorlabs-ell14"', 'name = "Thorlabs ELL14"', "rotator.name"),
    ("model_code = 14", "model_code = 300", "rotator.model_code"),
    ("travel_deg = 360", "travel_deg = 720", "motion.travel_deg"),
    ("baudrate = 9600", "baudrate = true", "rotator.baudrate"),
    ("[rotator]", "[extra]\n[rotator]", "extra"),
])
def test_profile_errors_name_the_key(tmp_path: Path, old: str, new: str, key: str) -> None:
    text = SRC.read_text()
    assert old in text
    bad = tmp_path / "rotator-x.toml"
    bad.write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError) as exc:
        load_rotator_profile(bad)
    assert exc.value.key == key


def test_unknown_profile_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_rotator_profile("nonesuch")
    assert "thorlabs-ell14" in exc.value.allowed
    bad = tmp_path / "broken.toml"
    bad.write_text("[rotator\n")
    with pytest.raises(ConfigError, match="TOML"):
        load_rotator_profile(bad)


def test_a_late_reply_pending_before_a_move_is_not_taken_for_its_end(
        fake: ElliptecFake, rot: ElliptecRotator) -> None:
    rot.open()
    assert rot.move_to(45.0) == deg(45.0)
    fake.inject(b"0PO00000000\r\n", now=True)  # a duplicated / late PO (position 0)
    time.sleep(0.02)
    assert rot.move_to(90.0) == deg(90.0)  # the move's own PO, not the stale one
    assert rot.state == "ready" and rot.fault_counts["stale_input_discarded"] == 1
    assert fake.angle_deg == deg(90.0)


def test_after_a_replug_the_position_is_read_back_not_assumed(
        fake: ElliptecFake, rot: ElliptecRotator) -> None:
    rot.open()
    assert rot.move_to(45.0) == deg(45.0)
    fake.unplug()
    with fake._lock:  # turned by hand meanwhile (the fake's history restarts there)
        fake.moves.clear()
        fake.position_p = round(100.0 * fake.pulses_per_rev / 360.0)
    fake.replug()
    with pytest.raises(DeviceLostError):
        rot.move_to(90.0)  # finds the old port gone
    assert rot.move_to(90.0) == deg(90.0)  # from the position read back, not the cached 45°
    assert rot.state == "ready" and fake.angle_deg == deg(90.0)
