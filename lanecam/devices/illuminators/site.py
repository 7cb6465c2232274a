"""An illuminator profile as installed at one lane: the eye-safety interlock uses the irradiance
measured at that lane's nearest reachable eye position (``[illuminator] irradiance_w_m2``,
recorded by ``lanecam calibrate strobe``), never the profile's example figure.  Without a
measurement the lamp is held at its rated current: the overdrive rows above 100 % are dropped
(the interlock then refuses any overdrive), and :func:`site_profile` says so."""

from __future__ import annotations

from dataclasses import replace

from .profile import IlluminatorProfile, OverdriveRow

__all__ = ["NO_MEASUREMENT", "RATED", "site_profile"]

#: brightness of the lamp's rated current (1.0 = 100 %)
RATED = 1.0

NO_MEASUREMENT = ("no irradiance measured at the nearest reachable eye position "
                  "([illuminator] irradiance_w_m2, `lanecam calibrate strobe`): the lamp is held "
                  "at its rated current, no overdrive")


def site_profile(profile: IlluminatorProfile, irradiance_w_m2: float | None,
                 eye_distance_m: float | None = None) -> tuple[IlluminatorProfile, str | None]:
    """The profile the interlock of this lane uses, and a note when the lamp is held at rated
    current for want of a measurement (None otherwise).  ``irradiance_w_m2`` is the measured
    irradiance at 100 % brightness at ``eye_distance_m`` (m) from the lamp."""
    if irradiance_w_m2 is not None:
        return replace(profile, irradiance_w_m2=float(irradiance_w_m2),
                       eye_distance_m=float(eye_distance_m if eye_distance_m is not None
                                            else profile.eye_distance_m)), None
    rows = tuple(r for r in profile.overdrive if r.max_brightness <= RATED)
    if not rows:  # the first row reaches past 100 %: keep its limits up to rated only
        first = profile.overdrive[0]
        rows = (OverdriveRow(RATED, first.max_pulse_width_s, first.max_duty),)
    return replace(profile, overdrive=rows), NO_MEASUREMENT
