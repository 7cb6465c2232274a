#!/usr/bin/env python3
"""Site calibration: response (see calibration/README.md)."""

from lanecam.calibration.cli import script_main

raise SystemExit(script_main("response"))
