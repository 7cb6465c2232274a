"""A durable outbox: lane events wait on disk until the broker acknowledges them.

One SQLite file (WAL, ``synchronous=FULL``): :meth:`Outbox.put` commits the message before it
returns, so an event the lane emitted survives a power cut or a SIGKILL of the lane.  A row is
deleted only after the broker's PUBACK (:meth:`Outbox.ack`), so a message is lost neither while
the broker is down nor when the lane dies between publish and acknowledgement (it is published
again on the next start under the same ``event_id``; consumers de-duplicate by that id).
Deletes are committed without an fsync (``synchronous=NORMAL`` for them): a delete lost in a
power cut only publishes that event again; puts always fsync.

Bounded: ``max_rows`` unsent messages at most; beyond that :meth:`put` raises
:class:`~lanecam.errors.StorageError` (``feature == "outbox_full"``), which the lane counts as a
sink fault.  Payloads are JSON metadata (the sink's business); this module stores bytes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import StorageError

__all__ = ["Outbox", "Pending"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL
)"""


@dataclass(frozen=True)
class Pending:
    """One unsent message, in the order it was put."""

    seq: int
    event_id: str
    topic: str
    payload: bytes


class Outbox:
    """Unsent messages in a SQLite file at ``path`` (created with its folder if missing)."""

    def __init__(self, path: str | Path, max_rows: int = 1_000_000) -> None:
        self.path = Path(path)
        self.max_rows = max_rows
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False,
                                       isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(_SCHEMA)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open the outbox: {exc}", key=str(self.path),
                               feature="outbox") from exc
        self._rows = self._count()

    def _count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def put(self, event_id: str, topic: str, payload: bytes) -> None:
        """Commit one message (durable when this returns)."""
        with self._lock:
            if self._rows >= self.max_rows:
                raise StorageError("the outbox is full (broker unreachable too long)",
                                   key=str(self.path), feature="outbox_full",
                                   allowed=f"<= {self.max_rows} unsent")
            try:
                self._db.execute("INSERT INTO outbox (event_id, topic, payload) VALUES (?, ?, ?)",
                                 (event_id, topic, payload))
            except sqlite3.Error as exc:
                raise StorageError(f"cannot store the event: {exc}", key=str(self.path),
                                   feature="outbox") from exc
            self._rows += 1

    def pending(self, after_seq: int = 0, limit: int = 100) -> list[Pending]:
        """Unsent messages with ``seq > after_seq``, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, event_id, topic, payload FROM outbox WHERE seq > ? ORDER BY seq "
                "LIMIT ?", (after_seq, limit)).fetchall()
        return [Pending(int(r[0]), str(r[1]), str(r[2]), bytes(r[3])) for r in rows]

    def ack(self, seqs: Iterable[int]) -> int:
        """Mark messages sent (the broker acknowledged them): their rows go, in one commit."""
        batch = [(s,) for s in seqs]
        if not batch:
            return 0
        with self._lock:
            try:
                # an ack lost in a power cut only re-sends (same event_id): no fsync for it
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.execute("BEGIN IMMEDIATE")
                n = sum(self._db.execute("DELETE FROM outbox WHERE seq = ?", b).rowcount
                        for b in batch)
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise StorageError(f"cannot mark events sent: {exc}", key=str(self.path),
                                   feature="outbox") from exc
            finally:
                self._db.execute("PRAGMA synchronous=FULL")
            self._rows -= n
        return n

    def __len__(self) -> int:
        return self._rows

    def close(self) -> None:
        with self._lock:
            self._db.close()
