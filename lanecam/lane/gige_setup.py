"""The GigE settings of a lane config applied to the cameras the lane opened: per link the
bandwidth budget split between its cameras and each camera's packet size, inter-packet delay or
throughput limit and heartbeat (:mod:`~lanecam.devices.cameras.gige_transport`); PTP switched
on and its lock awaited (:mod:`~lanecam.devices.cameras.gige_ptp`); the action-command keys
written (:mod:`~lanecam.devices.cameras.gige_action`).  Everything is checked before it is
written where the modules below allow it; a failure raises their typed error naming the camera.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..config import CameraConfig, LaneConfig
from ..devices.cameras import Camera
from ..devices.cameras.gige_action import check_keys, write_action_keys
from ..devices.cameras.gige_budget import share_link, stream_need
from ..devices.cameras.gige_check import bits_per_pixel
from ..devices.cameras.gige_ptp import PtpState, enable_ptp, wait_for_ptp_lock
from ..devices.cameras.gige_transport import TransportWrite, apply_transport, packet_size_for

__all__ = ["GigeSetup", "apply_gige", "apply_transports"]


@dataclass
class GigeSetup:
    """What :func:`apply_gige` wrote, per camera id."""

    transport: dict[str, list[TransportWrite]] = field(default_factory=dict)
    ptp: dict[str, PtpState] = field(default_factory=dict)
    action_keys: list[str] = field(default_factory=list)


def _opened(cam: Camera) -> Camera:
    if not cam.is_open:
        cam.open()
    return cam


def apply_transports(pairs: Sequence[tuple[CameraConfig, Camera]],
                     frame_rate_hz: float) -> dict[str, list[TransportWrite]]:
    """Per link named in ``[cameras.transport]``: each camera's need (its configured
    ``width_px × height_px`` in the camera's pixel format at ``frame_rate_hz``, with the largest
    packet its MTU allows), the link's budget shared, then the writes."""
    links: dict[str, list[tuple[CameraConfig, Camera]]] = {}
    for c, cam in pairs:
        if c.transport is not None:
            links.setdefault(c.transport.link, []).append((c, cam))
    done: dict[str, list[TransportWrite]] = {}
    for link, members in links.items():
        needs = []
        for c, cam in members:
            assert c.transport is not None
            _opened(cam)
            size = packet_size_for(cam, c.transport.mtu)
            needs.append(stream_need(cam.id, c.width_px, c.height_px,
                                     bits_per_pixel(str(cam.get("pixel_format"))),
                                     frame_rate_hz, size))
        head = members[0][0].transport
        assert head is not None
        shares = share_link(needs, head.link_mbps, headroom=head.headroom, link=link)
        for (c, cam), share in zip(members, shares, strict=True):
            assert c.transport is not None
            done[cam.id] = apply_transport(cam, share, heartbeat_s=c.transport.heartbeat_s)
    return done


def apply_gige(cfg: LaneConfig, cameras: Sequence[Camera], *, clock: Any = None) -> GigeSetup:
    """Apply ``cfg``'s ``[cameras.transport]`` and ``[gige]`` to ``cameras`` (in the order of
    ``cfg.cameras``): transport, then PTP (every camera switched on before any lock is awaited:
    they lock together), then the action keys."""
    out = GigeSetup()
    out.transport = apply_transports(list(zip(cfg.cameras, cameras, strict=True)),
                                     cfg.capture.frame_rate_hz)
    gige = cfg.gige
    if gige.ptp:
        for cam in cameras:
            enable_ptp(_opened(cam))
        for cam in cameras:
            out.ptp[cam.id] = wait_for_ptp_lock(cam, gige.ptp_lock_timeout_s, clock=clock,
                                                accept_master=gige.ptp_accept_master)
    if gige.action is not None:
        a = gige.action
        check_keys(a.device_key, a.group_key, a.group_mask)
        for cam in cameras:
            write_action_keys(_opened(cam), a.device_key, a.group_key, a.group_mask)
            out.action_keys.append(cam.id)
    return out
