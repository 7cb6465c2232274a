"""The one place that knows where shipped firmware profiles are: ``lanecam.firmware_profiles``."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ...errors import ConfigError

__all__ = ["KINDS", "PROFILE_PACKAGE", "profile_dir", "profile_path", "shipped_profiles"]

#: The package the top-level ``firmware_profiles/`` folder is mapped to (pyproject.toml).
PROFILE_PACKAGE = "lanecam.firmware_profiles"
#: Device kinds with a profile folder each.
KINDS = ("cameras", "illuminators", "rotators", "sensors")


def profile_dir(kind: str) -> Path:
    """The folder of the shipped profiles of one device ``kind`` (one of :data:`KINDS`)."""
    if kind not in KINDS:
        raise ConfigError("unknown device kind", key="kind", allowed=list(KINDS))
    return Path(str(resources.files(PROFILE_PACKAGE) / kind))


def shipped_profiles(kind: str) -> dict[str, Path]:
    """Every shipped profile of ``kind``: name (file stem) → path, sorted by name."""
    folder = profile_dir(kind)
    if not folder.is_dir():  # a kind with nothing shipped yet has no folder in a wheel
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.toml"))}


def profile_path(kind: str, name_or_path: str | Path) -> Path:
    """A shipped profile by name (``"gardasoft-rt"``), or a ``.toml`` file by path.

    ConfigError (listing the shipped names) when there is no such file.
    """
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = profile_dir(kind) / f"{name_or_path}.toml"
    if not path.is_file():
        raise ConfigError(f"no such {kind.removesuffix('s')} profile", key=str(name_or_path),
                          allowed=sorted(shipped_profiles(kind)))
    return path
