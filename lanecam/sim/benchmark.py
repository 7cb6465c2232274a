"""The capture-rate table of the simulated lane (``lanecam bench``, ``bench/capture_rate.py``)."""

from __future__ import annotations

import statistics
import sys
from collections.abc import Sequence
from typing import TextIO

from .evaluate import TravelerOutcome, evaluate_run, summarize
from .lane import CONTROLS, document_templates, run_sim_lane
from .scenario import SUITE

__all__ = ["capture_rate", "ablation"]


def capture_rate(scenarios: Sequence[str] | None = None, repeat: int = 1,
                 stream: TextIO = sys.stdout, timing: str = "simulated"
                 ) -> list[TravelerOutcome]:
    """Run each scenario ``repeat`` times; print a Markdown table; return every outcome.

    ``timing``: ``"simulated"`` (deterministic: repeats give the same verdicts; no latency
    column) or ``"real"`` (decision latencies measured)."""
    from ..match.dlib_matcher import DlibMatcher

    matcher = DlibMatcher()
    templates = document_templates(matcher)
    rows, everything = [], []
    for name in scenarios or SUITE:
        outcomes = []
        for _ in range(repeat):
            outcomes += evaluate_run(run_sim_lane(name, matcher, templates=templates,
                                                  timing=timing))
        everything += outcomes
        lat = [o.decision_latency_s for o in outcomes
               if o.decision_latency_s is not None and timing == "real"]
        rows.append((name, len(outcomes), sum(o.captured for o in outcomes),
                     sum(o.verified for o in outcomes), sum(o.false_match for o in outcomes),
                     statistics.median(lat) * 1e3 if lat else float("nan")))
        print(f"  {name}: {rows[-1][3]}/{rows[-1][1]} verified", file=stream, flush=True)
    print("\n| scenario | travelers | face captured | verified | false matches "
          "| decision latency (median) |\n|---|---|---|---|---|---|", file=stream)
    for name, n, cap, ver, fm, lat in rows:
        print(f"| {name} | {n} | {cap} | {ver} | {fm} | {lat:.0f} ms |", file=stream)
    s = summarize(everything)
    print(f"| **all** | {s['travelers']} | {s['captured']} | {s['verified']} "
          f"({100 * s['verified_rate']:.0f} %) | {s['false_matches']} | |", file=stream)
    print(f"\nfront seats verified {100 * s['front_verified_rate']:.0f} %, "
          f"rear seats {100 * s['rear_verified_rate']:.0f} %", file=stream)
    return everything


def ablation(scenarios: Sequence[str] | None = None, controls: Sequence[str] = CONTROLS,
             stream: TextIO = sys.stdout) -> dict[str, list[TravelerOutcome]]:
    """Run every scenario once per control arm (same scenarios, same seeds); print one Markdown
    table: rows = scenarios, columns = travelers verified per arm, then totals, front/rear
    rates and false matches.  Returns the outcomes per arm."""
    from ..match.dlib_matcher import DlibMatcher

    matcher = DlibMatcher()
    templates = document_templates(matcher)
    names = list(scenarios or SUITE)
    per: dict[str, dict[str, list[TravelerOutcome]]] = {c: {} for c in controls}
    for name in names:
        for c in controls:
            per[c][name] = evaluate_run(run_sim_lane(name, matcher, templates=templates,
                                                     control=c))
            o = per[c][name]
            print(f"  {name} [{c}]: {sum(x.verified for x in o)}/{len(o)} verified",
                  file=stream, flush=True)
    head = " | ".join(f"{c} verified" for c in controls)
    print(f"\n| scenario | travelers | {head} |\n|---|---|" + "---|" * len(controls),
          file=stream)
    for name in names:
        n = len(per[controls[0]][name])
        cells = " | ".join(str(sum(x.verified for x in per[c][name])) for c in controls)
        print(f"| {name} | {n} | {cells} |", file=stream)
    sums = {c: summarize([x for o in per[c].values() for x in o]) for c in controls}
    n = sums[controls[0]]["travelers"]
    cells = " | ".join(f"{sums[c]['verified']} ({100 * sums[c]['verified_rate']:.0f} %)"
                       for c in controls)
    print(f"| **all** | {n} | {cells} |", file=stream)
    cells = " | ".join(f"{100 * sums[c]['front_verified_rate']:.0f} %" for c in controls)
    print(f"| front seats | | {cells} |", file=stream)
    cells = " | ".join(f"{100 * sums[c]['rear_verified_rate']:.0f} %" for c in controls)
    print(f"| rear seats | | {cells} |", file=stream)
    cells = " | ".join(str(sums[c]["false_matches"]) for c in controls)
    print(f"| false matches | | {cells} |", file=stream)
    cells = " | ".join(str(sums[c]["other_occupant"]) for c in controls)
    print(f"| matched with the other occupant's face (one person seated twice; not counted) "
          f"| | {cells} |", file=stream)
    return {c: [x for o in per[c].values() for x in o] for c in controls}
