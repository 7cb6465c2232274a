"""Ground-truth judging of a lane run: a traveler is verified only with their own face."""

from __future__ import annotations

from types import SimpleNamespace as NS

from lanecam.sim.evaluate import evaluate_run, summarize


def _run(occupants: list) -> NS:  # type: ignore[type-arg]
    faces = [NS(face="obama", seat="driver", box=(1200, 900, 1350, 1100)),
             NS(face="biden", seat="front_passenger", box=(600, 900, 750, 1100)),
             NS(face="obama", seat="rear_right", box=(680, 880, 790, 1050))]
    cam = NS(backend="sim", serial="cam0", ground_truth=lambda fn: NS(faces=faces))
    docs = [NS(traveler_id="obama"), NS(traveler_id="biden"), NS(traveler_id="obama")]
    documents = NS(vehicle_names={1: "van"}, seats={1: ["driver", "front_passenger", "rear_right"]},
                   documents=lambda seq, track: docs)
    event = NS(vehicle_id="sim-1", occupants=occupants, latency_s={"decision": 0.4})
    return NS(scenario="rear_seat", cameras=[cam], documents=documents, events=[event])


def _occ(box: tuple[int, int, int, int] | None, outcome: str = "verified") -> NS:
    return NS(camera_id="sim:cam0", frame_number=4, box=box, outcome=outcome, face_found=True,
              score=0.5)


def test_a_document_verified_with_the_other_occupant_of_the_same_person_is_not_a_capture() -> None:
    driver_face = (1250, 950, 60, 60)
    run = _run([_occ(driver_face), _occ((640, 950, 60, 60)), _occ(driver_face)])
    driver, passenger, rear = evaluate_run(run)  # type: ignore[arg-type]
    assert driver.verified and passenger.verified
    # the rear traveler's document matched the *driver's* face: same person, other occupant
    assert not rear.verified and rear.other_occupant and not rear.false_match
    assert rear.crop_identity == "obama" and rear.crop_seat == "driver"
    # the score travels with each outcome; only a crop of the traveler in their seat is "own"
    assert (driver.own_crop, rear.own_crop, rear.score) == (True, False, 0.5)
    s = summarize([driver, passenger, rear])
    assert s["verified"] == 2 and s["other_occupant"] == 1 and s["false_matches"] == 0


def test_a_verification_on_someone_else_is_a_false_match() -> None:
    run = _run([_occ((640, 950, 60, 60)), _occ(None, "refer_to_officer"),
                _occ((760, 880, 20, 20))])
    driver, passenger, rear = evaluate_run(run)  # type: ignore[arg-type]
    assert driver.false_match and not driver.verified  # biden's face verified as obama
    assert not passenger.verified and not passenger.false_match
    assert rear.verified and rear.crop_seat == "rear_right"
