"""Camera fixtures over the real emulators: the pylon camera emulator and viky.cti."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lanecam.devices.cameras import Camera
from lanecam.devices.cameras import open_camera
from lanecam.devices.cameras.harvesters import HarvestersCamera, viky_cti
from lanecam.devices.cameras.pylon import PylonCamera

from emulated_cameras import PYLON_SERIALS, VIKY_SERIALS


def make_camera(backend: str, index: int = 0, config: pytest.Config | None = None) -> Camera:
    if backend.startswith("device:"):
        assert config is not None
        kwargs = {"cti": config.getoption("--cti")} if backend.startswith("device:harvesters") else {}
        return open_camera(backend.removeprefix("device:"), **kwargs)
    if backend == "pylon-emu":
        return PylonCamera(PYLON_SERIALS[index], device_class="BaslerCamEmu")
    if backend == "harvesters-viky":
        return HarvestersCamera(VIKY_SERIALS[index], cti=viky_cti())
    if backend == "sim":  # the lane simulator, ¼ scale, on simulated time
        from lanecam.clock import ManualClock
        from lanecam.sim import SimCamera, load_scenario

        return SimCamera(load_scenario("clear_noon").world, serial=f"sim-{index}", scale=0.25,
                         clock=ManualClock(), epoch_ns=0)
    raise ValueError(backend)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every contract test runs on both emulators and the simulator, plus each ``--camera``."""
    if "backend" in metafunc.fixturenames:
        real = [f"device:{c}" for c in metafunc.config.getoption("--camera")]
        metafunc.parametrize("backend", ["pylon-emu", "harvesters-viky", "sim", *real])


@pytest.fixture
def camera(backend: str, request: pytest.FixtureRequest) -> Iterator[Camera]:
    cam = make_camera(backend, config=request.config)
    cam.open()
    if cam.supports("pixel_format"):
        cam.configure({"pixel_format": "Mono8"})
    try:
        yield cam
    finally:
        cam.close()


@pytest.fixture
def pylon_cam() -> Iterator[PylonCamera]:
    cam = PylonCamera(PYLON_SERIALS[0], device_class="BaslerCamEmu")
    with cam:
        cam.configure({"pixel_format": "Mono8", "test_image_selector": "Testimage2",
                       "image_file_mode": "Off"})
        yield cam
