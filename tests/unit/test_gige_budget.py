"""The GigE bandwidth arithmetic (pure): packet size, per-camera need, link share, findings."""

from __future__ import annotations

import math

import pytest

from lanecam.devices.cameras.gige_budget import (
    ETHERNET_OVERHEAD,
    PacketSizeRange,
    choose_packet_size,
    delay_ticks,
    share_link,
    stream_need,
)
from lanecam.devices.cameras.gige_check import (
    CameraPlan,
    assess,
    bits_per_pixel,
    parse_plan,
)
from lanecam.devices.cameras.host_net import Nic, Route
from lanecam.errors import ConfigError, LimitError


@pytest.mark.parametrize(("mtu", "limits", "expected"), [
    (1500, PacketSizeRange(220, 16404, 4), 1500),   # 220 + 320·4
    (9000, PacketSizeRange(220, 16404, 4), 9000),
    (9000, PacketSizeRange(500, 8192, 1), 8192),    # the camera's max (ace 2 XML)
    (1400, PacketSizeRange(576, 9000, 8), 1400),    # 576 + 103·8
    (1499, PacketSizeRange(220, 16404, 4), 1496),   # down to the increment, never up
])
def test_packet_size_is_the_largest_step_within_mtu_and_camera(
        mtu: int, limits: PacketSizeRange, expected: int) -> None:
    size = choose_packet_size(mtu, limits)
    assert size == expected and size <= mtu and (size - limits.min) % limits.inc == 0


def test_an_mtu_below_the_cameras_minimum_is_refused() -> None:
    with pytest.raises(LimitError) as e:
        choose_packet_size(500, PacketSizeRange(576, 9000, 4), camera="cam1")
    assert e.value.feature == "packet_size" and "576" in str(e.value.allowed)


def test_stream_need_counts_headers_per_packet() -> None:
    # 1000×1000 Mono8 = 1e6 B; 1500 B packets carry 1500 − 36 = 1464 B: 684 + 2 packets
    n = stream_need("c", 1000, 1000, 8, 10.0, 1500)
    assert n.payload_bytes == 1_000_000
    assert n.packets_per_frame == math.ceil(1e6 / 1464) + 2 == 686
    assert n.wire_bytes_per_frame == 1_000_000 + 686 * (36 + ETHERNET_OVERHEAD)
    assert n.bits_per_s == pytest.approx(n.wire_bytes_per_frame * 80)
    jumbo = stream_need("c", 1000, 1000, 8, 10.0, 9000)
    assert jumbo.wire_bytes_per_frame < n.wire_bytes_per_frame  # fewer headers
    ext = stream_need("c", 1000, 1000, 8, 10.0, 1500, extended_ids=True)
    assert ext.packets_per_frame == math.ceil(1e6 / 1452) + 2


def test_stream_need_refuses_nonsense() -> None:
    with pytest.raises(LimitError):
        stream_need("c", 1000, 1000, 8, 10.0, 36)
    with pytest.raises(LimitError):
        stream_need("c", 0, 1000, 8, 10.0, 1500)


def test_link_is_shared_in_proportion_and_delay_holds_each_camera_to_its_share() -> None:
    a = stream_need("a", 2048, 1536, 8, 20.0, 9000)  # ≈ 0.51 Gb/s
    b = stream_need("b", 1024, 768, 8, 20.0, 9000)   # ≈ 0.13 Gb/s
    shares = share_link([a, b], 1000.0)
    link = 1000e6 / 8
    assert sum(s.rate_bytes_per_s for s in shares) == pytest.approx(0.9 * link)
    assert shares[0].rate_bytes_per_s / shares[1].rate_bytes_per_s == pytest.approx(
        a.bytes_per_s / b.bytes_per_s)
    for s in shares:  # a packet every (wire time + delay) gives exactly the share
        period = s.need.wire_packet_bytes / link + s.delay_s
        assert s.need.wire_packet_bytes / period == pytest.approx(s.rate_bytes_per_s)
        assert s.rate_bytes_per_s >= s.need.bytes_per_s


def test_an_oversubscribed_link_is_refused_with_the_numbers() -> None:
    # 1920·1200·12/8 = 3 456 000 B in ceil(3456000 / 8964) + 2 = 388 packets of 74 B overhead:
    # 3 484 712 B/frame · 60 fps · 8 = 1.673 Gb/s
    needs = [stream_need("c", 1920, 1200, 12, 60.0, 9000)]
    assert needs[0].bits_per_s == 3_484_712 * 60 * 8
    with pytest.raises(LimitError) as e:
        share_link(needs, 1000.0, link="eth1")
    assert e.value.feature == "bandwidth" and "eth1" in str(e.value)
    assert "1.67 Gb/s > 0.90 Gb/s (90% of 1 Gb/s)" in str(e.value)
    assert share_link(needs, 10_000.0)[0].delay_s > 0  # fits a 10 GbE link


def test_delay_ticks_round_up() -> None:
    assert delay_ticks(1e-6, 125_000_000) == 125
    assert delay_ticks(1.001e-6, 125_000_000) == 126
    assert delay_ticks(0.0, 1_000_000_000) == 0
    with pytest.raises(LimitError):
        delay_ticks(1e-6, 0)


@pytest.mark.parametrize(("fmt", "bits"), [
    ("Mono8", 8), ("Mono12", 16), ("Mono12p", 12), ("Mono12Packed", 12), ("Mono10p", 10),
    ("BayerRG8", 8), ("BayerRG12", 16), ("BayerGB10p", 10), ("RGB8", 24), ("BGRA8Packed", 32),
    ("YUV422Packed", 16)])
def test_bits_per_pixel(fmt: str, bits: int) -> None:
    assert bits_per_pixel(fmt) == bits


def test_unknown_pixel_format_is_named() -> None:
    with pytest.raises(ConfigError) as e:
        bits_per_pixel("Coord3D_C16")
    assert e.value.key == "pixel_format"


def test_plan_syntax() -> None:
    p = parse_plan("192.168.10.11:2048x1536:Mono8:40")
    assert (p.ip, p.width, p.height, p.pixel_format, p.fps) == (
        "192.168.10.11", 2048, 1536, "Mono8", 40.0)
    with pytest.raises(ConfigError):
        parse_plan("192.168.10.11:2048:Mono8")


def _route(ip: str, nic: Nic, source: str = "192.168.10.1") -> Route:
    return Route(ip, source, nic, "255.255.255.0")


def test_assess_says_what_to_change() -> None:
    eth1 = Nic("eth1", 1500, 1000, "up")
    plans = [(CameraPlan(f"cam{k}", f"192.168.10.{11 + k}", 2048, 1536, "Mono8", 40.0),
              _route(f"192.168.10.{11 + k}", eth1)) for k in range(2)]
    plans.append((CameraPlan("far", "10.0.0.5", 640, 480, "Mono8", 10.0),
                  _route("10.0.0.5", eth1)))
    report = assess(plans, rmem=212_992)
    texts = [f"[{f.severity}] {f.subject}: {f.text}" for f in report.findings]
    assert not report.ok
    assert texts[0].startswith("[error] eth1: cameras on eth1 need 2.")  # worst first
    assert sum("enable jumbo frames on eth1" in t for t in texts) == 1    # once per NIC
    assert any("10.0.0.5 is not on eth1's subnet" in t for t in texts)
    assert any(t.startswith(f"[change] host: raise rmem_max to ≥ {2 * 2048 * 1536}")
               for t in texts)
    assert report.nic_load_bps["eth1"] > 2e9


def test_assess_passes_a_lane_that_fits() -> None:
    eth2 = Nic("eth2", 9000, 10_000, "up")
    plans = [(CameraPlan("cam", "192.168.10.11", 2048, 1536, "Mono8", 40.0),
              _route("192.168.10.11", eth2))]
    report = assess(plans, rmem=16 * 2**20)
    assert report.ok, report.findings
    assert report.cameras[0][2].packet_size == 9000
