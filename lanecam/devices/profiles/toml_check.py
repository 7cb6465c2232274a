"""Reading profile TOML and checking it strictly: unknown tables and keys are errors, every
required key must be present with its type, and every error is a ConfigError naming the key."""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from ...config_fields import read_toml_file
from ...errors import ConfigError

__all__ = ["Fields", "check_identifier", "check_tables", "number", "read_toml"]

#: table name → key → accepted type(s).  ``bool`` is never accepted for a number.
Fields = Mapping[str, Mapping[str, type | tuple[type, ...]]]

_IDENTIFIER = re.compile(r"[a-z0-9][a-z0-9_.-]*")


def read_toml(path: Path) -> dict[str, Any]:
    """Parse one TOML file; ConfigError (key = the path) when unreadable or not TOML."""
    return read_toml_file(path, "profile")


def check_tables(doc: Mapping[str, Any], sections: Fields, src: str, *,
                 optional: Collection[str] = (), extra_tables: Collection[str] = ()) -> None:
    """Check the shape of a profile document against ``sections``.

    Top-level tables other than ``sections`` and ``extra_tables`` (checked by the caller) are
    errors; so are missing tables, unknown keys, missing keys (unless ``"table.key"`` is in
    ``optional``) and values of the wrong type.
    """
    allowed_top = [*sections, *extra_tables]
    for top in doc:
        if top not in allowed_top:
            raise ConfigError(f"unknown table in {src}", key=top,
                              allowed=allowed_top if extra_tables else sorted(allowed_top))
    for sec, fields in sections.items():
        table = doc.get(sec)
        if not isinstance(table, dict):
            raise ConfigError(f"missing [{sec}] table in {src}", key=sec)
        for k in table:
            if k not in fields:
                raise ConfigError(f"unknown key in {src}", key=f"{sec}.{k}",
                                  allowed=sorted(fields))
        for k, typ in fields.items():
            full = f"{sec}.{k}"
            if k not in table:
                if full in optional:
                    continue
                raise ConfigError(f"missing key in {src}", key=full)
            if isinstance(table[k], bool) or not isinstance(table[k], typ):
                raise ConfigError(f"wrong type in {src}", key=full)


def check_identifier(name: object, key: str, src: str) -> str:
    """A profile name: a lower-case identifier (``gardasoft-rt``)."""
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise ConfigError(f"name must be a lower-case identifier in {src}", key=key)
    return name


def number(v: Any, key: str, src: str, *, minimum: str = "positive") -> float:
    """A finite number; ``minimum`` is ``"positive"`` (> 0), ``"zero"`` (>= 0) or ``"any"``."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ConfigError(f"must be a finite number in {src}", key=key)
    if minimum == "positive" and v <= 0:
        raise ConfigError(f"must be > 0 in {src}", key=key)
    if minimum == "zero" and v < 0:
        raise ConfigError(f"must be >= 0 in {src}", key=key)
    return float(v)
