"""The exposure controller's gain noise budget from the camera's measured response.

Analog gain brightens the image but adds no signal: past some gain a face at the target level
is made of so few electrons that its shot and read noise show.  The budget is the gain at which
a face metered at the target (``target_dn8``, Mono8 = the 12-bit output >> 4) still has
:data:`MIN_FACE_SNR`::

    e = T / (K₀·G)                      electrons behind the target T (DN12) at linear gain G
    SNR = e / sqrt(e + σ_d² + σ_q²/(K₀·G)²)

with K₀ the system gain at 0 dB (DN12/e⁻), σ_d the dark noise (e⁻) and σ_q² = 1/12 DN²
(``lanecam calibrate response`` measures K₀ and σ_d).
"""

from __future__ import annotations

import math

from ..config import SensorResponseConfig

__all__ = ["MIN_FACE_SNR", "noise_budget_db"]

MIN_FACE_SNR = 16.5
"""Smallest SNR of a face at the target level (24.3 dB).  With the IMX250-class datasheet
values of the simulator (K₀ = 4095/10 700 DN12/e⁻, σ_d = 2.9 e⁻) and the default target of
110 DN8 it gives ≈ 24 dB, the fixed budget the controller used before the response was
measured (:data:`lanecam.control.exposure.DEFAULT_MAX_GAIN_DB`)."""

_QUANT_VAR_DN2 = 1.0 / 12.0


def _snr(target_dn12: float, k: float, dark_e: float) -> float:
    e = target_dn12 / k
    return e / math.sqrt(e + dark_e ** 2 + _QUANT_VAR_DN2 / k ** 2)


def noise_budget_db(response: SensorResponseConfig, target_dn8: float, *,
                    min_snr: float = MIN_FACE_SNR, max_db: float = 48.0) -> float:
    """The highest gain (dB, 0…``max_db``, 0.01 dB resolution) at which a face at
    ``target_dn8`` keeps ``min_snr``; 0 dB when even unity gain cannot (the SNR only falls
    with gain: fewer electrons behind the same output)."""
    target = target_dn8 * 16.0
    k0 = response.gain_dn_per_e
    if _snr(target, k0, response.dark_noise_e) < min_snr:
        return 0.0
    lo, hi = 0.0, max_db
    if _snr(target, k0 * 10 ** (hi / 20), response.dark_noise_e) >= min_snr:
        return hi
    while hi - lo > 0.01:
        mid = (lo + hi) / 2
        if _snr(target, k0 * 10 ** (mid / 20), response.dark_noise_e) >= min_snr:
            lo = mid
        else:
            hi = mid
    return lo
