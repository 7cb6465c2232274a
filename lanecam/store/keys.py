"""Where the vault's master key comes from: a file, an environment variable, or a KMS hook.

Never from the lane configuration: a config may name the *source* (a path, a variable name),
never hold the key.  The key is 32 random bytes (AES-256), stored raw or base64.  ``repr``
shows only the key id (first 8 bytes of its SHA-256), which the audit log records.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from ..errors import ConfigError

__all__ = ["MasterKey", "Secret", "generate_key_file"]

KEY_BYTES = 32


class Secret:
    """Key bytes that never show: ``repr``/``str`` say ``<redacted>``, pickling is refused."""

    __slots__ = ("_b",)

    def __init__(self, value: bytes) -> None:
        self._b = value

    def reveal(self) -> bytes:
        """The key bytes, for handing straight to a ``cryptography`` primitive."""
        return self._b

    def __repr__(self) -> str:
        return "<redacted>"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("secrets are not pickled")


class MasterKey:
    """A 256-bit master key held in memory."""

    __slots__ = ("_key", "source")

    def __init__(self, key: bytes, source: str) -> None:
        if not isinstance(key, bytes) or len(key) != KEY_BYTES:
            raise ConfigError(f"master key must be {KEY_BYTES} bytes", key="master_key",
                              allowed=f"{KEY_BYTES} raw bytes or their base64")
        self._key = key
        self.source = source

    @property
    def key_id(self) -> str:
        return hashlib.sha256(self._key).hexdigest()[:16]

    def derive(self, purpose: bytes) -> Secret:
        """A 32-byte subkey for ``purpose`` (HKDF-SHA256), wrapped so it never prints."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        hkdf = HKDF(hashes.SHA256(), 32, salt=None, info=b"lanecam/" + purpose)
        return Secret(hkdf.derive(self._key))

    def raw(self) -> bytes:
        return self._key

    def __repr__(self) -> str:
        return f"MasterKey(id={self.key_id}, source={self.source})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("master keys are not pickled")

    @staticmethod
    def _decode(blob: bytes, source: str) -> MasterKey:
        if len(blob) == KEY_BYTES:  # raw key bytes: never strip, any byte may be whitespace
            return MasterKey(blob, source)
        try:
            return MasterKey(base64.b64decode(blob.strip(), validate=True), source)
        except (binascii.Error, ValueError) as exc:
            raise ConfigError("master key is neither 32 raw bytes nor base64", key=source) from exc

    @classmethod
    def from_file(cls, path: str | Path) -> MasterKey:
        """Read a key file; refuse one that group or others can read."""
        p = Path(path)
        try:
            mode = p.stat().st_mode
            data = p.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read master key file: {exc.strerror}", key=str(p)) from exc
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError("master key file must be private (chmod 600)", key=str(p),
                              allowed="mode 0600 or stricter")
        return cls._decode(data, f"file:{p}")

    @classmethod
    def from_env(cls, var: str = "LANECAM_MASTER_KEY") -> MasterKey:
        value = os.environ.get(var)
        if not value:
            raise ConfigError("master key environment variable is not set", key=var)
        return cls._decode(value.encode(), f"env:{var}")

    @classmethod
    def from_kms(cls, fetch: Callable[[], bytes], name: str = "kms") -> MasterKey:
        """Ask a KMS hook (any callable returning the key bytes)."""
        return cls._decode(fetch(), f"kms:{name}")


def generate_key_file(path: str | Path) -> MasterKey:
    """Create a new private key file (base64) and return its key; refuses to overwrite."""
    p = Path(path)
    key = os.urandom(KEY_BYTES)
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise ConfigError("key file exists; refusing to overwrite", key=str(p)) from exc
    with os.fdopen(fd, "wb") as fh:
        fh.write(base64.b64encode(key) + b"\n")
    return MasterKey(key, f"file:{p}")
