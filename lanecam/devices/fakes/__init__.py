"""Firmware fakes: device state machines served on real pseudo-terminals.

Tests and the lane simulator start one, hand its :attr:`~PtyFake.port` path to a production
driver's :class:`~lanecam.devices.serial_link.SerialLink`, and feed it the world's state::

    with OPS243Fake("OPS243-C") as radar, BenewakeFake("TF02-Pro") as lidar:
        radar.set_target(speed_mps=13.4, range_m=35.0)
        lidar.set_target(range_m=35.0)
        ...

or pass ``target=callable`` returning a :class:`RadarTarget` / :class:`LidarTarget` per report.
"""

from .base import PtyFake
from .benewake import BenewakeFake, LidarTarget, command_frame, data_frame
from .elliptec import ElliptecFake, ElliptecMove
from .gardasoft import ChannelState, GardasoftRTFake
from .ops243 import OPS243Fake, RadarTarget

__all__ = [
    "PtyFake",
    "OPS243Fake",
    "RadarTarget",
    "BenewakeFake",
    "LidarTarget",
    "data_frame",
    "command_frame",
    "GardasoftRTFake",
    "ChannelState",
    "ElliptecFake",
    "ElliptecMove",
]
