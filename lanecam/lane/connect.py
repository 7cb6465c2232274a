"""Where a lane's devices come from.  One :class:`~lanecam.config.LaneConfig` builds a lane in
three modes, told apart only by the :class:`DeviceOpener` handed to
:func:`~lanecam.lane.builder.build_lane`:

* real hardware — :data:`HARDWARE`: cameras by id (``pylon:SERIAL``, ``harvesters:SERIAL``),
  serial devices by port;
* the emulators and firmware fakes — also :data:`HARDWARE`: the pylon emulator and viky.cti
  answer to camera ids, the fakes sit on real pseudo-terminals named as ports;
* the simulated lane — :class:`lanecam.sim.lane.SimOpener`: ``device = "sim"`` cameras are
  SimCameras looking at the world, wired to the simulated strobe and analyzer.
"""

from __future__ import annotations

from typing import Any, Protocol

from ..config import CameraConfig
from ..devices.cameras import Camera, open_camera
from ..devices.serial_link import SerialLink
from ..errors import ConfigError
from ..geometry import CameraModel

__all__ = ["HARDWARE", "DeviceOpener", "HardwareOpener"]


class DeviceOpener(Protocol):
    """Opens the devices a lane config names."""

    def camera(self, cfg: CameraConfig, buffer_count: int) -> Camera:
        """The camera ``cfg`` names, not yet opened by the lane."""
        ...

    def camera_model(self, cfg: CameraConfig, camera: Camera) -> CameraModel:
        """The pose and optics of ``camera`` (SI units)."""
        ...

    def serial_link(self, url: str, **options: Any) -> SerialLink:
        """A serial link to ``url`` (not opened)."""
        ...

    def strobe_wired(self, camera: Camera, channel: int) -> None:
        """``camera``'s exposure output now fires strobe ``channel``."""
        ...

    def rotator_wired(self, camera: Camera) -> None:
        """A rotation mount now turns the analyzer in front of ``camera``."""
        ...


class HardwareOpener:
    """Real devices (or their emulators and pty fakes): wiring is done with cables."""

    def camera(self, cfg: CameraConfig, buffer_count: int) -> Camera:
        if cfg.device == "sim":
            raise ConfigError("'sim' cameras need the simulator's world: build the lane with "
                              "lanecam.sim.lane (lanecam demo)", key=f"cameras[{cfg.name}].device")
        kwargs: dict[str, Any] = {"buffer_count": buffer_count}
        if cfg.profile:
            kwargs["profile"] = cfg.profile
        if cfg.cti:
            kwargs["cti"] = cfg.cti
        return open_camera(cfg.device, **kwargs)

    def camera_model(self, cfg: CameraConfig, camera: Camera) -> CameraModel:
        return CameraModel(lateral_m=cfg.lateral_m, height_m=cfg.height_m,
                           pitch_deg=cfg.pitch_deg or 0.0, yaw_deg=cfg.yaw_deg or 0.0,
                           focal_m=cfg.focal_length_m, f_number=cfg.f_number,
                           focus_m=cfg.focus_m, pixel_m=cfg.pixel_size_m, station_m=cfg.station_m,
                           width_px=cfg.width_px, height_px=cfg.height_px, roll_deg=cfg.roll_deg,
                           fx_px=cfg.fx_px, fy_px=cfg.fy_px, cx_px=cfg.cx_px, cy_px=cfg.cy_px,
                           distortion=cfg.distortion)

    def serial_link(self, url: str, **options: Any) -> SerialLink:
        return SerialLink(url, **options)

    def strobe_wired(self, camera: Camera, channel: int) -> None:
        """Nothing to do: the camera's output line is cabled to the controller's trigger."""

    def rotator_wired(self, camera: Camera) -> None:
        """Nothing to do: the mount sits in front of the lens."""


#: Real hardware, or the emulators and firmware fakes that stand in for it.
HARDWARE: DeviceOpener = HardwareOpener()
