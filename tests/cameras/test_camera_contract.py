"""The shipped camera contract (:mod:`lanecam.testing.camera_contract`) on every backend.

The ``camera`` fixture comes from ``tests/cameras/conftest.py``, parametrised over the pylon
emulator, viky.cti, the simulator and each ``--camera`` given on the command line.
"""

from __future__ import annotations

import pytest

from lanecam.testing import CameraContract

pytestmark = pytest.mark.emulator


class TestCameraContract(CameraContract):
    """Every contract check, on every backend of the ``camera`` fixture."""
