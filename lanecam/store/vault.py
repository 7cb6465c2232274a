"""CaptureVault: the only place lanecam writes face pixels — encrypted, retained, audited.

* Each record (one chosen crop per occupant) is encrypted with AES-256-GCM under its own random
  key; that key is wrapped (AES-GCM) by the key of the record's **retention epoch**
  (:mod:`.epochs`), kept in a directory apart from the vault file.  Both use the record's
  identity — vault id, record id, created/expires times, epoch, metadata — as associated data
  (:mod:`.records`), so an edited field or a key/ciphertext moved to another record does not
  decrypt.
* Retention: a record expires ``retention_s`` seconds after it was written.  ``purge_expired``
  destroys its wrapped key and ciphertext, and destroys every epoch key whose epoch has ended, so
  a copy of the vault file taken before (a backup) cannot decrypt it either.  Purging a record
  early (:meth:`CaptureVault.purge`) rotates its epoch key: the epoch's other records are
  re-wrapped and the old key destroyed.  SQLite ``secure_delete`` zeroes freed pages and a WAL
  checkpoint (TRUNCATE) after each purge moves them out of the log; a reader holding a snapshot
  can hold that checkpoint back (counted in :attr:`CaptureVault.faults`, retried) but the bytes
  it keeps are wrapped by a destroyed key.
* Every write, read and purge appends a row to an HMAC-chained audit log (:mod:`.audit`).  A
  write's row carries HMAC digests of the record's metadata and of its row, so
  :meth:`CaptureVault.verify` catches edits without decrypting an image.
* After each commit (every ``checkpoint_every`` audit rows) the chain head is appended to a
  **witness** file outside the database (:mod:`.witness`), by default ``<root>.witness`` next to
  the vault directory; :meth:`CaptureVault.head` gives the head that lane events carry.  With
  them, ``verify`` sees a truncated chain, an older head put back, or the whole vault deleted.
* One SQLite database (WAL) holds records and audit rows; a write is one transaction, so a
  crash keeps everything committed before and leaves no partial record.  Plaintext never
  touches the disk.  A full disk raises :class:`~lanecam.errors.StorageError`
  (``feature == "disk_full"``); reads fail too while it is full, because every read is audited
  (written) before the crop is returned.
* File format 3 (``vault_info.format``).  Older vaults (before epoch keys) are refused with
  :class:`~lanecam.errors.ConfigError` (``feature == "vault_format"``); there is no migration.
* One writing process per vault (the lane); other processes may verify or read.

Times are wall-clock seconds (``time.time``) because retention is a legal period, not a
monotonic interval.
"""

from __future__ import annotations

import hmac
import json
import logging
import sqlite3
import time
import uuid
from collections import Counter
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
    check_keys,
    check_records,
)
from .database import VaultDatabase
from .epochs import DEFAULT_EPOCH_S, EpochKeys
from .keys import MasterKey
from .records import FORMAT, RecordRow, meta_digest, open_sealed, rewrap, row_digest, seal
from .witness import Checkpoint, Witness

__all__ = ["AuditHead", "AuditReport", "CaptureVault", "Problem", "VaultRecord", "VerifyReport"]

log = logging.getLogger(__name__)

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
    """Encrypted crop storage with retention, forgetting that survives backups, and a
    tamper-evident, externally anchored audit log.

    ``root`` is a directory (created if missing); ``retention_s`` the retention period in
    seconds; ``max_bytes`` optionally caps the database size (full → StorageError).
    ``witness`` is the append-only checkpoint file (default: ``<root>.witness`` beside
    ``root``; keep it on other storage in production), written every ``checkpoint_every``
    audit rows, on the first row after opening, and on close.  ``keys`` is the epoch-key
    directory (default ``<root>.keys`` beside ``root``; never inside it, never backed up) and
    ``epoch_s`` the epoch length in seconds, fixed when the vault is created (default 1 h).
    ``faults`` counts what went wrong without an exception (a WAL checkpoint held back by a
    reader, a witness append that failed, a record that could not be re-wrapped).
    """

    def __init__(self, root: str | Path, master_key: MasterKey, retention_s: float, *,
                 max_bytes: int | None = None, wall_clock: Callable[[], float] = time.time,
                 witness: str | Path | None = None, checkpoint_every: int = 1,
                 keys: str | Path | None = None, epoch_s: float | None = None) -> None:
        if not isinstance(master_key, MasterKey):
            raise ConfigError("master_key must be a MasterKey (file, env or KMS)", key="master_key")
        if not (isinstance(retention_s, (int, float)) and 0 < retention_s < 10 * 365 * 86400):
            raise LimitError("retention must be between 0 s and 10 years", key="retention_s",
                             allowed="(0, 3.15e8] s")
        if not (isinstance(checkpoint_every, int) and checkpoint_every >= 1):
            raise LimitError("checkpoint_every must be a positive row count",
                             key="checkpoint_every", allowed=">= 1")
        if epoch_s is not None and not (isinstance(epoch_s, (int, float)) and
                                        60 <= epoch_s <= 31 * 86400):
            raise LimitError("epoch must be between 1 min and 31 days", key="epoch_s",
                             allowed="[60, 2.68e6] s")
        self.root = Path(root)
        self.retention_s = float(retention_s)
        self.checkpoint_every = checkpoint_every
        self.faults: Counter[str] = Counter()
        self._now = wall_clock
        self._master = master_key
        self._audit_key = master_key.derive(b"vault/audit")
        self._record_key = master_key.derive(b"vault/record")
        self._witness_key = master_key.derive(b"vault/witness")
        resolved = self.root.resolve()
        keys_path = Path(keys) if keys is not None else resolved.parent / f"{resolved.name}.keys"
        if keys_path.resolve().is_relative_to(resolved):
            raise ConfigError("the epoch keys must live outside the vault directory",
                              key="keys", allowed=f"a directory not under {resolved}")
        self._db = VaultDatabase(self.root, max_bytes)
        self.vault_id, stored_epoch_s = self._init_info(epoch_s)
        self._chain = Chain(self._audit_key, self.vault_id)
        self.witness_path = Path(witness) if witness is not None else \
            resolved.parent / f"{resolved.name}.witness"
        self._witness = Witness(self.witness_path, self._witness_key)
        self._witnessed = 0  # seq of the last checkpoint this instance appended
        self._wal_dirty = False  # a purge's checkpoint was held back by a reader
        self._epochs = EpochKeys(keys_path, master_key.derive(b"vault/epoch"), self.vault_id,
                                 stored_epoch_s)
        self._tidy_keys()

    # ------------------------------------------------------------------ plumbing
    def _init_info(self, epoch_s: float | None) -> tuple[str, float]:
        """Stamp a new vault (format, id, key id, epoch) or check an existing one."""
        def body(c: sqlite3.Connection) -> dict[str, str]:
            info, used = VaultDatabase.stored_info(c)
            if not info and not used:  # a new vault
                VaultDatabase.create_schema(c)
                info = {"format": str(FORMAT), "vault_id": uuid.uuid4().hex,
                        "key_id": self._master.key_id,
                        "epoch_s": repr(float(epoch_s or DEFAULT_EPOCH_S))}
                c.executemany("INSERT INTO vault_info VALUES (?, ?)", list(info.items()))
            return info

        info: dict[str, str] = self._db.tx(body)
        if info.get("format") != str(FORMAT) or "vault_id" not in info:
            raise ConfigError("unsupported vault format (made before epoch keys); no "
                              "migration: start a new vault", key=str(self.root),
                              feature="vault_format", allowed=f"format {FORMAT}")
        if info.get("key_id") != self._master.key_id:
            raise StorageError("this vault was created with another master key",
                               key=str(self.root), allowed=f"key id {info.get('key_id')}")
        stored = float(info["epoch_s"])
        if epoch_s is not None and float(epoch_s) != stored:
            raise ConfigError("epoch_s is fixed when a vault is created", key="epoch_s",
                              allowed=f"{stored:g} s for this vault")
        return info["vault_id"], stored

    def _tidy_keys(self) -> None:
        """After a crash mid-rotation: destroy key versions no live record uses that are not
        the newest of their epoch (the newest stays for the next write)."""
        def body(c: sqlite3.Connection) -> None:
            for epoch, versions in self._epochs.versions().items():
                used = {r[0] for r in c.execute(
                    "SELECT DISTINCT key_version FROM records WHERE epoch = ? AND "
                    "wrapped_key IS NOT NULL", (epoch,))}
                for v in versions[:-1]:
                    if v not in used:
                        self._epochs.destroy(epoch, v)
                        self.faults["stale_key_destroyed"] += 1

        self._db.tx(body)

    def _commit(self, body: Callable[[sqlite3.Connection], AuditHead]) -> None:
        """One transaction that appends audit rows, then the witness checkpoint if due."""
        head: AuditHead = self._db.tx(body)
        if self._witnessed == 0 or head.seq - self._witnessed >= self.checkpoint_every:
            self._witness_head(head)
        if self._wal_dirty:
            self._checkpoint()

    def _witness_head(self, head: AuditHead) -> None:
        """Append ``head`` to the witness.  A failure is logged and counted, not raised: the
        rows are committed, and the next checkpoint (which covers them) retries."""
        try:
            self._witness.append(Checkpoint(self.vault_id, head.seq, head.mac, self._now()))
            self._witnessed = max(self._witnessed, head.seq)
        except StorageError as exc:
            self.faults["witness_failed"] += 1
            log.warning("vault %s: witness checkpoint of row %d failed: %s", self.root,
                        head.seq, exc)

    def _audit(self, c: sqlite3.Connection, action: str, record_id: str | None, actor: str,
               detail: Mapping[str, Any], ts: float | None = None) -> AuditHead:
        return VaultDatabase.append_audit(c, self._chain, self._now() if ts is None else ts,
                                          action, record_id, actor, detail)

    def _checkpoint(self) -> None:
        """Move the WAL into the database file (freed pages zeroed by ``secure_delete``)."""
        self._wal_dirty = not self._db.checkpoint()
        if self._wal_dirty:
            self.faults["checkpoint_blocked"] += 1
            log.warning("vault %s: a reader holds a snapshot; purged pages stay in the WAL "
                        "until the next checkpoint (their epoch key is destroyed)", self.root)

    def _meta_is_authentic(self, rec: RecordRow) -> bool:
        """Whether ``rec``'s metadata (expiry included) matches its own, genuinely MACed,
        write entry — checked before retention acts on ``expires_at``."""
        w = self._db.query("SELECT seq, ts, actor, detail, mac FROM audit WHERE "
                           "action = 'write' AND record_id = ?", (rec.record_id,))
        if not w:
            return False
        seq, ts, actor, detail, mac = w[0]
        prev = self._db.query("SELECT mac FROM audit WHERE seq = ?", (seq - 1,))
        if not prev and seq != 1:
            return False
        prev_mac = prev[0][0] if prev else self._chain.genesis
        want = self._chain.row_mac(prev_mac, seq, ts, "write", rec.record_id, actor, detail)
        digest = str(json.loads(detail).get("meta"))
        return hmac.compare_digest(want, mac) and hmac.compare_digest(
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
        expires = created + self.retention_s
        meta_json = json.dumps(dict(meta), sort_keys=True)

        def body(c: sqlite3.Connection) -> AuditHead:
            # the key version is chosen under the write lock: a rotation cannot slip between
            epoch = self._epochs.epoch_of(expires)
            version, ek = self._epochs.current(epoch)
            rec = seal(ek, self.vault_id, RecordRow(uuid.uuid4().hex, created, expires,
                                                    meta_json, None, None, None, None, None,
                                                    epoch, version), png.tobytes())
            c.execute(f"INSERT INTO records ({RecordRow.COLUMNS}) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      (rec.record_id, rec.created_at, rec.expires_at, rec.meta_json,
                       rec.key_nonce, rec.wrapped_key, rec.nonce, rec.ciphertext, None,
                       rec.epoch, rec.key_version))
            written.append(rec.record_id)
            return self._audit(c, "write", rec.record_id, actor, {
                "bytes": len(rec.ciphertext or b""),
                "meta": meta_digest(self._record_key, self.vault_id, rec),
                "row": row_digest(self._record_key, self.vault_id, rec)})

        written: list[str] = []
        self._commit(body)
        return written[-1]

    def read(self, record_id: str, actor: str) -> VaultRecord:
        """Decrypt one record for ``actor`` (an officer or process id); audited.

        A record that does not authenticate raises StorageError with ``feature ==
        "integrity"``; a purged one ``feature == "purged"``; one whose epoch key is gone
        ``feature == "key_missing"``.
        """
        import cv2
        from cryptography.exceptions import InvalidTag

        rec = self._db.record(record_id)
        if rec is None:
            raise StorageError("no such record", key=record_id, feature="missing")
        if rec.purged_at is not None or rec.wrapped_key is None:
            raise StorageError("record was purged; its key is destroyed", key=record_id,
                               feature="purged")
        ek = self._epochs.key(rec.epoch, rec.key_version)
        if ek is None:
            raise StorageError("the record's epoch key is destroyed or does not open",
                               key=record_id, feature="key_missing")
        try:
            png = open_sealed(ek, self.vault_id, rec)
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

    def note(self, record_id: str, actor: str, action: str, detail: Mapping[str, Any]) -> None:
        """Append an audited row about a live record (e.g. an officer's decision, see
        :mod:`.decisions`); ``detail`` holds plain scalars only."""
        if self._db.record(record_id) is None:
            raise StorageError("no such record", key=record_id, feature="missing")
        if action in ("write", "read", "purge", "shred") or not all(
                isinstance(v, _META_TYPES) for v in detail.values()):
            raise ConfigError("a note is no storage action and holds scalars only", key=action)
        self._commit(lambda c: self._audit(c, action, record_id, actor, dict(detail)))

    # ------------------------------------------------------------------ forgetting
    def purge(self, record_id: str, actor: str, reason: str) -> None:
        """Destroy a record now, before its retention ends: its wrapped key and ciphertext go,
        and its epoch key is rotated (the epoch's other records re-wrapped under a new
        version, the old version destroyed), so no copy of the vault decrypts it; audited."""
        rec = self._db.record(record_id)
        if rec is None or rec.purged_at is not None:
            raise StorageError("no live record to purge", key=record_id, feature="missing")
        epoch = rec.epoch
        version, new_key = self._epochs.rotate(epoch)
        retired = [v for v in self._epochs.versions().get(epoch, []) if v != version]

        def body(c: sqlite3.Connection) -> AuditHead:
            now = float(self._now())
            self._shred_row(c, record_id, now)
            n = self._rewrap_epoch(c, epoch, version, new_key)
            return self._audit(c, "purge", record_id, actor,
                               {"reason": reason, "epoch": epoch, "version": version,
                                "retired": retired, "rewrapped": n}, ts=now)

        try:
            self._commit(body)
        except BaseException:
            self._epochs.destroy(epoch, version)  # nothing was wrapped by it
            raise
        for v in retired:
            self._epochs.destroy(epoch, v)
        self._checkpoint()

    @staticmethod
    def _shred_row(c: sqlite3.Connection, record_id: str, now: float) -> None:
        n = c.execute("UPDATE records SET wrapped_key = NULL, key_nonce = NULL, "
                      "ciphertext = NULL, nonce = NULL, purged_at = ? "
                      "WHERE id = ? AND purged_at IS NULL", (now, record_id)).rowcount
        if n != 1:
            raise StorageError("no live record to purge", key=record_id, feature="missing")

    def _expire_row(self, c: sqlite3.Connection, record_id: str, actor: str,
                    now: float) -> AuditHead:
        self._shred_row(c, record_id, now)
        return self._audit(c, "purge", record_id, actor, {"reason": "retention expired"}, ts=now)

    def _rewrap_epoch(self, c: sqlite3.Connection, epoch: int, version: int, key: Any) -> int:
        """Re-wrap every live record of ``epoch`` under ``key`` (version ``version``); a record
        whose key does not open is left (it will not decrypt; counted, and ``verify`` shows it)."""
        from cryptography.exceptions import InvalidTag

        rows = [RecordRow.from_db(r) for r in c.execute(
            f"SELECT {RecordRow.COLUMNS} FROM records WHERE epoch = ? AND wrapped_key IS NOT "
            "NULL AND key_version != ?", (epoch, version))]
        n = 0
        for r in rows:
            old = self._epochs.key(epoch, r.key_version)
            try:
                if old is None:
                    raise ValueError("epoch key missing")
                new = rewrap(old, key, version, self.vault_id, r)
            except (InvalidTag, ValueError):
                self.faults["rewrap_failed"] += 1
                log.warning("vault %s: record %s could not be re-wrapped", self.root, r.record_id)
                continue
            c.execute("UPDATE records SET key_nonce = ?, wrapped_key = ?, key_version = ? "
                      "WHERE id = ?", (new.key_nonce, new.wrapped_key, version, r.record_id))
            n += 1
        return n

    def purge_expired(self, actor: str = "retention") -> int:
        """Purge every record past its retention, then destroy the key of every epoch that has
        ended; return how many records were purged.

        A record whose ``expires_at`` (or other metadata) does not match its write entry is
        not purged — its expiry cannot be trusted — but logged; ``verify`` reports it.  Its
        epoch key is destroyed on time all the same: a record cannot be kept by editing it.
        """
        now = float(self._now())
        ids = [r[0] for r in self._db.query(
            "SELECT id FROM records WHERE expires_at <= ? AND purged_at IS NULL", (now,))]
        n = 0
        for rid in ids:
            rec = self._db.record(rid)
            if rec is None or not self._meta_is_authentic(rec):
                self.faults["expiry_not_authentic"] += 1
                log.warning("vault %s: record %s not purged: its expiry does not authenticate",
                            self.root, rid)
                continue
            self._commit(lambda c, rid=rid: self._expire_row(c, rid, actor, now))
            n += 1
        for epoch, versions in self._epochs.versions().items():
            if self._epochs.ends_at(epoch) <= now:
                for v in versions:
                    self._epochs.destroy(epoch, v)
                self._commit(lambda c, e=epoch, vs=versions: self._audit(
                    c, "shred", None, actor, {"epoch": e, "versions": vs}, ts=now))
        if n:
            self._checkpoint()
        return n

    # ------------------------------------------------------------------ inspection
    def records(self, include_purged: bool = False) -> list[dict[str, Any]]:
        """Record ids, times and metadata (no pixels), oldest first."""
        q = "SELECT id, created_at, expires_at, meta, purged_at FROM records"
        if not include_purged:
            q += " WHERE purged_at IS NULL"
        rows = self._db.query(q + " ORDER BY created_at")
        return [{"id": r[0], "created_at": r[1], "expires_at": r[2], "meta": json.loads(r[3]),
                 "purged_at": r[4]} for r in rows]

    def meta(self, record_id: str) -> Mapping[str, Any] | None:
        """One record's metadata (no pixels, not audited), or None if there is no such id."""
        rec = self._db.record(record_id)
        return None if rec is None else dict(json.loads(rec.meta_json))

    def audit_rows(self) -> list[dict[str, Any]]:
        return self._db.audit_rows()

    def audit_page(self, limit: int = 100, before: int | None = None) -> list[dict[str, Any]]:
        """The newest ``limit`` audit rows older than row ``before``, newest first."""
        return self._db.audit_page(limit, before)

    def head(self) -> AuditHead:
        """The chain head now (last row's seq and MAC; seq 0 when empty).  Not secret: a lane
        puts it in its events so that a later ``verify(heads=...)`` can show a rollback."""
        return self._db.head(self._chain)

    def verify(self, witness: str | Path | None = None,
               heads: Iterable[AuditHead] = ()) -> VerifyReport:
        """Check the chain, the stored head, the witness (``witness``: another copy of it, e.g.
        shipped off the box; default this vault's), carried ``heads``, every record against
        its audit entries, and the epoch keys against records and audit.  Never raises for
        tampering: everything found is in the report."""
        rows = self.audit_rows()
        blob = self._db.query("SELECT v FROM vault_info WHERE k = 'head'")
        recs = self._db.all_records()
        out: list[Problem] = []
        stored = check_chain(self._chain, rows, blob[0][0] if blob else None, out)
        wit = Witness(witness, self._witness_key) if witness is not None else self._witness
        seen = wit.read()
        out += [Problem("witness_line_bad", n) for n in seen.bad_lines]
        if rows and not any(cp.vault_id == self.vault_id for cp in seen.checkpoints):
            out.append(Problem("witness_missing"))
        anchors = [(cp.vault_id, AuditHead(cp.seq, cp.mac)) for cp in seen.checkpoints]
        check_anchors(self.vault_id, rows, stored,
                      anchors + [(self.vault_id, h) for h in heads], out)
        check_records(self._record_key, self.vault_id, recs, rows, out)
        check_keys(self._epochs, self.vault_id, recs, rows, out)
        return VerifyReport(len(rows), tuple(out))

    def close(self) -> None:
        """Checkpoint the head to the witness if it is not there yet, fold the WAL, close."""
        try:
            head = self.head()
            if head.seq > self._witnessed:
                self._witness_head(head)
            if self._wal_dirty:
                self._checkpoint()
        except StorageError:
            pass  # closing anyway; the last rows stay unwitnessed
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CaptureVault({self.root}, key={self._master.key_id}, retention={self.retention_s:g} s)"
