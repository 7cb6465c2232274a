"""Events per second one lane publishes to a real mosquitto, with the durable outbox and
without it, in the same run.

* **outbox**: ``MqttSink.emit`` for N events (each committed to the SQLite outbox with
  ``synchronous=FULL`` before emit returns), timed until the last PUBACK deleted its row;
* **direct**: the same payloads published by one paho client with QoS 1 (up to the same
  window in flight), timed until the last PUBACK — no disk, nothing survives a crash.

Prints events/s of each and the ratio outbox / direct, plus emit's own rate (the lane's cost:
how fast it can hand events over while the broker is up or down), per repeat and the median.

    python bench/mqtt_outbox.py [--events 2000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

from lanecam.config import load_lane_config
from lanecam.publish.mqtt import MqttSink, make_client
from lanecam.publish.simlane import sim_event
from lanecam.testing.mosquitto import Mosquitto, lane_toml


def with_outbox(cfg_path: Path, n: int) -> tuple[float, float]:
    """(events/s end to end, events/s of emit alone)."""
    cfg = load_lane_config(cfg_path).mqtt
    assert cfg is not None
    events = [sim_event("bench", i, refer=i % 10 == 0) for i in range(n)]
    with MqttSink(cfg) as sink:
        assert sink.connected.wait(5)
        t0 = time.perf_counter()
        for e in events:
            sink.emit(e)
        t_emit = time.perf_counter() - t0
        assert sink.flush(120), "the broker did not take everything"
        total = time.perf_counter() - t0
    return n / total, n / t_emit


def direct(cfg_path: Path, n: int, window: int = 100) -> float:
    """events/s: paho QoS 1, no outbox, the same payload size."""
    import json

    cfg = load_lane_config(cfg_path).mqtt
    assert cfg is not None
    payloads = [json.dumps({"event_id": str(i), **sim_event("bench", i, i % 10 == 0)
                            .to_dict()}, sort_keys=True).encode() for i in range(n)]
    acked = threading.Semaphore(0)
    room = threading.BoundedSemaphore(window)
    client = make_client(cfg, "bench-direct")
    client.on_publish = lambda c, u, mid, rc, p: (acked.release(), room.release())
    client.connect(cfg.host, cfg.port)
    client.loop_start()
    try:
        t0 = time.perf_counter()
        for p in payloads:
            room.acquire()
            client.publish("lanecam/bench/bench/events", p, qos=1)
        for _ in range(n):
            assert acked.acquire(timeout=60)
        return n / (time.perf_counter() - t0)
    finally:
        client.disconnect()
        client.loop_stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Mosquitto(Path(tmp) / "broker",
                                                         extra="") as broker:
        rows = []
        for r in range(args.repeat):
            cfg = lane_toml(Path(tmp) / f"lane{r}", "bench", broker.port, site="bench")
            d = direct(cfg, args.events)
            o, e = with_outbox(cfg, args.events)
            rows.append((o, d, e))
            print(f"repeat {r + 1}: outbox {o:8.0f} ev/s   direct {d:8.0f} ev/s   "
                  f"ratio {o / d:.3f}   emit alone {e:8.0f} ev/s", flush=True)
        med = [statistics.median(x) for x in zip(*rows)]
        print(f"median ({args.events} events x {args.repeat}): outbox {med[0]:.0f} ev/s, "
              f"direct {med[1]:.0f} ev/s, ratio {med[0] / med[1]:.3f}, emit alone "
              f"{med[2]:.0f} ev/s")


if __name__ == "__main__":
    main()
