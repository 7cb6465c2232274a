"""Motorized polarizer rotators: rotator profiles, the rotator base, the Thorlabs Elliptec
driver (angles in degrees at the API, converted to pulses at the wire)."""

from .elliptec import (
    ELLIPTEC_REPLY_LENGTHS,
    ELLIPTEC_STATUS,
    ElliptecInfo,
    ElliptecRotator,
    decode_pulses,
    encode_pulses,
    parse_elliptec_info,
    parse_elliptec_reply,
)
from .profile import RotatorProfile, load_rotator_profile
from .rotator import PolarizerRotator, RotatorCounters

__all__ = [
    "RotatorProfile",
    "load_rotator_profile",
    "RotatorCounters",
    "PolarizerRotator",
    "ElliptecInfo",
    "ElliptecRotator",
    "parse_elliptec_reply",
    "parse_elliptec_info",
    "decode_pulses",
    "encode_pulses",
    "ELLIPTEC_STATUS",
    "ELLIPTEC_REPLY_LENGTHS",
]
