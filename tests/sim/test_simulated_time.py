"""Deterministic simulated time: the SimulatedClock's turn-taking, the inline firmware port,
and a whole simulated lane giving byte-identical events run after run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading

import pytest

from lanecam.clock import SimulatedClock, is_cooperative
from lanecam.devices.fakes import OPS243Fake
from lanecam.devices.fakes.inline import InlinePort
from lanecam.devices.sensors import OPS243Radar
from lanecam.devices.serial_link import SerialLink


def test_members_take_turns_in_wake_order_and_first_come_on_ties() -> None:
    clock = SimulatedClock()
    log: list[tuple[str, int]] = []

    def worker(name: str, step_s: float, n: int):
        def run() -> None:
            for _ in range(n):
                log.append((name, clock.now_ns()))
                clock.sleep(step_s)
        return run

    threads = clock.start_threads([("a", worker("a", 0.003, 4)), ("b", worker("b", 0.002, 5))])
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
    # a at 0,3,6,9 ms; b at 0,2,4,6,8 ms; the tie at 6 ms goes to a, which queued first (at 3)
    assert log == [("a", 0), ("b", 0), ("b", 2_000_000), ("a", 3_000_000), ("b", 4_000_000),
                   ("a", 6_000_000), ("b", 6_000_000), ("b", 8_000_000), ("a", 9_000_000)]
    assert clock.members == 0 and clock.now_ns() == 12_000_000  # a last wakes at 12 ms
    assert is_cooperative(clock)


def test_only_one_member_runs_at_a_time() -> None:
    clock = SimulatedClock()
    inside = 0
    worst = 0
    lock = threading.Lock()

    def run() -> None:
        nonlocal inside, worst
        for _ in range(200):
            with lock:
                inside += 1
                worst = max(worst, inside)
            sum(range(2000))  # work that takes real time, none of the clock's
            with lock:
                inside -= 1
            clock.sleep(0.001)

    for t in clock.start_threads([(f"w{i}", run) for i in range(4)]):
        t.join(30)
    assert worst == 1
    assert clock.now_ns() == 200_000_000


def test_an_outsider_advances_the_clock_alone_and_follows_members() -> None:
    clock = SimulatedClock(start_ns=5)
    clock.sleep(0.5)
    assert clock.now_ns() == 500_000_005
    clock.advance(0.25)
    assert clock.now_ns() == 750_000_005
    with pytest.raises(ValueError):
        clock.advance(-1.0)


def test_inline_port_runs_the_radar_firmware_on_simulated_time() -> None:
    """The production radar driver configures the OPS243 fake and reads its reports through
    an InlinePort: the report is stamped with the simulated time it was emitted at."""
    clock = SimulatedClock()
    fake = OPS243Fake("OPS243-C", clock=clock).start_inline()
    fake.set_target(12.5, 30.0)
    factory = lambda url, **kw: InlinePort(fake, **kw)  # noqa: E731
    radar = OPS243Radar(SerialLink(fake.port, port_factory=factory, clock=clock),
                        model="OPS243-C", clock=clock)
    radar.open()
    t0 = clock.now_ns()
    reading = radar.read(1.0)
    assert reading.speed_mps == pytest.approx(12.5, abs=0.3)
    assert t0 < reading.t_ns == clock.now_ns()  # waiting for it moved simulated time
    assert b"OJ" in bytes(fake.received)  # the driver's settings reached the firmware
    radar.close()


def test_inline_port_of_an_unplugged_fake_is_a_lost_device() -> None:
    from lanecam.errors import DeviceLostError

    clock = SimulatedClock()
    fake = OPS243Fake("OPS243-C", clock=clock).start_inline()
    link = SerialLink(fake.port, port_factory=lambda url, **kw: InlinePort(fake, **kw),
                      clock=clock, timeout=0.05)
    link.open()
    fake.stop()
    with pytest.raises(DeviceLostError):
        link.read_line(timeout=0.05)


_RUN = textwrap.dedent("""
    import json, sys
    from lanecam.match.dlib_matcher import DlibMatcher
    from lanecam.sim.lane import document_templates, run_sim_lane
    m = DlibMatcher()
    run = run_sim_lane("tailgating_pair", m, templates=document_templates(m), scale=0.5)
    sys.stdout.write(json.dumps([e.to_dict() for e in run.events], sort_keys=True))
""")


@pytest.mark.timeout(600)
def test_same_scenario_same_bytes_in_another_process() -> None:
    """Run one scenario here and in a fresh interpreter (another hash seed, a busy CPU
    here): the event streams are byte-identical."""
    from lanecam.match.dlib_matcher import DlibMatcher
    from lanecam.sim.lane import document_templates, run_sim_lane

    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    proc = subprocess.Popen([sys.executable, "-c", _RUN], stdout=subprocess.PIPE, env=env)
    m = DlibMatcher()
    run = run_sim_lane("tailgating_pair", m, templates=document_templates(m), scale=0.5)
    here = json.dumps([e.to_dict() for e in run.events], sort_keys=True)
    there, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0
    assert len(run.events) == 2  # the pair: two vehicles, one event each
    assert here == there.decode()
