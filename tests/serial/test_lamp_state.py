"""The lamp state the driver reports is the controller's: regressions for the three fault
findings, and the invariant under injected wire faults (Hypothesis, on the real pty fake).

Invariant, after every driver call: the driver's reported state equals the fake controller's
true state, or the driver is ``faulted`` and the fake's owned outputs are dark.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from fuzz_counts import COUNTS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lanecam.devices.fakes import ChannelState, GardasoftRTFake
from lanecam.devices.fakes.reply_faults import FAULT_KINDS
from lanecam.devices.illuminators import GardasoftRT
from lanecam.devices.serial_link import SerialLink
from lanecam.errors import DeviceLostError, DeviceTimeoutError, LanecamError

TIMEOUT_S = 0.1  # the driver's read timeout (s)
LATE_S = 0.15  # a delayed reply arrives this long after its command (s): past the timeout
LATENCY_S = 0.005  # the controller executes and answers a line this long after it arrives (s)
LIT = {1: ChannelState("pulse", 100.0, 1.0, 0.0, 100.0), 2: ChannelState("continuous", 40.0)}
PULSE = {"width_s": 0.001, "brightness": 1.0, "max_rate_hz": 10.0}  # 1 ms, 100 %, <= 10 Hz


@pytest.fixture
def lamp() -> Iterator[tuple[GardasoftRTFake, GardasoftRT]]:
    with GardasoftRTFake(2, power_on=LIT, power_on_prompt=b"\r\n>",
                         boot_ignore_lines=1) as fake:
        fake.faults.delay_s = LATE_S
        il = GardasoftRT(SerialLink(fake.port, timeout=TIMEOUT_S), channels=(1, 2))
        yield fake, il
        il.close()


def _truth(fake: GardasoftRTFake, channels: tuple[int, ...]) -> dict[int, ChannelState]:
    with fake._lock:
        return {c: ChannelState(s.mode, s.brightness, s.pulse_ms, s.delay_ms, s.retrigger_ms)
                for c, s in fake.state.items() if c in channels}


def _state_of(truth: dict[int, ChannelState]) -> str:
    modes = {s.mode for s in truth.values() if s.brightness > 0}
    return "off" if not modes else modes.pop() if len(modes) == 1 else "mixed"


def check_invariant(fake: GardasoftRTFake, il: GardasoftRT) -> None:
    """Reported state == true state, or faulted with every owned output dark."""
    truth = _truth(fake, il.channels)
    if il.state == "faulted":
        assert not any(s.emitting for s in truth.values()), truth
        return
    assert il.state == _state_of(truth), (il.state, truth)
    if il.state == "pulse":
        assert il.setting is not None
        for s in truth.values():
            assert s.pulse_ms == pytest.approx(il.setting.width_s * 1e3)
            assert s.brightness == pytest.approx(il.setting.brightness * 100)


# ---------------------------------------------------------------------------------------------
# the three findings, one regression each
# ---------------------------------------------------------------------------------------------
def test_stray_prompt_before_off_is_not_taken_for_the_reply(lamp) -> None:  # type: ignore[no-untyped-def]
    fake, il = lamp
    il.open()
    il.set_pulse(**PULSE)
    fake.inject(b">")  # after a power glitch or a line echo
    time.sleep(0.02)  # it has arrived before off() starts
    il.off()
    assert not fake.emitting(), "off() returned while the controller was still pulsing"
    assert il.state == "off" and il.fault_counts["stale_input_discarded"] >= 1
    check_invariant(fake, il)


def test_late_reply_after_a_timeout_does_not_desynchronise_the_next_commands(lamp) -> None:  # type: ignore[no-untyped-def]
    fake, il = lamp
    il.open()
    fake.faults.schedule("delay")  # the next reply (GR's) arrives after the driver gave up
    with pytest.raises(DeviceTimeoutError):
        il.read_error()
    assert il.state == "faulted" and not fake.emitting()
    assert il.read_error() == 0  # before: "GR returned []"
    assert il.read_error() == 0
    il.set_continuous(0.3)
    assert il.state == "continuous" and fake.state[1].brightness == 30
    check_invariant(fake, il)


def test_late_reply_to_a_command_is_tolerated_and_the_read_back_decides(lamp) -> None:  # type: ignore[no-untyped-def]
    fake, il = lamp
    il.open()
    before = il.fault_counts["command_reply_unexpected"]
    fake.faults.schedule("delay", 1)  # the reply to the command itself (after the VR resync)
    il.set_continuous(0.3)
    assert il.state == "continuous"
    assert il.fault_counts["command_reply_unexpected"] == before + 1
    assert il.read_error() == 0
    check_invariant(fake, il)


def test_replug_powers_up_lit_and_the_first_action_is_a_verified_off(lamp) -> None:  # type: ignore[no-untyped-def]
    fake, il = lamp
    il.open()  # the first power-on already lost the first line and printed a prompt
    assert il.state == "off" and not fake.emitting()
    il.set_pulse(**PULSE)
    fake.unplug()
    fake.replug()  # powers up lit, prints a prompt, loses the first line while booting
    assert fake.emitting()
    n = len(fake.lines)
    with pytest.raises(DeviceLostError):  # the old port is gone: found on the next call
        il.read_error()
    assert il.read_error() == 0  # reconnects first
    assert il.state == "off" and not fake.emitting()
    assert fake.lines[n].startswith("RS1,0")  # off is the first thing sent after the replug
    assert il.readback and all(r.brightness == 0 for r in il.readback.values())
    assert il.fault_counts["off_not_confirmed"] >= 1  # the lost off was caught by read-back
    check_invariant(fake, il)


def test_a_replaced_controller_is_learnt_again_after_the_replug(lamp) -> None:  # type: ignore[no-untyped-def]
    fake, il = lamp
    il.open()
    assert il.version == "RT260-20 (HW02) V031"
    fake.unplug()
    fake.version = "RT460-20 (HW03) V040"  # another unit behind the same port
    fake.replug()
    with pytest.raises(DeviceLostError):
        il.read_error()
    assert il.read_error() == 0
    assert il.version == "RT460-20 (HW03) V040" and il.state == "off" and not fake.emitting()


def test_a_controller_that_stays_silent_ends_faulted_and_says_so(lamp) -> None:  # type: ignore[no-untyped-def]
    fake, il = lamp
    il.open()
    il.set_continuous(0.3)
    fake.mute = True
    with pytest.raises(DeviceTimeoutError) as exc:
        il.off()
    assert il.state == "faulted"
    assert any("also failed" in n for n in exc.value.__notes__)
    fake.mute = False
    il.off()
    assert il.state == "off" and not fake.emitting()


# ---------------------------------------------------------------------------------------------
# the invariant under injected faults
# ---------------------------------------------------------------------------------------------
Op = Callable[[GardasoftRT], object]
OPS: dict[str, Op] = {
    "off": lambda il: il.off(),
    "pulse": lambda il: il.set_pulse(**PULSE),
    "continuous": lambda il: il.set_continuous(0.3),
    "switched": lambda il: il.set_switched(0.5, max_pulse_width_s=0.001, max_rate_hz=30),
    "test_trigger": lambda il: il.test_trigger(),
    "read_error": lambda il: il.read_error(),
}
#: (kind, command line of the call it hits); "unsolicited" = a stray prompt sent before the call
FAULT = st.tuples(st.sampled_from((*FAULT_KINDS, "unsolicited")), st.integers(0, 3))
STEP = st.tuples(st.sampled_from(sorted(OPS)), st.lists(FAULT, max_size=2))
EXAMPLES = 60


def test_reported_state_is_the_controllers_under_injected_wire_faults() -> None:
    applied: Counter[str] = Counter()

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(STEP, min_size=1, max_size=3))
    def prop(steps: list[tuple[str, list[tuple[str, int]]]]) -> None:
        COUNTS["lamp state under wire faults"] += 1
        with GardasoftRTFake(2, power_on=LIT) as fake:
            fake.faults.delay_s = LATE_S
            fake.latency_s = LATENCY_S
            il = GardasoftRT(SerialLink(fake.port, timeout=TIMEOUT_S), channels=(1, 2))
            il.open()
            check_invariant(fake, il)
            for op, faults in steps:
                for kind, line in faults:
                    if kind == "unsolicited":
                        fake.inject(b"\r\n>")
                        applied[kind] += 1
                    else:
                        fake.faults.schedule(kind, line)
                try:
                    OPS[op](il)
                except LanecamError:
                    pass  # a refusal or a fault: the invariant says what must hold
                check_invariant(fake, il)
            applied.update(kind for _, kind in fake.faults.applied)
            il.link.close()

    prop()
    # not vacuous: every kind of fault reached the wire (18 delay, 25 duplicate, 22 ignore,
    # 6 stray, 10 stray_after, 6 truncate, 7 unsolicited with Hypothesis 6.170, 60 examples)
    assert set(applied) == {*FAULT_KINDS, "unsolicited"}, applied
