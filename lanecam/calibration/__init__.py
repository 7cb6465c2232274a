"""Site calibration: one procedure per lane constant, each with a report and a config fragment.

A procedure (``pose``, ``latency``, ``radar``, ``strobe``, ``polarizer``, ``response``,
``matcher``) measures against the real devices of a lane config, or against the simulated lane
(``--sim SCENARIO``: the simulator injects the error to find and knows the truth, which the
procedure never reads).  Every run returns a :class:`Calibration`; :func:`write_outputs` writes
``KIND.json``, ``KIND.png`` and — only when the fit is good — ``KIND.toml``, the fragment that
:func:`lanecam.calibration.fragment.apply_fragments` merges into a lane config.
"""

from .result import Calibration, CalibrationError, Quality, write_outputs

__all__ = ["Calibration", "CalibrationError", "Quality", "write_outputs"]
