"""The production lane on the simulator with the port's outputs attached: events through the
MQTT sink to a real mosquitto, Prometheus metrics scraped over HTTP.  The privacy scan of
tests/lane/test_sim_lane.py runs over the broker traffic (everything on ``#``) and the
metrics text: no pixels, no templates, no traveler, vehicle or record id in a metric."""

from __future__ import annotations

import os
import re
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from lanecam.config import load_lane_config
from lanecam.match.dlib_matcher import DlibMatcher
from lanecam.publish.metrics import LaneMetrics, MetricsServer
from lanecam.publish.mqtt import MqttSink, make_client
from lanecam.sim.lane import document_templates, run_sim_lane
from lanecam.store import CaptureVault, MasterKey
from lanecam.testing.mosquitto import Mosquitto, lane_toml

pytestmark = pytest.mark.timeout(120)


def _leaks(blob: bytes, needle: bytes) -> bool:
    as_list = ", ".join(str(b) for b in needle).encode()
    return needle in blob or needle.hex().encode() in blob or as_list in blob


class Sniffer:
    """Every byte published on the broker, on any topic."""

    def __init__(self, cfg: Any) -> None:
        self.blob = bytearray()
        self.topics: set[str] = set()
        self.lock = threading.Lock()
        self.client = make_client(cfg, "sniffer")
        self.client.on_message = self._got
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe("#", 1)
        self.client.connect(cfg.host, cfg.port)
        self.client.loop_start()

    def _got(self, client: Any, userdata: Any, msg: Any) -> None:
        with self.lock:
            self.blob += msg.topic.encode() + b"\n" + msg.payload + b"\n"
            self.topics.add(msg.topic)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_broker_traffic_and_metrics_carry_no_pixels_templates_or_travelers(
        tmp_path: Path, broker: Mosquitto) -> None:
    matcher = DlibMatcher()
    templates = document_templates(matcher)
    cfg = load_lane_config(lane_toml(tmp_path / "lane", "sim", broker.port)).mqtt
    assert cfg is not None
    sniffer = Sniffer(cfg)
    time.sleep(0.2)
    metrics = LaneMetrics("sim")
    server = MetricsServer(metrics)
    sink = MqttSink(cfg)
    metrics.fault_sources["mqtt"] = lambda: sink.faults
    metrics.gauges["outbox_pending"] = lambda: len(sink.outbox)
    try:
        with CaptureVault(tmp_path / "vault", MasterKey(os.urandom(32), "test"),
                          retention_s=3600) as vault:
            cams: list[str] = []

            def started(lane: Any) -> None:
                metrics.attach(lane)
                cams.extend(c.camera.id for c in lane.cameras)

            run = run_sim_lane("low_sun_facing", matcher, templates=templates, vault=vault,
                               sinks=[sink], on_start=started)
            assert sink.publish_health("sim", {"cameras": cams, **run.stats})
            assert sink.flush(10)
            crops = [vault.read(o.record_id, actor="test").image
                     for e in run.events for o in e.occupants if o.record_id]
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics",
                                    timeout=5) as r:
            assert r.status == 200
            text = r.read()
        time.sleep(0.3)
    finally:
        sink.close(0)
        server.close()
        sniffer.stop()
    ev = run.events[0]
    # the metrics follow the lane: vehicles, frames, occupants, latency per stage, faults
    assert re.search(rb'lanecam_vehicles_total\{lane="sim"\} 1\.0', text)
    frames = re.search(rb'lanecam_frames_total\{lane="sim"\} (\d+)\.0', text)
    assert frames and int(frames.group(1)) == ev.frames > 0
    assert b'lanecam_incomplete_buffers_total{lane="sim"}' in text
    n_face = sum(o.face_found for o in ev.occupants)
    assert f'lanecam_occupants_total{{lane="sim",result="captured"}} {n_face}.0'.encode() in text
    for stage in ("capture", "rank", "match", "decision"):
        assert f'lanecam_stage_latency_seconds_count{{lane="sim",stage="{stage}"}}'.encode() \
            in text
    assert b'lanecam_outbox_pending{lane="sim"} 0.0' in text
    assert b"lanecam_faults_total" in text or b"# TYPE lanecam_faults counter" in text
    # the broker carried the event and the health snapshot
    assert {"lanecam/port1/sim/events", "lanecam/port1/sim/health"} <= sniffer.topics
    traffic = bytes(sniffer.blob)
    assert ev.vehicle_id.encode() in traffic
    # privacy: no pixels or templates on the broker or in metrics; no ids in metrics
    for blob in (traffic, text):
        assert b"\x89PNG" not in blob and b"array(" not in blob
        for crop in crops:
            for row in crop[crop.shape[0] // 3: 2 * crop.shape[0] // 3: 7]:
                assert not _leaks(blob, row[:16].tobytes())
        for tpl in templates.values():
            assert not _leaks(blob, tpl.payload()[:16])
    ids = [ev.vehicle_id, *(o.record_id for o in ev.occupants if o.record_id), *templates]
    assert crops and not [i for i in ids if i.encode() in text]
