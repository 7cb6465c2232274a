"""Windshield-only vs + side camera on the simulator (issue 17 part 1): the rear_seat_side
scenario run through the production lane with its side camera and the side camera's lamp
removed (windshield only) and with them, ``--runs`` times each, in real time.  Prints travelers verified per seat row, false
matches and non-occupant faces rejected.

    python bench/side_cameras.py --runs 5 --control exposure [--matcher sface --finder yunet]
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace

from lanecam.match.base import Matcher
from lanecam.match.dlib_matcher import DlibMatcher
from lanecam.sim.evaluate import evaluate_run
from lanecam.sim.lane import CONTROLS, document_templates, run_sim_lane
from lanecam.sim.scenario import Scenario, load_scenario


def _arms(sc: Scenario) -> dict[str, Scenario]:
    """The scenario without its side cameras and their lamps (named ``side…``), and as is."""
    front = tuple(c for c in sc.world.cameras if c.view != "side")
    lamps = tuple(lamp for lamp in sc.world.lamps if not lamp.name.startswith("side"))
    return {"windshield only": replace(sc, world=replace(sc.world, cameras=front, lamps=lamps)),
            "+ side camera": sc}


def _cameras(run: object) -> list[str]:
    """The camera each traveler's decision came from (document order)."""
    return [(o.camera_id or "-").split("-")[-1] for e in run.events  # type: ignore[attr-defined]
            for o in e.occupants]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--control", choices=CONTROLS, default="exposure")
    ap.add_argument("--scenario", default="rear_seat_side")
    ap.add_argument("--matcher", choices=("dlib", "sface"), default="dlib")
    ap.add_argument("--finder", choices=("hog", "yunet"), default="hog")
    ap.add_argument("--verbose", action="store_true", help="one line per run")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if args.matcher == "sface":
        from lanecam.match.sface_matcher import SFaceMatcher

        matcher: Matcher = SFaceMatcher()
    else:
        matcher = DlibMatcher()
    templates = document_templates(matcher)
    print(f"{args.scenario}, control={args.control}, matcher={args.matcher}, "
          f"finder={args.finder}, {args.runs} run(s) per arm, scale 1")
    print("| arm | front verified | rear verified | false matches | non-occupant rejected |")
    print("|---|---|---|---|---|")
    for arm, sc in _arms(load_scenario(args.scenario)).items():
        front = rear = n_front = n_rear = false = rejected = 0
        for _ in range(args.runs):
            run = run_sim_lane(sc, matcher, templates=templates, control=args.control,
                               face_finder=args.finder)
            for o in evaluate_run(run):
                n_rear += o.rear
                n_front += not o.rear
                rear += o.rear and o.verified
                front += (not o.rear) and o.verified
                false += o.false_match
            rejected += sum(v for k, v in run.stats["faults"].items()
                            if k.startswith("non_occupant:"))
            if args.verbose:
                side = {k: v for k, v in run.stats["faults"].items()
                        if k.startswith(("side_", "non_occupant"))}
                print(f"    {arm}: side bursts {run.stats['counts'].get('side_bursts', 0)} "
                      f"{side}; " + ", ".join(
                          f"{o.seat}:{(o.crop_identity or '-')[:5]}@{c}{'+' if o.verified else ''}"
                          for o, c in zip(evaluate_run(run), _cameras(run))), flush=True)
        print(f"| {arm} | {front}/{n_front} | {rear}/{n_rear} | {false} | {rejected} |",
              flush=True)


if __name__ == "__main__":
    main()
