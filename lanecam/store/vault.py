"""CaptureVault: the only place lanecam writes face pixels — encrypted, retained, audited.

* Each record (one chosen crop per occupant) is encrypted with AES-256-GCM under its own random
  key; that key is wrapped (AES-GCM) by a subkey of the master key.  Both use the record's
  identity — vault id, record id, created/expires times, metadata — as associated data
  (:mod:`.records`), so an edited field or a key/ciphertext moved to another record does not
  decrypt.
* Retention: a record expires ``retention_s`` seconds after it was written; purging destroys its
  wrapped key and ciphertext (crypto-shredding) with SQLite ``secure_delete`` on.
* Every write, read and purge appends a row to an HMAC-chained audit log (:mod:`.audit`).  A
  write's row carries HMAC digests of the record's metadata and of its whole row, so
  :meth:`CaptureVault.verify` catches edits without decrypting anything.
* After each commit (every ``checkpoint_every`` audit rows) the chain head is appended to a
  **witness** file outside the database (:mod:`.witness`), by default ``<root>.witness`` next to
  the vault directory; :meth:`CaptureVault.head` gives the head for lane events.  With them,
  ``verify`` sees a truncated chain, an older head put back, or the whole vault deleted.
* One SQLite database (WAL) holds records and audit rows; a write is one transaction, so a
  crash keeps everything committed before and leaves no partial record.  Plaintext never
  touches the disk.  A full disk raises :class:`~lanecam.errors.StorageError`
  (``feature == "disk_full"``).
* File format 2 (``vault_info.format``).  Format-1 vaults (before record binding and the
  witness) are refused with :class:`~lanecam.errors.ConfigError`; there is no migration.

Times are wall-clock seconds (``time.time``) because retention is a legal period, not a
monotonic interval.
"""

from __future__ import annotations

import hmac
import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np

from ..errors import ConfigError, LimitError, StorageError
from .audit import (
    AuditHead,
    Chain,
    Problem,
    VerifyReport,
    check_anchors,
    check_chain,
    check_records,
)
from .keys import MasterKey
from .records import FORMAT, RecordRow, meta_digest, open_sealed, row_digest, seal
from .witness import Checkpoint, Witness

__all__ = ["AuditHead", "AuditReport", "CaptureVault", "Problem", "VaultRecord", "VerifyReport"]

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

_META_TYPES = (str, int, float, bool, type(None))

AuditReport = VerifyReport  # the name before format 2


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


class CaptureVault:
    """Encrypted crop storage with retention and a tamper-evident, externally anchored audit log.

    ``root`` is a directory (created if missing); ``retention_s`` the retention period in
    seconds; ``max_bytes`` optionally caps the database size (full → StorageError).
    ``witness`` is the append-only checkpoint file (default: ``<root>.witness`` beside
    ``root``; keep it on other storage in production), written every ``checkpoint_every``
    audit rows, on the first row after opening, and on close.
    """

    def __init__(self, root: str | Path, master_key: MasterKey, retention_s: float, *,
                 max_bytes: int | None = None, wall_clock: Callable[[], float] = time.time,
                 witness: str | Path | None = None, checkpoint_every: int = 1) -> None:
        if not isinstance(master_key, MasterKey):
            raise ConfigError("master_key must be a MasterKey (file, env or KMS)", key="master_key")
        if not (isinstance(retention_s, (int, float)) and 0 < retention_s < 10 * 365 * 86400):
            raise LimitError("retention must be between 0 s and 10 years", key="retention_s",
                             allowed="(0, 3.15e8] s")
        if not (isinstance(checkpoint_every, int) and checkpoint_every >= 1):
            raise LimitError("checkpoint_every must be a positive row count",
                             key="checkpoint_every", allowed=">= 1")
        self.root = Path(root)
        self.retention_s = float(retention_s)
        self.checkpoint_every = checkpoint_every
        self._now = wall_clock
        self._master = master_key
        self._wrap_key = master_key.derive(b"vault/wrap")
        self._audit_key = master_key.derive(b"vault/audit")
        self._record_key = master_key.derive(b"vault/record")
        self._witness_key = master_key.derive(b"vault/witness")
        self._lock = threading.Lock()
        self._db = self._open_db(max_bytes)
        self.vault_id = self._init_info()
        self._chain = Chain(self._audit_key, self.vault_id)
        resolved = self.root.resolve()
        self.witness_path = Path(witness) if witness is not None else \
            resolved.parent / f"{resolved.name}.witness"
        self._witness = Witness(self.witness_path, self._witness_key)
        self._witnessed = 0  # seq of the last checkpoint this instance appended

    # ------------------------------------------------------------------ plumbing
    def _open_db(self, max_bytes: int | None) -> sqlite3.Connection:
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            db = sqlite3.connect(self.root / "vault.sqlite", check_same_thread=False,
                                 isolation_level=None, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA secure_delete=ON")
            if max_bytes is not None:
                page = db.execute("PRAGMA page_size").fetchone()[0]
                db.execute(f"PRAGMA max_page_count={max(8, int(max_bytes) // page)}")
            db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open vault database: {exc}", key=str(self.root)) from exc
        return db

    def _init_info(self) -> str:
        """Stamp a new vault (format, id, key id) or check an existing one; return its id."""
        def body(c: sqlite3.Connection) -> dict[str, str]:
            info = dict(c.execute("SELECT k, v FROM vault_info").fetchall())
            used = c.execute("SELECT EXISTS(SELECT 1 FROM records) OR "
                             "EXISTS(SELECT 1 FROM audit)").fetchone()[0]
            if not info and not used:  # a new vault
                info = {"format": str(FORMAT), "vault_id": uuid.uuid4().hex,
                        "key_id": self._master.key_id}
                c.executemany("INSERT INTO vault_info VALUES (?, ?)", list(info.items()))
            return info

        info: dict[str, str] = self._tx(body)
        if info.get("format") != str(FORMAT) or "vault_id" not in info:
            raise ConfigError("unsupported vault format (made before record binding and the "
                              "witness); no migration: start a new vault", key=str(self.root),
                              feature="vault_format", allowed=f"format {FORMAT}")
        if info.get("key_id") != self._master.key_id:
            raise StorageError("this vault was created with another master key",
                               key=str(self.root), allowed=f"key id {info.get('key_id')}")
        return info["vault_id"]

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

    def _commit(self, body: Callable[[sqlite3.Connection], AuditHead]) -> None:
        """One transaction that appends audit rows, then the witness checkpoint if due."""
        head: AuditHead = self._tx(body)
        if self._witnessed == 0 or head.seq - self._witnessed >= self.checkpoint_every:
            self._witness_head(head)

    def _witness_head(self, head: AuditHead) -> None:
        """Append ``head`` to the witness.  A failure is logged, not raised: the rows are
        committed, and the next checkpoint (which covers them) retries."""
        try:
            self._witness.append(Checkpoint(self.vault_id, head.seq, head.mac, self._now()))
            self._witnessed = max(self._witnessed, head.seq)
        except StorageError as exc:
            log.warning("vault %s: witness checkpoint of row %d failed: %s", self.root,
                        head.seq, exc)

    def _audit(self, c: sqlite3.Connection, action: str, record_id: str | None, actor: str,
               detail: Mapping[str, Any], ts: float | None = None) -> AuditHead:
        prev = c.execute("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev_mac = (prev[0] + 1, prev[1]) if prev else (1, self._chain.genesis)
        ts = self._now() if ts is None else ts
        det = json.dumps(detail, sort_keys=True)
        mac = self._chain.row_mac(prev_mac, seq, ts, action, record_id, actor, det)
        c.execute("INSERT INTO audit (seq, ts, action, record_id, actor, detail, mac) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?)", (seq, ts, action, record_id, actor, det, mac))
        head = AuditHead(seq, mac)
        c.execute("INSERT OR REPLACE INTO vault_info VALUES ('head', ?)",
                  (self._chain.head_blob(head),))
        return head

    def _row(self, record_id: str) -> RecordRow | None:
        with self._lock:
            row = self._db.execute(f"SELECT {RecordRow.COLUMNS} FROM records WHERE id = ?",
                                   (record_id,)).fetchone()
        return RecordRow.from_db(row) if row else None

    def _meta_is_authentic(self, rec: RecordRow) -> bool:
        """Whether ``rec``'s metadata (expiry included) matches its own, genuinely MACed,
        write entry — checked before retention acts on ``expires_at``."""
        with self._lock:
            w = self._db.execute("SELECT seq, ts, actor, detail, mac FROM audit WHERE "
                                 "action = 'write' AND record_id = ?", (rec.record_id,)).fetchone()
            prev = w and self._db.execute("SELECT mac FROM audit WHERE seq = ?",
                                          (w[0] - 1,)).fetchone()
        if w is None or (prev is None and w[0] != 1):
            return False
        prev_mac = prev[0] if prev else self._chain.genesis
        mac = self._chain.row_mac(prev_mac, w[0], w[1], "write", rec.record_id, w[2], w[3])
        digest = str(json.loads(w[3]).get("meta"))
        return hmac.compare_digest(mac, w[4]) and hmac.compare_digest(
            digest, meta_digest(self._record_key, self.vault_id, rec))

    # ------------------------------------------------------------------ API
    def write(self, crop: np.ndarray, meta: Mapping[str, Any], actor: str = "lane") -> str:
        """Encrypt and store one crop (uint8 gray or color) with flat metadata; return its id.

        ``meta`` values must be plain scalars (str, int, float, bool, None) — no arrays, no
        templates.
        """
        import cv2

        if not isinstance(crop, np.ndarray) or crop.dtype != np.uint8 or crop.ndim not in (2, 3):
            raise ConfigError("crop must be a uint8 image array", key="crop")
        bad = [k for k, v in meta.items() if not isinstance(k, str) or not isinstance(v, _META_TYPES)]
        if bad:
            raise ConfigError("metadata values must be plain scalars", key=str(bad[0]))
        ok, png = cv2.imencode(".png", crop)
        if not ok:
            raise StorageError("could not encode the crop", key="crop")
        created = float(self._now())
        rec = RecordRow(uuid.uuid4().hex, created, created + self.retention_s,
                        json.dumps(dict(meta), sort_keys=True), None, None, None, None, None)
        rec = seal(self._wrap_key, self.vault_id, rec, png.tobytes())
        del png
        detail = {"bytes": len(rec.ciphertext or b""),
                  "meta": meta_digest(self._record_key, self.vault_id, rec),
                  "row": row_digest(self._record_key, self.vault_id, rec)}

        def body(c: sqlite3.Connection) -> AuditHead:
            c.execute(f"INSERT INTO records ({RecordRow.COLUMNS}) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      (rec.record_id, rec.created_at, rec.expires_at, rec.meta_json, rec.key_nonce,
                       rec.wrapped_key, rec.nonce, rec.ciphertext, None))
            return self._audit(c, "write", rec.record_id, actor, detail)

        self._commit(body)
        return rec.record_id

    def read(self, record_id: str, actor: str) -> VaultRecord:
        """Decrypt one record for ``actor`` (an officer or process id); audited.

        A record that does not authenticate raises StorageError with ``feature ==
        "integrity"``; a purged one ``feature == "purged"``.
        """
        import cv2
        from cryptography.exceptions import InvalidTag

        rec = self._row(record_id)
        if rec is None:
            raise StorageError("no such record", key=record_id, feature="missing")
        if rec.purged_at is not None or rec.wrapped_key is None:
            raise StorageError("record was purged; its key is destroyed", key=record_id,
                               feature="purged")
        try:
            png = open_sealed(self._wrap_key, self.vault_id, rec)
        except (InvalidTag, ValueError) as exc:
            raise StorageError("record does not authenticate (tampered, or another key)",
                               key=record_id, feature="integrity") from exc
        image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
        if image is None:
            raise StorageError("record decrypted but is no image", key=record_id,
                               feature="integrity")
        self._commit(lambda c: self._audit(c, "read", record_id, actor, {}))
        return VaultRecord(record_id, image, json.loads(rec.meta_json), rec.created_at,
                           rec.expires_at)

    def purge(self, record_id: str, actor: str, reason: str) -> None:
        """Destroy a record's key and ciphertext now (crypto-shredding); audited."""
        def body(c: sqlite3.Connection) -> AuditHead:
            now = float(self._now())
            n = c.execute("UPDATE records SET wrapped_key = NULL, key_nonce = NULL, "
                          "ciphertext = NULL, nonce = NULL, purged_at = ? "
                          "WHERE id = ? AND purged_at IS NULL", (now, record_id)).rowcount
            if n != 1:
                raise StorageError("no live record to purge", key=record_id, feature="missing")
            return self._audit(c, "purge", record_id, actor, {"reason": reason}, ts=now)

        self._commit(body)
        self._checkpoint()

    def _checkpoint(self) -> None:
        """Fold the WAL into the database and truncate it, so old page images are gone too."""
        with self._lock:
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:
                raise StorageError(f"checkpoint failed: {exc}", key=str(self.root)) from exc

    def purge_expired(self, actor: str = "retention") -> int:
        """Purge every record past its retention; return how many.

        A record whose ``expires_at`` (or other metadata) does not match its write entry is
        not purged — its expiry cannot be trusted — but logged; ``verify`` reports it.
        """
        now = self._now()
        with self._lock:
            ids = [r[0] for r in self._db.execute(
                "SELECT id FROM records WHERE expires_at <= ? AND purged_at IS NULL", (now,))]
        n = 0
        for rid in ids:
            rec = self._row(rid)
            if rec is None or not self._meta_is_authentic(rec):
                log.warning("vault %s: record %s not purged: its expiry does not authenticate",
                            self.root, rid)
                continue
            self.purge(rid, actor, "retention expired")
            n += 1
        return n

    def records(self, include_purged: bool = False) -> list[dict[str, Any]]:
        """Record ids, times and metadata (no pixels), oldest first."""
        q = "SELECT id, created_at, expires_at, meta, purged_at FROM records"
        if not include_purged:
            q += " WHERE purged_at IS NULL"
        with self._lock:
            rows = self._db.execute(q + " ORDER BY created_at").fetchall()
        return [{"id": r[0], "created_at": r[1], "expires_at": r[2], "meta": json.loads(r[3]),
                 "purged_at": r[4]} for r in rows]

    def audit_rows(self) -> list[dict[str, Any]]:
        cols = ("seq", "ts", "action", "record_id", "actor", "detail", "mac")
        with self._lock:
            rows = self._db.execute(f"SELECT {', '.join(cols)} FROM audit ORDER BY seq").fetchall()
        return [dict(zip(cols, r)) for r in rows]

    def head(self) -> AuditHead:
        """The chain head now (last row's seq and MAC; seq 0 when empty).  Not secret: a lane
        puts it in its events so that a later ``verify(heads=...)`` can show a rollback."""
        with self._lock:
            row = self._db.execute(
                "SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return AuditHead(row[0], row[1]) if row else AuditHead(0, self._chain.genesis)

    def verify(self, witness: str | Path | None = None,
               heads: Iterable[AuditHead] = ()) -> VerifyReport:
        """Check the chain, the stored head, the witness (``witness``: another copy of it, e.g.
        shipped off the box; default this vault's), carried ``heads``, and every record against
        its audit entries.  Never raises for tampering: everything found is in the report."""
        rows = self.audit_rows()
        with self._lock:
            blob = self._db.execute("SELECT v FROM vault_info WHERE k = 'head'").fetchone()
            recs = [RecordRow.from_db(r) for r in self._db.execute(
                f"SELECT {RecordRow.COLUMNS} FROM records ORDER BY created_at")]
        out: list[Problem] = []
        stored = check_chain(self._chain, rows, blob[0] if blob else None, out)
        wit = Witness(witness, self._witness_key) if witness is not None else self._witness
        seen = wit.read()
        out += [Problem("witness_line_bad", n) for n in seen.bad_lines]
        if rows and not any(cp.vault_id == self.vault_id for cp in seen.checkpoints):
            out.append(Problem("witness_missing"))
        anchors = [(cp.vault_id, AuditHead(cp.seq, cp.mac)) for cp in seen.checkpoints]
        check_anchors(self.vault_id, rows, stored,
                      anchors + [(self.vault_id, h) for h in heads], out)
        check_records(self._record_key, self.vault_id, recs, rows, out)
        return VerifyReport(len(rows), tuple(out))

    def close(self) -> None:
        """Checkpoint the head to the witness if it is not there yet, and close."""
        try:
            head = self.head()
            if head.seq > self._witnessed:
                self._witness_head(head)
        except sqlite3.Error:
            pass  # closing anyway; the last rows stay unwitnessed
        with self._lock:
            self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CaptureVault({self.root}, key={self._master.key_id}, retention={self.retention_s:g} s)"
