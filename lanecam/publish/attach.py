"""The port's outputs on a running lane, from its config: ``[mqtt]`` → the MQTT sink (and a
health snapshot every ``health_s``), ``[metrics]`` → the Prometheus endpoint, ``[crop_api]``
→ the crop service over the lane's own vault (:mod:`.cropapi`)."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from ..config import LaneConfig

__all__ = ["attach_port_outputs", "lane_health"]


def lane_health(lane: Any) -> dict[str, Any]:
    """Numbers and names only: devices, counters, latencies (``LaneStats.summary``)."""
    return {"cameras": [c.camera.id for c in lane.cameras], **lane.stats.summary()}


def attach_port_outputs(cfg: LaneConfig, lane: Any, stack: contextlib.ExitStack,
                        health_s: float = 5.0, documents: str | None = None) -> dict[str, Any]:
    """Attach what ``cfg`` asks for to ``lane`` (before it starts); closed by ``stack``.
    Returns what was made: ``{"mqtt": MqttSink, "metrics": LaneMetrics, "server": ...,
    "crop_api": CropService}``."""
    made: dict[str, Any] = {}
    if cfg.crop_api is not None:
        from .cropapi import CropService

        crops = CropService(cfg.crop_api, lane.vault, documents).start()
        stack.callback(crops.close)
        made["crop_api"] = crops
    if cfg.mqtt is None and cfg.metrics is None:
        return made
    from .metrics import LaneMetrics, MetricsServer

    metrics = LaneMetrics(cfg.lane_id).attach(lane)
    made["metrics"] = metrics
    if cfg.mqtt is not None:
        from .mqtt import MqttSink

        sink = stack.enter_context(MqttSink(cfg.mqtt))
        lane.sinks.append(sink)
        metrics.fault_sources["mqtt"] = lambda: sink.faults
        metrics.gauges["outbox_pending"] = lambda: len(sink.outbox)
        made["mqtt"] = sink
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(health_s):
                sink.publish_health(cfg.lane_id, lane_health(lane))

        threading.Thread(target=beat, name="health", daemon=True).start()
        stack.callback(stop.set)
    if cfg.metrics is not None:
        server = MetricsServer(metrics, cfg.metrics.host, cfg.metrics.port)
        stack.callback(server.close)
        made["server"] = server
    return made
