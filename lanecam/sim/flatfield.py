"""A flat-field light source in front of a simulated camera (the EMVA 1288 set-up).

The frames go through the simulator's own image-sensor pass (:func:`~.image_sensor.expose`:
shot and read noise, full well, analog gain, 12-bit ADC) with the sensor constants of
:mod:`.constants`, lit by a uniform source of ``electrons_per_s`` photo-electrons per pixel and
second.  The response procedure sees only frames, exposure times and gains — the constants are
the truth it has to find (:func:`sensor_truth`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .constants import ADC_BITS, FULL_WELL_E, READ_NOISE_E
from .image_sensor import expose, normal_table

__all__ = ["FlatFieldCamera", "sensor_truth"]


def _dn_per_e(gain_db: float) -> float:
    return (2 ** ADC_BITS - 1) / FULL_WELL_E * 10.0 ** (gain_db / 20.0)


def sensor_truth(gain_db: float) -> dict[str, float]:
    """The simulated sensor's constants at ``gain_db``, in EMVA 1288 terms: system gain K
    (DN12/e⁻), dark noise (e⁻), saturation capacity (e⁻: the full well, or the ADC's clip
    referred to the input when the gain clips first) and linearity error (%, the model is
    linear)."""
    k = _dn_per_e(gain_db)
    return {"gain_dn_per_e": k, "dark_noise_e": READ_NOISE_E,
            "saturation_e": min(FULL_WELL_E, (2 ** ADC_BITS - 1) / k),
            "linearity_error_pct": 0.0}


class FlatFieldCamera:
    """Mono12 frames of ``shape`` pixels of a uniform source; every grab a fresh noise draw."""

    def __init__(self, electrons_per_s: float = 2.0e7, shape: tuple[int, int] = (128, 256),
                 seed: int = 0) -> None:
        if not electrons_per_s > 0:
            raise ValueError("electrons_per_s must be > 0")
        self.electrons_per_s = electrons_per_s
        self.shape = shape
        self._seed = np.uint64(seed & 0xFFFFFFFF) << np.uint64(32)
        self._n = 0
        self._bg = np.full(shape, 1.0, np.float32)
        self._layers = (np.zeros((1, 1, 2), np.float32),)
        self._origins = np.zeros((1, 2), np.int64)

    def grab(self, exposure_s: float, gain_db: float) -> NDArray[np.uint16]:
        """One Mono12 frame at ``exposure_s`` and ``gain_db``."""
        if not exposure_s > 0:
            raise ValueError("exposure must be > 0 s")
        self._n += 1
        out = np.empty(self.shape, np.uint16)
        expose(self._bg, exposure_s, self._layers, self._origins, self.electrons_per_s,
               _dn_per_e(gain_db), FULL_WELL_E, READ_NOISE_E ** 2, self._seed | np.uint64(self._n),
               0, 0, normal_table(), True, 0, out)
        return out
