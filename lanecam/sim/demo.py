"""``lanecam demo``: the simulated lane over the scenario suite, with a report a person can read.

Runs the production lane (:class:`lanecam.lane.Lane`) in real time on each scenario, prints a
line per scenario while it runs, then a table per vehicle and the capture rate.  Crops go only
into an encrypted :class:`~lanecam.store.CaptureVault` under ``OUT/vault`` (key in
``OUT/master.key``, mode 600); the report reads them back through the vault (audited) to draw
one contact sheet per vehicle: the document photo beside the chosen crop of each traveler.
"""

from __future__ import annotations

import sys
import time
from importlib import resources
from pathlib import Path
from typing import TextIO

import cv2
import numpy as np

from ..events import JsonlSink
from ..store import CaptureVault, MasterKey, generate_key_file
from .evaluate import TravelerOutcome, evaluate_run, summarize
from .lane import SimLaneRun, document_templates, run_sim_lane
from .scenario import SUITE

__all__ = ["run_demo"]


def _sheet(vault: CaptureVault, run: SimLaneRun, seq: int, outcomes: list[TravelerOutcome],
           path: Path) -> None:
    docs_dir = Path(str(resources.files("lanecam.sim") / "assets" / "documents"))
    event = next(e for e in run.events if e.vehicle_id.endswith(f"-{seq}"))
    rows = []
    for occ, out in zip(event.occupants, outcomes):
        doc = cv2.imread(str(docs_dir / f"{out.traveler}.jpg"), cv2.IMREAD_GRAYSCALE)
        doc = cv2.resize(doc, (160, round(160 * doc.shape[0] / doc.shape[1])))[:200]
        crop = np.zeros((200, 160), np.uint8)
        if occ.record_id:
            img = vault.read(occ.record_id, actor="lanecam-demo-report").image
            s = min(160 / img.shape[1], 200 / img.shape[0])
            img = cv2.resize(img, (max(1, round(img.shape[1] * s)), max(1, round(img.shape[0] * s))))
            crop[:img.shape[0], :img.shape[1]] = img
        tile = np.zeros((230, 330), np.uint8)
        tile[:doc.shape[0], :160] = doc
        tile[:200, 170:330] = crop
        label = f"{out.traveler}: {occ.outcome}" + (f" {occ.score:.2f}" if occ.score else "")
        cv2.putText(tile, label, (4, 222), cv2.FONT_HERSHEY_SIMPLEX, 0.42, 255, 1, cv2.LINE_AA)
        rows.append(tile)
    if rows:
        cv2.imwrite(str(path), np.vstack(rows))


def run_demo(out: Path, scenarios: list[str] | None = None, scale: float = 1.0,
             stream: TextIO = sys.stdout, control: str = "exposure") -> list[TravelerOutcome]:
    """Run the suite, print progress, the per-vehicle table and the capture rate; write the
    report under ``out``.  ``control`` is the capture control arm (default: face-metered
    exposure and strobe control; ``"baseline"`` for fixed settings).  Returns the per-traveler
    outcomes."""
    from ..match.dlib_matcher import DlibMatcher

    out.mkdir(parents=True, exist_ok=True)
    keyfile = out / "master.key"
    key = MasterKey.from_file(keyfile) if keyfile.exists() else generate_key_file(keyfile)
    matcher = DlibMatcher()
    templates = document_templates(matcher)
    names = scenarios or list(SUITE)
    outcomes: list[TravelerOutcome] = []
    print(f"lanecam demo: simulated lane, {len(names)} scenario(s), real time, {control} "
          f"control; report in {out}", file=stream)
    (out / "sheets").mkdir(exist_ok=True)
    with CaptureVault(out / "vault", key, retention_s=86400) as vault:
        sink = JsonlSink(out / "events.jsonl")
        for i, name in enumerate(names, 1):
            t0 = time.monotonic()
            bar = "#" * (i - 1) + ">" + "." * (len(names) - i)
            print(f"[{bar}] {i:2d}/{len(names)} {name:<26}", end="", file=stream, flush=True)
            run = run_sim_lane(name, matcher, templates=templates, scale=scale, vault=vault,
                               sinks=[sink], control=control, timing="real")
            res = evaluate_run(run)
            outcomes += res
            for seq in run.documents.vehicle_names:
                _sheet(vault, run, seq, [o for o in res if o.vehicle == run.documents.vehicle_names[seq]],
                       out / "sheets" / f"{name}-{seq}.png")
            v = sum(o.verified for o in res)
            print(f" {len(run.events)} vehicle(s), {v}/{len(res)} verified "
                  f"({time.monotonic() - t0:.1f} s)", file=stream, flush=True)
        audit = vault.verify()
    print("", file=stream)
    print(f"{'scenario':<26} {'vehicle':<10} {'traveler':<16} {'seat':<16} {'face':<5} "
          f"{'outcome':<17} {'latency':>8}", file=stream)
    for o in outcomes:
        outcome = "FALSE MATCH" if o.false_match else "verified" if o.verified else "officer review"
        lat = f"{o.decision_latency_s * 1e3:.0f} ms" if o.decision_latency_s is not None else "-"
        print(f"{o.scenario:<26} {o.vehicle:<10} {o.traveler:<16} {o.seat:<16} "
              f"{'yes' if o.captured else 'no':<5} {outcome:<17} {lat:>8}", file=stream)
    s = summarize(outcomes)
    print("", file=stream)
    print(f"capture rate: {s['verified']}/{s['travelers']} travelers verified "
          f"({100 * s['verified_rate']:.0f} %), faces captured for {s['captured']}, "
          f"false matches {s['false_matches']}; non-matches go to an officer, never refused",
          file=stream)
    print(f"vault audit chain: {'OK' if audit.ok else 'BROKEN'} ({audit.rows} rows); "
          f"contact sheets in {out / 'sheets'}", file=stream)
    return outcomes
