"""One vault record: its canonical identity, AEAD sealing and the digests its audit entry carries.

A record is bound to its identity three ways:

* **AEAD associated data** — ``[format, vault_id, record_id, created_at, expires_at, epoch,
  meta]`` in canonical JSON — authenticates both the wrapping of the per-record key (by its
  retention-epoch key, :mod:`.epochs`) and the ciphertext, so a key or ciphertext moved to
  another record (or vault) and any metadata edit fail to decrypt.
* **meta digest** — HMAC of that same identity; it survives a purge, so ``verify`` can still
  check a shredded record's retention times and metadata.
* **row digest** — HMAC of the identity plus the ciphertext's nonce and hash.  The wrapped key is
  left out because rotating an epoch key re-wraps it; ``verify`` checks it by unwrapping
  (:func:`unwraps`), which needs the epoch key but decrypts no pixels.

Both digests are written into the record's ``write`` audit entry, which the HMAC chain protects:
``verify`` catches an edited ``expires_at`` or swapped blobs without decrypting an image.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass, replace
from typing import Any

from .keys import Secret

__all__ = ["FORMAT", "RecordRow", "identity", "meta_digest", "open_sealed", "rewrap",
           "row_digest", "seal", "unwraps"]

FORMAT = 3  # vault file format; 1–2 (before epoch keys) are refused


@dataclass(frozen=True)
class RecordRow:
    """A ``records`` table row as stored (blobs are None once purged)."""

    record_id: str
    created_at: float
    expires_at: float
    meta_json: str
    key_nonce: bytes | None
    wrapped_key: bytes | None
    nonce: bytes | None
    ciphertext: bytes | None
    purged_at: float | None
    epoch: int  # retention epoch whose key wraps this record's key
    key_version: int  # version of that epoch key

    COLUMNS = ("id, created_at, expires_at, meta, key_nonce, wrapped_key, nonce, ciphertext, "
               "purged_at, epoch, key_version")

    @classmethod
    def from_db(cls, row: tuple[Any, ...]) -> RecordRow:
        return cls(*row)

    @property
    def shredded(self) -> bool:
        """True when no blob is left (key, nonces and ciphertext all gone)."""
        return all(b is None for b in (self.key_nonce, self.wrapped_key, self.nonce,
                                       self.ciphertext))


def identity(vault_id: str, r: RecordRow) -> bytes:
    """Canonical bytes of what a record *is*: used as AEAD associated data and in the digests."""
    return json.dumps([FORMAT, vault_id, r.record_id, repr(float(r.created_at)),
                       repr(float(r.expires_at)), int(r.epoch), r.meta_json],
                      separators=(",", ":")).encode()


def seal(epoch_key: Secret, vault_id: str, r: RecordRow, plaintext: bytes) -> RecordRow:
    """Encrypt ``plaintext`` under a fresh key and wrap that key with ``epoch_key`` (the key of
    ``r.epoch``, version ``r.key_version``); both bound to ``identity``."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    aad = identity(vault_id, r)
    rkey = AESGCM.generate_key(256)
    nonce, knonce = os.urandom(12), os.urandom(12)
    ct = AESGCM(rkey).encrypt(nonce, plaintext, aad)
    wrapped = AESGCM(epoch_key.reveal()).encrypt(knonce, rkey, b"key:" + aad)
    del rkey
    return replace(r, key_nonce=knonce, wrapped_key=wrapped, nonce=nonce, ciphertext=ct,
                   purged_at=None)


def _unwrap(epoch_key: Secret, vault_id: str, r: RecordRow) -> bytes:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if r.key_nonce is None or r.wrapped_key is None:
        raise ValueError("record has no wrapped key")
    return AESGCM(epoch_key.reveal()).decrypt(r.key_nonce, r.wrapped_key,
                                              b"key:" + identity(vault_id, r))


def open_sealed(epoch_key: Secret, vault_id: str, r: RecordRow) -> bytes:
    """Unwrap the key and decrypt; raises ``cryptography.exceptions.InvalidTag`` if anything
    bound to the record was changed, ValueError if a blob is missing."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if r.nonce is None or r.ciphertext is None:
        raise ValueError("record has no ciphertext")
    rkey = _unwrap(epoch_key, vault_id, r)
    try:
        return AESGCM(rkey).decrypt(r.nonce, r.ciphertext, identity(vault_id, r))
    finally:
        del rkey


def rewrap(old: Secret, new: Secret, version: int, vault_id: str, r: RecordRow) -> RecordRow:
    """``r`` with its record key re-wrapped from ``old`` to ``new`` (epoch key ``version``);
    raises ``InvalidTag`` when the wrapped key does not open under ``old``."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    rkey = _unwrap(old, vault_id, r)
    knonce = os.urandom(12)
    try:
        wrapped = AESGCM(new.reveal()).encrypt(knonce, rkey, b"key:" + identity(vault_id, r))
    finally:
        del rkey
    return replace(r, key_nonce=knonce, wrapped_key=wrapped, key_version=version)


def unwraps(epoch_key: Secret, vault_id: str, r: RecordRow) -> bool:
    """Whether ``r``'s wrapped key opens under ``epoch_key`` with ``r``'s identity."""
    from cryptography.exceptions import InvalidTag

    try:
        _unwrap(epoch_key, vault_id, r)
    except (InvalidTag, ValueError):
        return False
    return True


def _hmac(key: Secret, *parts: bytes) -> str:
    h = hmac.new(key.reveal(), digestmod=hashlib.sha256)
    for p in parts:  # length-prefixed: no two part lists give the same message
        h.update(len(p).to_bytes(8, "big") + p)
    return h.hexdigest()


def meta_digest(key: Secret, vault_id: str, r: RecordRow) -> str:
    """HMAC of the record's identity (id, times, metadata); unchanged by a purge."""
    return _hmac(key, b"meta", identity(vault_id, r))


def row_digest(key: Secret, vault_id: str, r: RecordRow) -> str:
    """HMAC of the identity, the ciphertext's nonce and its SHA-256 (not the wrapped key, which
    an epoch-key rotation changes: :func:`unwraps` checks that)."""
    blobs = [r.nonce or b"", hashlib.sha256(r.ciphertext or b"").digest()]
    return _hmac(key, b"row", identity(vault_id, r), *blobs)
