"""Officer decisions are audited rows on the crop's record, covered by the chain's HMAC."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from lanecam.errors import ConfigError, StorageError
from lanecam.store import CaptureVault, MasterKey
from lanecam.store.decisions import decisions_of, record_decision


def test_a_decision_is_audited_with_the_officer_and_verifies(
        tmp_path: Path, crop: np.ndarray, key: MasterKey) -> None:
    with CaptureVault(tmp_path / "v", key, 3600) as vault:
        rid = vault.write(crop, {"traveler": "t1"})
        vault.read(rid, actor="officer-7")
        record_decision(vault, rid, "officer-7", "not_same_person", " visor hides the eyes ",
                        referral="e1:0")
        assert vault.meta(rid) == {"traveler": "t1"} and vault.meta("nope") is None
        (d,) = decisions_of(vault, rid)
        assert d["actor"] == "officer-7" and d["detail"] == {
            "decision": "not_same_person", "reason": "visor hides the eyes", "referral": "e1:0"}
        assert [r["action"] for r in vault.audit_rows()] == ["write", "read", "decision"]
        assert vault.verify().ok
    db = sqlite3.connect(tmp_path / "v" / "vault.sqlite")
    db.execute("UPDATE audit SET detail = replace(detail, 'not_same_person', 'confirmed')")
    db.commit()
    db.close()
    with CaptureVault(tmp_path / "v", key, 3600) as vault:
        assert not vault.verify().ok  # an edited decision breaks the chain


def test_bad_decisions_are_typed_errors(tmp_path: Path, crop: np.ndarray,
                                        key: MasterKey) -> None:
    with CaptureVault(tmp_path / "v", key, 3600) as vault:
        rid = vault.write(crop, {})
        with pytest.raises(ConfigError) as e:
            record_decision(vault, rid, "o1", "maybe", "")
        assert e.value.key == "decision"
        with pytest.raises(ConfigError) as e:
            record_decision(vault, rid, "o1", "confirmed", "x" * 501)
        assert e.value.key == "reason"
        with pytest.raises(ConfigError) as e:
            record_decision(vault, rid, "", "confirmed", "")
        assert e.value.key == "officer"
        with pytest.raises(StorageError) as s:
            record_decision(vault, "0" * 32, "o1", "confirmed", "")
        assert s.value.feature == "missing"
        with pytest.raises(ConfigError):
            vault.note(rid, "o1", "purge", {})
        assert [r["action"] for r in vault.audit_rows()] == ["write"]
