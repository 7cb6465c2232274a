"""MQTT sink: each lane event, QoS 1, to ``lanecam/<site>/<lane>/events`` through a durable
outbox (:mod:`.outbox`).

``emit`` commits the event to the outbox and returns: the lane never waits for the broker.  A
publisher thread connects (a fresh paho client per connection, no paho-side queue that could
outlive it), publishes unsent rows oldest first with up to ``window`` in flight, and deletes a
row when its PUBACK arrives.  Broker down or lost: the thread counts the fault
(:attr:`MqttSink.faults`), waits with a capped back-off and connects again; the rows wait on
disk.  Within one process a row is handed to the broker once per connection; after a lost
connection or a restart the rows without a PUBACK are published again under the same
``event_id`` (QoS 1 is at-least-once; consumers de-duplicate by ``event_id``).

Payload: the event's metadata (:meth:`~lanecam.events.LaneEvent.to_dict`) plus ``event_id`` and
``site``; no pixels and no templates can be in a LaneEvent.  Health: :meth:`publish_health`
sends a retained, not outboxed, summary to ``lanecam/<site>/<lane>/health``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections import Counter, deque
from typing import Any, Self

from ..config import MqttConfig
from ..errors import ConfigError
from ..events import LaneEvent
from .outbox import Outbox

__all__ = ["MqttSink", "event_topic", "health_topic"]

log = logging.getLogger(__name__)


def event_topic(site: str, lane: str) -> str:
    return f"lanecam/{site}/{lane}/events"


def health_topic(site: str, lane: str) -> str:
    return f"lanecam/{site}/{lane}/health"


def make_client(cfg: MqttConfig, client_id: str, clean: bool = True,
                reconnect: bool = False) -> Any:
    """A paho client with the config's credentials and TLS (no connection yet)."""
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                         clean_session=clean, reconnect_on_failure=reconnect)
    if cfg.username is not None:
        password = None
        if cfg.password_env is not None:
            password = os.environ.get(cfg.password_env)
            if password is None:
                raise ConfigError("the broker password's environment variable is not set",
                                  key="mqtt.password_env", allowed=cfg.password_env)
        client.username_pw_set(cfg.username, password)
    if cfg.tls:
        client.tls_set(ca_certs=cfg.ca_file, certfile=cfg.cert_file, keyfile=cfg.key_file)
    return client


class MqttSink:
    """A :class:`~lanecam.events.Sink` publishing to the site's broker through an outbox."""

    def __init__(self, cfg: MqttConfig, *, window: int = 100, max_backoff_s: float = 2.0,
                 max_rows: int = 1_000_000) -> None:
        self.cfg = cfg
        self.window = window
        self.max_backoff_s = max_backoff_s
        self.outbox = Outbox(cfg.outbox, max_rows)
        self.faults: Counter[str] = Counter()
        self.published = 0  # acknowledged by the broker
        self.connected = threading.Event()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._acked: deque[int] = deque()
        self._lost = threading.Event()
        self._client: Any = None
        make_client(cfg, "check")  # credentials and TLS files are checked now, not later
        self._thread = threading.Thread(target=self._run, name="mqtt-publisher", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ Sink
    def emit(self, event: LaneEvent) -> None:
        """Commit the event to the outbox (durable on return) and wake the publisher."""
        event_id = uuid.uuid4().hex
        body = {"event_id": event_id, "site": self.cfg.site, **event.to_dict()}
        payload = json.dumps(body, sort_keys=True).encode()
        self.outbox.put(event_id, event_topic(self.cfg.site, event.lane_id), payload)
        self._wake.set()

    def publish_health(self, lane_id: str, summary: dict[str, Any]) -> bool:
        """Send ``summary`` (numbers and names only) retained to the lane's health topic;
        False when not connected (health is a snapshot: the next one replaces it)."""
        client = self._client
        if client is None or not self.connected.is_set():
            return False
        client.publish(health_topic(self.cfg.site, lane_id),
                       json.dumps(summary, sort_keys=True).encode(), qos=0, retain=True)
        return True

    # ------------------------------------------------------------------ publisher
    def _run(self) -> None:
        backoff = 0.05
        while not self._stop.is_set():
            try:
                if self._session():
                    backoff = 0.05
            except Exception as exc:  # noqa: BLE001 - a publisher fault is counted, retried
                self.faults[f"publisher:{type(exc).__name__}"] += 1
                log.warning("mqtt publisher: %s", type(exc).__name__)
            if not self._stop.wait(backoff):
                backoff = min(backoff * 2, self.max_backoff_s)

    def _session(self) -> bool:
        """One connection: publish until it is lost or the sink stops; True if it connected."""
        client = make_client(self.cfg, f"lanecam-pub-{uuid.uuid4().hex[:12]}")
        client.on_connect = lambda c, u, f, rc, p: self.connected.set() if not rc.is_failure \
            else None
        client.on_disconnect = lambda c, u, f, rc, p: (self._lost.set(), self._wake.set())
        client.on_publish = lambda c, u, mid, rc, p: (self._acked.append(mid), self._wake.set())
        self._lost.clear()
        self._acked.clear()
        try:
            client.connect(self.cfg.host, self.cfg.port, self.cfg.keepalive_s)
        except OSError:
            self.faults["broker_unreachable"] += 1
            return False
        client.loop_start()
        try:
            if not self._await_connack():
                self.faults["broker_refused"] += 1
                return False
            self._client = client
            self._pump(client)
            if not self._stop.is_set():
                self.faults["broker_lost"] += 1
            return True
        finally:
            self._client = None
            self.connected.clear()
            client.disconnect()
            client.loop_stop()

    def _await_connack(self, timeout_s: float = 5.0) -> bool:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end and not self._lost.is_set() and not self._stop.is_set():
            if self.connected.wait(0.02):
                return True
        return False

    def _pump(self, client: Any) -> None:
        inflight: dict[int, int] = {}  # mid → outbox seq
        last = 0
        while not self._stop.is_set() and not self._lost.is_set():
            self._wake.wait(0.5)
            self._wake.clear()
            done = []
            while self._acked:
                seq = inflight.pop(self._acked.popleft(), None)
                if seq is not None:
                    done.append(seq)
            self.published += self.outbox.ack(done)
            if len(inflight) >= self.window or self._lost.is_set():
                continue
            for row in self.outbox.pending(last, self.window - len(inflight)):
                info = client.publish(row.topic, row.payload, qos=1)
                if info.rc != 0:  # the connection went while publishing
                    self._lost.set()
                    break
                inflight[info.mid] = row.seq
                last = row.seq
            if self._acked:
                self._wake.set()

    # ------------------------------------------------------------------ lifetime
    def flush(self, timeout_s: float) -> bool:
        """Wait until every event is acknowledged; False on timeout."""
        end = time.monotonic() + timeout_s
        while len(self.outbox) and time.monotonic() < end:
            time.sleep(0.01)
        return not len(self.outbox)

    def close(self, timeout_s: float = 2.0) -> None:
        """Give the broker ``timeout_s`` to take what is queued, then stop; unsent events stay
        in the outbox for the next start."""
        self.flush(timeout_s)
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)
        self.outbox.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
