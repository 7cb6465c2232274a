"""The MQTT sink against a real mosquitto: every event arrives, each event id once at the
consumer, through a broker killed mid-stream and a lane SIGKILLed with events in its outbox."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from lanecam.config import load_lane_config
from lanecam.publish.mqtt import MqttSink
from lanecam.publish.simlane import sim_event
from lanecam.publish.subscribe import SiteSubscriber
from lanecam.testing.mosquitto import Mosquitto, lane_toml

pytestmark = pytest.mark.timeout(60)


class Collector:
    """What a consumer saw: vehicle ids once each (after de-duplication by event id)."""

    def __init__(self) -> None:
        self.vehicles: Counter[str] = Counter()
        self.lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> None:
        with self.lock:
            self.vehicles[body["vehicle_id"]] += 1

    def wait_for(self, n: int, timeout_s: float) -> bool:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if len(self.vehicles) >= n:
                return True
            time.sleep(0.02)
        return False


def _subscriber(cfg_path: Path, seen: Collector, name: str = "test-consumer") -> SiteSubscriber:
    cfg = load_lane_config(cfg_path).mqtt
    assert cfg is not None
    sub = SiteSubscriber(cfg, name, seen).start()
    assert sub.connected.wait(5)
    time.sleep(0.1)  # SUBACK
    return sub


def _simlane(cfg: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "lanecam.publish.simlane", "--config",
                             str(cfg), *args], stdout=subprocess.PIPE, text=True)


def test_every_event_reaches_the_site_once(tmp_path: Path, broker: Mosquitto) -> None:
    cfg = lane_toml(tmp_path / "lane", "north-1", broker.port)
    seen = Collector()
    sub = _subscriber(cfg, seen)
    mqtt = load_lane_config(cfg).mqtt
    assert mqtt is not None
    with MqttSink(mqtt) as sink:
        for i in range(50):
            sink.emit(sim_event("north-1", i, refer=i % 5 == 0))
        assert sink.flush(10)
        assert sink.published == 50 and len(sink.outbox) == 0
    assert seen.wait_for(50, 10)
    sub.stop()
    assert set(seen.vehicles) == {f"north-1-{i}" for i in range(50)}
    assert set(seen.vehicles.values()) == {1}
    assert sub.duplicates == 0


def test_broker_down_the_lane_keeps_emitting_then_everything_arrives(
        tmp_path: Path, idle_port: int) -> None:
    cfg = lane_toml(tmp_path / "lane", "north-1", idle_port)
    mqtt = load_lane_config(cfg).mqtt
    assert mqtt is not None
    with MqttSink(mqtt, max_backoff_s=0.2) as sink:
        t0 = time.perf_counter()
        for i in range(30):
            sink.emit(sim_event("north-1", i, refer=False))
        emit_s = time.perf_counter() - t0
        time.sleep(0.5)
        assert sink.faults["broker_unreachable"] >= 1 and len(sink.outbox) == 30
        assert emit_s < 3.0  # emit never waits for the broker (30 fsync'd commits)
        with Mosquitto(tmp_path / "broker", idle_port):
            seen = Collector()
            sub = _subscriber(cfg, seen)
            assert sink.flush(10), dict(sink.faults)
            assert seen.wait_for(30, 60)  # a generous bound: a loaded 2-core CI box
            sub.stop()
    assert set(seen.vehicles) == {f"north-1-{i}" for i in range(30)}


def test_broker_killed_mid_stream_loses_nothing(tmp_path: Path, broker: Mosquitto) -> None:
    cfg = lane_toml(tmp_path / "lane", "north-1", broker.port)
    seen = Collector()
    sub = _subscriber(cfg, seen)
    time.sleep(1.5)  # the broker's autosave (1 change) has the consumer's persistent session
    n = 300
    lane = _simlane(cfg, "--count", str(n), "--interval", "0.004", "--drain", "20")
    try:
        assert seen.wait_for(60, 15)
        broker.kill()  # SIGKILL mid-stream
        killed_at = len(seen.vehicles)
        time.sleep(0.5)
        broker.start()
        out, _ = lane.communicate(timeout=40)
    finally:
        if lane.poll() is None:
            lane.kill()
    assert "drained 0" in out, out
    assert seen.wait_for(n, 15), f"{len(seen.vehicles)} of {n} arrived"
    sub.stop()
    assert killed_at < n  # the kill really happened mid-stream
    assert set(seen.vehicles) == {f"north-1-{i}" for i in range(n)}
    assert set(seen.vehicles.values()) == {1}  # each id once at the consumer
    print(f"broker kill: {n} published, {len(seen.vehicles)} arrived, "
          f"{sub.duplicates} redelivered and dropped by event id")


def test_the_outbox_survives_sigkill_of_the_lane(tmp_path: Path, idle_port: int) -> None:
    cfg = lane_toml(tmp_path / "lane", "north-1", idle_port)
    lane = _simlane(cfg, "--count", "1000", "--interval", "0.002")
    try:
        assert lane.stdout is not None
        for line in lane.stdout:
            if line.strip() == "emitted 40":
                break
        os.kill(lane.pid, signal.SIGKILL)
    finally:
        lane.wait(timeout=10)
    assert lane.returncode == -signal.SIGKILL
    with Mosquitto(tmp_path / "broker", idle_port):
        seen = Collector()
        sub = _subscriber(cfg, seen)
        restarted = _simlane(cfg, "--count", "0", "--drain", "10")
        out, _ = restarted.communicate(timeout=30)
        assert "drained 0" in out
        assert seen.wait_for(40, 10)
        sub.stop()
    got = set(seen.vehicles)
    assert {f"north-1-{i}" for i in range(40)} <= got  # every event emitted before the kill
    assert got <= {f"north-1-{i}" for i in range(1000)} and set(seen.vehicles.values()) == {1}
