"""Run the production lane on one simulated scenario and print its events.

    python examples/sim_lane.py [SCENARIO]

The lane (sensor threads, tracker, scheduler, cameras, ranker, dlib face finder and matcher)
runs in real time against the simulator: SimCameras render each triggered frame, and the
radar/lidar are the firmware fakes on real pseudo-terminals read by the production drivers.
"""

import sys

from lanecam.match.dlib_matcher import DlibMatcher
from lanecam.sim.lane import document_templates, run_sim_lane


def main() -> None:
    scenario = sys.argv[1] if len(sys.argv) > 1 else "low_sun_facing"
    matcher = DlibMatcher()
    run = run_sim_lane(scenario, matcher, templates=document_templates(matcher))
    for event in run.events:
        print(f"{event.vehicle_id}: {event.status}, {event.frames} frames at "
              f"{event.speed_mps:.1f} m/s{' — officer review' if event.needs_review else ''}")
        for o in event.occupants:
            score = f"{o.score:.2f} vs {o.threshold:.2f}" if o.score is not None else "no face"
            print(f"  traveler {o.index}: {o.outcome} ({score}; quality {o.quality})")
    print("lane stats:", run.stats)


if __name__ == "__main__":
    main()
