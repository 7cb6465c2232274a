"""Illuminator profiles: controller limits, the overdrive table and the lamp's irradiance at the
nearest reachable eye (``firmware_profiles/illuminators/<name>.toml``).  Units: seconds,
brightness as a fraction (1.0 = 100 %), W/m², metres, nm."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import ConfigError
from ..profiles import (
    check_identifier,
    check_tables,
    number,
    parse_once,
    profile_path,
    read_toml,
)

__all__ = ["OverdriveRow", "IlluminatorProfile", "load_illuminator_profile", "PROTOCOLS"]

#: Wire protocols a driver exists for (``illuminator.protocol``).
PROTOCOLS = ("gardasoft-rt",)


@dataclass(frozen=True)
class OverdriveRow:
    """Up to ``max_brightness`` (1.0 = 100 %): pulses ≤ ``max_pulse_width_s`` (s),
    duty ≤ ``max_duty`` (fraction)."""

    max_brightness: float
    max_pulse_width_s: float
    max_duty: float


@dataclass(frozen=True)
class IlluminatorProfile:
    """An illuminator installation: controller limits plus the lamp's irradiance at the eye."""

    name: str
    title: str
    protocol: str
    channels: int
    baudrate: int
    pulse_width_s: tuple[float, float]
    delay_s: tuple[float, float]
    retrigger_step_s: float
    retrigger_max_s: float
    overdrive: tuple[OverdriveRow, ...]
    wavelength_nm: float
    eye_distance_m: float
    irradiance_w_m2: float  # at brightness 1.0, at eye_distance_m
    source: str = ""

    @property
    def max_brightness(self) -> float:
        return self.overdrive[-1].max_brightness


_SECTIONS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "illuminator": {"name": str, "title": str, "protocol": str, "channels": int,
                    "baudrate": int, "source": str},
    "limits": {"pulse_width_s": list, "delay_s": list, "retrigger_step_s": (int, float),
               "retrigger_max_s": (int, float)},
    "eye_safety": {"standard": str, "wavelength_nm": (int, float),
                   "nearest_eye_distance_m": (int, float), "irradiance_w_m2": (int, float),
                   "source": str},
}
_ROW_KEYS = {"max_brightness", "max_pulse_width_s", "max_duty"}
_OPTIONAL = {"illuminator.source", "illuminator.title", "eye_safety.source"}


def _pair(v: Any, key: str, src: str) -> tuple[float, float]:
    if not isinstance(v, list) or len(v) != 2:
        raise ConfigError(f"must be [min, max] in {src}", key=key)
    lo, hi = (number(x, key, src, minimum="any") for x in v)
    if not 0 <= lo <= hi:
        raise ConfigError(f"need 0 <= min <= max in {src}", key=key)
    return lo, hi


def _overdrive(rows_raw: Any, src: str) -> tuple[OverdriveRow, ...]:
    if not isinstance(rows_raw, list) or not rows_raw:
        raise ConfigError(f"need at least one [[overdrive]] row in {src}", key="overdrive")
    rows: list[OverdriveRow] = []
    for i, r in enumerate(rows_raw):
        key = f"overdrive[{i}]"
        if not isinstance(r, dict) or set(r) != _ROW_KEYS:
            raise ConfigError(f"row needs exactly {sorted(_ROW_KEYS)} in {src}", key=key)
        row = OverdriveRow(number(r["max_brightness"], key + ".max_brightness", src),
                           number(r["max_pulse_width_s"], key + ".max_pulse_width_s", src),
                           number(r["max_duty"], key + ".max_duty", src))
        if row.max_duty > 1:
            raise ConfigError(f"duty is a fraction <= 1 in {src}", key=key + ".max_duty")
        if rows and row.max_brightness <= rows[-1].max_brightness:
            raise ConfigError(f"rows must have increasing max_brightness in {src}", key=key)
        rows.append(row)
    return tuple(rows)


def load_illuminator_profile(name_or_path: str | Path) -> IlluminatorProfile:
    """Load a shipped illuminator profile by name (``"gardasoft-rt"``), or a TOML file by path.

    Every key is required unless marked optional; unknown keys are errors (a typo such as
    ``interlock = false`` must never be silently accepted).  Raises ConfigError naming the key.
    Parsed once per process: the same object comes back until the file changes.
    """
    path = profile_path("illuminators", name_or_path)
    return parse_once("illuminator-profile", [path], lambda: _read_illuminator(path))


def _read_illuminator(path: Path) -> IlluminatorProfile:
    src = str(path)
    doc = read_toml(path)
    check_tables(doc, _SECTIONS, src, optional=_OPTIONAL, extra_tables=("overdrive",))
    ill, lim, eye = doc["illuminator"], doc["limits"], doc["eye_safety"]
    if ill["protocol"] not in PROTOCOLS:
        raise ConfigError(f"unknown protocol in {src}", key="illuminator.protocol",
                          allowed=sorted(PROTOCOLS))
    check_identifier(ill["name"], "illuminator.name", src)
    rows = _overdrive(doc.get("overdrive"), src)
    if ill["channels"] < 1:
        raise ConfigError(f"must be >= 1 in {src}", key="illuminator.channels")
    return IlluminatorProfile(
        name=ill["name"],
        title=ill.get("title", ill["name"]),
        protocol=ill["protocol"],
        channels=ill["channels"],
        baudrate=ill["baudrate"],
        pulse_width_s=_pair(lim["pulse_width_s"], "limits.pulse_width_s", src),
        delay_s=_pair(lim["delay_s"], "limits.delay_s", src),
        retrigger_step_s=number(lim["retrigger_step_s"], "limits.retrigger_step_s", src),
        retrigger_max_s=number(lim["retrigger_max_s"], "limits.retrigger_max_s", src),
        overdrive=rows,
        wavelength_nm=number(eye["wavelength_nm"], "eye_safety.wavelength_nm", src),
        eye_distance_m=number(eye["nearest_eye_distance_m"],
                              "eye_safety.nearest_eye_distance_m", src),
        irradiance_w_m2=number(eye["irradiance_w_m2"], "eye_safety.irradiance_w_m2", src),
        source=ill.get("source", ""),
    )
