"""Camera intrinsics and pose from a ChArUco board: python calibration/pose.py lane.toml --out DIR"""

from lanecam.calibration.cli import script_main

raise SystemExit(script_main("pose"))
