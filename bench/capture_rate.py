"""Capture-rate evaluation of the simulated lane: the production lane over the scenario suite,
judged against the simulator's ground truth.

Per scenario: travelers (occupants with a document on file), travelers with a face crop,
travelers verified by the dlib matcher against their *different* document photo, false matches
(a verification whose crop shows someone else), and decision latency (last frame of the burst
→ decision).  This is the fixed-settings baseline: exposure and gain as each scenario's camera
sets them (shortened only where the scheduler's 1 px motion-blur bound demands).

    python bench/capture_rate.py [--scenario NAME ...] [--repeat N]
"""

from __future__ import annotations

import argparse

from lanecam.sim.benchmark import capture_rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", action="append", help="only these scenarios")
    ap.add_argument("--repeat", type=int, default=1, help="runs per scenario")
    args = ap.parse_args()
    capture_rate(args.scenario, args.repeat)


if __name__ == "__main__":
    main()
