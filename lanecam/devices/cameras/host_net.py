"""What the host's kernel says about the path to a GigE camera, and what to change.

Read from the kernel only (Linux): the route to the camera's IPv4 address by a connected UDP
socket (no packet is sent; the kernel picks the source address), the interface holding that
address (``SIOCGIFADDR``/``SIOCGIFNETMASK`` over ``socket.if_nameindex()``), its MTU, link speed
and state from ``/sys/class/net/<if>/{mtu,speed,operstate}``, and the socket receive-buffer
ceiling ``/proc/sys/net/core/rmem_max``.  Virtual interfaces (loopback, bridges, ifb) have no
speed: ``speed`` then reads ``EINVAL`` (or ``-1``) and :attr:`Nic.speed_mbps` is ``None``.
"""

from __future__ import annotations

import errno
import fcntl
import ipaddress
import socket
import struct
from dataclasses import dataclass
from pathlib import Path

from ...errors import ConfigError, DeviceError

__all__ = ["SYS_NET", "Nic", "Route", "interface", "rmem_max", "route_to"]

SYS_NET = Path("/sys/class/net")
RMEM_MAX = Path("/proc/sys/net/core/rmem_max")
_SIOCGIFADDR = 0x8915  # linux/sockios.h
_SIOCGIFNETMASK = 0x891B


@dataclass(frozen=True)
class Nic:
    """One host interface as ``/sys/class/net`` reports it."""

    name: str
    mtu: int
    speed_mbps: int | None  # None: the kernel reports no speed (virtual or link down)
    operstate: str


@dataclass(frozen=True)
class Route:
    """The host side of the path to ``camera_ip``."""

    camera_ip: str
    source_ip: str
    nic: Nic
    netmask: str

    @property
    def on_link(self) -> bool:
        """True when the camera is on the interface's own subnet (no router in between)."""
        net = ipaddress.IPv4Network(f"{self.source_ip}/{self.netmask}", strict=False)
        return ipaddress.IPv4Address(self.camera_ip) in net


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise DeviceError(f"cannot read {path}: {exc.strerror}", device=str(path)) from exc


def interface(name: str, sys_net: Path = SYS_NET) -> Nic:
    """MTU, speed and state of interface ``name`` from ``sys_net/<name>/``."""
    base = sys_net / name
    if not base.is_dir():
        raise ConfigError(f"no network interface {name!r}", key="interface",
                          allowed=sorted(p.name for p in sys_net.iterdir()))
    try:
        raw = (base / "speed").read_text().strip()
        speed: int | None = int(raw) if int(raw) > 0 else None
    except OSError as exc:
        if exc.errno != errno.EINVAL:  # EINVAL is the kernel's "no speed here"
            raise DeviceError(f"cannot read {base / 'speed'}: {exc.strerror}",
                              device=name) from exc
        speed = None
    return Nic(name, int(_read(base / "mtu")), speed, _read(base / "operstate"))


def rmem_max(path: Path = RMEM_MAX) -> int:
    """The kernel's ceiling on a socket's receive buffer (bytes)."""
    return int(_read(path))


def _ifreq(sock: socket.socket, request: int, name: str) -> str | None:
    try:
        res = fcntl.ioctl(sock.fileno(), request, struct.pack("256s", name.encode()[:15]))
    except OSError as exc:
        if exc.errno == errno.EADDRNOTAVAIL:  # no IPv4 address on this interface
            return None
        raise
    return socket.inet_ntoa(res[20:24])


def route_to(camera_ip: str, sys_net: Path = SYS_NET) -> Route:
    """The interface the kernel would use to reach ``camera_ip`` (IPv4)."""
    try:
        ipaddress.IPv4Address(camera_ip)
    except ValueError as exc:
        raise ConfigError(f"not an IPv4 address: {camera_ip!r}", key="camera_ip") from exc
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect((camera_ip, 3956))  # GVCP port; connect() on UDP sends nothing
        except OSError as exc:
            raise DeviceError(f"no route to {camera_ip}: {exc.strerror}",
                              device=camera_ip) from exc
        source = s.getsockname()[0]
        for _, name in socket.if_nameindex():
            if _ifreq(s, _SIOCGIFADDR, name) == source:
                mask = _ifreq(s, _SIOCGIFNETMASK, name)
                assert mask is not None  # it has the address, so it has its mask
                return Route(camera_ip, source, interface(name, sys_net), mask)
    raise DeviceError(f"the kernel routes {camera_ip} from {source}, which no interface holds",
                      device=camera_ip)
