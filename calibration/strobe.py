#!/usr/bin/env python3
"""Site calibration: strobe (see calibration/README.md)."""

from lanecam.calibration.cli import script_main

raise SystemExit(script_main("strobe"))
