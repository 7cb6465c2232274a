"""Exact byte exchanges of the Gardasoft RT driver: every command, error and fault path.

Every state change is ``VR`` (resync: the version), the command, ``ST<c>`` (read-back: the
state reported); open and reconnect send off first, then resync and read back."""

from __future__ import annotations

import pytest

from lanecam.devices.illuminators import GardasoftRT
from lanecam.errors import DeviceError, DeviceTimeoutError, LimitError, ProtocolError
from lanecam.testing import expected_exchange

VER = b"RT260-20 (HW02) V031\r\n>"
SYNC = (b"VR\r", VER)
OFF_CMD = (b"RS1,0\r", b">")
READ_OFF = (b"ST1\r", b"RS1,0\r\n>")
OPEN = [OFF_CMD, SYNC, READ_OFF]
OFF = [SYNC, OFF_CMD, READ_OFF]


def change(cmd: bytes, status: bytes) -> list[tuple[bytes | None, bytes | None]]:
    """The exchange of one state change: resync, ``cmd``, read-back answering ``status``."""
    return [SYNC, (cmd, b">"), (b"ST1\r", status + b"\r\n>")]


def test_open_switches_off_first() -> None:
    with expected_exchange(OPEN) as link:
        il = GardasoftRT(link)
        assert il.state == "off"
        il.open()
        assert il.state == "off"


def test_open_switches_every_owned_channel_off_in_one_line() -> None:
    pairs = [(b"RS1,0;RS2,0\r", b">"), SYNC, (b"ST1;ST2\r", b"RS1,0\r\nRS2,0\r\n>")]
    with expected_exchange(pairs) as link:
        GardasoftRT(link, channels=(1, 2)).open()


def test_identify() -> None:
    with expected_exchange([*OPEN, SYNC]) as link:
        il = GardasoftRT(link)
        il.open()
        assert il.identify() == "RT260-20 (HW02) V031"


def test_pulse_mode_wire_format() -> None:
    # 500 us at 300 %, 0.25 ms delay, <= 50 Hz -> retrigger 20 ms; duty 2.5 % (row: 10 ms/20 %)
    pairs = [*OPEN, *change(b"RT1,0.5,0.25,300,20\r", b"RT1,0.5,0.25,300,20")]
    with expected_exchange(pairs) as link:
        il = GardasoftRT(link)
        il.open()
        s = il.set_pulse(0.0005, 3.0, 50.0, delay_s=0.00025)
        assert il.state == "pulse"
        assert (s.width_s, s.brightness, s.min_period_s) == (0.0005, 3.0, 0.02)


def test_continuous_switched_and_test_trigger() -> None:
    pairs = [*OPEN, *change(b"RS1,40\r", b"RS1,40"), *change(b"RW1,50\r", b"RW1,50"),
             *change(b"RT1,0.1,0,100,10\r", b"RT1,0.1,0,100,10"), (b"TR1\r", b">")]
    with expected_exchange(pairs) as link:
        il = GardasoftRT(link)
        il.open()
        il.set_continuous(0.40)
        il.set_switched(0.50, max_pulse_width_s=0.001, max_rate_hz=60)
        il.set_pulse(0.0001, 1.0, 100)
        il.test_trigger()


def test_read_error_zero_is_not_a_fault() -> None:
    with expected_exchange([*OPEN, (b"GR\r", b"0\r\n>")]) as link:
        il = GardasoftRT(link)
        il.open()
        assert il.read_error() == 0
        assert il.state == "off"


def test_nonzero_error_code_switches_off() -> None:
    pairs = [*OPEN, *change(b"RT1,1,0,300,33.4\r", b"RT1,1,0,300,33.4"),
             (b"GR\r", b"149\r\n>"), *OFF]
    with expected_exchange(pairs) as link:
        il = GardasoftRT(link)
        il.open()
        il.set_pulse(0.001, 3.0, 30.0)
        assert il.read_error() == 149
        assert il.state == "faulted"


def test_controller_error_reply_raises_and_switches_off() -> None:
    pairs = [*OPEN, SYNC, (b"RT1,1,0,300,33.4\r", b"Err 4\r\n>"), *OFF]
    with expected_exchange(pairs) as link:
        il = GardasoftRT(link)
        il.open()
        with pytest.raises(DeviceError, match="overdrive limit") as exc:
            il.set_pulse(0.001, 3.0, 30.0)
        assert exc.value.feature == "Err 4"
        assert il.state == "faulted"


def test_reply_without_prompt_is_tolerated_and_the_read_back_decides() -> None:
    # the CR LF without a prompt times out; the link is out of step, so the resync first waits
    # for silence (draining the CR LF), then the read-back reports what the controller holds
    pairs = [*OPEN, SYNC, (b"RS1,30\r", b"\r\n"), SYNC, (b"ST1\r", b"RS1,30\r\n>")]
    with expected_exchange(pairs) as link:
        il = GardasoftRT(link)
        il.open()
        il.set_continuous(0.30)
        assert il.state == "continuous" and not il.unsynchronised
        assert il.fault_counts["command_reply_unexpected"] == 1


def test_silent_controller_is_a_timeout_fault_and_the_off_attempt_is_reported() -> None:
    # 3 resync rounds after the silent command, then the fault's off: 3 more, all silent
    pairs = [*OPEN, SYNC, (b"RS1,30\r", None), *[(b"VR\r", None)] * 6]
    with expected_exchange(pairs) as link:
        il = GardasoftRT(link)
        il.open()
        with pytest.raises(DeviceTimeoutError) as exc:
            il.set_continuous(0.30)
        notes = getattr(exc.value, "__notes__", [])
        assert any("switching" in n and "also failed" in n for n in notes)
        assert il.state == "faulted"
        assert il.fault_counts["DeviceTimeoutError"] == 1


def test_unexpected_text_reply_is_tolerated_when_the_read_back_confirms() -> None:
    pairs = [*OPEN, SYNC, (b"RS1,30\r", b"what?\r\n>"), SYNC, (b"ST1\r", b"RS1,30\r\n>")]
    with expected_exchange(pairs) as link:
        il = GardasoftRT(link)
        il.open()
        il.set_continuous(0.30)
        assert il.state == "continuous"
        assert il.fault_counts["command_reply_unexpected"] == 1


def test_read_back_that_differs_from_the_command_is_a_fault_and_off_is_verified() -> None:
    pairs = [*OPEN, *change(b"RS1,30\r", b"RS1,20"), *OFF]
    with expected_exchange(pairs) as link:
        il = GardasoftRT(link)
        il.open()
        with pytest.raises(ProtocolError) as exc:
            il.set_continuous(0.30)
        assert exc.value.feature == "readback"
        assert il.state == "faulted" and il.readback[1].brightness == 0


def test_stray_prompt_before_off_is_drained_and_off_is_read_back() -> None:
    # finding 1: a prompt arriving unasked before off() must not be taken as off's reply
    pairs = [*OPEN, *change(b"RS1,40\r", b"RS1,40"), (None, b"\r\n>"), *OFF]
    with expected_exchange(pairs) as link:
        il = GardasoftRT(link)
        il.open()
        il.set_continuous(0.40)
        il.off()
        assert il.state == "off" and il.readback[1].brightness == 0
        assert il.fault_counts["stale_input_discarded"] == 1


def test_close_switches_off() -> None:
    with expected_exchange([*OPEN, *change(b"RS1,40\r", b"RS1,40"), *OFF]) as link:
        il = GardasoftRT(link)
        il.open()
        il.set_continuous(0.40)
        il.close()
        assert il.state == "off" and not link.is_open


@pytest.mark.parametrize(("call", "match"), [
    (lambda il: il.set_pulse(0.002, 6.0, 10), "overdrive table"),      # 501-999 %: <= 1 ms
    (lambda il: il.set_pulse(0.001, 6.0, 60), "duty"),                 # 6 % > 5 %
    (lambda il: il.set_continuous(1.5), "continuous|overdrive"),      # > 100 % steady
    (lambda il: il.set_continuous(0.6), "IEC 62471"),                 # 120 W/m² > 100 steady
    (lambda il: il.set_pulse(0.005, 3.0, 40), "IEC 62471"),           # mean 20 % × 600 W/m²
    (lambda il: il.set_pulse(0.0005, 1.005, 30), "whole percent"),
    (lambda il: il.set_pulse(1.5, 1.0, 0.5), "range"),
    (lambda il: il.set_switched(2.0, 0.001, 30), "overdrive"),
])
def test_interlock_refusals_send_nothing(call, match) -> None:
    with expected_exchange(OPEN) as link:
        il = GardasoftRT(link)
        il.open()
        with pytest.raises(LimitError, match=match):
            call(il)
        assert il.state == "off"


def test_test_trigger_outside_pulse_mode_sends_nothing() -> None:
    with expected_exchange(OPEN) as link:
        il = GardasoftRT(link)
        il.open()
        with pytest.raises(DeviceError, match="pulse mode"):
            il.test_trigger()


def test_close_that_cannot_switch_off_raises_and_says_faulted() -> None:
    refused = [SYNC, (b"RS1,0\r", b"Err 3\r\n>")]
    # the refused off is a fault, and the fault handler tries off once more
    pairs = [*OPEN, *change(b"RS1,40\r", b"RS1,40"), *refused, *refused]
    with expected_exchange(pairs) as link:
        il = GardasoftRT(link)
        il.open()
        il.set_continuous(0.40)
        with pytest.raises(DeviceError, match="controller error 3") as exc:
            il.close()
        assert il.state == "faulted" and not link.is_open
        assert any("also failed" in n for n in exc.value.__notes__)


@pytest.mark.parametrize("rate", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_rates_are_limit_errors_without_io(rate: float) -> None:
    with expected_exchange(OPEN) as link:
        il = GardasoftRT(link)
        il.open()
        with pytest.raises(LimitError):
            il.set_pulse(0.001, 1.0, rate)
        with pytest.raises(LimitError):
            il.set_switched(0.5, 0.001, rate)
