"""The vault's SQLite file: schema, transactions, audit-row appends and WAL checkpoints.

One connection (WAL, ``synchronous=FULL``, ``secure_delete=ON``) guarded by a lock.  SQLite
failures become :class:`~lanecam.errors.StorageError`, decided on SQLite's result code
(``feature == "disk_full"`` for ``SQLITE_FULL``), never on the message's words.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import StorageError
from .audit import AuditHead, Chain
from .records import RecordRow

__all__ = ["VaultDatabase"]

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
    purged_at REAL,
    epoch INTEGER NOT NULL,
    key_version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS records_epoch ON records (epoch);
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

_BUSY_TIMEOUT_MS = 30_000  # how long a transaction waits for another writer
_AUDIT_COLUMNS = ("seq", "ts", "action", "record_id", "actor", "detail", "mac")


class VaultDatabase:
    """``<root>/vault.sqlite`` (``max_bytes``: optional size cap, full → StorageError)."""

    def __init__(self, root: Path, max_bytes: int | None) -> None:
        self.root = root
        self.lock = threading.Lock()
        try:
            root.mkdir(parents=True, exist_ok=True, mode=0o700)
            db = sqlite3.connect(root / "vault.sqlite", check_same_thread=False,
                                 isolation_level=None,
                                 timeout=_BUSY_TIMEOUT_MS / 1000)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA secure_delete=ON")
            if max_bytes is not None:
                page = db.execute("PRAGMA page_size").fetchone()[0]
                db.execute(f"PRAGMA max_page_count={max(8, int(max_bytes) // page)}")
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open vault database: {exc}", key=str(root)) from exc
        self.db = db

    @staticmethod
    def stored_info(c: sqlite3.Connection) -> tuple[dict[str, str], bool]:
        """``vault_info`` as a dict, and whether any record or audit row exists (in the
        caller's transaction; a new file has neither table)."""
        tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        info = dict(c.execute("SELECT k, v FROM vault_info").fetchall()) \
            if "vault_info" in tables else {}
        used = any(c.execute(f"SELECT EXISTS(SELECT 1 FROM {t})").fetchone()[0]
                   for t in ("records", "audit") if t in tables)
        return info, used

    @staticmethod
    def create_schema(c: sqlite3.Connection) -> None:
        """The tables of this format, in the caller's transaction (only for a new vault: an
        old file keeps its own tables and is refused)."""
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                c.execute(statement)

    def tx(self, body: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run ``body`` in one IMMEDIATE transaction; map SQLite failures to StorageError."""
        with self.lock:
            try:
                self.db.execute("BEGIN IMMEDIATE")
                try:
                    out = body(self.db)
                except BaseException:
                    # SQLite rolls a transaction back by itself on some errors (SQLITE_FULL):
                    # an unconditional ROLLBACK would then fail and hide the real error
                    if self.db.in_transaction:
                        self.db.execute("ROLLBACK")
                    raise
                self.db.execute("COMMIT")
                return out
            except sqlite3.Error as exc:
                full = getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
                raise StorageError("vault is full" if full else f"vault write failed: {exc}",
                                   key=str(self.root),
                                   feature="disk_full" if full else "sqlite") from exc
            except OSError as exc:
                raise StorageError(f"vault I/O failed: {exc.strerror}",
                                   key=str(self.root)) from exc

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.lock:
            try:
                return self.db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StorageError(f"vault read failed: {exc}", key=str(self.root),
                                   feature="sqlite") from exc

    @staticmethod
    def append_audit(c: sqlite3.Connection, chain: Chain, ts: float, action: str,
                     record_id: str | None, actor: str, detail: Mapping[str, Any]) -> AuditHead:
        """Append one chained audit row inside the caller's transaction; return the head."""
        prev = c.execute("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev_mac = (prev[0] + 1, prev[1]) if prev else (1, chain.genesis)
        det = json.dumps(detail, sort_keys=True)
        mac = chain.row_mac(prev_mac, seq, ts, action, record_id, actor, det)
        c.execute("INSERT INTO audit (seq, ts, action, record_id, actor, detail, mac) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?)", (seq, ts, action, record_id, actor, det, mac))
        head = AuditHead(seq, mac)
        c.execute("INSERT OR REPLACE INTO vault_info VALUES ('head', ?)", (chain.head_blob(head),))
        return head

    def record(self, record_id: str) -> RecordRow | None:
        rows = self.query(f"SELECT {RecordRow.COLUMNS} FROM records WHERE id = ?", (record_id,))
        return RecordRow.from_db(rows[0]) if rows else None

    def all_records(self) -> list[RecordRow]:
        return [RecordRow.from_db(r) for r in self.query(
            f"SELECT {RecordRow.COLUMNS} FROM records ORDER BY created_at")]

    def audit_rows(self) -> list[dict[str, Any]]:
        rows = self.query(f"SELECT {', '.join(_AUDIT_COLUMNS)} FROM audit ORDER BY seq")
        return [dict(zip(_AUDIT_COLUMNS, r)) for r in rows]

    def audit_page(self, limit: int, before: int | None = None) -> list[dict[str, Any]]:
        """The newest ``limit`` audit rows with ``seq < before`` (None: from the newest),
        newest first: one indexed range scan, however long the chain."""
        rows = self.query(f"SELECT {', '.join(_AUDIT_COLUMNS)} FROM audit WHERE seq < ? "
                          "ORDER BY seq DESC LIMIT ?",
                          (2**62 if before is None else int(before), int(limit)))
        return [dict(zip(_AUDIT_COLUMNS, r)) for r in rows]

    def head(self, chain: Chain) -> AuditHead:
        row = self.query("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1")
        return AuditHead(row[0][0], row[0][1]) if row else AuditHead(0, chain.genesis)

    def checkpoint(self, wait_s: float = 0.25) -> bool:
        """Fold the WAL into the database and truncate it; False when a reader's snapshot held
        part of it back (the pages it keeps are still in the log).  A TRUNCATE checkpoint
        waits on readers through the busy handler: that wait is cut to ``wait_s`` seconds here
        so a reader cannot stall the lane for the 30 s transaction timeout."""
        with self.lock:
            try:
                self.db.execute(f"PRAGMA busy_timeout={int(wait_s * 1000)}")
                try:
                    busy, _log, _done = self.db.execute(
                        "PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                finally:
                    self.db.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            except sqlite3.Error as exc:
                raise StorageError(f"checkpoint failed: {exc}", key=str(self.root),
                                   feature="sqlite") from exc
        return not busy

    def close(self) -> None:
        with self.lock:
            self.db.close()
