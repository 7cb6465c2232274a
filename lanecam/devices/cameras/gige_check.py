"""``lanecam discover --check``: per GigE camera the host NIC, its MTU and speed, the kernel's
receive-buffer ceiling and the bandwidth the camera needs, and what to change.

:func:`assess` is pure (routes and needs in, findings out); :func:`check_cameras` reads the
kernel (:mod:`.host_net`) and calls it.  Rules, each stated in its advice:

* jumbo frames: a NIC MTU below 9000 B while the camera could send larger packets;
* receive buffer: ``rmem_max`` ≥ two frames of the largest camera's payload, so the stream
  socket can hold one frame while the receive thread is a frame period late (lanecam's rule);
* bandwidth: the cameras routed through one NIC need ≤ 90 % of its link speed
  (:func:`.gige_budget.share_link`); a NIC without a speed (virtual, link down) is named;
* path: a camera reached through a router (not on the NIC's subnet) or over a NIC not ``up``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ...errors import ConfigError, LimitError
from .gige_budget import PacketSizeRange, StreamNeed, choose_packet_size, share_link, stream_need
from .host_net import Route, rmem_max, route_to

__all__ = [
    "JUMBO_MTU",
    "CameraPlan",
    "CheckReport",
    "Finding",
    "assess",
    "bits_per_pixel",
    "check_cameras",
    "format_report",
    "parse_plan",
]

JUMBO_MTU = 9000
HEADROOM = 0.9
#: what ``--plan`` assumes of a camera it cannot ask: GigE Vision packet sizes up to jumbo
PLAN_PACKET_RANGE = PacketSizeRange(576, JUMBO_MTU, 4)

_PACKED = re.compile(r"(\d+)(?:p|Packed)$")  # Mono12p, Mono12Packed, BayerRG10p
_BITS = {"Mono8": 8, "RGB8": 24, "BGR8": 24, "RGB8Packed": 24, "BGR8Packed": 24,
         "BGRA8Packed": 32, "RGBA8": 32, "BGRa8": 32, "YUV422Packed": 16, "YCbCr422_8": 16,
         "YUV422_8": 16}


def bits_per_pixel(pixel_format: str) -> int:
    """Bits one pixel of ``pixel_format`` takes on the wire (PFNC names)."""
    if pixel_format in _BITS:
        return _BITS[pixel_format]
    m = _PACKED.search(pixel_format)
    if m and pixel_format.startswith(("Mono", "Bayer")):
        return int(m.group(1))
    m = re.fullmatch(r"(Mono|Bayer(?:RG|GR|GB|BG))(8|10|12|14|16)", pixel_format)
    if m:  # unpacked: 8 bits in a byte, more in two bytes
        return 8 if m.group(2) == "8" else 16
    raise ConfigError(f"unknown pixel format {pixel_format!r}", key="pixel_format",
                      allowed="Mono8/10/12/16 (p|Packed), Bayer…, RGB8, BGR8, BGRA8Packed, YUV422")


@dataclass(frozen=True)
class CameraPlan:
    """A GigE camera by IP and its configured stream."""

    name: str
    ip: str
    width: int
    height: int
    pixel_format: str
    fps: float
    packet_range: PacketSizeRange = PLAN_PACKET_RANGE


def parse_plan(text: str) -> CameraPlan:
    """``IP:WIDTHxHEIGHT:PIXELFORMAT:FPS``, e.g. ``192.168.10.11:2048x1536:Mono8:40``."""
    parts = text.split(":")
    try:
        ip, size, fmt, fps = parts
        w, h = (int(v) for v in size.lower().split("x"))
        return CameraPlan(ip, ip, w, h, fmt, float(fps))
    except ValueError as exc:
        raise ConfigError(f"bad camera plan {text!r}", key="plan",
                          allowed="IP:WIDTHxHEIGHT:PIXELFORMAT:FPS") from exc


@dataclass(frozen=True)
class Finding:
    """One line of the report: ``severity`` is "ok", "change" or "error"."""

    severity: str
    subject: str  # a camera, a NIC or "host"
    text: str


@dataclass
class CheckReport:
    """Per camera its route and need; per NIC its load; the findings, worst first."""

    rmem_max: int
    cameras: list[tuple[CameraPlan, Route, StreamNeed]] = field(default_factory=list)
    nic_load_bps: dict[str, float] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(f.severity == "ok" for f in self.findings)


def _camera_findings(plan: CameraPlan, route: Route, need: StreamNeed) -> list[Finding]:
    nic, out = route.nic, []
    if not route.on_link:
        out.append(Finding("change", plan.name, f"{plan.ip} is not on {nic.name}'s subnet "
                           f"({route.source_ip}/{route.netmask}): put the camera on a "
                           "dedicated NIC's subnet, not behind a router"))
    if nic.operstate not in ("up", "unknown"):
        out.append(Finding("error", nic.name, f"{nic.name} is {nic.operstate}: bring it up"))
    if nic.mtu < JUMBO_MTU and plan.packet_range.max > need.packet_size:
        out.append(Finding("change", nic.name,
                           f"enable jumbo frames on {nic.name} (MTU {nic.mtu} B; the camera "
                           f"sends up to {plan.packet_range.max} B): "
                           f"ip link set {nic.name} mtu {JUMBO_MTU}"))
    return out


def _nic_findings(nic_name: str, speed: int | None, needs: list[StreamNeed]) -> list[Finding]:
    total = sum(n.bits_per_s for n in needs)
    if speed is None:
        return [Finding("change", nic_name, f"{nic_name} reports no link speed (virtual "
                        f"interface or link down): {total / 1e9:.2f} Gb/s not checked")]
    try:
        share_link(needs, speed, headroom=HEADROOM, link=nic_name)
    except LimitError as exc:
        return [Finding("error", nic_name, exc.message)]
    return [Finding("ok", nic_name, f"cameras on {nic_name} need {total / 1e9:.2f} Gb/s of "
                    f"{speed / 1e3:g} Gb/s")]


def assess(plans: Sequence[tuple[CameraPlan, Route]], rmem: int) -> CheckReport:
    """Findings for cameras already routed (pure: no kernel access)."""
    report = CheckReport(rmem)
    by_nic: dict[str, list[StreamNeed]] = {}
    speeds: dict[str, int | None] = {}
    for plan, route in plans:
        size = choose_packet_size(route.nic.mtu, plan.packet_range, camera=plan.name)
        need = stream_need(plan.name, plan.width, plan.height, bits_per_pixel(plan.pixel_format),
                           plan.fps, size)
        report.cameras.append((plan, route, need))
        by_nic.setdefault(route.nic.name, []).append(need)
        speeds[route.nic.name] = route.nic.speed_mbps
        report.findings += _camera_findings(plan, route, need)
    for nic, needs in by_nic.items():
        report.nic_load_bps[nic] = sum(n.bits_per_s for n in needs)
        report.findings += _nic_findings(nic, speeds[nic], needs)
    if report.cameras:
        want = 2 * max(n.payload_bytes for _, _, n in report.cameras)
        if rmem < want:
            report.findings.append(Finding("change", "host", (
                f"raise rmem_max to ≥ {want} (now {rmem}): "
                f"sysctl -w net.core.rmem_max={want}")))
        else:
            report.findings.append(Finding("ok", "host", f"rmem_max {rmem} ≥ {want}"))
    report.findings = list(dict.fromkeys(report.findings))  # one per NIC, not per camera
    order = {"error": 0, "change": 1, "ok": 2}
    report.findings.sort(key=lambda f: order[f.severity])
    return report


def check_cameras(plans: Sequence[CameraPlan]) -> CheckReport:
    """Route each camera through the kernel, read ``rmem_max``, and :func:`assess`."""
    return assess([(p, route_to(p.ip)) for p in plans], rmem_max())


def plans_from_pylon() -> tuple[list[CameraPlan], list[str]]:
    """Every GigE camera pylon enumerates, opened to read its configured stream (width, height,
    pixel format, frame rate, packet-size range); and a note per camera that is not GigE."""
    from .pylon import PylonCamera, pylon_sdk

    pylon, _ = pylon_sdk()
    plans, notes = [], []
    for d in pylon.TlFactory.GetInstance().EnumerateDevices():
        if d.GetDeviceClass() != "BaslerGigE":
            notes.append(f"pylon:{d.GetSerialNumber()} is {d.GetDeviceClass()}, not GigE: "
                         "no network path to check")
            continue
        with PylonCamera(d.GetSerialNumber(), device_class="BaslerGigE") as cam:
            node = cam._do_node_info("GevSCPSPacketSize")
            packets = PLAN_PACKET_RANGE if node is None or node.max is None else \
                PacketSizeRange(int(node.min or 0), int(node.max), int(node.inc or 1))
            plans.append(CameraPlan(cam.id, d.GetIpAddress(), int(cam.get("width")),
                                    int(cam.get("height")), str(cam.get("pixel_format")),
                                    float(cam.get("frame_rate")), packets))
    return plans, notes


def format_report(report: CheckReport) -> list[str]:
    """The report as text lines (one per camera, then the findings)."""
    lines = []
    for plan, route, need in report.cameras:
        speed = f"{route.nic.speed_mbps} Mb/s" if route.nic.speed_mbps else "speed n/a"
        lines.append(f"{plan.name:<16} {route.nic.name:<8} MTU {route.nic.mtu:<6} {speed:<12} "
                     f"packet {need.packet_size} B  needs {need.bits_per_s / 1e6:.0f} Mb/s "
                     f"({plan.width}x{plan.height} {plan.pixel_format} @ {plan.fps:g} fps)")
    lines.append(f"rmem_max {report.rmem_max} B")
    lines += [f"[{f.severity}] {f.subject}: {f.text}" for f in report.findings]
    return lines
