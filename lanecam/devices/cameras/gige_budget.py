"""GigE Vision stream bandwidth: packet size, per-camera need and a shared link budget (pure).

The formula (bytes on the wire per second for one camera):

    payload  = width · height · bits_per_pixel / 8                      (bytes per frame)
    data     = packet_size − IP(20) − UDP(8) − GVSP(8, or 20 with extended ids)
    packets  = ceil(payload / data) + 2                               (+ leader and trailer)
    wire     = payload + packets · (IP + UDP + GVSP + Ethernet(38))   (bytes per frame)
    need     = wire · fps                                             (bytes per second)

``packet_size`` is ``GevSCPSPacketSize``: the IP datagram, i.e. it *includes* the IP, UDP and
GVSP headers (GigE Vision; the same split in telegenic's ``gvsp.rs``: "IP + UDP headers,
included in the SCPS packet size", GVSP header 8 bytes, 20 with extended ids).  Ethernet adds
14 header + 4 FCS + 8 preamble/SFD + 12 inter-frame gap = 38 bytes per packet on the wire
(IEEE 802.3).  Leader/trailer are counted as full overhead packets (they carry < 60 bytes).

A link of ``speed`` Mb/s carries ``speed·1e6/8`` bytes/s; lanecam plans for ``headroom``
(default 90 %) of it, shared by the cameras on that link in proportion to their need.  Each
camera then gets a rate; the inter-packet delay that holds a camera to it is

    delay = wire_packet / rate − wire_packet / link_rate             (seconds per packet)

(``GevSCPD`` takes it in timestamp ticks: ``delay · GevTimestampTickFrequency``), or the rate
itself as a throughput limit (``DeviceLinkThroughputLimit``, AVT ``StreamBytesPerSecond``,
bytes/s).  A burst is not slowed by this beyond its share: the camera buffers frames.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ...errors import LimitError

__all__ = ["ETHERNET_OVERHEAD", "GVSP_HEADER", "GVSP_HEADER_EXTENDED", "IP_UDP_HEADERS",
           "LinkShare", "PacketSizeRange", "StreamNeed", "choose_packet_size", "delay_ticks",
           "share_link", "stream_need"]

IP_UDP_HEADERS = 20 + 8  # IPv4 header without options + UDP header
GVSP_HEADER = 8  # standard ids
GVSP_HEADER_EXTENDED = 20  # extended ids (GevGVSPExtendedIDMode = On)
ETHERNET_OVERHEAD = 14 + 4 + 8 + 12  # header, FCS, preamble+SFD, inter-frame gap
LEADER_TRAILER_PACKETS = 2


@dataclass(frozen=True)
class PacketSizeRange:
    """``GevSCPSPacketSize`` limits as the camera's XML states them (bytes)."""

    min: int
    max: int
    inc: int = 1


def choose_packet_size(mtu: int, limits: PacketSizeRange, *, camera: str = "") -> int:
    """The largest packet size the camera accepts that fits the path MTU (bytes): ≤ ``mtu`` and
    ≤ ``limits.max``, on the camera's increment from ``limits.min``.  LimitError when even the
    camera's minimum does not fit."""
    top = min(mtu, limits.max)
    inc = max(1, limits.inc)
    if top < limits.min:
        raise LimitError(f"path MTU {mtu} B is below the camera's smallest packet "
                         f"{limits.min} B", device=camera or None, feature="packet_size",
                         allowed=f"{limits.min}…{limits.max} step {inc}")
    return limits.min + (top - limits.min) // inc * inc


@dataclass(frozen=True)
class StreamNeed:
    """What one camera puts on its link at its configured rate."""

    camera: str
    payload_bytes: int  # per frame
    packets_per_frame: int
    wire_bytes_per_frame: int
    fps: float
    packet_size: int

    @property
    def bytes_per_s(self) -> float:
        return self.wire_bytes_per_frame * self.fps

    @property
    def bits_per_s(self) -> float:
        return self.bytes_per_s * 8

    @property
    def wire_packet_bytes(self) -> int:
        return self.packet_size + ETHERNET_OVERHEAD


def stream_need(camera: str, width: int, height: int, bits_per_pixel: int, fps: float,
                packet_size: int, *, extended_ids: bool = False) -> StreamNeed:
    """Bytes on the wire for ``width × height`` pixels of ``bits_per_pixel`` at ``fps``."""
    header = IP_UDP_HEADERS + (GVSP_HEADER_EXTENDED if extended_ids else GVSP_HEADER)
    if packet_size <= header:
        raise LimitError(f"packet size {packet_size} B leaves no room for data",
                         device=camera, feature="packet_size", allowed=f"> {header}")
    if width <= 0 or height <= 0 or bits_per_pixel <= 0 or fps <= 0:
        raise LimitError("image size, bits per pixel and frame rate must be > 0",
                         device=camera, feature="stream", allowed="> 0")
    payload = math.ceil(width * height * bits_per_pixel / 8)
    packets = math.ceil(payload / (packet_size - header)) + LEADER_TRAILER_PACKETS
    wire = payload + packets * (header + ETHERNET_OVERHEAD)
    return StreamNeed(camera, payload, packets, wire, float(fps), packet_size)


@dataclass(frozen=True)
class LinkShare:
    """One camera's share of a link: its rate limit and the inter-packet delay that holds it."""

    need: StreamNeed
    rate_bytes_per_s: float
    delay_s: float


def share_link(needs: Sequence[StreamNeed], link_mbps: float, *, headroom: float = 0.9,
               link: str = "") -> list[LinkShare]:
    """Split ``headroom`` of a ``link_mbps`` link between ``needs`` in proportion to each need.

    LimitError (``feature="bandwidth"``) when the cameras together need more than that: the
    message names the total and what the link carries."""
    if not 0 < headroom <= 1:
        raise LimitError("headroom must be in (0, 1]", feature="headroom", allowed="(0, 1]")
    if link_mbps <= 0:
        raise LimitError(f"link {link} has no known speed", device=link or None,
                         feature="link_speed", allowed="> 0 Mb/s")
    link_rate = link_mbps * 1e6 / 8
    budget = link_rate * headroom
    total = sum(n.bytes_per_s for n in needs)
    if total > budget:
        raise LimitError(
            f"cameras on {link or 'the link'} need {total * 8 / 1e9:.2f} Gb/s > "
            f"{budget * 8 / 1e9:.2f} Gb/s ({headroom:.0%} of {link_mbps / 1e3:g} Gb/s): "
            "lower frame rate, image size or bit depth, or spread them over more NICs",
            device=link or None, feature="bandwidth",
            allowed=f"≤ {budget * 8 / 1e6:.0f} Mb/s")
    shares = []
    for n in needs:
        rate = budget * n.bytes_per_s / total if total else budget
        delay = n.wire_packet_bytes / rate - n.wire_packet_bytes / link_rate
        shares.append(LinkShare(n, rate, delay))  # ≥ 0: rate ≤ budget ≤ link_rate
    return shares


def delay_ticks(delay_s: float, tick_hz: int) -> int:
    """An inter-packet delay in the camera's timestamp ticks (``GevSCPD``), rounded up so the
    camera never sends faster than its share."""
    if tick_hz <= 0:
        raise LimitError("timestamp tick frequency must be > 0", feature="tick_frequency",
                         allowed="> 0 Hz")
    return math.ceil(delay_s * tick_hz - 1e-9)
