"""Reading the host's network facts from this machine's own kernel (no mocks): every interface
in /sys/class/net, the loopback route, rmem_max, and ``lanecam discover --check --plan``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from lanecam.devices.cameras.gige_check import check_cameras, parse_plan
from lanecam.devices.cameras.host_net import SYS_NET, interface, rmem_max, route_to
from lanecam.errors import ConfigError

pytestmark = pytest.mark.skipif(not SYS_NET.is_dir(), reason="needs Linux /sys/class/net")


def _speed(name: str) -> int | None:
    """What the kernel says, read here independently: EINVAL or ≤ 0 means no speed."""
    try:
        v = int((SYS_NET / name / "speed").read_text())
    except OSError:
        return None
    return v if v > 0 else None


@pytest.mark.parametrize("name", sorted(p.name for p in SYS_NET.iterdir()))
def test_every_interface_of_this_machine_reads(name: str) -> None:
    nic = interface(name)
    assert nic.mtu == int((SYS_NET / name / "mtu").read_text())
    assert nic.speed_mbps == _speed(name)
    assert nic.operstate == (SYS_NET / name / "operstate").read_text().strip()


def test_loopback_has_no_speed() -> None:
    lo = interface("lo")
    assert lo.speed_mbps is None and lo.mtu >= 1500


def test_unknown_interface_lists_the_real_ones() -> None:
    with pytest.raises(ConfigError) as e:
        interface("nosuch0")
    assert "lo" in e.value.allowed


def test_rmem_max_is_the_kernels() -> None:
    assert rmem_max() == int(Path("/proc/sys/net/core/rmem_max").read_text())


def test_route_to_loopback() -> None:
    r = route_to("127.0.0.1")
    assert (r.nic.name, r.source_ip, r.on_link) == ("lo", "127.0.0.1", True)


def _ipv4_interfaces() -> list[tuple[str, str]]:
    """(interface, address) from `ip -o -4 addr`, an independent reading of the kernel."""
    out = subprocess.run(["ip", "-o", "-4", "addr"], capture_output=True, text=True, check=True)
    rows = [line.split() for line in out.stdout.splitlines()]
    return [(r[1], r[3].split("/")[0]) for r in rows if r[1] != "lo"]


def test_route_to_a_neighbour_on_each_real_interface() -> None:
    pairs = _ipv4_interfaces()
    if not pairs:
        pytest.skip("this machine has no IPv4 interface besides loopback")
    for name, addr in pairs:
        octets = addr.split(".")
        neighbour = ".".join(octets[:3] + [str((int(octets[3]) % 250) + 3)])
        out = subprocess.run(["ip", "route", "get", neighbour], capture_output=True, text=True,
                             check=True).stdout.split()
        r = route_to(neighbour)
        assert r.nic.name == out[out.index("dev") + 1]
        assert r.source_ip == out[out.index("src") + 1]


def test_not_an_ipv4_address() -> None:
    with pytest.raises(ConfigError):
        route_to("camera.local")


def test_check_on_this_machines_loopback() -> None:
    report = check_cameras([parse_plan("127.0.0.1:1920x1200:Mono8:30")])
    _, route, need = report.cameras[0]
    assert route.nic.name == "lo" and need.packet_size == min(route.nic.mtu, 9000)
    assert report.rmem_max == rmem_max()
    texts = [f.text for f in report.findings]
    assert any("lo reports no link speed" in t for t in texts)


@pytest.mark.emulator
def test_discover_check_cli(tmp_path: Path) -> None:
    env = dict(os.environ, PYLON_CAMEMU="1")
    out = subprocess.run([sys.executable, "-m", "lanecam.cli", "discover", "--check",
                          "--plan", "127.0.0.1:2048x1536:Mono8:40"],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
                         check=False)
    assert "pylon:0815-0000 is BaslerCamEmu, not GigE" in out.stdout, out.stderr
    assert "127.0.0.1" in out.stdout and f"rmem_max {rmem_max()} B" in out.stdout
    # loopback has no speed: a finding, so exit 1 ("something to change")
    assert "[change] lo: lo reports no link speed" in out.stdout and out.returncode == 1


def test_socket_receive_buffer_is_capped_by_rmem_max() -> None:
    """What rmem_max means, measured: SO_RCVBUF asks above it get the cap (Linux doubles)."""
    cap = rmem_max()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, cap * 4)
        assert s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) == 2 * cap
