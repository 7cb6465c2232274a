"""What the lane config's tables (:mod:`lanecam.config` and its parts) and the other TOML files
lanecam reads (console config, firmware profiles) share: field ranges and the one TOML reader."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from .errors import ConfigError

__all__ = ["read_toml_file", "rng"]


def read_toml_file(path: str | Path, what: str) -> dict[str, Any]:
    """Parse one TOML file; :class:`ConfigError` (``key`` = the path) when it cannot be read
    or is not TOML.  ``what`` names the file in the message (``"lane config"``, ...)."""
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", key=str(p)) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {what}: {exc.strerror}", key=str(p)) from exc


def rng(lo: float | None = None, hi: float | None = None, *, open_lo: bool = False) -> dict:
    """A numeric field's allowed range: ``lo`` ≤ value ≤ ``hi`` (``lo`` < value if
    ``open_lo``); ``None`` leaves that side open."""
    return {"lo": lo, "hi": hi, "open_lo": open_lo}
