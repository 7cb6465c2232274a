"""Rotator profiles: identity as the firmware reports it, scale and motion limits
(``firmware_profiles/rotators/<name>.toml``).  Units: degrees, seconds, baud."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ...errors import ConfigError
from ..profiles import (
    check_identifier,
    check_tables,
    number,
    parse_once,
    profile_path,
    read_toml,
)

__all__ = ["RotatorProfile", "load_rotator_profile", "PROTOCOLS"]

#: Wire protocols a driver exists for (``rotator.protocol``).
PROTOCOLS = ("elliptec",)


@dataclass(frozen=True)
class RotatorProfile:
    """A rotator model: identity as its firmware reports it, scale and motion limits."""

    name: str
    title: str
    protocol: str
    model: str
    model_code: int  # the ``IN`` reply's model field
    baudrate: int
    travel_deg: float  # the ``IN`` reply's travel field (a full turn for a rotation mount)
    pulses_per_rev: int  # must equal the ``IN`` reply's pulses field
    speed_deg_s: float  # angular speed for move-time estimates
    settle_s: float  # from the end of motion to the completion reply
    command_gap_s: float  # minimum quiet time after a reply before a move command
    position_tolerance_deg: float  # reported vs commanded position after a move
    motor_timeout_s: float  # the firmware's own stall time-out
    source: str = ""


_SECTIONS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "rotator": {"name": str, "title": str, "protocol": str, "model": str, "model_code": int,
                "baudrate": int, "source": str},
    "motion": {"travel_deg": (int, float), "pulses_per_rev": int, "speed_deg_s": (int, float),
               "settle_s": (int, float), "command_gap_s": (int, float),
               "position_tolerance_deg": (int, float), "motor_timeout_s": (int, float),
               "source": str},
}
_OPTIONAL = {"rotator.title", "rotator.source", "motion.source"}


def load_rotator_profile(name_or_path: str | Path) -> RotatorProfile:
    """Load a shipped rotator profile by name (``"thorlabs-ell14"``), or a TOML file by path.

    Every key is required unless optional (``title``, ``source``); unknown keys are errors.
    Raises ConfigError naming the key.  Parsed once per process: the same object comes back
    until the file changes.
    """
    path = profile_path("rotators", name_or_path)
    return parse_once("rotator-profile", [path], lambda: _read_rotator(path))


def _read_rotator(path: Path) -> RotatorProfile:
    src = str(path)
    doc = read_toml(path)
    check_tables(doc, _SECTIONS, src, optional=_OPTIONAL)
    rot, mot = doc["rotator"], doc["motion"]
    check_identifier(rot["name"], "rotator.name", src)
    if rot["protocol"] not in PROTOCOLS:
        raise ConfigError(f"unknown protocol in {src}", key="rotator.protocol",
                          allowed=sorted(PROTOCOLS))
    if not 0 <= rot["model_code"] <= 255:
        raise ConfigError(f"must be 0..255 in {src}", key="rotator.model_code")
    if rot["baudrate"] <= 0:
        raise ConfigError(f"must be > 0 in {src}", key="rotator.baudrate")
    if mot["pulses_per_rev"] <= 0:
        raise ConfigError(f"must be > 0 in {src}", key="motion.pulses_per_rev")
    travel = number(mot["travel_deg"], "motion.travel_deg", src)
    if travel > 360:
        raise ConfigError(f"a rotator travels at most 360° in {src}", key="motion.travel_deg")
    return RotatorProfile(
        name=rot["name"],
        title=rot.get("title", rot["name"]),
        protocol=rot["protocol"],
        model=rot["model"],
        model_code=rot["model_code"],
        baudrate=rot["baudrate"],
        travel_deg=travel,
        pulses_per_rev=mot["pulses_per_rev"],
        speed_deg_s=number(mot["speed_deg_s"], "motion.speed_deg_s", src),
        settle_s=number(mot["settle_s"], "motion.settle_s", src, minimum="zero"),
        command_gap_s=number(mot["command_gap_s"], "motion.command_gap_s", src, minimum="zero"),
        position_tolerance_deg=number(mot["position_tolerance_deg"],
                                      "motion.position_tolerance_deg", src),
        motor_timeout_s=number(mot["motor_timeout_s"], "motion.motor_timeout_s", src),
        source=rot.get("source", ""),
    )
