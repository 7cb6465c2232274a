"""Test-wide setup.

The emulator tiers need PYLON_CAMEMU before pypylon is first imported.  The hardware tier is
opt-in: ``pytest --camera pylon:SERIAL`` (or ``harvesters:SERIAL --cti PATH``) adds the real
camera to every camera contract test; ``--serial-port`` does the same for serial devices.
Without those options the hardware parameters are simply not generated (nothing is skipped).
"""

import os

import pytest
from hypothesis import settings

# Tests never assert wall times: hypothesis's default 200 ms deadline per example is one (a
# first example that pays a Numba compile or a busy CI core failed it).  Examples still run
# under pytest-timeout's whole-test limit.  A test's own @settings(deadline=...) still wins.
settings.register_profile("lanecam", deadline=None)
settings.load_profile("lanecam")

# Three emulated Basler cameras (serials 0815-0000..0002) for the pylon tier; set before any
# test module imports pypylon.  An integrator's real cameras still enumerate beside them.
os.environ.setdefault("PYLON_CAMEMU", "3")

# The shipped contract suites assert inside lanecam.testing: let pytest explain those failures.
pytest.register_assert_rewrite("lanecam.testing")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lanecam hardware tier")
    group.addoption("--camera", action="append", default=[], metavar="BACKEND:SERIAL",
                    help="run the camera contract suite against this real camera too")
    group.addoption("--cti", default=None, metavar="PATH",
                    help="GenTL producer for --camera harvesters:SERIAL")
    group.addoption("--serial-port", action="append", default=[], metavar="KIND=URL",
                    help="run a serial device contract suite against a real port, "
                         "e.g. radar=/dev/ttyACM0")
