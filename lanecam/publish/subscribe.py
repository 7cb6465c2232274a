"""The consuming side: every lane of a site, from the broker, each ``event_id`` once.

:class:`SiteSubscriber` keeps a persistent session (``clean_session=False``, a fixed client id,
QoS 1), so events published while it is away wait at the broker; it reconnects by itself.
QoS 1 may deliver a message twice (a PUBACK lost when the broker or the lane died): the
subscriber drops an ``event_id`` it has seen (a bounded memory of the last ``remember`` ids)
and counts it in :attr:`SiteSubscriber.duplicates`.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Self

from ..config import MqttConfig
from .mqtt import make_client

__all__ = ["SiteSubscriber"]

log = logging.getLogger(__name__)


class SiteSubscriber:
    """Calls ``on_event(dict)`` once per event id and ``on_health(lane, dict)`` per health
    snapshot, from paho's network thread."""

    def __init__(self, cfg: MqttConfig, client_id: str,
                 on_event: Callable[[dict[str, Any]], None],
                 on_health: Callable[[str, dict[str, Any]], None] | None = None,
                 remember: int = 100_000) -> None:
        self.cfg = cfg
        self.on_event = on_event
        self.on_health = on_health
        self.remember = remember
        self.duplicates = 0
        self.received = 0
        self.bad = 0
        self.connected = threading.Event()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._client = make_client(cfg, client_id, clean=False, reconnect=True)
        self._client.reconnect_delay_set(0.05, 1.0)
        self._client.on_connect = self._connected
        self._client.on_disconnect = lambda c, u, f, rc, p: self.connected.clear()
        self._client.on_message = self._message

    def _connected(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        if rc.is_failure:
            return
        site = self.cfg.site
        client.subscribe([(f"lanecam/{site}/+/events", 1), (f"lanecam/{site}/+/health", 0)])
        self.connected.set()

    def _message(self, client: Any, userdata: Any, msg: Any) -> None:
        parts = msg.topic.split("/")
        try:
            body = json.loads(msg.payload)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self.bad += 1
            return
        if parts[-1] == "health":
            if self.on_health is not None:
                self.on_health(parts[2], body)
            return
        eid = body.get("event_id")
        if not isinstance(eid, str):
            self.bad += 1
            return
        with self._lock:
            self.received += 1
            if eid in self._seen:
                self.duplicates += 1
                return
            self._seen[eid] = None
            if len(self._seen) > self.remember:
                self._seen.popitem(last=False)
        self.on_event(body)

    def start(self) -> Self:
        self._client.connect_async(self.cfg.host, self.cfg.port, self.cfg.keepalive_s)
        self._client.loop_start()
        return self

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
