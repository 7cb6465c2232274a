"""One LaneConfig, one builder: strobe channels per camera from the config (validated), two
emulated cameras each strobing their own channel of the controller fake through
``build_lane``, the simulated lane described as a LaneConfig, and a 'sim' camera refused by
the hardware opener with a typed error."""

from __future__ import annotations

import contextlib
import tomllib

import pytest

from lanecam.config import parse_lane_config, strobe_channels
from lanecam.devices.fakes import BenewakeFake, GardasoftRTFake, LidarTarget
from lanecam.errors import ConfigError
from lanecam.lane.builder import build_lane
from lanecam.sim.devices import SimDevices
from lanecam.sim.lane import scenario_lane_config
from lanecam.sim.scenario import load_scenario

CAMERAS = """
[lane]
id = "two"
[[cameras]]
name = "driver"
device = "pylon:0815-0001"
{first}
[[cameras]]
name = "passenger"
device = "pylon:0815-0002"
lateral_m = 2.5
{second}
"""


def _cfg(first: str = "", second: str = "", tail: str = "") -> object:
    return parse_lane_config(tomllib.loads(CAMERAS.format(first=first, second=second) + tail))


def test_strobe_channels_come_from_the_config() -> None:
    ill = '\n[illuminator]\nurl = "/dev/null"\nmodel = "gardasoft-rt"\n'
    assert strobe_channels(_cfg(tail=ill)) == {0: 1}  # default: the first camera, channel 1
    both = _cfg("strobe_channel = 2", "strobe_channel = 1", ill)
    assert strobe_channels(both) == {0: 2, 1: 1}
    assert strobe_channels(_cfg()) == {}
    with pytest.raises(ConfigError) as err:
        _cfg("strobe_channel = 1", "strobe_channel = 1", ill)
    assert err.value.key == "cameras.strobe_channel"
    with pytest.raises(ConfigError) as err:
        _cfg("strobe_channel = 1")  # a channel without a controller
    assert err.value.key == "illuminator"
    with pytest.raises(ConfigError) as err:
        _cfg("strobe_channel = 17", tail=ill)
    assert err.value.key == "cameras[0].strobe_channel"


@pytest.mark.emulator
def test_two_emulated_cameras_each_strobe_their_own_channel() -> None:
    with GardasoftRTFake(2) as lamp, BenewakeFake("TF02-Pro", target=lambda: LidarTarget(30.0)) \
            as lidar, contextlib.ExitStack() as stack:
        cfg = _cfg("strobe_channel = 1\nexposure_s = 0.0008", "strobe_channel = 2\ngain_db = 6.0",
                   f'\n[capture]\nexposure_s = 0.0005\n[sensors]\n'
                   f'lidar = {{ url = "{lidar.port}", model = "tf02-pro" }}\n'
                   f'[illuminator]\nurl = "{lamp.port}"\nmodel = "gardasoft-rt"\n'
                   f'brightness = 0.5\n')
        lane = build_lane(cfg, None, None, stack)  # type: ignore[arg-type]
        a, b = lane.cameras
        assert a.illuminator is not None and a.illuminator.channels == (1,)
        assert b.illuminator is not None and b.illuminator.channels == (2,)
        # each channel pulses for its own camera's baseline exposure, at the configured level
        assert lamp.state[1].mode == lamp.state[2].mode == "pulse"
        assert lamp.state[1].pulse_ms == pytest.approx(0.8, abs=1e-3)
        assert lamp.state[2].pulse_ms == pytest.approx(0.5, abs=1e-3)
        assert lamp.state[1].brightness == lamp.state[2].brightness == pytest.approx(50.0)
        assert a.scheduler.timing.max_exposure_s == 0.0008 and b.gain_db == 6.0
        stack.close()
        assert not lamp.state[1].emitting and not lamp.state[2].emitting  # off on close


def test_a_sim_camera_needs_the_simulator() -> None:
    cfg = parse_lane_config(tomllib.loads(
        '[lane]\nid = "x"\n[[cameras]]\nname = "c"\ndevice = "sim"\n'))
    with contextlib.ExitStack() as stack, pytest.raises(ConfigError) as err:
        build_lane(cfg, None, None, stack)  # type: ignore[arg-type]
    assert err.value.key == "cameras[c].device"


def test_the_simulated_lane_is_a_lane_config() -> None:
    sc = load_scenario("night")  # strobed
    with SimDevices(sc.world, rotators=()) as dev:
        cfg = scenario_lane_config(sc, dev, control="bracket", frames=8, zone=(9.0, 22.0),
                                   rotatable=())
    (cam,) = cfg.cameras
    pose, settings = sc.world.cameras[0], sc.settings[sc.world.cameras[0].name]
    assert cam.device == "sim" and cam.station_m == pose.station_m
    assert (cam.exposure_s, cam.gain_db, cam.strobe_channel) == (settings.exposure_s,
                                                                 settings.gain_db, 1)
    assert cfg.illuminator is not None and cfg.illuminator.pulse_s == sc.illumination.pulse_s
    assert cfg.control.exposure and cfg.control.meter_rear and cfg.control.bracket_max_stops == 2
    assert cfg.radar is not None and cfg.radar.url == dev.ports["radar"]
    assert strobe_channels(cfg) == {0: 1}
