"""CaptureVault: the only place lanecam writes face pixels — encrypted, retained, audited.

* Each record (one chosen crop per occupant) is encrypted with AES-256-GCM under its own random
  key; that key is wrapped (AES-GCM) by the master key.  The record's metadata is authenticated
  as GCM associated data, so editing it makes the record undecryptable.
* Retention: a record expires ``retention_s`` seconds after it was written; purging destroys its
  wrapped key and ciphertext (crypto-shredding) with SQLite ``secure_delete`` on.
* Every write, read and purge appends a row to an audit log whose rows are chained by an
  HMAC-SHA256 keyed from the master key: editing, deleting or reordering rows breaks the chain,
  and without the master key nobody can forge a valid chain.
* One SQLite database (WAL) holds records and audit rows; a write is one transaction, so a
  crash keeps everything committed before and leaves no partial record.  Plaintext never
  touches the disk.  A full disk raises :class:`~lanecam.errors.StorageError`.

Times are wall-clock seconds (``time.time``) because retention is a legal period, not a
monotonic interval.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, LimitError, StorageError
from .keys import MasterKey

__all__ = ["CaptureVault", "VaultRecord", "AuditReport"]

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    meta TEXT NOT NULL,
    key_nonce BLOB,
    wrapped_key BLOB,
    nonce BLOB,
    ciphertext BLOB,
    purged_at REAL
);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    action TEXT NOT NULL,
    record_id TEXT,
    actor TEXT NOT NULL,
    detail TEXT NOT NULL,
    mac TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS vault_info (k TEXT PRIMARY KEY, v TEXT NOT NULL);
"""

_GENESIS = "0" * 64
_META_TYPES = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class VaultRecord:
    """A decrypted record: the crop (uint8 image) and its authenticated metadata."""

    record_id: str
    image: np.ndarray
    meta: Mapping[str, Any]
    created_at: float
    expires_at: float

    def __repr__(self) -> str:  # never the pixels
        return (f"VaultRecord(id={self.record_id}, {self.image.shape[1]}x{self.image.shape[0]}, "
                f"expires_at={self.expires_at:.0f})")


@dataclass(frozen=True)
class AuditReport:
    ok: bool
    rows: int
    first_bad_seq: int | None = None
    reason: str = ""


class CaptureVault:
    """Encrypted crop storage with retention and a tamper-evident audit log.

    ``root`` is a directory (created if missing); ``retention_s`` the retention period in
    seconds; ``max_bytes`` optionally caps the database size (full → StorageError).
    """

    def __init__(self, root: str | Path, master_key: MasterKey, retention_s: float, *,
                 max_bytes: int | None = None, wall_clock: Callable[[], float] = time.time) -> None:
        if not isinstance(master_key, MasterKey):
            raise ConfigError("master_key must be a MasterKey (file, env or KMS)", key="master_key")
        if not (isinstance(retention_s, (int, float)) and 0 < retention_s < 10 * 365 * 86400):
            raise LimitError("retention must be between 0 s and 10 years", key="retention_s",
                             allowed="(0, 3.15e8] s")
        self.root = Path(root)
        self.retention_s = float(retention_s)
        self._now = wall_clock
        self._master = master_key
        self._wrap_key = master_key.derive(b"vault/wrap")
        self._audit_key = master_key.derive(b"vault/audit")
        self._lock = threading.Lock()
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._db = sqlite3.connect(self.root / "vault.sqlite", check_same_thread=False,
                                       isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA secure_delete=ON")
            if max_bytes is not None:
                page = self._db.execute("PRAGMA page_size").fetchone()[0]
                self._db.execute(f"PRAGMA max_page_count={max(8, int(max_bytes) // page)}")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open vault database: {exc}", key=str(self.root)) from exc
        self._check_key()

    # ------------------------------------------------------------------ plumbing
    def _check_key(self) -> None:
        row = self._db.execute("SELECT v FROM vault_info WHERE k='key_id'").fetchone()
        if row is None:
            self._tx(lambda c: c.execute("INSERT INTO vault_info VALUES ('key_id', ?)",
                                         (self._master.key_id,)))
        elif row[0] != self._master.key_id:
            raise StorageError("this vault was created with another master key",
                               key=str(self.root), allowed=f"key id {row[0]}")

    def _tx(self, body: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run ``body`` in one IMMEDIATE transaction; map SQLite failures to StorageError."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    out = body(self._db)
                except BaseException:
                    # SQLite rolls a transaction back by itself on some errors (SQLITE_FULL):
                    # an unconditional ROLLBACK would then fail and hide the real error
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
                return out
            except sqlite3.Error as exc:
                # decided on SQLite's result code (Python ≥ 3.11), never the message's words
                full = getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
                raise StorageError("vault is full" if full else f"vault write failed: {exc}",
                                   key=str(self.root),
                                   feature="disk_full" if full else "sqlite") from exc
            except OSError as exc:
                raise StorageError(f"vault I/O failed: {exc.strerror}", key=str(self.root)) from exc

    def _audit(self, c: sqlite3.Connection, action: str, record_id: str | None, actor: str,
               detail: Mapping[str, Any]) -> None:
        prev = c.execute("SELECT mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        prev_mac = prev[0] if prev else _GENESIS
        seq = (c.execute("SELECT COALESCE(MAX(seq), 0) FROM audit").fetchone()[0]) + 1
        ts = self._now()
        det = json.dumps(detail, sort_keys=True)
        mac = self._mac(prev_mac, seq, ts, action, record_id, actor, det)
        c.execute("INSERT INTO audit (seq, ts, action, record_id, actor, detail, mac) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?)", (seq, ts, action, record_id, actor, det, mac))
        c.execute("INSERT OR REPLACE INTO vault_info VALUES ('head', ?)", (self._head(seq, mac),))

    def _head(self, seq: int, mac: str) -> str:
        """The chain head (last seq and MAC), itself MACed: catches rows cut off the end."""
        tag = hmac.new(self._audit_key, f"head:{seq}:{mac}".encode(), hashlib.sha256).hexdigest()
        return json.dumps([seq, mac, tag])

    def _mac(self, prev: str, seq: int, ts: float, action: str, rid: str | None, actor: str,
             detail: str) -> str:
        msg = json.dumps([prev, seq, repr(ts), action, rid, actor, detail]).encode()
        return hmac.new(self._audit_key, msg, hashlib.sha256).hexdigest()

    @staticmethod
    def _aad(record_id: str, meta_json: str, created: float, expires: float) -> bytes:
        return json.dumps([record_id, meta_json, repr(created), repr(expires)]).encode()

    # ------------------------------------------------------------------ API
    def write(self, crop: np.ndarray, meta: Mapping[str, Any], actor: str = "lane") -> str:
        """Encrypt and store one crop (uint8 gray or color) with flat metadata; return its id.

        ``meta`` values must be plain scalars (str, int, float, bool, None) — no arrays, no
        templates.
        """
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        import cv2

        if not isinstance(crop, np.ndarray) or crop.dtype != np.uint8 or crop.ndim not in (2, 3):
            raise ConfigError("crop must be a uint8 image array", key="crop")
        bad = [k for k, v in meta.items() if not isinstance(k, str) or not isinstance(v, _META_TYPES)]
        if bad:
            raise ConfigError("metadata values must be plain scalars", key=str(bad[0]))
        ok, png = cv2.imencode(".png", crop)
        if not ok:
            raise StorageError("could not encode the crop", key="crop")
        rid = uuid.uuid4().hex
        created = self._now()
        expires = created + self.retention_s
        meta_json = json.dumps(dict(meta), sort_keys=True)
        rkey = AESGCM.generate_key(256)
        nonce, knonce = os.urandom(12), os.urandom(12)
        ct = AESGCM(rkey).encrypt(nonce, png.tobytes(), self._aad(rid, meta_json, created, expires))
        wrapped = AESGCM(self._wrap_key).encrypt(knonce, rkey, rid.encode())
        del rkey, png

        def body(c: sqlite3.Connection) -> None:
            c.execute("INSERT INTO records (id, created_at, expires_at, meta, key_nonce, "
                      "wrapped_key, nonce, ciphertext) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                      (rid, created, expires, meta_json, knonce, wrapped, nonce, ct))
            self._audit(c, "write", rid, actor, {"bytes": len(ct)})

        self._tx(body)
        return rid

    def read(self, record_id: str, actor: str) -> VaultRecord:
        """Decrypt one record for ``actor`` (an officer or process id); audited."""
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        import cv2

        row = self._db.execute(
            "SELECT created_at, expires_at, meta, key_nonce, wrapped_key, nonce, ciphertext, "
            "purged_at FROM records WHERE id = ?", (record_id,)).fetchone()
        if row is None:
            raise StorageError("no such record", key=record_id)
        created, expires, meta_json, knonce, wrapped, nonce, ct, purged = row
        if purged is not None or wrapped is None:
            raise StorageError("record was purged; its key is destroyed", key=record_id)
        try:
            rkey = AESGCM(self._wrap_key).decrypt(knonce, wrapped, record_id.encode())
            png = AESGCM(rkey).decrypt(nonce, ct, self._aad(record_id, meta_json, created, expires))
        except InvalidTag as exc:
            raise StorageError("record does not authenticate (tampered, or another key)",
                               key=record_id) from exc
        image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
        self._tx(lambda c: self._audit(c, "read", record_id, actor, {}))
        return VaultRecord(record_id, image, json.loads(meta_json), created, expires)

    def purge(self, record_id: str, actor: str, reason: str) -> None:
        """Destroy a record's key and ciphertext now (crypto-shredding); audited."""
        def body(c: sqlite3.Connection) -> None:
            n = c.execute("UPDATE records SET wrapped_key = NULL, key_nonce = NULL, "
                          "ciphertext = NULL, nonce = NULL, purged_at = ? "
                          "WHERE id = ? AND purged_at IS NULL", (self._now(), record_id)).rowcount
            if n != 1:
                raise StorageError("no live record to purge", key=record_id)
            self._audit(c, "purge", record_id, actor, {"reason": reason})

        self._tx(body)
        self._checkpoint()

    def _checkpoint(self) -> None:
        """Fold the WAL into the database and truncate it, so old page images are gone too."""
        with self._lock:
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:
                raise StorageError(f"checkpoint failed: {exc}", key=str(self.root)) from exc

    def purge_expired(self, actor: str = "retention") -> int:
        """Purge every record past its retention; return how many."""
        now = self._now()
        ids = [r[0] for r in self._db.execute(
            "SELECT id FROM records WHERE expires_at <= ? AND purged_at IS NULL", (now,))]
        for rid in ids:
            self.purge(rid, actor, "retention expired")
        return len(ids)

    def records(self, include_purged: bool = False) -> list[dict[str, Any]]:
        """Record ids, times and metadata (no pixels), oldest first."""
        q = "SELECT id, created_at, expires_at, meta, purged_at FROM records"
        if not include_purged:
            q += " WHERE purged_at IS NULL"
        return [{"id": r[0], "created_at": r[1], "expires_at": r[2], "meta": json.loads(r[3]),
                 "purged_at": r[4]} for r in self._db.execute(q + " ORDER BY created_at")]

    def audit_rows(self) -> list[dict[str, Any]]:
        cols = ("seq", "ts", "action", "record_id", "actor", "detail", "mac")
        return [dict(zip(cols, r)) for r in self._db.execute(
            f"SELECT {', '.join(cols)} FROM audit ORDER BY seq")]

    def verify(self) -> AuditReport:
        """Recompute the audit chain; report the first row that does not fit."""
        prev = _GENESIS
        expected_seq = 1
        rows = self.audit_rows()
        for r in rows:
            if r["seq"] != expected_seq:
                return AuditReport(False, len(rows), r["seq"], "a row is missing")
            mac = self._mac(prev, r["seq"], r["ts"], r["action"], r["record_id"], r["actor"],
                            r["detail"])
            if not hmac.compare_digest(mac, r["mac"]):
                return AuditReport(False, len(rows), r["seq"], "row does not match its MAC")
            prev, expected_seq = r["mac"], expected_seq + 1
        head = self._db.execute("SELECT v FROM vault_info WHERE k='head'").fetchone()
        last = (rows[-1]["seq"], rows[-1]["mac"]) if rows else None
        if (head is None) != (last is None) or (last and head[0] != self._head(*last)):
            return AuditReport(False, len(rows), None, "chain head does not match the last row")
        written = {r["id"] for r in self.records(include_purged=True)}
        logged = {r["record_id"] for r in rows if r["action"] == "write"}
        if written != logged:
            return AuditReport(False, len(rows), None, "records and write log disagree")
        return AuditReport(True, len(rows))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> CaptureVault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CaptureVault({self.root}, key={self._master.key_id}, retention={self.retention_s:g} s)"
