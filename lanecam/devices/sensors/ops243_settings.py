"""What an OPS243 says about its own settings (the ``??`` query) against what the driver set.

``??`` answers one JSON object per line (manual UM-003 p.7: ``{"Product":"OPS243"}``,
``{"Version":"1.0.0"}``, ``{"SamplingRate":10000, "resolution":0.0607}``,
``{"SampleSize":1024}``, ``{"Clock":"54"}``, ``{"PowerMode":"Continuous"}``,
``{"Squelch":"100"}``, ``{"RequiredMinSpeed":"0.000"}``; the OPS242 manual lists five of
these, so the set varies by firmware) and has no end marker: the driver sends ``U?`` with it
and collects lines up to that query's reply.  A setting the reply leaves out is listed as not reported,
not as a mismatch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["RadarSettingsReport", "SettingMismatch", "compare_settings"]

#: Tolerance for numbers the radar prints with 3 decimals (``"0.500"``).
_TOLERANCE = 1e-3


@dataclass(frozen=True)
class SettingMismatch:
    """One setting the radar reports differently from what the driver set."""

    name: str  # the radar's key, e.g. "SamplingRate"
    expected: object
    reported: object


@dataclass(frozen=True)
class RadarSettingsReport:
    """The ``??`` reply merged into one mapping, and how it compares with the settings."""

    reported: dict[str, object] = field(default_factory=dict)
    mismatches: tuple[SettingMismatch, ...] = ()
    not_reported: tuple[str, ...] = ()
    unparsable_lines: int = 0

    @property
    def ok(self) -> bool:
        return not self.mismatches

    @property
    def product(self) -> str | None:
        p = self.reported.get("Product")
        return p if isinstance(p, str) else None

    @property
    def version(self) -> str | None:
        v = self.reported.get("Version")
        return v if isinstance(v, str) else None


def _same(expected: object, reported: object) -> bool:
    if isinstance(expected, str):
        return isinstance(reported, str) and reported.startswith(expected)
    if isinstance(reported, bool):
        return False
    try:
        return abs(float(reported) - float(expected)) <= _TOLERANCE  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def compare_settings(reported: dict[str, object], expected: dict[str, object],
                     unparsable_lines: int = 0) -> RadarSettingsReport:
    """Compare the merged ``??`` reply with ``expected`` (radar key → value; a string value
    must prefix the reported string, numbers agree within 0.001)."""
    mismatches = []
    missing = []
    for key, want in expected.items():
        if key not in reported:
            missing.append(key)
        elif not _same(want, reported[key]):
            mismatches.append(SettingMismatch(key, want, reported[key]))
    return RadarSettingsReport(dict(reported), tuple(mismatches), tuple(missing),
                               unparsable_lines)
