"""Action commands through pylon's real GigE transport layer, caught on the wire.

pypylon's ``GigETransportLayer`` sends GVCP ``ACTION_CMD`` datagrams (UDP 3956) without any
camera present; a socket of ours on this machine receives them, so the bytes pylon sends for
:class:`PylonActionIssuer` are checked against the GigE Vision layout: key 0x42, flags (0x80 =
scheduled), command 0x0100, length, request id, then device key, group key, group mask and, when
scheduled, the 64-bit action time.  (The pylon camera emulator has no action commands at all;
pylon does not send them over loopback, so a real IPv4 interface of this machine is used.)
"""

from __future__ import annotations

import socket
import struct
import subprocess
from collections.abc import Iterator

import pytest

from lanecam.devices.cameras.gige_action import PylonActionIssuer
from lanecam.devices.cameras.gige_ptp import ClockMap
from lanecam.errors import ConfigError, LimitError

pytestmark = pytest.mark.emulator  # needs pypylon (installed with the package)

GVCP_PORT = 3956


def _own_ipv4() -> str:
    out = subprocess.run(["ip", "-o", "-4", "addr"], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    addrs = [r.split()[3].split("/")[0] for r in out if r.split()[1] != "lo"]
    if not addrs:
        pytest.skip("no IPv4 interface besides loopback: pylon sends no action command")
    return addrs[0]


@pytest.fixture
def wire() -> Iterator[socket.socket]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("", GVCP_PORT))
    except OSError as exc:
        s.close()
        pytest.skip(f"UDP {GVCP_PORT} is taken on this machine: {exc}")
    s.settimeout(2.0)
    yield s
    s.close()


def _actions(s: socket.socket) -> list[tuple[int, int, int, int, int | None]]:
    """(flags, device key, group key, mask, action time) of every ACTION_CMD received."""
    got = []
    s.settimeout(0.5)
    try:
        while True:
            data, _ = s.recvfrom(2048)
            key, flags, cmd, length, _req = struct.unpack(">BBHHH", data[:8])
            if key == 0x42 and cmd == 0x0100:
                assert length == len(data) - 8
                dk, gk, gm = struct.unpack(">III", data[8:20])
                when = struct.unpack(">Q", data[20:28])[0] if flags & 0x80 else None
                got.append((flags, dk, gk, gm, when))
    except TimeoutError:
        return got


def test_one_action_command_on_the_wire(wire: socket.socket) -> None:
    with PylonActionIssuer(_own_ipv4()) as issuer:
        issuer.issue_now(0x4711, 0x112233, 0x5)
    assert _actions(wire) == [(0x00, 0x4711, 0x112233, 0x5, None)]


def test_a_scheduled_action_carries_the_camera_time_of_the_host_time(
        wire: socket.socket) -> None:
    # camera (PTP, ns) = 1.7e18 + 1.00001 · (host − 5 s)
    cmap = ClockMap(host_ref_ns=5_000_000_000, cam_ref_ticks=1_700_000_000_000_000_000,
                    tick_hz=1e9, rate=1.00001, residual_ns=0.0, realtime_minus_host_ns=0)
    with PylonActionIssuer(_own_ipv4(), clock_map=cmap) as issuer:
        issuer.issue_scheduled(1, 2, 3, 5_000_000_000 + 2_000_000_000)
    expected = 1_700_000_000_000_000_000 + 2_000_020_000
    assert _actions(wire) == [(0x80, 1, 2, 3, expected)]


def test_nothing_is_sent_without_a_clock_map_or_with_bad_keys(wire: socket.socket) -> None:
    with PylonActionIssuer(_own_ipv4()) as issuer:
        with pytest.raises(ConfigError) as e:
            issuer.issue_scheduled(1, 2, 3, 10**9)
        assert e.value.key == "clock_map"
        with pytest.raises(LimitError):
            issuer.issue_now(1, 2, 0)
    assert _actions(wire) == []
