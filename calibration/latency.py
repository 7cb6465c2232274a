"""Sensor latencies, camera trigger delay, loop station: python calibration/latency.py lane.toml --out DIR"""

from lanecam.calibration.cli import script_main

raise SystemExit(script_main("latency"))
