"""The shipped trigger-sensor contract (:mod:`lanecam.testing.serial_contract`) on every
driver and its firmware fake, plus each driver's own multi-object and model checks.

The drivers talk to the fakes through real pseudo-terminals (the OS serial layer): open,
configure, stream, garbage, silence, unplug and replug.
"""

from __future__ import annotations

from typing import Any

import pytest

from lanecam.devices.fakes import BenewakeFake, OPS243Fake
from lanecam.devices.sensors import (
    TF02_PRO,
    TF_LUNA,
    BenewakeLidar,
    LidarReading,
    OPS243Radar,
    RadarReading,
    RadarSettings,
)
from lanecam.devices.serial_link import SerialLink
from lanecam.errors import DeviceTimeoutError
from lanecam.testing import SerialSensorContract, read_until

Rig = tuple[Any, Any]  # (firmware fake, driver)


@pytest.mark.parametrize("model", ["OPS243-A", "OPS243-C"])
class TestRadarContract(SerialSensorContract):
    expected = 12.5

    @pytest.fixture(autouse=True)
    def _model(self, model: str) -> None:
        self.model = model

    def fake(self) -> OPS243Fake:
        return OPS243Fake(self.model)

    def make(self, port: str) -> OPS243Radar:
        link = SerialLink(port, baudrate=19200, timeout=0.5)
        return OPS243Radar(link, model=self.model)  # type: ignore[arg-type]

    def place_target(self, fake, range_m: float) -> None:  # type: ignore[no-untyped-def]
        fake.set_target(12.5, range_m)

    def value(self, reading: RadarReading) -> float | None:
        return reading.speed_mps

    def assert_reconfigured(self, fake) -> None:  # type: ignore[no-untyped-def]
        assert fake.json_output and fake.units == "UM" and fake.sampling_rate == 20000
        assert fake.reports == 2

    @pytest.mark.parametrize("as_json", [True, False], ids=["json", "plain"])
    def test_several_objects_strongest_first_capped_at_n(self, as_json: bool) -> None:
        from lanecam.devices.fakes import RadarTarget

        # magnitudes: the far truck returns more than the near car (order is by magnitude,
        # not range); a third object is beyond the n = 2 the driver sets
        with OPS243Fake(self.model) as fake:
            fake.set_targets([RadarTarget(11.0, 12.0, magnitude=50.0),
                              RadarTarget(9.0, 25.0, magnitude=80.0),
                              RadarTarget(7.0, 31.0, magnitude=10.0)])
            radar = OPS243Radar(SerialLink(fake.port, timeout=0.5),
                                model=self.model,  # type: ignore[arg-type]
                                settings=RadarSettings(json=as_json))
            with radar:
                s = read_until(radar, lambda r: bool(r.speeds))
                assert s.speeds == (9.0, 11.0)
                if self.model == "OPS243-C":
                    r = read_until(radar, lambda r: bool(r.ranges))
                    assert r.ranges == (25.0, 12.0)

    def test_two_objects_at_one_speed_share_one_doppler_peak(self) -> None:
        from lanecam.devices.fakes import RadarTarget

        # a tailgating pair at 25 mph: one speed peak, two ranges (nearer = stronger)
        with OPS243Fake(self.model) as fake:
            fake.set_targets([RadarTarget(11.18, 30.5), RadarTarget(11.18, 20.0)])
            radar = OPS243Radar(SerialLink(fake.port, timeout=0.5),
                                model=self.model)  # type: ignore[arg-type]
            with radar:
                s = read_until(radar, lambda r: bool(r.speeds))
                assert s.speeds == (11.18,)
                if self.model == "OPS243-C":
                    r = read_until(radar, lambda r: bool(r.ranges))
                    assert r.ranges == (20.0, 30.5)

    def test_one_report_per_measurement_keeps_the_single_object_form(self) -> None:
        from lanecam.devices.fakes import RadarTarget

        with OPS243Fake(self.model) as fake:
            fake.set_targets([RadarTarget(-6.0, 8.0), RadarTarget(11.0, 20.0)])
            link = SerialLink(fake.port, timeout=0.5)
            radar = OPS243Radar(link, model=self.model,  # type: ignore[arg-type]
                                settings=RadarSettings(reports=1))
            with radar:
                # the stronger (nearer) object is outbound and filtered: the next one reports
                s = read_until(radar, lambda r: bool(r.speeds))
                assert s.speeds == (11.0,)
                assert fake.reports == 1

    def test_fake_aliases_without_the_drivers_sampling_rate(self) -> None:
        # why the driver must select 20 ksps: at the 10 ksps power-on rate, 40 m/s wraps
        with OPS243Fake(self.model) as fake:
            fake.set_target(40.0, 10.0)
            link = SerialLink(fake.port, timeout=0.5)
            with link:
                line = link.read_line(timeout=1.0)
                assert abs(float(line)) < 31.2
            link = SerialLink(fake.port, timeout=0.5)
            radar = OPS243Radar(link, model=self.model)  # type: ignore[arg-type]
            with radar:
                r = read_until(radar, lambda r: r.speed_mps is not None)
                assert r.speed_mps == pytest.approx(40.0)

    def test_range_reports_on_the_c_model(self) -> None:
        with OPS243Fake(self.model) as fake:
            fake.set_target(10.0, 23.4)
            radar = OPS243Radar(SerialLink(fake.port, timeout=0.5),
                                model=self.model,  # type: ignore[arg-type]
                                settings=RadarSettings(json=False))
            with radar:
                readings = [radar.read(timeout=1.0) for _ in range(6)]
            ranges = [r.range_m for r in readings if r.range_m is not None]
            if self.model == "OPS243-C":
                assert ranges and all(x == pytest.approx(23.4) for x in ranges)
            else:
                assert not ranges

    def test_outbound_targets_are_filtered(self) -> None:
        with OPS243Fake(self.model) as fake:
            fake.set_target(-8.0, 10.0)
            link = SerialLink(fake.port, timeout=0.5)
            radar = OPS243Radar(link, model=self.model)  # type: ignore[arg-type]
            with radar, pytest.raises(DeviceTimeoutError):
                for _ in range(50):
                    r = radar.read(timeout=0.3)
                    assert r.speed_mps is None, r


@pytest.mark.parametrize("model", [TF_LUNA, TF02_PRO], ids=lambda m: m.name)
class TestLidarContract(SerialSensorContract):
    expected = 3.0

    @pytest.fixture(autouse=True)
    def _model(self, model) -> None:  # type: ignore[no-untyped-def]
        self.model = model

    def fake(self) -> BenewakeFake:
        return BenewakeFake(self.model.name)

    def make(self, port: str) -> BenewakeLidar:
        return BenewakeLidar(SerialLink(port, timeout=0.5), model=self.model, frame_rate_hz=200)

    def place_target(self, fake, range_m: float) -> None:  # type: ignore[no-untyped-def]
        fake.set_target(range_m, strength=1200)

    def value(self, reading: LidarReading) -> float | None:
        return reading.range_m if reading.reliable else None

    def assert_reconfigured(self, fake) -> None:  # type: ignore[no-untyped-def]
        assert fake.frame_rate_hz == 200

    def test_truncated_and_corrupted_frames_lose_only_themselves(self, rig: Rig) -> None:
        fake, sensor = rig
        sensor.read(timeout=1.0)
        c0 = sensor.link.counters.snapshot()
        fake.truncate_next = 1
        fake.corrupt_next = 1
        for _ in range(6):
            assert sensor.read(timeout=1.0).range_m == pytest.approx(3.0)
        c1 = sensor.link.counters
        assert c1.checksum_errors + c1.garbage_bytes > c0.checksum_errors + c0.garbage_bytes

    def test_no_target_reads_unreliable(self, rig: Rig) -> None:
        fake, sensor = rig
        fake.set_target(None)
        r = read_until(sensor, lambda r: not r.reliable)
        assert not r.reliable
