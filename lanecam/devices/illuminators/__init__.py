"""NIR illuminators: the eye-safety interlock, the illuminator base, the Gardasoft-style RT
controller driver, and illuminator profiles (see :mod:`.interlock` for the IEC 62471 limits)."""

from .gardasoft import RT_ERRORS, GardasoftRT, parse_rt_reply
from .illuminator import Illuminator, StrobeCamera
from .interlock import EyeSafetyInterlock, PulseSetting, ir_limit_w_m2
from .profile import IlluminatorProfile, OverdriveRow, load_illuminator_profile
from .site import site_profile

__all__ = [
    "OverdriveRow",
    "IlluminatorProfile",
    "load_illuminator_profile",
    "ir_limit_w_m2",
    "EyeSafetyInterlock",
    "PulseSetting",
    "StrobeCamera",
    "Illuminator",
    "GardasoftRT",
    "parse_rt_reply",
    "RT_ERRORS",
    "site_profile",
]
