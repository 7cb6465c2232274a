"""The witness: an append-only file of audit-head checkpoints kept outside the vault database.

Whoever can write the SQLite file can cut rows off the audit chain and put back an older (still
validly MACed) head, or delete everything.  The database alone cannot show that; a copy of a
newer head kept elsewhere can.  Each checkpoint is one line of JSON::

    {"v": 1, "vault": "<vault id>", "seq": 42, "mac": "<chain MAC of row 42>",
     "ts": 1700000000.0, "tag": "<HMAC-SHA256 of the other fields under the witness subkey>"}

appended with one ``write`` on an ``O_APPEND`` descriptor and ``fsync``-ed.  Put the file on
another disk, a WORM/append-only mount (``chattr +a``) or ship it off the box: it is only as
good as its distance from the vault.  ``tag`` keeps anyone without the master key from adding
checkpoints (only truncating the witness itself, which its storage must prevent).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import StorageError
from .keys import Secret

__all__ = ["Checkpoint", "Witness", "WitnessRead"]

_VERSION = 1


@dataclass(frozen=True)
class Checkpoint:
    """One witnessed audit head of vault ``vault_id``: row ``seq`` had chain MAC ``mac``."""

    vault_id: str
    seq: int
    mac: str
    ts: float


@dataclass(frozen=True)
class WitnessRead:
    """What a witness file holds: valid checkpoints, and the (1-based) lines that are not."""

    checkpoints: tuple[Checkpoint, ...]
    bad_lines: tuple[int, ...]


class Witness:
    """Appends and reads checkpoints at ``path`` (created with mode 0600 if missing)."""

    def __init__(self, path: str | Path, key: Secret) -> None:
        self.path = Path(path)
        self._key = key

    def _tag(self, vault_id: str, seq: int, mac: str, ts: float) -> str:
        msg = json.dumps([_VERSION, vault_id, seq, mac, repr(float(ts))]).encode()
        return hmac.new(self._key.reveal(), msg, hashlib.sha256).hexdigest()

    def append(self, cp: Checkpoint) -> None:
        """Append one checkpoint durably (one write, then fsync); OSError → StorageError."""
        line = json.dumps({"v": _VERSION, "vault": cp.vault_id, "seq": cp.seq, "mac": cp.mac,
                           "ts": cp.ts, "tag": self._tag(cp.vault_id, cp.seq, cp.mac, cp.ts)},
                          separators=(",", ":")) + "\n"
        try:
            new = not self.path.exists()
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            if new:  # the new file's directory entry must survive a power cut too
                dfd = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(dfd)
                finally:
                    os.close(dfd)
        except OSError as exc:
            raise StorageError(f"cannot append to the witness: {exc.strerror}",
                               key=str(self.path), feature="witness") from exc

    def read(self) -> WitnessRead:
        """Every checkpoint whose tag is valid; a missing file holds none."""
        try:
            lines = self.path.read_bytes().splitlines()
        except FileNotFoundError:
            return WitnessRead((), ())
        except OSError as exc:
            raise StorageError(f"cannot read the witness: {exc.strerror}",
                               key=str(self.path), feature="witness") from exc
        good: list[Checkpoint] = []
        bad: list[int] = []
        for n, raw in enumerate(lines, 1):
            cp = self._parse(raw)
            if cp is None:
                bad.append(n)
            else:
                good.append(cp)
        return WitnessRead(tuple(good), tuple(bad))

    def _parse(self, raw: bytes) -> Checkpoint | None:
        try:
            d = json.loads(raw)
            cp = Checkpoint(str(d["vault"]), int(d["seq"]), str(d["mac"]), float(d["ts"]))
            ok = d["v"] == _VERSION and hmac.compare_digest(
                str(d["tag"]), self._tag(cp.vault_id, cp.seq, cp.mac, cp.ts))
        except (ValueError, KeyError, TypeError):
            return None
        return cp if ok else None

    def __repr__(self) -> str:
        return f"Witness({self.path})"
