"""The lane's crop service: the officer console fetches crops, records decisions and reads the
audit over HTTPS with a pinned client certificate; every crop read is audited in this lane's
vault with the officer as the reader.

Transport: TLS 1.2+ on ``[crop_api]`` ``host:port``.  The client must present a certificate
issued by ``client_ca`` whose SHA-256 equals that of ``client_cert`` (pinned): no certificate
→ 401, another certificate → 403, a certificate from another CA → the handshake fails.  TLS
keeps a recorded request from being replayed.

Every endpoint is ``POST`` with a JSON body (ids in the body, never in the URL, so no access
log or proxy sees them):

* ``/v1/crop`` ``{"record", "officer"}`` → the crop as PNG (``vault.read(record,
  actor=officer)``, audited before the bytes leave);
* ``/v1/document`` ``{"record"}`` → the booth's document photo of that record's traveler;
* ``/v1/decision`` ``{"record", "officer", "decision", "reason", "referral"}`` → 204;
* ``/v1/meta`` ``{"record"}`` → the record's metadata (no pixels);
* ``/v1/audit`` ``{"limit", "before"}`` → the newest audit rows (paged by ``seq``).

Errors are JSON ``{"error": <kind>, "feature": ...}`` with 400/401/403/404/410/413/500/507.
Every response is ``Cache-Control: no-store``; the log line is method, path and status only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import ssl
import threading
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ..config import CropApiConfig
from ..errors import ConfigError, LanecamError, StorageError
from ..store.decisions import record_decision

__all__ = ["CropService", "cert_sha256"]

log = logging.getLogger(__name__)

MAX_BODY = 16 * 1024
MAX_CONNECTIONS = 16  # at once; more are closed at once (the console makes one per view)
_RECORD = re.compile(r"[0-9a-f]{32}")
_ACTOR = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
_TRAVELER = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_STATUS = {"missing": 404, "purged": 410, "key_missing": 410, "integrity": 410,
           "disk_full": 507}
HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache",
           "X-Content-Type-Options": "nosniff"}


def cert_sha256(path: str | Path) -> str:
    """SHA-256 (hex) of a PEM certificate's DER bytes: what ``[crop_api]`` pins."""
    der = ssl.PEM_cert_to_DER_cert(Path(path).read_text())
    return hashlib.sha256(der).hexdigest()


class _BadRequest(Exception):
    def __init__(self, status: int, kind: str, feature: str | None = None) -> None:
        super().__init__(kind)
        self.status, self.kind, self.feature = status, kind, feature


def _field(body: dict[str, Any], name: str, pattern: re.Pattern[str]) -> str:
    v = body.get(name)
    if not isinstance(v, str) or not pattern.fullmatch(v):
        raise _BadRequest(400, "bad_field", name)
    return v


class CropService:
    """The crop service of one lane over ``vault`` (any object with ``read``, ``note``,
    ``meta`` and ``audit_page``); ``documents``: the document photos' folder when
    ``[crop_api]`` names none.  ``start()`` serves in a thread, ``close()`` stops."""

    def __init__(self, cfg: CropApiConfig, vault: Any,
                 documents: str | Path | None = None) -> None:
        self.cfg = cfg
        self.vault = vault
        folder = cfg.documents or documents  # the table's, else the lane's --documents
        self.documents = Path(folder) if folder else None
        self.pinned = cert_sha256(cfg.client_cert)
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(cfg.tls_cert, cfg.tls_key)
        ctx.load_verify_locations(cfg.client_ca or cfg.client_cert)
        ctx.verify_mode = ssl.CERT_OPTIONAL  # no certificate: answered 401, not cut off
        self._server = _TlsServer((cfg.host, cfg.port), _Handler, ctx, self)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> CropService:
        self._thread = threading.Thread(target=self._server.serve_forever, name="crop-api",
                                        kwargs={"poll_interval": 0.2}, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    # ------------------------------------------------------------------ endpoints
    def routes(self) -> dict[str, Callable[[dict[str, Any]], tuple[bytes, str]]]:
        return {"/v1/crop": self.crop, "/v1/document": self.document,
                "/v1/decision": self.decision, "/v1/meta": self.meta, "/v1/audit": self.audit}

    def crop(self, body: dict[str, Any]) -> tuple[bytes, str]:
        import cv2

        rid, officer = _field(body, "record", _RECORD), _field(body, "officer", _ACTOR)
        with self._lock:
            rec = self.vault.read(rid, actor=officer)
        ok, png = cv2.imencode(".png", rec.image)
        if not ok:
            raise StorageError("could not encode the crop", key="crop", feature="integrity")
        self.counts["crop"] += 1
        return bytes(png.tobytes()), "image/png"

    def document(self, body: dict[str, Any]) -> tuple[bytes, str]:
        rid = _field(body, "record", _RECORD)
        with self._lock:
            meta = self.vault.meta(rid)
        if meta is None:
            raise _BadRequest(404, "missing", "missing")
        traveler = meta.get("traveler")
        if self.documents is None or not isinstance(traveler, str) or \
                not _TRAVELER.fullmatch(traveler):
            raise _BadRequest(404, "no_document")
        for ext, media in ((".jpg", "image/jpeg"), (".png", "image/png")):
            p = self.documents / f"{traveler}{ext}"
            if p.is_file():
                return p.read_bytes(), media
        raise _BadRequest(404, "no_document")

    def decision(self, body: dict[str, Any]) -> tuple[bytes, str]:
        rid, officer = _field(body, "record", _RECORD), _field(body, "officer", _ACTOR)
        referral = body.get("referral")
        if referral is not None and not isinstance(referral, str):
            raise _BadRequest(400, "bad_field", "referral")
        try:
            with self._lock:
                record_decision(self.vault, rid, officer, str(body.get("decision")),
                                body.get("reason"), referral=referral)
        except ConfigError as exc:
            raise _BadRequest(400, "bad_field", exc.key) from exc
        return b"", ""

    def meta(self, body: dict[str, Any]) -> tuple[bytes, str]:
        rid = _field(body, "record", _RECORD)
        with self._lock:
            meta = self.vault.meta(rid)
        if meta is None:
            raise _BadRequest(404, "missing", "missing")
        return json.dumps({"record": rid, "meta": meta}).encode(), "application/json"

    def audit(self, body: dict[str, Any]) -> tuple[bytes, str]:
        limit, before = body.get("limit", 100), body.get("before")
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 1000:
            raise _BadRequest(400, "bad_field", "limit")
        if before is not None and (not isinstance(before, int) or isinstance(before, bool)):
            raise _BadRequest(400, "bad_field", "before")
        with self._lock:
            rows = self.vault.audit_page(limit, before)
        return json.dumps({"rows": rows}).encode(), "application/json"


class _TlsServer(ThreadingHTTPServer):
    """Accepts plain sockets and does each TLS handshake in the request's own thread, so a
    slow or hostile client cannot hold up the others."""

    daemon_threads = True

    def __init__(self, addr: tuple[str, int], handler: type, ctx: ssl.SSLContext,
                 service: CropService) -> None:
        self.ctx, self.service = ctx, service
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(addr, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):  # a flood: closed, counted
            self.service.counts["busy"] += 1
            return
        try:
            self._serve(request, client_address)
        finally:
            self.slots.release()

    def _serve(self, request: Any, client_address: Any) -> None:
        request.settimeout(10)
        try:
            tls = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            self.service.counts["tls_failed"] += 1
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            tls.close()


class _Handler(BaseHTTPRequestHandler):
    server: _TlsServer
    protocol_version = "HTTP/1.1"
    server_version = "lanecam-crop-api"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        log.info("crop api: %s", format % args)  # method, path and status: no id, no body

    def _send(self, status: int, data: bytes = b"", media: str = "") -> None:
        self.send_response(status)
        for k, v in HEADERS.items():
            self.send_header(k, v)
        if media:
            self.send_header("Content-Type", media)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)

    def _error(self, status: int, kind: str, feature: str | None = None) -> None:
        self.server.service.counts[f"error_{status}"] += 1
        self._send(status, json.dumps({"error": kind, "feature": feature}).encode(),
                   "application/json")

    def _authorized(self) -> bool:
        der = self.connection.getpeercert(binary_form=True)  # type: ignore[attr-defined]
        if not der:
            self._error(401, "no_client_certificate")
            return False
        if not hmac.compare_digest(hashlib.sha256(der).hexdigest(), self.server.service.pinned):
            self._error(403, "client_not_pinned")
            return False
        return True

    def do_GET(self) -> None:
        self.close_connection = True
        if self._authorized():
            self._error(405, "post_only")

    def do_POST(self) -> None:
        self.close_connection = True
        try:  # read the body first: a refused client still gets its answer, not a reset
            raw = self._read()
        except _BadRequest as exc:
            return self._error(exc.status, exc.kind, exc.feature)
        if not self._authorized():
            return
        route = self.server.service.routes().get(self.path)
        if route is None:
            return self._error(404, "no_such_endpoint")
        try:
            data, media = route(_json_object(raw))
        except _BadRequest as exc:
            return self._error(exc.status, exc.kind, exc.feature)
        except StorageError as exc:
            return self._error(_STATUS.get(exc.feature or "", 500), "storage", exc.feature)
        except LanecamError as exc:
            return self._error(500, type(exc).__name__, exc.feature)
        self._send(200 if data else 204, data, media)

    def _read(self) -> bytes:
        try:
            n = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            raise _BadRequest(400, "bad_length") from None
        if not 0 < n <= MAX_BODY:
            raise _BadRequest(413 if n > MAX_BODY else 400, "bad_length")
        return bytes(self.rfile.read(n))


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _BadRequest(400, "not_json") from None
    if not isinstance(body, dict):
        raise _BadRequest(400, "not_json")
    return body
