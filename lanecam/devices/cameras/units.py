"""A node's ``<Unit>`` against the unit a profile's ``scale`` implies.

A profile says ``exposure_time = { node = "ExposureTime", scale = 1e6 }``: node value = seconds
× 1e6, so the node must count microseconds.  A node that says ``ms`` would make every exposure
a thousand times off; lanecam refuses it (:func:`check_unit`, ConfigError) rather than guess.
A node with no ``<Unit>`` (Allied Vision's floats) is taken in the unit the scale implies:
``lanecam profile check`` flags that as ``unit assumed``.
"""

from __future__ import annotations

import math

from ...errors import ConfigError

__all__ = ["check_unit", "expected_unit", "normalise_unit"]

#: node unit spellings seen in vendor XMLs → one spelling
_ALIASES = {"us": "us", "µs": "us", "μs": "us", "microseconds": "us", "usec": "us", "ms": "ms",
            "s": "s", "ns": "ns", "db": "dB", "hz": "Hz", "fps": "Hz", "frames/s": "Hz",
            "1/s": "Hz"}
#: (canonical SI unit, profile scale) → the node unit that scale means
_SCALE_UNITS = {("s", 1.0): "s", ("s", 1e3): "ms", ("s", 1e6): "us", ("s", 1e9): "ns",
                ("dB", 1.0): "dB", ("Hz", 1.0): "Hz"}


def expected_unit(canonical_unit: str, scale: float) -> str | None:
    """The node unit a profile's ``scale`` implies (``("s", 1e6)`` → ``"us"``), or None."""
    for (unit, s), node_unit in _SCALE_UNITS.items():
        if unit == canonical_unit and math.isclose(scale, s, rel_tol=1e-9):
            return node_unit
    return None


def normalise_unit(unit: str) -> str:
    """One spelling per unit: ``µs``/``microseconds`` → ``us``, ``Fps`` → ``Hz``."""
    u = unit.strip()
    return _ALIASES.get(u.casefold(), u)


def check_unit(feature: str, node: str, canonical_unit: str, scale: float, node_unit: str,
               device: str | None = None) -> None:
    """ConfigError when a float node's ``<Unit>`` is not the unit the profile's scale implies
    (no unit, or a scale with no known unit: nothing to check)."""
    expected = expected_unit(canonical_unit, scale)
    if not node_unit.strip() or expected is None or normalise_unit(node_unit) == expected:
        return
    raise ConfigError(f"{node} counts {node_unit.strip()!r} but the profile's scale {scale:g} "
                      f"means {expected!r}: fix the profile's scale", device=device,
                      key=feature, allowed=expected)
