"""GigE Vision transport settings on an open camera: packet size, its share of the link, heartbeat.

Node names are the GigE Vision / SFNC transport-layer names (not per family, so not profile
data): ``GevSCPSPacketSize`` (bytes, IP datagram incl. headers), ``GevHeartbeatTimeout`` (ms),
and one way to hold a camera to its share of a link, the first the camera offers:

1. ``DeviceLinkThroughputLimit`` (bytes/s; with ``DeviceLinkThroughputLimitMode = On`` where
   present) — SFNC, Basler ace 2, FLIR Blackfly S (docs.baslerweb.com network-related-parameters);
2. ``StreamBytesPerSecond`` (bytes/s) — Allied Vision GigE (Mako, Manta);
3. ``GevSCPD`` (inter-packet delay in timestamp ticks of ``GevTimestampTickFrequency``) — Basler
   classic GigE, scout, pilot and the GigE Vision bootstrap registers.

Every value is checked against the camera's *live* limits before anything is written; nothing is
clamped (LimitError names the node's range).  The settings are writable only while the camera
is not streaming.  The bandwidth arithmetic is :mod:`.gige_budget`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ...errors import ConfigError, DeviceError, LimitError, UnsupportedFeatureError
from .camera import Camera
from .gige_budget import LinkShare, PacketSizeRange, choose_packet_size, delay_ticks
from .types import NodeInfo

__all__ = ["PACKET_SIZE", "TransportWrite", "apply_transport", "packet_size_for"]

PACKET_SIZE = "GevSCPSPacketSize"
HEARTBEAT = "GevHeartbeatTimeout"
TICK_FREQUENCY = "GevTimestampTickFrequency"


@dataclass(frozen=True)
class TransportWrite:
    """One node write :func:`apply_transport` makes (``why``: what the value stands for)."""

    node: str
    value: Any
    why: str


def _node(cam: Camera, name: str) -> NodeInfo | None:
    return cam._do_node_info(name)  # the package's node surface (backends implement it)


def _writable(cam: Camera, name: str) -> NodeInfo:
    info = _node(cam, name)
    if info is None:
        raise UnsupportedFeatureError(f"{cam.info.model} has no {name}", device=cam.id,
                                      feature=name)
    if not info.writable:
        raise DeviceError(f"{name} is not writable now (streaming or locked)", device=cam.id,
                          feature=name)
    return info


def _in_range(cam: Camera, name: str, info: NodeInfo, value: int) -> None:
    lo = -math.inf if info.min is None else info.min
    hi = math.inf if info.max is None else info.max
    if not lo <= value <= hi:
        raise LimitError(f"{name} = {value} is outside the camera's range", device=cam.id,
                         feature=name, allowed=f"{info.min}…{info.max}")


def packet_size_for(cam: Camera, mtu: int) -> int:
    """The largest ``GevSCPSPacketSize`` the camera takes within the path MTU (bytes)."""
    info = _writable(cam, PACKET_SIZE)
    if info.min is None or info.max is None:
        raise DeviceError(f"{PACKET_SIZE} reports no range", device=cam.id, feature=PACKET_SIZE)
    limits = PacketSizeRange(int(info.min), int(info.max), int(info.inc or 1))
    return choose_packet_size(mtu, limits, camera=cam.id)


def _limit_writes(cam: Camera, share: LinkShare) -> list[TransportWrite]:
    """The writes that hold the camera to ``share`` (the first mechanism it offers)."""
    rate = math.floor(share.rate_bytes_per_s)
    if _node(cam, "DeviceLinkThroughputLimit") is not None:
        writes = []
        mode = _node(cam, "DeviceLinkThroughputLimitMode")
        if mode is not None:
            _writable(cam, "DeviceLinkThroughputLimitMode")
            if "On" not in mode.entries:
                raise LimitError("DeviceLinkThroughputLimitMode has no On", device=cam.id,
                                 feature="DeviceLinkThroughputLimitMode", allowed=mode.entries)
            writes.append(TransportWrite("DeviceLinkThroughputLimitMode", "On", "limit on"))
        info = _writable(cam, "DeviceLinkThroughputLimit")
        _in_range(cam, "DeviceLinkThroughputLimit", info, rate)
        return writes + [TransportWrite("DeviceLinkThroughputLimit", rate, "bytes/s")]
    if _node(cam, "StreamBytesPerSecond") is not None:
        info = _writable(cam, "StreamBytesPerSecond")
        _in_range(cam, "StreamBytesPerSecond", info, rate)
        return [TransportWrite("StreamBytesPerSecond", rate, "bytes/s")]
    if _node(cam, "GevSCPD") is not None:
        tick = _node(cam, TICK_FREQUENCY)
        if tick is None or not tick.readable:
            raise UnsupportedFeatureError(f"GevSCPD without a readable {TICK_FREQUENCY}",
                                          device=cam.id, feature=TICK_FREQUENCY)
        hz = int(cam._do_get(TICK_FREQUENCY))
        ticks = delay_ticks(share.delay_s, hz)
        _in_range(cam, "GevSCPD", _writable(cam, "GevSCPD"), ticks)
        return [TransportWrite("GevSCPD", ticks, f"ticks of {hz} Hz = {share.delay_s * 1e6:.2f} µs")]
    raise UnsupportedFeatureError(
        f"{cam.info.model} offers no throughput limit or inter-packet delay",
        device=cam.id, feature="bandwidth",
        allowed=["DeviceLinkThroughputLimit", "StreamBytesPerSecond", "GevSCPD"])


def apply_transport(cam: Camera, share: LinkShare, *,
                    heartbeat_s: float | None = None) -> list[TransportWrite]:
    """Write the packet size ``share`` was computed for, the camera's share of its link and,
    if given, the heartbeat timeout (s).  All checked first; returns the writes made."""
    cam._require_open()
    if cam.is_armed:
        raise DeviceError("transport settings need a camera that is not streaming",
                          device=cam.id, feature="transport")
    size = share.need.packet_size
    _in_range(cam, PACKET_SIZE, _writable(cam, PACKET_SIZE), size)
    info = _node(cam, PACKET_SIZE)
    assert info is not None
    if info.inc and info.min is not None and (size - info.min) % info.inc:
        raise LimitError(f"{PACKET_SIZE} = {size} is off the camera's increment", device=cam.id,
                         feature=PACKET_SIZE, allowed=f"{info.min} + k·{info.inc}")
    writes = [TransportWrite(PACKET_SIZE, size, "bytes incl. IP/UDP/GVSP headers")]
    writes += _limit_writes(cam, share)
    if heartbeat_s is not None:
        if heartbeat_s <= 0:
            raise ConfigError("heartbeat timeout must be > 0 s", device=cam.id, key="heartbeat_s")
        ms = round(heartbeat_s * 1e3)
        _in_range(cam, HEARTBEAT, _writable(cam, HEARTBEAT), ms)
        writes.append(TransportWrite(HEARTBEAT, ms, "ms"))
    for w in writes:
        cam._do_set(w.node, w.value)
    return writes
