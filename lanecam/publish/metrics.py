"""Prometheus metrics of one lane (``prometheus_client``), served at ``/metrics``.

:class:`LaneMetrics` is a :class:`~lanecam.events.Sink` (vehicles, frames, incomplete
buffers, occupants captured / verified / referred, events by status, from each event) and an
observer of the lane's stage latencies (:attr:`~lanecam.lane.types.LaneStats.observers`: one
histogram per stage); fault counters (the lane's ``stats.faults`` and any other named source,
e.g. the MQTT sink's) are read at scrape time.  Labels are the lane id, a stage name, an
outcome or status word and a fault kind — all words the code chose, checked against a
pattern; no label carries a traveler, a document, a vehicle or an image.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from ..events import LaneEvent

__all__ = ["LaneMetrics", "MetricsServer"]

_WORD = re.compile(r"[A-Za-z0-9_:.-]{1,64}")
#: seconds; the lane's stages run from milliseconds (ranking) to seconds (a burst)
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _word(s: str) -> str:
    """A label value: the code's own word, or "other" (never free text)."""
    return s if _WORD.fullmatch(s) else "other"


class LaneMetrics:
    """One lane's metrics in their own registry (several lanes can live in one process).

    ``fault_sources``: name → a function returning a counter of fault kinds, read at scrape
    time (``{"lane": lambda: lane.stats.faults, "mqtt": lambda: sink.faults}``)."""

    def __init__(self, lane_id: str,
                 fault_sources: Mapping[str, Callable[[], Mapping[str, int]]] | None = None,
                 gauges: Mapping[str, Callable[[], float]] | None = None) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.lane_id = _word(lane_id)
        self.fault_sources = dict(fault_sources or {})
        self.gauges = dict(gauges or {})
        self.registry = CollectorRegistry(auto_describe=True)
        r, lane = self.registry, ["lane"]
        self.vehicles = Counter("lanecam_vehicles", "Vehicles reported", lane, registry=r)
        self.events = Counter("lanecam_events", "Lane events by status", [*lane, "status"],
                              registry=r)
        self.frames = Counter("lanecam_frames", "Frames grabbed for vehicles", lane, registry=r)
        self.incomplete = Counter("lanecam_incomplete_buffers",
                                  "Incomplete frame buffers", lane, registry=r)
        self.occupants = Counter("lanecam_occupants", "Occupants by result "
                                 "(captured: a face was found; verified; referred: to an "
                                 "officer)", [*lane, "result"], registry=r)
        self.latency = Histogram("lanecam_stage_latency_seconds", "Lane stage latency",
                                 [*lane, "stage"], buckets=_BUCKETS, registry=r)
        r.register(_ScrapeTime(self))

    # ------------------------------------------------------------------ Sink
    def emit(self, event: LaneEvent) -> None:
        lane = self.lane_id
        self.vehicles.labels(lane).inc()
        self.events.labels(lane, _word(event.status)).inc()
        self.frames.labels(lane).inc(event.frames)
        self.incomplete.labels(lane).inc(event.incomplete_frames)
        for o in event.occupants:
            if o.face_found:
                self.occupants.labels(lane, "captured").inc()
            if o.outcome == "verified":
                self.occupants.labels(lane, "verified").inc()
            elif o.outcome == "refer_to_officer":
                self.occupants.labels(lane, "referred").inc()
            else:
                self.occupants.labels(lane, "no_reference").inc()

    def attach(self, lane: Any) -> LaneMetrics:
        """Follow ``lane`` (a :class:`~lanecam.lane.runner.Lane`, not started yet): its stage
        latencies, its fault counters, and its events (this object joins its sinks)."""
        lane.stats.observers.append(self.observe)
        self.fault_sources.setdefault("lane", lambda: lane.stats.faults)
        if self not in lane.sinks:
            lane.sinks.append(self)
        return self

    def observe(self, stage: str, seconds: float) -> None:
        """A :class:`~lanecam.lane.types.LaneStats` observer: one latency sample."""
        self.latency.labels(self.lane_id, _word(stage)).observe(seconds)

    def text(self) -> bytes:
        from prometheus_client import generate_latest

        return bytes(generate_latest(self.registry))


class _ScrapeTime:
    """Fault counters and gauges read when Prometheus scrapes."""

    def __init__(self, m: LaneMetrics) -> None:
        self.m = m

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        faults = CounterMetricFamily("lanecam_faults", "Faults by source and kind",
                                     labels=["lane", "source", "kind"])
        for source, read in self.m.fault_sources.items():
            for kind, n in sorted(dict(read()).items()):
                faults.add_metric([self.m.lane_id, _word(source), _word(str(kind))], float(n))
        yield faults
        for name, read in self.m.gauges.items():
            g = GaugeMetricFamily(f"lanecam_{_word(name)}", name, labels=["lane"])
            g.add_metric([self.m.lane_id], float(read()))
            yield g

    def describe(self) -> list[Any]:
        return []


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class MetricsServer:
    """``/metrics`` of one or more :class:`LaneMetrics` over HTTP on ``host:port`` (port 0:
    a free one, see :attr:`port`), in a daemon thread."""

    def __init__(self, metrics: LaneMetrics, host: str = "127.0.0.1", port: int = 0) -> None:
        from prometheus_client import make_wsgi_app

        self._server: WSGIServer = make_server(host, port, make_wsgi_app(metrics.registry),
                                               handler_class=_Quiet)
        self.port = int(self._server.server_port)
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics",
                                        daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
