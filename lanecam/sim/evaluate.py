"""Score a simulated lane run against ground truth (evaluation only — the lane never sees it).

Per traveler with a document on file: was a face crop captured for them, was it verified, and
did a verification land on the wrong person (a false match)?  The crop's true identity and
seat come from the simulator's truth for the frame the crop was cut from.  A traveler counts as
verified only with *their own* face: a scenario may seat the same person twice (one face
texture, one document photo), and a document verified with the other occupant's face is
neither this traveler's capture nor a false match (``other_occupant``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..events import LaneEvent
from .lane import SimLaneRun

__all__ = ["TravelerOutcome", "evaluate_run", "summarize"]


@dataclass(frozen=True)
class TravelerOutcome:
    scenario: str
    vehicle: str
    traveler: str
    seat: str
    rear: bool
    captured: bool  # a face crop was taken and offered for this traveler
    verified: bool
    false_match: bool  # verified, but the crop shows someone else
    crop_identity: str | None
    decision_latency_s: float | None
    crop_seat: str | None = None
    other_occupant: bool = False  # matched, but with another occupant's face of the same person
    score: float | None = None  # the matcher's score of the offered crop against the document
    own_crop: bool = False  # the offered crop shows this traveler, in their seat


def _crop_identity(run: SimLaneRun, camera_id: str | None, frame_number: int | None,
                   box: tuple[int, int, int, int] | None) -> tuple[str, str] | None:
    """(person, seat) of the face under the crop's box centre, from ground truth."""
    if camera_id is None or frame_number is None or box is None:
        return None
    cam = next((c for c in run.cameras if f"{c.backend}:{c.serial}" == camera_id), None)
    if cam is None:
        return None
    truth = cam.ground_truth(frame_number)
    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2
    for f in truth.faces:
        x0, y0, x1, y1 = f.box
        if x0 <= cx <= x1 and y0 <= cy <= y1:
            return f.face, f.seat
    return None


def evaluate_run(run: SimLaneRun) -> list[TravelerOutcome]:
    """One outcome per traveler with a document, in event order."""
    out: list[TravelerOutcome] = []
    for seq, name in run.documents.vehicle_names.items():
        event: LaneEvent | None = next(
            (e for e in run.events if e.vehicle_id.endswith(f"-{seq}")), None)
        docs = run.documents.documents(seq, None)  # type: ignore[arg-type]
        seats = run.documents.seats[seq]
        for j, doc in enumerate(docs):
            occ = event.occupants[j] if event is not None and j < len(event.occupants) else None
            hit = _crop_identity(run, occ.camera_id, occ.frame_number, occ.box) if occ else None
            ident, crop_seat = hit if hit is not None else (None, None)
            matched = bool(occ and occ.outcome == "verified")
            latency = event.latency_s.get("decision") if event is not None else None
            seat = seats[j]
            own = ident == doc.traveler_id and crop_seat == seat
            out.append(TravelerOutcome(
                run.scenario, name, doc.traveler_id, seat, seat.startswith("rear"),
                bool(occ and occ.face_found), matched and own,
                matched and ident != doc.traveler_id, ident, latency, crop_seat,
                matched and ident == doc.traveler_id and not own,
                occ.score if occ is not None else None, own))
    return out


def summarize(outcomes: list[TravelerOutcome]) -> dict[str, float | int]:
    n = len(outcomes)
    front = [o for o in outcomes if not o.rear]
    rear = [o for o in outcomes if o.rear]

    def rate(xs: list[TravelerOutcome], attr: str) -> float:
        return sum(getattr(o, attr) for o in xs) / len(xs) if xs else float("nan")

    return {"travelers": n, "captured": sum(o.captured for o in outcomes),
            "verified": sum(o.verified for o in outcomes),
            "false_matches": sum(o.false_match for o in outcomes),
            "other_occupant": sum(o.other_occupant for o in outcomes),
            "verified_rate": rate(outcomes, "verified"),
            "front_verified_rate": rate(front, "verified"),
            "rear_verified_rate": rate(rear, "verified")}
