"""From probes to outcomes: assign faces to the vehicle's travel documents by similarity
(greedy, best first; each pair verified once), store each chosen crop in the vault, and say
per traveler "verified" or "refer to officer" (a non-match is never a refusal)."""

from __future__ import annotations

from typing import Any

from ..errors import LanecamError
from ..events import OccupantResult
from ..match.base import Decision, Matcher
from .analysis import Probe
from .camera import analysis_view
from .job import VehicleJob
from .types import SEATS, LaneStats, TravelDocument

__all__ = ["Decider"]


class Decider:
    """Decides one vehicle's occupants (``vault``: where chosen crops are stored, or None)."""

    def __init__(self, lane_id: str, matcher: Matcher, vault: Any, stats: LaneStats) -> None:
        self.lane_id = lane_id
        self.matcher = matcher
        self.vault = vault
        self.stats = stats

    def decide(self, job: VehicleJob, docs: list[TravelDocument],
               probes: list[Probe]) -> list[OccupantResult]:
        """One result per traveler, in document order."""
        sims = [[self.matcher.compare(p.template, d.template) for d in docs] for p in probes]
        verified: dict[tuple[int, int], Decision] = {}  # (probe, document) → its decision

        def verify(i: int, j: int) -> Decision:
            if (i, j) not in verified:
                verified[(i, j)] = self.matcher.verify(probes[i].template, docs[j].template)
            return verified[(i, j)]

        # best first; ties (one person's document presented twice) in presentation order
        pairs = sorted(((sims[i][j], i, j) for i in range(len(probes)) for j in range(len(docs))),
                       key=lambda p: (-p[0], p[2], p[1]))
        face_of: dict[int, int] = {}
        used: set[int] = set()
        for _, i, j in pairs:
            if i not in used and j not in face_of and verify(i, j).match:
                face_of[j] = i
                used.add(i)
        results: list[OccupantResult] = []
        for j, doc in enumerate(docs):
            if j in face_of:
                i = face_of[j]
                results.append(self._result(job, j, probes[i], doc, verify(i, j), "verified",
                                            None))
                continue
            # the unmatched face most like this traveler, for the officer to compare
            free = [i for i in range(len(probes)) if i not in used]
            if free:
                i = max(free, key=lambda k: sims[k][j])
                results.append(self._result(job, j, probes[i], doc, verify(i, j),
                                            "refer_to_officer", "no face matched the document"))
            else:
                results.append(OccupantResult(j, None, None, None, False, "refer_to_officer",
                                              reason="no usable face captured"))
        return results

    def _result(self, job: VehicleJob, index: int, probe: Probe, doc: TravelDocument,
                d: Decision, outcome: str, reason: str | None) -> OccupantResult:
        cand, lane_cam = probe.candidate, probe.lane_cam
        record = self._store(job, probe, doc, outcome)
        # the face box in sensor pixels (a mosaic camera's analysis image has half of them)
        k = 2 if analysis_view(lane_cam)[0] is not None else 1
        assert cand.face is not None
        return OccupantResult(index, lane_cam.camera.id, int(cand.roi.frame_number),
                              round(float(cand.score), 2), True, outcome, round(d.score, 4),
                              d.threshold, d.fmr, record, reason,
                              box=tuple(int(v) * k for v in cand.face.box))  # type: ignore[arg-type]

    def vault_head(self) -> tuple[int | None, str | None]:
        """The vault's chain head (seq, MAC) for the event; (None, None) without a vault or
        when it cannot be read (counted)."""
        if self.vault is None:
            return None, None
        try:
            head = self.vault.head()
        except LanecamError as exc:
            self.stats.faults[f"vault:{type(exc).__name__}"] += 1
            return None, None
        return int(head.seq), str(head.mac)

    def _store(self, job: VehicleJob, probe: Probe, doc: TravelDocument,
               outcome: str) -> str | None:
        """The crop into the vault (its record id), or None without a vault or on a storage
        fault (counted: the decision stands, the crop is not kept)."""
        if self.vault is None:
            return None
        cand = probe.candidate
        try:
            return self.vault.write(probe.crop, {  # type: ignore[no-any-return]
                "lane": self.lane_id, "vehicle": f"{self.lane_id}-{job.seq}",
                "traveler": doc.traveler_id,
                "seat": SEATS[probe.seat] if probe.seat < len(SEATS) else "?",
                "camera": probe.lane_cam.camera.id, "frame": int(cand.roi.frame_number),
                "quality": round(float(cand.score), 2), "outcome": outcome})
        except LanecamError as exc:
            self.stats.faults[f"vault:{type(exc).__name__}"] += 1
            return None
