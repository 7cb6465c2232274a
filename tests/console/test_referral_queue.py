"""The console's referral queue on disk (``ReferralStore``) under ``ConsoleState``: a new
state on the same folder (a restarted console) has the open referrals and not the decided
ones; an event delivered again does not reopen a decided referral."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lanecam.console.queue import ReferralStore
from lanecam.console.state import ConsoleState


def event(n: int, refer: bool = True) -> dict[str, Any]:
    return {"event_id": f"ev-{n}", "lane_id": "n1", "vehicle_id": f"n1-{n}",
            "status": "complete", "needs_review": refer,
            "occupants": [{"index": 0, "outcome": "refer_to_officer" if refer else "verified",
                           "record_id": f"{n:032x}", "quality": 70.0, "score": 0.4,
                           "threshold": 0.6, "reason": "no match", "face_found": True}]}


def test_open_referrals_survive_a_restart_and_decided_ones_stay_decided(
        tmp_path: Path) -> None:
    store = ReferralStore(tmp_path)
    state = ConsoleState(["n1"], store=store)
    for n in range(4):
        state.on_event(event(n, refer=n != 3))
    state.decide("ev-1.0", "confirmed", "officer-1")
    assert [r.ref_id for r in state.open_referrals(None)] == ["ev-0.0", "ev-2.0"]
    store.close()

    store = ReferralStore(tmp_path)  # the console restarted
    state = ConsoleState(["n1"], store=store)
    got = state.open_referrals(None)
    assert [r.ref_id for r in got] == ["ev-0.0", "ev-2.0"]
    assert got[0].record_id == f"{0:032x}" and got[0].threshold == 0.6 and got[0].index == 0
    state.on_event(event(1))  # the decided one's event delivered again (QoS 1)
    state.on_event(event(2))  # an open one's: still one referral
    assert [r.ref_id for r in state.open_referrals(None)] == ["ev-0.0", "ev-2.0"]
    state.decide("ev-0.0", "recapture", "officer-2")
    store.close()
    again = ConsoleState(["n1", "s1"], store=ReferralStore(tmp_path))
    assert [r.ref_id for r in again.open_referrals(None)] == ["ev-2.0"]
    assert again.open_referrals(frozenset({"s1"})) == []


def test_decided_referrals_are_deleted_after_their_keep_time(tmp_path: Path) -> None:
    import sqlite3

    store = ReferralStore(tmp_path)
    state = ConsoleState(["n1"], store=store)
    state.on_event(event(0))
    state.on_event(event(1))
    state.decide("ev-0.0", "confirmed", "officer-1")
    store.close()
    ReferralStore(tmp_path).close()  # within the keep time: both rows stay
    db = sqlite3.connect(tmp_path / "referrals.sqlite")
    assert db.execute("SELECT COUNT(*) FROM referrals").fetchone() == (2,)
    ReferralStore(tmp_path, keep_decided_s=0).close()
    assert db.execute("SELECT ref_id FROM referrals").fetchall() == [("ev-1.0",)]
    db.close()
