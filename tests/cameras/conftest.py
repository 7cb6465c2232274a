"""Camera fixtures over the real emulators: the pylon camera emulator and viky.cti."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lanecam.devices.camera import Camera
from lanecam.devices.harvesters import HarvestersCamera, viky_cti
from lanecam.devices.pylon import PylonCamera

from emulated_cameras import PYLON_SERIALS, VIKY_SERIALS


def make_camera(backend: str, index: int = 0) -> Camera:
    if backend == "pylon-emu":
        return PylonCamera(PYLON_SERIALS[index], device_class="BaslerCamEmu")
    if backend == "harvesters-viky":
        return HarvestersCamera(VIKY_SERIALS[index], cti=viky_cti())
    raise ValueError(backend)


@pytest.fixture(params=["pylon-emu", "harvesters-viky"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def camera(backend: str) -> Iterator[Camera]:
    cam = make_camera(backend)
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
