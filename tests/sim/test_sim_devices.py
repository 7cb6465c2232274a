"""The simulated radar, lidar, loop and strobe controller: firmware fakes on real ptys, fed
by the world, read by the production drivers."""

from __future__ import annotations

import threading

import pytest
from sim_helpers import SCALE, simple_world, with_camera

from lanecam.clock import MONOTONIC, ManualClock
from lanecam.devices.cameras import Trigger
from lanecam.devices.illuminators import GardasoftRT
from lanecam.devices.rotators import ElliptecRotator
from lanecam.devices.sensors import TF02_PRO, BenewakeLidar, LoopDetector, OPS243Radar
from lanecam.devices.serial_link import SerialLink
from lanecam.errors import ConfigError, DeviceTimeoutError, ProtocolError
from lanecam.sim import SimCamera, Sun
from lanecam.sim.devices import SimDevices

SPEED = 2.2352  # 5 mph: pty latency moves the car by millimetres only


def test_radar_and_lidar_report_the_world() -> None:
    world = simple_world(speed_mps=SPEED, start_range_m=30.0)
    epoch = MONOTONIC.now_ns()
    kin = world.vehicles[0].kinematics
    with SimDevices(world, clock=MONOTONIC, epoch_ns=epoch) as dev:
        radar = OPS243Radar(SerialLink(dev.ports["radar"], timeout=0.5), model="OPS243-C")
        lidar = BenewakeLidar(SerialLink(dev.ports["lidar"], timeout=0.5), model=TF02_PRO)
        with radar, lidar:
            speed = rng = None
            for _ in range(40):
                r = radar.read(timeout=1.0)
                speed = r.speed_mps if r.speed_mps is not None else speed
                if r.range_m is not None:  # the -C reports speed and range lines
                    t = (r.t_ns - epoch) / 1e9
                    rng = r.range_m
                    assert rng == pytest.approx(kin.range_at(t), abs=0.5)
                if speed is not None and rng is not None:
                    break
            assert speed == pytest.approx(SPEED, abs=0.1) and rng is not None
            dev.radar.inject(b"\x00\xffgarbage\r\n")  # line noise: refused, then data again
            for _ in range(40):
                try:
                    r = radar.read(timeout=1.0)
                except ProtocolError:
                    continue
                if r.speed_mps is not None:
                    break
            assert r.speed_mps == pytest.approx(SPEED, abs=0.1)
            ranges = []
            for _ in range(5):
                rd = lidar.read(timeout=1.0)
                t = (rd.t_ns - epoch) / 1e9
                assert rd.reliable and rd.range_m == pytest.approx(kin.range_at(t), abs=0.5)
                ranges.append(rd.range_m)
            assert ranges[-1] <= ranges[0]
            dev.lidar.silent = True  # a sensor dropout
            with pytest.raises(DeviceTimeoutError):
                for _ in range(20):
                    lidar.read(timeout=0.2)


def test_loop_detector_sees_the_vehicle_pass() -> None:
    clock = ManualClock()
    world = simple_world(speed_mps=5.0, start_range_m=20.0)
    dev = SimDevices(world, clock=clock, loop_station_m=8.0, loop_length_m=2.0)
    loop = LoopDetector(dev.loop, debounce_s=0.02, clock=clock)
    edges = []
    for _ in range(500):
        clock.advance(0.01)
        edge = loop.poll()
        if edge is not None:
            edges.append(edge)
    length = world.vehicles[0].vclass.length_m
    assert [e.present for e in edges] == [True, False]
    assert edges[0].t_ns / 1e9 == pytest.approx((20.0 - 10.0) / 5.0, abs=0.02)
    assert edges[1].t_ns / 1e9 == pytest.approx((20.0 - 8.0 + length) / 5.0, abs=0.02)


def test_camera_exposure_fires_the_strobe_controller_at_night() -> None:
    clock = ManualClock()
    world = simple_world(sun=Sun(-20.0, 0.0), start_range_m=16.0)
    with SimDevices(world, clock=clock) as dev:
        cam = SimCamera(world, scale=SCALE, clock=clock, epoch_ns=0)
        cam.illumination_source = dev.strobe_source(cam, channel=1)
        illum = GardasoftRT(SerialLink(dev.ports["illuminator"], timeout=0.5), channels=(1,))
        with cam, illum:
            cam.configure({"exposure_time": 400e-6, "gain": 24.0})
            cam.arm(Trigger.software())

            def shot() -> float:
                clock.advance(0.1)
                cam.trigger()
                with cam.grab(1.0) as f:
                    truth = cam.ground_truth(f.meta.frame_number)
                    return float(f.array.mean()), truth.illumination_mode

            dark, mode = shot()  # the driver switched every output off on open
            assert mode == "off"
            # one batch: LineMode's entries depend on LineSelector, and LineSource is writable
            # only on an output (SFNC); configure range-checks those at their write
            illum.strobe_from_camera(cam, pulse_width_s=300e-6, brightness=1.0,
                                     max_rate_hz=5.0)
            assert cam.line_output("Line2") == "ExposureActive"
            lit, mode = shot()
            assert mode == "strobe" and lit > dark + 1.0
            assert len(dev.illuminator.pulses) == 1
            cam.trigger()  # too soon for the 5 Hz retrigger limit: the controller refuses
            with cam.grab(1.0) as f:
                assert cam.ground_truth(f.meta.frame_number).illumination_mode == "off"
            dev.illuminator.inject_fault()  # over-temperature: outputs off
            assert shot()[1] == "off"


def test_sensors_on_simulated_time_follow_the_clock() -> None:
    """With a ManualClock the lane advances time (here a ticker thread); the fakes report on
    that time base, so every reading matches the world at its own timestamp."""
    clock = ManualClock()
    world = simple_world(speed_mps=10.0, start_range_m=30.0)
    stop = threading.Event()

    def ticker() -> None:
        while not stop.is_set():
            clock.advance(0.01)
            stop.wait(0.005)

    with SimDevices(world, clock=clock) as dev:
        thread = threading.Thread(target=ticker, daemon=True)
        thread.start()
        try:
            radar = OPS243Radar(SerialLink(dev.ports["radar"], timeout=0.5), model="OPS243-C",
                                clock=clock)
            with radar:
                readings = [radar.read(timeout=1.0) for _ in range(8)]
        finally:
            stop.set()
            thread.join()
    kin = world.vehicles[0].kinematics
    ranges = [(r.t_ns / 1e9, r.range_m) for r in readings if r.range_m is not None]
    assert len(ranges) >= 3
    for t, rng in ranges:  # stamped at most one tick (0.1 m at 10 m/s) after the report
        assert kin.range_at(t) - 0.01 <= rng <= kin.range_at(t) + 0.11
    assert all(r.speed_mps == pytest.approx(10.0) for r in readings if r.speed_mps is not None)


def _mod180(deg: float) -> float:
    """Signed distance of an analyzer angle from 0 modulo 180° (a polarizer's period)."""
    return (deg + 90.0) % 180.0 - 90.0


def test_rotator_angle_reaches_the_image() -> None:
    """The Elliptec driver turns the fake mount; the camera renders each frame through the
    angle the mount physically has at exposure start: windshield glare (s-polarized, i.e.
    horizontal) passes at 0° and is blocked at 90°."""
    world = with_camera(simple_world(sun=Sun(14.0, 175.0, "clear", 0.75), polarizer="rotatable",
                                     speed_mps=0.2), height_m=1.3, pitch_deg=1.0)
    epoch = MONOTONIC.now_ns()
    with SimDevices(world, clock=MONOTONIC, epoch_ns=epoch, rotators=("cam0",)) as dev:
        assert set(dev.ports) >= {"radar", "lidar", "illuminator", "rotator:cam0"}
        cam = SimCamera(world, scale=SCALE, clock=MONOTONIC, epoch_ns=epoch,
                        polarizer_source=dev.polarizer_source("cam0", offset_deg=20.0))
        rot = ElliptecRotator(SerialLink(dev.ports["rotator:cam0"], baudrate=9600, timeout=0.5),
                              offset_deg=20.0)
        with cam, rot:
            cam.configure({"exposure_time": 300e-6, "gain": 6.0})
            cam.arm(Trigger.software())

            def shot(angle: float):  # type: ignore[no-untyped-def]
                assert _mod180(rot.move_to(angle) - angle) == pytest.approx(0.0, abs=0.01)
                cam.trigger()
                with cam.grab(2.0) as f:
                    return cam.ground_truth(f.meta.frame_number)

            s_pass = shot(0.0)
            p_pass = shot(90.0)
            assert dev.rotators["cam0"].angle_deg == pytest.approx(70.0, abs=0.01)  # mechanical
    assert _mod180(s_pass.polarizer_deg) == pytest.approx(0.0, abs=0.01)
    assert _mod180(p_pass.polarizer_deg - 90.0) == pytest.approx(0.0, abs=0.01)
    gs = [f.glare_fraction for f in s_pass.faces]
    gp = [f.glare_fraction for f in p_pass.faces]
    assert gs and all(a > 0.2 for a in gs)
    assert all(b < a / 4 for a, b in zip(gs, gp, strict=True))


def test_no_rotators_unless_asked_and_only_for_known_cameras() -> None:
    world = simple_world(polarizer="rotatable")
    dev = SimDevices(world)
    assert dev.rotators == {} and set(dev.ports) == {"radar", "lidar", "illuminator"}
    with pytest.raises(ConfigError):
        dev.polarizer_source("cam0")
    with pytest.raises(ConfigError):
        SimDevices(world, rotators=("cam9",))


def test_a_frame_exposed_mid_move_sees_the_intermediate_angle() -> None:
    clock = ManualClock()
    world = simple_world(polarizer="rotatable", speed_mps=0.2)
    with SimDevices(world, clock=clock, rotators=("cam0",)) as dev:
        fake = dev.rotators["cam0"]
        cam = SimCamera(world, scale=SCALE, clock=clock, epoch_ns=0)
        cam.polarizer_source = dev.polarizer_source(cam)  # the rotator in front of this camera
        with cam, SerialLink(dev.ports["rotator:cam0"], baudrate=9600, timeout=0.5) as lk:
            cam.arm(Trigger.software())
            lk.write(b"0ma00008C00")  # Elliptec absolute move 0 → 90°
            nap = threading.Event()
            for _ in range(2000):  # the fake's thread picks the command up within a tick
                if fake.moving:
                    break
                nap.wait(0.001)
            assert fake.moving
            move = fake.moves[-1]
            clock.advance((move.arrive_ns - move.start_ns) / 2e9)
            cam.trigger()
            with cam.grab(1.0) as f:
                truth = cam.ground_truth(f.meta.frame_number)
    assert truth.polarizer_deg == pytest.approx(45.0, abs=0.5)
