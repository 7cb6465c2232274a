"""Retention-epoch keys: the keys that wrap record keys, kept apart from the vault file.

Time is cut into epochs of ``epoch_s`` seconds (wall clock, default one hour).  A record whose
retention ends at ``expires_at`` has its own key wrapped by the key of epoch
``floor(expires_at / epoch_s)``.  When that epoch ends every record in it has expired, and the
epoch key is destroyed: a copy of the vault file taken at any earlier time (a backup, a stolen
disk image, a WAL page left behind) no longer decrypts anything of that epoch.  Purging one
record before its time *rotates* its epoch key: the live records of the epoch are re-wrapped
under a new version and the old version is destroyed, so the purged record's wrapped key,
wherever a copy of it survives, opens nothing.

Storage: one file per epoch and version, ``<dir>/<epoch>.<version>.key``, holding the key
encrypted (AES-256-GCM) under a subkey of the master key with ``vault id, epoch, version`` as
associated data (a renamed or foreign file does not open).  The directory defaults to
``<root>.keys`` beside the vault directory — never inside it — so backing up the vault
directory does not back up the keys.  **Do not back the key directory up** (or back it up with
the same retention): a restored key file revives what was forgotten, and ``verify`` reports it
(``epoch_key_restored``).  Files are created exclusively (write, fsync, hard-link) and destroyed
by overwriting with zeros, fsync and unlink; on copy-on-write or flash storage an overwrite does
not reach the old blocks — the file is still sealed by the master key, but put the directory on
storage you can wipe (tmpfs with a persisted copy elsewhere is not that) or behind a KMS.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from pathlib import Path

from ..errors import StorageError
from .keys import Secret

__all__ = ["DEFAULT_EPOCH_S", "EpochKeys"]

DEFAULT_EPOCH_S = 3600.0
_MAGIC = b"LCEK1"
_NAME = re.compile(r"^(-?\d+)\.(\d+)\.key$")


class EpochKeys:
    """The epoch keys of one vault (``kek``: the master subkey that seals them)."""

    def __init__(self, path: str | Path, kek: Secret, vault_id: str, epoch_s: float) -> None:
        self.path = Path(path)
        self.epoch_s = float(epoch_s)
        self._kek = kek
        self._vault_id = vault_id
        self._cache: dict[tuple[int, int], Secret] = {}
        try:
            self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise _storage("cannot create the epoch key directory", self.path, exc) from exc

    def __repr__(self) -> str:  # never a key
        return f"EpochKeys({self.path}, epoch={self.epoch_s:g} s)"

    # ------------------------------------------------------------------ time
    def epoch_of(self, t: float) -> int:
        """The epoch that contains wall time ``t`` (s)."""
        return math.floor(t / self.epoch_s)

    def ends_at(self, epoch: int) -> float:
        """Wall time (s) at which ``epoch`` ends and its key may be destroyed."""
        return (epoch + 1) * self.epoch_s

    # ------------------------------------------------------------------ keys
    def versions(self) -> dict[int, list[int]]:
        """Every epoch with key files on disk → its versions, ascending (bad names skipped)."""
        out: dict[int, list[int]] = {}
        for epoch, version, _ in self._files():
            out.setdefault(epoch, []).append(version)
        return {e: sorted(v) for e, v in sorted(out.items())}

    def stray_files(self) -> list[str]:
        """Names in the directory that are not key files (``verify`` reports them)."""
        try:
            names = sorted(p.name for p in self.path.iterdir())
        except OSError:
            return []
        return [n for n in names if not _NAME.match(n) and not n.startswith(".tmp-")]

    def current(self, epoch: int) -> tuple[int, Secret]:
        """The newest version of ``epoch``'s key, created (version 1) if there is none."""
        have = self.versions().get(epoch)
        if have:
            key = self.key(epoch, have[-1])
            if key is not None:
                return have[-1], key
        return self.rotate(epoch)

    def rotate(self, epoch: int) -> tuple[int, Secret]:
        """A new version of ``epoch``'s key (one above any on disk), stored before returned."""
        while True:
            version = max(self.versions().get(epoch, [0])) + 1
            raw = os.urandom(32)
            if self._create(epoch, version, self._seal(epoch, version, raw)):
                key = Secret(raw)
                self._cache[(epoch, version)] = key
                return version, key

    def key(self, epoch: int, version: int) -> Secret | None:
        """The key of ``epoch``/``version``, or None when it is destroyed or does not open."""
        if (epoch, version) in self._cache:
            return self._cache[(epoch, version)]
        try:
            blob = self._file(epoch, version).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise _storage("cannot read an epoch key", self._file(epoch, version), exc) from exc
        raw = self._open(epoch, version, blob)
        if raw is None:
            return None
        key = self._cache[(epoch, version)] = Secret(raw)
        return key

    def authentic(self, epoch: int, version: int) -> bool:
        """Whether the file of ``epoch``/``version`` exists and opens under this vault."""
        return self.key(epoch, version) is not None

    def destroy(self, epoch: int, version: int) -> None:
        """Overwrite, fsync and unlink one key file (absent already: nothing to do)."""
        self._cache.pop((epoch, version), None)
        p = self._file(epoch, version)
        try:
            fd = os.open(p, os.O_WRONLY)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise _storage("cannot destroy an epoch key", p, exc) from exc
        try:
            size = os.fstat(fd).st_size
            os.pwrite(fd, b"\0" * size, 0)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            p.unlink()
            self._sync_dir()
        except OSError as exc:
            raise _storage("cannot destroy an epoch key", p, exc) from exc

    # ------------------------------------------------------------------ plumbing
    def _files(self) -> Iterator[tuple[int, int, Path]]:
        try:
            entries = list(self.path.iterdir())
        except FileNotFoundError:
            return
        except OSError as exc:
            raise _storage("cannot list the epoch keys", self.path, exc) from exc
        for p in entries:
            m = _NAME.match(p.name)
            if m:
                yield int(m.group(1)), int(m.group(2)), p

    def _file(self, epoch: int, version: int) -> Path:
        return self.path / f"{epoch}.{version}.key"

    def _aad(self, epoch: int, version: int) -> bytes:
        return f"lanecam-epoch-key|{self._vault_id}|{epoch}|{version}".encode()

    def _seal(self, epoch: int, version: int, raw: bytes) -> bytes:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = os.urandom(12)
        return _MAGIC + nonce + AESGCM(self._kek.reveal()).encrypt(
            nonce, raw, self._aad(epoch, version))

    def _open(self, epoch: int, version: int, blob: bytes) -> bytes | None:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if not blob.startswith(_MAGIC) or len(blob) != len(_MAGIC) + 12 + 32 + 16:
            return None
        n = len(_MAGIC)
        try:
            return AESGCM(self._kek.reveal()).decrypt(blob[n:n + 12], blob[n + 12:],
                                                      self._aad(epoch, version))
        except InvalidTag:
            return None

    def _create(self, epoch: int, version: int, blob: bytes) -> bool:
        """Write ``blob`` as a new key file; False if that version appeared meanwhile."""
        final = self._file(epoch, version)
        tmp = self.path / f".tmp-{os.getpid()}-{os.urandom(4).hex()}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, blob)
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(tmp, final)  # exclusive: fails if another writer made this version
            except FileExistsError:
                return False
            finally:
                tmp.unlink()
            self._sync_dir()
            return True
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise _storage("cannot store an epoch key", final, exc) from exc

    def _sync_dir(self) -> None:
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _storage(what: str, path: Path, exc: OSError) -> StorageError:
    import errno

    full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
    return StorageError(f"{what}: {exc.strerror}", key=str(path),
                        feature="disk_full" if full else "keys")
