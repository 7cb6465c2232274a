"""The vault's audit chain and its verification, reported as typed problems.

Row ``seq`` carries ``mac = HMAC(audit_key, [prev_mac, seq, ts, action, record_id, actor,
detail])``; row 1's ``prev_mac`` is an HMAC of the vault id, so rows cannot be moved between
vaults.  The database also stores the MACed head (last seq and MAC).  That alone cannot show a
tail cut off together with an older head put back: :mod:`.witness` checkpoints and heads carried
in lane events (:meth:`CaptureVault.head`) anchor the chain outside the file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .keys import Secret

if TYPE_CHECKING:
    from .epochs import EpochKeys
from .records import RecordRow, meta_digest, row_digest, unwraps

__all__ = ["PROBLEM_KINDS", "AuditHead", "Problem", "VerifyReport"]

#: kind → what ``Problem.ref`` holds
PROBLEM_KINDS: Mapping[str, str] = {
    "audit_row_edited": "seq of a row whose MAC does not match",
    "audit_row_missing": "seq of the first row after a gap",
    "head_mismatch": "None: the stored head is missing, forged or not the last row",
    "audit_truncated": "seq of a witnessed (or carried) head no longer in the chain",
    "audit_forked": "seq of a witnessed head whose MAC differs from the chain's",
    "head_rollback": "seq of the newest witnessed head, newer than the file's head",
    "witness_missing": "None: the chain has rows but the witness has no checkpoint",
    "witness_line_bad": "line number of a witness line that does not parse or authenticate",
    "vault_replaced": "vault id of another vault whose checkpoints are in this witness",
    "record_edited": "record id whose row or metadata differs from its write entry",
    "record_unaudited": "record id present without a write entry",
    "record_missing": "record id written (audited) but gone from the records table",
    "purged_record_present": "record id purged in the audit but with blobs left",
    "purge_unaudited": "record id purged (or shredded) without a purge entry",
    "key_missing": "record id of a live record whose epoch key is gone or does not open",
    "key_unbound": "record id of a live record whose wrapped key does not open (moved/swapped)",
    "epoch_key_bad": "file name of an epoch key file that does not open under this vault",
    "epoch_key_restored": "file name of an epoch key the audit says was destroyed (restored "
                          "from a backup: what it wrapped is readable again)",
}


@dataclass(frozen=True)
class AuditHead:
    """The chain head: last row's ``seq`` and chain ``mac`` (no secret; safe to log or ship)."""

    seq: int
    mac: str


@dataclass(frozen=True)
class Problem:
    """One thing ``verify`` found wrong: a kind from :data:`PROBLEM_KINDS` and its reference."""

    kind: str
    ref: str | int | None = None


@dataclass(frozen=True)
class VerifyReport:
    """Result of :meth:`CaptureVault.verify`: ``ok`` iff no problems; ``rows`` audit rows seen."""

    rows: int
    problems: tuple[Problem, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(p.kind for p in self.problems)

    @property
    def first_bad_seq(self) -> int | None:
        """The first audit row that does not fit the chain (edited, or after a gap), if any."""
        seqs = [p.ref for p in self.problems
                if p.kind in ("audit_row_edited", "audit_row_missing") and isinstance(p.ref, int)]
        return min(seqs) if seqs else None


class Chain:
    """MACs for one vault's audit chain."""

    def __init__(self, key: Secret, vault_id: str) -> None:
        self._key = key
        self.vault_id = vault_id

    def _hmac(self, msg: Any) -> str:
        return hmac.new(self._key.reveal(), json.dumps(msg).encode(), hashlib.sha256).hexdigest()

    @property
    def genesis(self) -> str:
        return self._hmac(["genesis", self.vault_id])

    def row_mac(self, prev: str, seq: int, ts: float, action: str, rid: str | None, actor: str,
                detail: str) -> str:
        return self._hmac([prev, seq, repr(float(ts)), action, rid, actor, detail])

    def head_blob(self, head: AuditHead) -> str:
        """The head as stored in the database, with its own MAC."""
        return json.dumps([head.seq, head.mac, self._hmac(["head", self.vault_id, head.seq,
                                                           head.mac])])

    def parse_head(self, blob: str | None) -> AuditHead | None:
        """The stored head if its MAC is valid, else None."""
        try:
            seq, mac, tag = json.loads(blob or "")
            good = hmac.compare_digest(str(tag), self._hmac(["head", self.vault_id, seq, mac]))
        except (ValueError, TypeError):
            return None
        return AuditHead(int(seq), str(mac)) if good else None


def check_chain(chain: Chain, rows: Sequence[Mapping[str, Any]], head_blob: str | None,
                out: list[Problem]) -> AuditHead | None:
    """Recompute every row's MAC; check the stored head is the last row. Returns that head."""
    prev: str | None = chain.genesis
    expected = 1
    for r in rows:
        if r["seq"] != expected:
            out.append(Problem("audit_row_missing", r["seq"]))
            prev = None  # the row after a gap cannot be checked: its predecessor is gone
        if prev is not None and not hmac.compare_digest(
                chain.row_mac(prev, r["seq"], r["ts"], r["action"], r["record_id"], r["actor"],
                              r["detail"]), r["mac"]):
            out.append(Problem("audit_row_edited", r["seq"]))
        prev, expected = r["mac"], r["seq"] + 1
    stored = chain.parse_head(head_blob)
    last = AuditHead(rows[-1]["seq"], rows[-1]["mac"]) if rows else None
    if stored != last:
        out.append(Problem("head_mismatch"))
    return stored


def check_anchors(vault_id: str, rows: Sequence[Mapping[str, Any]], stored: AuditHead | None,
                  anchors: Iterable[tuple[str, AuditHead]], out: list[Problem]) -> None:
    """Each anchor (a witnessed or carried head) must be in the chain, and not newer than
    the stored head."""
    macs = {r["seq"]: r["mac"] for r in rows}
    last = rows[-1]["seq"] if rows else 0
    newest = 0
    found: set[Problem] = set()
    for vid, a in anchors:
        if vid != vault_id:
            found.add(Problem("vault_replaced", vid))
            continue
        if a.seq == 0:  # an empty vault's head: nothing to find
            continue
        newest = max(newest, a.seq)
        if a.seq > last or a.seq not in macs:
            found.add(Problem("audit_truncated", a.seq))
        elif not hmac.compare_digest(macs[a.seq], a.mac):
            found.add(Problem("audit_forked", a.seq))
    if newest > (stored.seq if stored else 0):
        found.add(Problem("head_rollback", newest))
    out.extend(sorted(found, key=lambda p: (p.kind, str(p.ref))))


def check_records(key: Secret, vault_id: str, records: Iterable[RecordRow],
                  rows: Sequence[Mapping[str, Any]], out: list[Problem]) -> None:
    """Every record present was written and not purged (or purged and shredded), unchanged."""
    writes = {r["record_id"]: json.loads(r["detail"]) for r in rows if r["action"] == "write"}
    purges = {r["record_id"]: r["ts"] for r in rows if r["action"] == "purge"}
    seen: set[str] = set()
    for rec in records:
        rid = rec.record_id
        seen.add(rid)
        w = writes.get(rid)
        if w is None:
            out.append(Problem("record_unaudited", rid))
            continue
        if not hmac.compare_digest(str(w.get("meta")), meta_digest(key, vault_id, rec)):
            out.append(Problem("record_edited", rid))
        elif rid in purges:
            if not rec.shredded:
                out.append(Problem("purged_record_present", rid))
            elif rec.purged_at != purges[rid]:
                out.append(Problem("record_edited", rid))
        elif rec.purged_at is not None or rec.shredded:
            out.append(Problem("purge_unaudited", rid))
        elif not hmac.compare_digest(str(w.get("row")), row_digest(key, vault_id, rec)):
            out.append(Problem("record_edited", rid))
    out.extend(Problem("record_missing", rid) for rid in writes if rid not in seen)


def _retired_keys(rows: Sequence[Mapping[str, Any]]) -> set[tuple[int, int]]:
    """(epoch, version) of every key the audit says was destroyed (purge rotations, shreds)."""
    gone: set[tuple[int, int]] = set()
    for r in rows:
        if r["action"] not in ("purge", "shred"):
            continue
        try:
            d = json.loads(r["detail"])
            vs = d.get("retired", []) if r["action"] == "purge" else d.get("versions", [])
            gone.update((int(d["epoch"]), int(v)) for v in vs)
        except (ValueError, KeyError, TypeError):
            continue  # a retention purge row carries no epoch; an edited row is reported already
    return gone


def check_keys(keys: EpochKeys, vault_id: str, records: Iterable[RecordRow],
               rows: Sequence[Mapping[str, Any]], out: list[Problem]) -> None:
    """Epoch keys: none the audit destroyed is back, every file opens, and every live record
    not already reported has a key that unwraps it (this decrypts no image)."""
    gone = _retired_keys(rows)
    flagged = {p.ref for p in out}
    for epoch, versions in keys.versions().items():
        for v in versions:
            name = f"{epoch}.{v}.key"
            if (epoch, v) in gone:
                out.append(Problem("epoch_key_restored", name))
            elif not keys.authentic(epoch, v):
                out.append(Problem("epoch_key_bad", name))
    for rec in records:
        if rec.record_id in flagged or rec.purged_at is not None or rec.shredded:
            continue
        k = keys.key(rec.epoch, rec.key_version)
        if k is None:
            out.append(Problem("key_missing", rec.record_id))
        elif not unwraps(k, vault_id, rec):
            out.append(Problem("key_unbound", rec.record_id))
