"""Per-frame settings held by the camera (a sequencer): the SimCamera's, through the Camera
policy layer, and the pylon emulator's absence of one."""

from __future__ import annotations

import pytest

from lanecam.devices.cameras import Trigger
from lanecam.errors import ConfigError, LimitError, UnsupportedFeatureError
from lanecam.sim.camera import SimCamera
from lanecam.sim.scenario import load_scenario


@pytest.fixture()
def cam():  # type: ignore[no-untyped-def]
    sc = load_scenario("clear_noon")
    c = SimCamera(sc.world, sc.world.cameras[0].name, scale=0.1, buffer_count=8)
    c.open()
    yield c
    c.close()


def test_each_frame_is_exposed_with_its_step_and_the_last_step_holds(cam) -> None:  # type: ignore[no-untyped-def]
    cam.configure({"exposure_time": 4e-4, "gain": 6.0})
    cam.arm(Trigger.software())
    cam.program_sequence([{"exposure_time": 2e-4}, {"exposure_time": 3e-4, "gain": 12.0}])
    got = []
    for _ in range(4):
        cam.trigger()
        with cam.grab(timeout_s=2.0) as f:
            truth = cam.ground_truth(f.meta.frame_number)
            got.append((f.meta.exposure_s, f.meta.gain_db, truth.exposure_s, truth.gain_db))
    assert [(round(e * 1e6), g) for e, g, _, _ in got] == [(200, 6.0), (300, 12.0), (300, 12.0),
                                                          (300, 12.0)]
    # the metadata tells what the frame was really exposed with (the renderer's truth)
    assert all(e == pytest.approx(te) and g == pytest.approx(tg) for e, g, te, tg in got)
    cam.clear_sequence()
    cam.trigger()
    with cam.grab(timeout_s=2.0) as f:
        assert f.meta.exposure_s == pytest.approx(4e-4) and f.meta.gain_db == 6.0


def test_steps_are_checked_before_anything_is_programmed(cam) -> None:  # type: ignore[no-untyped-def]
    cam.configure({"exposure_time": 4e-4})
    cam.arm(Trigger.software())
    with pytest.raises(LimitError):  # out of the live range: the whole sequence is refused
        cam.program_sequence([{"exposure_time": 2e-4}, {"exposure_time": 50.0}])
    with pytest.raises(ConfigError):
        cam.program_sequence([{"pixel_format": "Mono8"}])
    with pytest.raises(LimitError):
        cam.program_sequence([])
    cam.trigger()
    with cam.grab(timeout_s=2.0) as f:  # nothing was programmed
        assert f.meta.exposure_s == pytest.approx(4e-4)


@pytest.mark.emulator
def test_the_pylon_emulator_has_no_sequencer() -> None:
    from lanecam.devices.cameras import open_camera

    with open_camera("pylon:0815-0000") as c:
        with pytest.raises(UnsupportedFeatureError):
            c.program_sequence([{"exposure_time": 1e-3}])
        c.clear_sequence()  # nothing to clear: no error
