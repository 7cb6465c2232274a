"""The console's side of each lane's crop service (:mod:`lanecam.publish.cropapi`): HTTPS with
the console's client certificate, the lane's server certificate checked against the lane's CA.

Crops stay in each lane's vault; a crop read is audited there with the officer as the reader.
Failures are typed: a lane that cannot be reached raises
:class:`~lanecam.errors.LaneUnavailableError` (``feature``: down, timeout, tls, refused,
protocol) and is counted in :attr:`LaneClients.unavailable`; a record the lane does not have
(any more) raises :class:`~lanecam.errors.StorageError` with the lane's ``feature`` (missing,
purged, key_missing, integrity); a value the lane refuses raises
:class:`~lanecam.errors.ConfigError` with that field as ``key``.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

from ..errors import ConfigError, LaneUnavailableError, StorageError
from .config import ConsoleLane

__all__ = ["LaneClient", "LaneClients"]


class LaneClient:
    """One lane's crop service at ``lane.api`` (``https://host:port``)."""

    def __init__(self, lane: ConsoleLane, timeout_s: float = 5.0) -> None:
        self.lane_id = lane.lane_id
        u = urlsplit(lane.api)
        if u.scheme != "https" or not u.hostname:
            raise LaneUnavailableError("the crop service needs an https:// URL",
                                       key=lane.api, feature="protocol")
        self.host, self.port = u.hostname, u.port or 443
        self.timeout_s = timeout_s
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=lane.ca)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(lane.client_cert, lane.client_key)
        self.ctx = ctx

    def call(self, path: str, body: dict[str, Any]) -> tuple[bytes, str]:
        """POST ``body`` as JSON to ``path``; the answer's bytes and media type (2xx only)."""
        conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout_s,
                                           context=self.ctx)
        try:
            conn.request("POST", path, json.dumps(body).encode(),
                         {"Content-Type": "application/json"})
            r = conn.getresponse()
            data = r.read()
            media = r.getheader("Content-Type", "")
        except ssl.SSLError as exc:
            raise LaneUnavailableError(f"TLS with lane failed: {exc.reason}",
                                       device=self.lane_id, feature="tls") from exc
        except TimeoutError as exc:
            raise LaneUnavailableError("lane timed out", device=self.lane_id,
                                       feature="timeout") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise LaneUnavailableError(f"lane unreachable: {type(exc).__name__}",
                                       device=self.lane_id, feature="down") from exc
        finally:
            conn.close()
        if r.status < 300:
            return data, media
        raise _error(self.lane_id, r.status, data)

    def crop_png(self, record_id: str, officer: str) -> bytes:
        data, media = self.call("/v1/crop", {"record": record_id, "officer": officer})
        if media != "image/png" or not data.startswith(b"\x89PNG"):
            raise LaneUnavailableError("the lane sent no PNG", device=self.lane_id,
                                       feature="protocol")
        return data

    def document(self, record_id: str) -> tuple[bytes, str] | None:
        try:
            return self.call("/v1/document", {"record": record_id})
        except StorageError as exc:
            if exc.feature == "no_document":
                return None
            raise

    def decide(self, record_id: str, officer: str, decision: str, reason: str,
               referral: str) -> None:
        self.call("/v1/decision", {"record": record_id, "officer": officer,
                                   "decision": decision, "reason": reason,
                                   "referral": referral})

    def audit_page(self, limit: int, before: int | None = None) -> list[dict[str, Any]]:
        data, _ = self.call("/v1/audit", {"limit": limit, "before": before})
        rows = _json(self.lane_id, data).get("rows")
        if not isinstance(rows, list):
            raise LaneUnavailableError("bad audit answer", device=self.lane_id,
                                       feature="protocol")
        return [r for r in rows if isinstance(r, dict)]


def _json(lane_id: str, data: bytes) -> dict[str, Any]:
    try:
        body = json.loads(data)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise LaneUnavailableError("the lane's answer is not JSON", device=lane_id,
                                   feature="protocol")
    return body


def _error(lane_id: str, status: int, data: bytes) -> Exception:
    """The typed error for a lane's non-2xx answer."""
    if status in (401, 403):
        return LaneUnavailableError("the lane refused this console's certificate",
                                    device=lane_id, feature="refused")
    try:
        body = _json(lane_id, data)
    except LaneUnavailableError:
        body = {}
    kind, feature = body.get("error"), body.get("feature")
    if status == 400 and kind == "bad_field":  # the lane refused a value we sent
        return ConfigError("the lane refused a field", device=lane_id, key=str(feature))
    if status in (404, 410, 507) and isinstance(kind, str):
        return StorageError(f"lane: {kind}", device=lane_id,
                            feature=str(feature or kind))
    return LaneUnavailableError(f"lane answered {status} ({kind})", device=lane_id,
                                feature="protocol")


class LaneClients:
    """Every lane's client; ``unavailable`` counts failed calls per lane (for the health
    page); ``last_error`` holds each lane's last failure kind."""

    def __init__(self, lanes: tuple[ConsoleLane, ...]) -> None:
        self.clients = {c.lane_id: LaneClient(c) for c in lanes}
        self.unavailable: Counter[str] = Counter()
        self.last_error: dict[str, str | None] = {c.lane_id: None for c in lanes}
        self._lock = threading.Lock()

    def _do(self, lane_id: str, fn: str, *args: Any) -> Any:
        try:
            out = getattr(self.clients[lane_id], fn)(*args)
        except LaneUnavailableError as exc:
            with self._lock:
                self.unavailable[lane_id] += 1
                self.last_error[lane_id] = exc.feature
            raise
        self.last_error[lane_id] = None
        return out

    def crop_png(self, lane_id: str, record_id: str, officer: str) -> bytes:
        """The crop as PNG; the lane audits the read with ``officer`` as the actor."""
        return bytes(self._do(lane_id, "crop_png", record_id, officer))

    def document(self, lane_id: str, record_id: str) -> tuple[bytes, str] | None:
        out: tuple[bytes, str] | None = self._do(lane_id, "document", record_id)
        return out

    def decide(self, lane_id: str, record_id: str, officer: str, decision: str, reason: str,
               referral: str) -> None:
        self._do(lane_id, "decide", record_id, officer, decision, reason, referral)

    def audit(self, limit: int = 300) -> tuple[list[dict[str, Any]], list[str]]:
        """The newest ``limit`` audit rows over every lane (each lane asked for its newest
        ``limit`` only), and the lanes that could not be asked."""
        rows: list[dict[str, Any]] = []
        down: list[str] = []
        for lane_id in self.clients:
            try:
                rows += [dict(r, lane=lane_id) for r in self._do(lane_id, "audit_page", limit)]
            except LaneUnavailableError:
                down.append(lane_id)
        rows.sort(key=lambda r: r.get("ts") or 0.0, reverse=True)
        return rows[:limit], down

    def audit_lane(self, lane_id: str, limit: int,
                   before: int | None) -> tuple[list[dict[str, Any]], list[str]]:
        """One lane's newest ``limit`` rows older than row ``before`` (paging back)."""
        try:
            rows = self._do(lane_id, "audit_page", limit, before)
        except LaneUnavailableError:
            return [], [lane_id]
        return [dict(r, lane=lane_id) for r in rows], []

    def close(self) -> None:
        """Nothing is held open between calls."""
