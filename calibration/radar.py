"""Radar mounting angle and speed scale: python calibration/radar.py lane.toml --out DIR"""

from lanecam.calibration.cli import script_main

raise SystemExit(script_main("radar"))
