"""An officer's decision on a referred traveler, written to the vault's audit chain.

The decision is one audited row (action ``"decision"``) on the crop's record, with the
officer's id as the actor and the decision word and reason as detail.  The chain's HMAC covers
it, so ``verify`` catches an edited or dropped decision like any other row.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError

__all__ = ["DECISIONS", "decisions_of", "record_decision"]

#: what an officer may decide, as stored (the console shows them in words)
DECISIONS = ("confirmed", "not_same_person", "recapture", "unable_to_decide")
MAX_REASON = 500


def record_decision(vault: Any, record_id: str, officer: str, decision: str, reason: str,
                    *, referral: str | None = None) -> None:
    """Audit ``officer``'s ``decision`` on the crop ``record_id`` (``reason``: free text the
    officer typed, at most 500 characters; ``referral``: the console's referral id)."""
    if decision not in DECISIONS:
        raise ConfigError("unknown decision", key="decision", allowed=list(DECISIONS))
    if not isinstance(reason, str) or len(reason) > MAX_REASON:
        raise ConfigError("the reason is text of at most 500 characters", key="reason",
                          allowed=f"<= {MAX_REASON} characters")
    if not officer:
        raise ConfigError("a decision needs the officer's identity", key="officer")
    detail: dict[str, Any] = {"decision": decision, "reason": reason.strip()}
    if referral is not None:
        detail["referral"] = referral
    vault.note(record_id, officer, "decision", detail)


def decisions_of(vault: Any, record_id: str) -> list[dict[str, Any]]:
    """The audited decisions on one record, oldest first."""
    import json

    return [dict(r, detail=json.loads(r["detail"])) for r in vault.audit_rows()
            if r["action"] == "decision" and r["record_id"] == record_id]
