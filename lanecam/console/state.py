"""What the console knows: recent vehicles per lane, the referral queue, lane health — all
metadata from the broker (no pixels ever arrive there) — and the live listeners.

Fed from paho's network thread (:meth:`ConsoleState.on_event`, :meth:`on_health`); read by
the web handlers; each update is also pushed to every server-sent-events listener through its
asyncio loop.  Bounded: ``keep`` vehicles per lane, ``max_referrals`` referrals (the oldest
decided ones go first).  With a :class:`~.queue.ReferralStore` the queue is on disk too:
loaded on start, each new referral and decision written through.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from .queue import Referral, ReferralStore

__all__ = ["ConsoleState", "Referral"]


@dataclass
class _Listener:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[dict[str, Any]]
    lanes: frozenset[str] | None  # None: every lane


@dataclass
class LaneView:
    vehicles: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=50))
    health: dict[str, Any] = field(default_factory=dict)
    events: int = 0
    occupants: int = 0
    captured: int = 0


class ConsoleState:
    def __init__(self, lanes: list[str], max_referrals: int = 10_000,
                 store: ReferralStore | None = None) -> None:
        self.lanes: dict[str, LaneView] = {lane: LaneView() for lane in lanes}
        self.referrals: OrderedDict[str, Referral] = OrderedDict()
        self.store = store
        if store is not None:
            for r in store.open_referrals(max_referrals):
                if r.lane_id in self.lanes:
                    self.referrals[r.ref_id] = r
        self.max_referrals = max_referrals
        self.unknown_lane = 0
        self._listeners: list[_Listener] = []
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ from the broker
    def on_event(self, body: dict[str, Any]) -> None:
        lane = str(body.get("lane_id"))
        view = self.lanes.get(lane)
        if view is None:
            self.unknown_lane += 1
            return
        occ = [o for o in body.get("occupants", []) if isinstance(o, dict)]
        vehicle = {"lane": lane, "vehicle": str(body.get("vehicle_id")),
                   "status": str(body.get("status")), "needs_review": bool(
                       body.get("needs_review")),
                   "occupants": [{"seat": o.get("index"), "outcome": o.get("outcome"),
                                  "quality": o.get("quality"), "score": o.get("score")}
                                 for o in occ]}
        new: list[Referral] = []
        with self._lock:
            view.vehicles.appendleft(vehicle)
            view.events += 1
            view.occupants += len(occ)
            view.captured += sum(bool(o.get("face_found")) for o in occ)
            for o in occ:
                if o.get("outcome") != "refer_to_officer":
                    continue
                r = Referral(f"{body.get('event_id')}.{o.get('index')}", lane,
                             vehicle["vehicle"], int(o.get("index") or 0), o.get("record_id"),
                             o.get("quality"), o.get("score"), o.get("threshold"),
                             o.get("reason"))
                if self.store is not None:
                    r = self.store.put(r)  # delivered again: it keeps its decision
                if r.decided is None:
                    self.referrals[r.ref_id] = r
                    new.append(r)
            self._trim()
        self._push({"type": "vehicle", **vehicle}, lane)
        for r in new:
            self._push({"type": "referral", **r.public()}, lane)

    def on_health(self, lane: str, body: dict[str, Any]) -> None:
        view = self.lanes.get(lane)
        if view is not None:
            with self._lock:
                view.health = body

    def _trim(self) -> None:
        while len(self.referrals) > self.max_referrals:
            old = next((k for k, r in self.referrals.items() if r.decided), None)
            self.referrals.pop(old if old is not None else next(iter(self.referrals)))

    # ------------------------------------------------------------------ for pages
    def decide(self, ref_id: str, decision: str, officer: str) -> None:
        with self._lock:
            r = self.referrals[ref_id]
            r.decided, r.decided_by = decision, officer
        if self.store is not None:
            self.store.decide(ref_id, decision, officer)
        self._push({"type": "decided", "ref_id": ref_id, "decided": decision}, r.lane_id)

    def open_referrals(self, lanes: frozenset[str] | None) -> list[Referral]:
        with self._lock:
            return [r for r in self.referrals.values()
                    if r.decided is None and (lanes is None or r.lane_id in lanes)]

    def vehicles(self, lane: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.lanes[lane].vehicles)

    # ------------------------------------------------------------------ live listeners
    def listen(self, lanes: frozenset[str] | None) -> _Listener:
        lst = _Listener(asyncio.get_running_loop(), asyncio.Queue(maxsize=1000), lanes)
        with self._lock:
            self._listeners.append(lst)
        return lst

    def unlisten(self, lst: _Listener) -> None:
        with self._lock:
            if lst in self._listeners:
                self._listeners.remove(lst)

    def _push(self, msg: dict[str, Any], lane: str) -> None:
        with self._lock:
            targets = [x for x in self._listeners if x.lanes is None or lane in x.lanes]
        for x in targets:
            try:
                x.loop.call_soon_threadsafe(_offer, x.queue, msg)
            except RuntimeError:  # that loop is closed: the listener is gone
                self.unlisten(x)


def _offer(q: asyncio.Queue[dict[str, Any]], msg: dict[str, Any]) -> None:
    if not q.full():  # a stalled page misses updates; it reloads the state on reconnect
        q.put_nowait(msg)
