"""SerialLink over real pyserial URLs (loop://, socket://, a pty) and the loop detector."""

from __future__ import annotations

import socket
import threading

import pytest

from lanecam.clock import ManualClock
from lanecam.devices.fakes import BenewakeFake, data_frame
from lanecam.devices.sensors import (
    BENEWAKE_DATA,
    CallableLineSource,
    LoopDetector,
    LoopEdge,
    ModemLineSource,
)
from lanecam.devices.serial_link import FrameDecoder, FrameSpec, SerialLink
from lanecam.errors import (
    ConfigError,
    DeviceLostError,
    DeviceTimeoutError,
    ProtocolError,
    UnsupportedFeatureError,
)


def test_loop_url_lines_and_counters() -> None:
    with SerialLink("loop://", timeout=0.2) as link:
        link.write(b"one\r\ntwo\r\nthr")
        assert link.read_line() == b"one\r"
        assert link.read_line(b"\r\n") == b"two"
        with pytest.raises(DeviceTimeoutError):
            link.read_line(timeout=0.02)
        link.write(b"ee\n")
        assert link.read_line() == b"three"
        c = link.counters
        assert (c.bytes_out, c.bytes_in, c.lines, c.timeouts) == (16, 16, 3, 1)


def test_over_long_line_is_reported_once_and_the_next_line_is_intact() -> None:
    with SerialLink("loop://", timeout=0.2, max_line=16) as link:
        link.write(b"x" * 40)
        link.write(b"y" * 40 + b"\nok\n")
        with pytest.raises(ProtocolError, match="longer than 16"):
            link.read_line()
        assert link.read_line() == b"ok"
        assert link.counters.garbage_bytes == 81 and link.counters.protocol_errors == 1


def test_binary_frames_over_loop_with_garbage() -> None:
    with SerialLink("loop://", timeout=0.2) as link:
        dec = FrameDecoder([BENEWAKE_DATA])
        link.write(b"\x59\x00\x59" + data_frame(1, 2)[:4] + data_frame(300, 900))
        spec, frame = link.read_frame(dec)
        assert spec is BENEWAKE_DATA and frame == data_frame(300, 900)
        assert link.counters.frames == 1 and link.counters.garbage_bytes == 7
        with pytest.raises(DeviceTimeoutError):
            link.read_frame(dec, timeout=0.02)


def test_socket_url() -> None:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]

    def serve() -> None:
        conn, _ = srv.accept()
        with conn:
            conn.sendall(conn.recv(64).upper())

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        with SerialLink(f"socket://127.0.0.1:{port}", timeout=1.0) as link:
            link.write(b"vr\r")
            assert link.read_line(b"\r") == b"VR"
    finally:
        t.join(timeout=2)
        srv.close()


def test_unopenable_port_is_device_lost() -> None:
    link = SerialLink("/nonexistent/tty")
    with pytest.raises(DeviceLostError, match="cannot open"):
        link.open()
    with pytest.raises(DeviceLostError, match="not open"):
        link.write(b"x")


def test_pty_unplug_replug_reconnect() -> None:
    with BenewakeFake() as fake:
        fake.set_target(1.0)
        link = SerialLink(fake.port, timeout=0.5)
        link.open()
        dec = FrameDecoder([BENEWAKE_DATA])
        link.read_frame(dec)
        gen = link.generation
        fake.unplug()
        with pytest.raises(DeviceLostError):
            for _ in range(200):
                link.read_frame(dec)
        assert link.is_lost
        with pytest.raises(DeviceLostError, match="reconnect"):
            link.write(b"x")
        with pytest.raises(DeviceLostError):
            link.reconnect()  # port still missing
        fake.replug()
        link.reconnect()
        assert not link.is_lost and link.generation == gen + 1
        assert link.read_frame(dec)[1] == data_frame(100, 1500)
        assert link.counters.losses == 1 and link.counters.reconnects == 1
        link.close()


def test_frame_spec_validation() -> None:
    with pytest.raises(ConfigError):
        FrameSpec("x", b"", lambda f: True, size=4)
    with pytest.raises(ConfigError):
        FrameSpec("x", b"\x5a", lambda f: True, length_index=0, min_size=4, max_size=9)
    with pytest.raises(ConfigError):
        FrameDecoder([])


def test_decoder_waits_when_a_header_inside_a_frame_is_undecided() -> None:
    # a valid frame whose checksum byte is 0x59 could be the start of a header
    for d in range(0, 2000):
        f = data_frame(d, 500)
        if f[8] == 0x59:
            break
    dec = FrameDecoder([BENEWAKE_DATA])
    dec.feed(f)
    assert dec.pop() is None  # might be garbage overlapping a frame that is still arriving
    dec.feed(b"\x00")  # not a header after all
    assert dec.pop() == (BENEWAKE_DATA, f)


# ---------------------------------------------------------------------------------------------
# loop detector
# ---------------------------------------------------------------------------------------------
class Toggle:
    """A real input you can flip (stands in for the relay contact)."""

    def __init__(self) -> None:
        self.state = False

    def read_state(self) -> bool:
        return self.state


def _run(det: LoopDetector, clock: ManualClock, src: Toggle, pattern: list[tuple[float, bool]],
         step: float = 0.001) -> list[LoopEdge]:
    edges = []
    for dur, state in pattern:
        src.state = state
        for _ in range(round(dur / step)):
            e = det.poll()
            if e is not None:
                edges.append(e)
            clock.advance(step)
    return edges


def test_loop_debounce_rejects_chatter_and_stamps_the_first_sample() -> None:
    clock = ManualClock()
    src = Toggle()
    det = LoopDetector(src, debounce_s=0.02, clock=clock)
    edges = _run(det, clock, src, [
        (0.1, False),
        (0.005, True), (0.003, False), (0.004, True), (0.002, False),  # relay chatter
        (0.3, True),  # vehicle present (from t = 0.114 s)
        (0.01, False),  # a 10 ms dropout inside the vehicle: ignored
        (0.2, True),
        (0.1, False),  # vehicle gone (from t = 0.624 s)
    ])
    assert [(e.present, e.t_ns) for e in edges] == [(True, 114_000_000), (False, 624_000_000)]
    assert det.bounces == 3 and det.present is False


def test_loop_detector_on_real_pyserial_modem_lines() -> None:
    # pyserial's loop:// wires RTS -> CTS and DTR -> DSR, so the modem-status path of a real
    # pyserial port is exercised (a pty cannot: see the next test)
    clock = ManualClock()
    link = SerialLink("loop://")
    src = ModemLineSource(link, "cts", supply=None)
    src.open()
    det = LoopDetector(src, debounce_s=0.01, clock=clock)
    link.set_output_line("rts", False)
    assert det.poll() is None
    link.set_output_line("rts", True)
    det.poll()
    clock.advance(0.011)
    edge = det.poll()
    assert edge is not None and edge.present and edge.t_ns == 0
    inverted = ModemLineSource(link, "dsr", active_low=True, supply=None)
    link.set_output_line("dtr", True)
    assert inverted.read_state() is False
    link.close()


def test_pty_cannot_report_modem_lines() -> None:
    with BenewakeFake() as fake:
        link = SerialLink(fake.port)
        with pytest.raises(UnsupportedFeatureError, match="RTS"):
            ModemLineSource(link, "cd").open()  # raising the contact's supply line
        src = ModemLineSource(link, "cd", supply=None)
        src.open()
        with pytest.raises(UnsupportedFeatureError, match="CD"):
            src.read_state()
        assert not link.is_lost  # unsupported, not lost
        link.close()


def test_loop_source_validation_and_callable_source() -> None:
    with pytest.raises(ConfigError):
        ModemLineSource(SerialLink("loop://"), "rts")
    with pytest.raises(ConfigError):
        LoopDetector(CallableLineSource(lambda: True), debounce_s=-1)
    det = LoopDetector(CallableLineSource(lambda: True), debounce_s=0, clock=ManualClock())
    assert det.poll() is None and det.present is True
