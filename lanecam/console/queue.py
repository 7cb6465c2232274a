"""The console's referral queue on disk: ``<state_dir>/referrals.sqlite`` (WAL).

A referral is written when its event arrives from the broker and marked when an officer
decides it; a restarted console loads the open ones (decided ones stay on disk, not in the
queue; they are deleted ``keep_decided_s`` after the decision, default 7 days).  A
referral already decided is never reopened by the same event delivered again.
Only metadata is kept (lane, vehicle, seat, record id, quality, score, threshold, reason):
no pixels.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Any

from ..errors import StorageError

__all__ = ["Referral", "ReferralStore"]


@dataclass
class Referral:
    """One traveler an officer must look at (``ref_id``: ``<event_id>.<occupant index>``)."""

    ref_id: str
    lane_id: str
    vehicle_id: str
    index: int
    record_id: str | None
    quality: float | None
    score: float | None
    threshold: float | None
    reason: str | None
    decided: str | None = None
    decided_by: str | None = None

    def public(self) -> dict[str, Any]:
        """What pages and live updates show (no record id)."""
        return {"ref_id": self.ref_id, "lane": self.lane_id, "vehicle": self.vehicle_id,
                "seat": self.index, "quality": self.quality, "score": self.score,
                "reason": self.reason, "decided": self.decided}


_COLS = [f.name for f in fields(Referral)]
_SCHEMA = ("CREATE TABLE IF NOT EXISTS referrals (ref_id TEXT PRIMARY KEY, lane_id TEXT, "
           "vehicle_id TEXT, idx INTEGER, record_id TEXT, quality REAL, score REAL, "
           "threshold REAL, reason TEXT, decided TEXT, decided_by TEXT, arrived REAL, "
           "decided_at REAL)")


class ReferralStore:
    """The queue's file; every call is one short transaction (callers on many threads)."""

    def __init__(self, folder: str | Path, keep_decided_s: float = 7 * 86400) -> None:
        self.path = Path(folder) / "referrals.sqlite"
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._db = sqlite3.connect(self.path, check_same_thread=False,
                                       isolation_level=None, timeout=10)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(_SCHEMA)
            self._db.execute("DELETE FROM referrals WHERE decided IS NOT NULL AND "
                             "decided_at < ?", (time.time() - keep_decided_s,))
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open the referral queue: {exc}", key=str(self.path),
                               feature="sqlite") from exc

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StorageError(f"referral queue failed: {exc}", key=str(self.path),
                                   feature="sqlite") from exc

    def put(self, r: Referral) -> Referral:
        """Keep ``r`` (a new referral); if it is known, the stored one (maybe decided)."""
        self._run("INSERT OR IGNORE INTO referrals VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                  "?, NULL)", (*astuple(r), time.time()))
        got = self._run(f"SELECT {', '.join(_COLS).replace('index', 'idx')} FROM referrals "
                        "WHERE ref_id = ?", (r.ref_id,))
        return Referral(*got[0]) if got else r

    def decide(self, ref_id: str, decision: str, officer: str) -> None:
        self._run("UPDATE referrals SET decided = ?, decided_by = ?, decided_at = ? "
                  "WHERE ref_id = ?", (decision, officer, time.time(), ref_id))

    def open_referrals(self, limit: int) -> list[Referral]:
        """The newest ``limit`` undecided referrals, oldest first."""
        rows = self._run(f"SELECT {', '.join(_COLS).replace('index', 'idx')} FROM referrals "
                         "WHERE decided IS NULL ORDER BY arrived DESC LIMIT ?", (limit,))
        return [Referral(*r) for r in reversed(rows)]

    def close(self) -> None:
        with self._lock:
            self._db.close()
