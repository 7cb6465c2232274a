"""pylon's stream grabber: resend and socket settings for GigE, and its statistics.

Parameter names are pylon's (docs.baslerweb.com/stream-grabber-parameters): ``EnableResend``,
``PacketTimeout`` (ms), ``ResendRequestThreshold`` (% of the frame), ``ResendTimeout`` (ms),
``MaximumNumberResendRequests``, ``SocketBufferSize`` (KB; the kernel caps it at
``rmem_max``).  They exist on the GigE stream grabber only: the camera emulator's has none, so
there :func:`configure_stream_grabber` names them in an UnsupportedFeatureError.  Buffers are
``Camera(buffer_count=…)`` (pylon ``MaxNumBuffer``, set at arm).

:func:`stream_statistics` reads every ``Statistic_*`` node the stream grabber has (total,
failed, underrun buffers; total, failed packets; resend requests and resent packets; ...),
the emulator's included: the transport-side causes of incomplete buffers.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from ...errors import ConfigError, DeviceError, LimitError, UnsupportedFeatureError
from .genicam_nodes import PylonNodes
from .pylon import PylonCamera, pylon_sdk

__all__ = ["StreamGrabberSettings", "configure_stream_grabber", "stream_statistics"]


@dataclass(frozen=True)
class StreamGrabberSettings:
    """None leaves a parameter as pylon has it."""

    enable_resend: bool | None = None
    packet_timeout_ms: int | None = None
    resend_request_threshold_pct: int | None = None
    resend_timeout_ms: int | None = None
    maximum_number_resend_requests: int | None = None
    socket_buffer_size_kb: int | None = None


_NODES = {"enable_resend": "EnableResend", "packet_timeout_ms": "PacketTimeout",
          "resend_request_threshold_pct": "ResendRequestThreshold",
          "resend_timeout_ms": "ResendTimeout",
          "maximum_number_resend_requests": "MaximumNumberResendRequests",
          "socket_buffer_size_kb": "SocketBufferSize"}


def _grabber(cam: PylonCamera) -> PylonNodes:
    cam._require_open()
    _, genicam = pylon_sdk()
    return PylonNodes(cam.native.GetStreamGrabberNodeMap(), genicam)


def configure_stream_grabber(cam: PylonCamera, settings: StreamGrabberSettings) -> dict[str, Any]:
    """Check every given parameter against the stream grabber's live limits, then write them
    all; returns node → value read back.  Not while streaming (pylon locks them)."""
    if cam.is_armed:
        raise DeviceError("stream grabber settings need a camera that is not streaming",
                          device=cam.id, feature="stream_grabber")
    nodes = _grabber(cam)
    wanted = {_NODES[f.name]: getattr(settings, f.name) for f in fields(settings)
              if getattr(settings, f.name) is not None}
    missing = [n for n in wanted if nodes.info(n) is None]
    if missing:
        raise UnsupportedFeatureError(f"{cam.info.model}'s stream grabber has no "
                                      f"{', '.join(missing)} (GigE only)", device=cam.id,
                                      feature=missing[0], allowed=sorted(_NODES.values()))
    for name, value in wanted.items():
        info = nodes.info(name)
        assert info is not None
        if not info.writable:
            raise DeviceError(f"{name} is not writable now", device=cam.id, feature=name)
        if isinstance(value, bool) != (info.kind == "bool"):
            raise ConfigError(f"{name} takes a {info.kind}", device=cam.id, key=name)
        if info.kind == "int" and not (info.min or 0) <= value <= (info.max or value):
            raise LimitError(f"{name} = {value} out of range", device=cam.id, feature=name,
                             allowed=f"{info.min}…{info.max}")
    for name, value in wanted.items():
        nodes.set(name, value)
    return {name: nodes.get(name) for name in wanted}


def stream_statistics(cam: PylonCamera) -> dict[str, int]:
    """Every readable ``Statistic_*`` counter of the stream grabber (name without prefix)."""
    nodes = _grabber(cam)
    out = {}
    for n in cam.native.GetStreamGrabberNodeMap().GetNodes():
        name = n.GetNode().GetName()
        info = nodes.info(name) if name.startswith("Statistic_") else None
        if info is not None and info.readable and info.kind == "int" \
                and not name.endswith("_Reg"):
            out[name.removeprefix("Statistic_")] = int(nodes.get(name))
    return out
