"""GigE Vision settings of a lane config: per camera ``[cameras.transport]``, per lane
``[gige]`` (PTP) and ``[gige.action]`` (action-command keys).  Parsed by
:func:`lanecam.config.parse_lane_config` with the same typed checks as every other table; applied
when the lane opens real cameras (:mod:`lanecam.lane.gige_setup`).

Example::

    [[cameras]]
    name = "driver"
    device = "pylon:40123456"
    [cameras.transport]
    link = "eth1"            # cameras naming the same link share its bandwidth budget
    link_mbps = 1000         # the link's speed (Mb/s)
    mtu = 9000               # the path MTU: the packet size is negotiated up to it
    headroom = 0.9           # share of the link the cameras may fill together
    heartbeat_s = 3.0        # the camera's heartbeat timeout (optional)

    [gige]
    ptp = true               # IEEE 1588 on every camera, lock awaited at open
    ptp_lock_timeout_s = 30

    [gige.action]            # keys written to every camera at open
    device_key = 0x12345678
    group_key = 1
    group_mask = 0x1
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .config_fields import rng as _rng

__all__ = ["ActionConfig", "GigeConfig", "TransportConfig"]

_U32 = 0xFFFF_FFFF




@dataclass(frozen=True)
class TransportConfig:
    """One camera's GigE stream: the link it shares, that link's speed and path MTU (the packet
    size is the largest the camera and the MTU allow), the share of the link all cameras on it
    may fill, and the heartbeat timeout."""

    link: str
    link_mbps: float = field(metadata=_rng(0.0, 400_000.0, open_lo=True))
    mtu: int = field(default=1500, metadata=_rng(576, 16_128))
    headroom: float = field(default=0.9, metadata=_rng(0.0, 1.0, open_lo=True))
    heartbeat_s: float | None = field(default=None, metadata=_rng(0.1, 60.0))


@dataclass(frozen=True)
class ActionConfig:
    """GigE action-command keys (unsigned 32-bit; a zero mask reaches no camera)."""

    device_key: int = field(metadata=_rng(0, _U32))
    group_key: int = field(metadata=_rng(0, _U32))
    group_mask: int = field(metadata=_rng(1, _U32))


@dataclass(frozen=True)
class GigeConfig:
    """``[gige]``: PTP on every camera (lock awaited up to ``ptp_lock_timeout_s`` at open; a
    camera that is the grandmaster counts as locked only with ``ptp_accept_master``) and the
    action-command keys."""

    ptp: bool = False
    ptp_lock_timeout_s: float = field(default=30.0, metadata=_rng(0.0, 600.0, open_lo=True))
    ptp_accept_master: bool = False
    action: ActionConfig | None = None
