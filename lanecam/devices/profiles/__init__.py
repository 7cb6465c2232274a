"""Firmware profiles of every device kind: one folder lookup, one TOML reader, one strict checker.

The TOML files live in the repository's top-level ``firmware_profiles/<kind>/`` folders and are
mapped into the package as ``lanecam.firmware_profiles`` at build time (``pyproject.toml``), so
an installed wheel and an editable install find them the same way, through
:mod:`importlib.resources`.  Each kind's schema lives with its drivers
(:mod:`lanecam.devices.cameras.profile`, :mod:`lanecam.devices.illuminators.profile`,
:mod:`lanecam.devices.rotators.profile`).
"""

from .cache import clear_profile_cache, parse_once
from .lookup import KINDS, PROFILE_PACKAGE, profile_dir, profile_path, shipped_profiles
from .toml_check import Fields, check_identifier, check_tables, number, read_toml

__all__ = [
    "clear_profile_cache",
    "parse_once",
    "KINDS",
    "PROFILE_PACKAGE",
    "profile_dir",
    "profile_path",
    "shipped_profiles",
    "Fields",
    "check_identifier",
    "check_tables",
    "number",
    "read_toml",
]
