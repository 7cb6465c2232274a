"""Test-wide setup: the emulator tiers need PYLON_CAMEMU before pypylon is first imported."""

import os

# Three emulated Basler cameras (serials 0815-0000..0002) for the pylon tier; set before any
# test module imports pypylon.  An integrator's real cameras still enumerate beside them.
os.environ.setdefault("PYLON_CAMEMU", "3")
