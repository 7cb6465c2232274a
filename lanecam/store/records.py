"""One vault record: its canonical identity, AEAD sealing and the digests its audit entry carries.

A record is bound to its identity three ways:

* **AEAD associated data** — ``[format, vault_id, record_id, created_at, expires_at, meta]`` in
  canonical JSON — authenticates both the wrapping of the per-record key and the ciphertext, so a
  key or ciphertext moved to another record (or vault) and any metadata edit fail to decrypt.
* **meta digest** — HMAC of that same identity; it survives a purge, so ``verify`` can still
  check a shredded record's retention times and metadata.
* **row digest** — HMAC of the identity plus nonces, wrapped key and ciphertext hash.

Both digests are written into the record's ``write`` audit entry, which the HMAC chain protects:
``verify`` needs no decryption to catch an edited ``expires_at`` or swapped blobs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from typing import Any

from .keys import Secret

__all__ = ["FORMAT", "RecordRow", "identity", "meta_digest", "open_sealed", "row_digest", "seal"]

FORMAT = 2  # vault file format; 1 (before record binding and the witness) is refused


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

    COLUMNS = ("id, created_at, expires_at, meta, key_nonce, wrapped_key, nonce, ciphertext, "
               "purged_at")

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
                       repr(float(r.expires_at)), r.meta_json], separators=(",", ":")).encode()


def seal(wrap_key: Secret, vault_id: str, r: RecordRow, plaintext: bytes) -> RecordRow:
    """Encrypt ``plaintext`` under a fresh key and wrap that key; both bound to ``identity``."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    aad = identity(vault_id, r)
    rkey = AESGCM.generate_key(256)
    nonce, knonce = os.urandom(12), os.urandom(12)
    ct = AESGCM(rkey).encrypt(nonce, plaintext, aad)
    wrapped = AESGCM(wrap_key.reveal()).encrypt(knonce, rkey, b"key:" + aad)
    del rkey
    return RecordRow(r.record_id, r.created_at, r.expires_at, r.meta_json, knonce, wrapped,
                     nonce, ct, None)


def open_sealed(wrap_key: Secret, vault_id: str, r: RecordRow) -> bytes:
    """Unwrap the key and decrypt; raises ``cryptography.exceptions.InvalidTag`` if anything
    bound to the record was changed, ValueError if a blob is missing."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if r.key_nonce is None or r.wrapped_key is None or r.nonce is None or r.ciphertext is None:
        raise ValueError("record has no sealed key or ciphertext")
    aad = identity(vault_id, r)
    rkey = AESGCM(wrap_key.reveal()).decrypt(r.key_nonce, r.wrapped_key, b"key:" + aad)
    try:
        return AESGCM(rkey).decrypt(r.nonce, r.ciphertext, aad)
    finally:
        del rkey


def _hmac(key: Secret, *parts: bytes) -> str:
    h = hmac.new(key.reveal(), digestmod=hashlib.sha256)
    for p in parts:  # length-prefixed: no two part lists give the same message
        h.update(len(p).to_bytes(8, "big") + p)
    return h.hexdigest()


def meta_digest(key: Secret, vault_id: str, r: RecordRow) -> str:
    """HMAC of the record's identity (id, times, metadata); unchanged by a purge."""
    return _hmac(key, b"meta", identity(vault_id, r))


def row_digest(key: Secret, vault_id: str, r: RecordRow) -> str:
    """HMAC of the identity and every blob of the live row (ciphertext by its SHA-256)."""
    blobs = [r.key_nonce or b"", r.wrapped_key or b"", r.nonce or b"",
             hashlib.sha256(r.ciphertext or b"").digest()]
    return _hmac(key, b"row", identity(vault_id, r), *blobs)
