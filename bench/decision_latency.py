"""Decision latency of the production lane: last frame of a burst to the occupant decision.

Runs a simulated scenario (default ``clear_noon``: one two-occupant car) in real time, ``--runs``
times per arm, and prints the median and 90th percentile of the lane's own stage timings
(``rank``: burst ranking and face finding; ``match``: templates of the chosen crops;
``decision``: capture end to the event, which adds the decisions and the vault writes), for
today's models (dlib HOG + dlib ResNet) and for YuNet + SFace, with their ratio.  Real time:
run it on an otherwise idle machine; ``--scenario`` and ``--runs`` state the inputs.

    python bench/decision_latency.py [--scenario clear_noon] [--runs 5]
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from lanecam.config import MatcherConfig
from lanecam.match.factory import matcher_from_config
from lanecam.sim.lane import document_templates, run_sim_lane

ARMS = {"dlib HOG + dlib ResNet (today)": ("hog", "dlib"),
        "YuNet + SFace": ("yunet", "sface")}
STAGES = ("rank", "match", "decision")


def measure(scenario: str, runs: int, finder: str, kind: str) -> dict[str, list[float]]:
    matcher = matcher_from_config(MatcherConfig(kind=kind))
    templates = document_templates(matcher)
    out: dict[str, list[float]] = {s: [] for s in STAGES}
    for _ in range(runs):
        run = run_sim_lane(scenario, matcher, templates=templates, face_finder=finder,
                           control="exposure", timing="real")  # latency: real time
        for e in run.events:
            if e.status != "failed":
                out["decision"].append(e.latency_s["decision"])
        lat = run.stats["latency"]
        for s in ("rank", "match"):
            if s in lat:
                out[s].append(lat[s]["median_s"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default="clear_noon")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    print(f"scenario {args.scenario}, {args.runs} runs per arm, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}\n")
    print("| arm | " + " | ".join(f"{s} median / p90 (ms)" for s in STAGES) + " |")
    print("|---|" + "---|" * len(STAGES))
    medians = {}
    for name, (finder, kind) in ARMS.items():
        got = measure(args.scenario, args.runs, finder, kind)
        cells = []
        for s in STAGES:
            v = np.asarray(got[s]) * 1e3
            cells.append(f"{np.median(v):.0f} / {np.percentile(v, 90):.0f} (n={v.size})"
                         if v.size else "—")
        medians[name] = float(np.median(got["decision"])) if got["decision"] else float("nan")
        print(f"| {name} | " + " | ".join(cells) + " |")
    a, b = medians.values()
    print(f"\ndecision median ratio, YuNet + SFace / today: {b / a:.2f}")


if __name__ == "__main__":
    main()
