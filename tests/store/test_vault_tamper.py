"""Fault experiments on the vault file, done as an attacker would: plain sqlite3, no master key.

One test (or more) per finding of the tamper review; each failed on the format-1 vault:
1. tail truncation with an older head put back, and wholesale deletion, passed ``verify``;
2. an edited ``expires_at`` passed ``verify``;
3. one record's wrapped key and ciphertext copied into another passed ``verify``;
4. derived subkeys showed in ``repr(vars(vault))``.
"""

from __future__ import annotations

import base64
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from vault_sql import sql

from lanecam.errors import ConfigError, StorageError
from lanecam.store import CaptureVault, MasterKey


def kinds(root: Path, key: MasterKey, **kw: Any) -> set[tuple[str, Any]]:
    with CaptureVault(root, key, retention_s=3600) as v:
        report = v.verify(**kw)
    assert report.ok == (not report.problems)
    return {(p.kind, p.ref) for p in report.problems}


def populate(root: Path, key: MasterKey, crop: np.ndarray) -> list[str]:
    """Three records, a read; audit rows 1..4."""
    with CaptureVault(root, key, retention_s=3600) as v:
        ids = [v.write(crop, {"n": i, "lane": "L1"}) for i in range(3)]
        v.read(ids[0], actor="officer")
        assert v.verify().ok
    return ids


# -------------------------------------------------------------- finding 1: truncation, deletion
def test_tail_cut_with_older_head_restored_is_detected(tmp_path: Path, key: MasterKey,
                                                       crop: np.ndarray) -> None:
    root = tmp_path / "vault"
    ids = populate(root, key, crop)
    old_head = sql(root, "SELECT v FROM vault_info WHERE k = 'head'")[0][0]  # after row 4
    with CaptureVault(root, key, retention_s=3600) as v:
        for _ in range(3):
            v.read(ids[1], actor="officer-9")  # rows 5..7: the reads to be hidden
        assert v.verify().ok
    sql(root, "DELETE FROM audit WHERE seq > 4")
    sql(root, "UPDATE vault_info SET v = ? WHERE k = 'head'", (old_head,))
    found = kinds(root, key)
    assert ("audit_truncated", 7) in found and ("head_rollback", 7) in found
    assert not any(k.startswith("audit_row") for k, _ in found)  # the chain itself is intact


def test_everything_deleted_is_detected(tmp_path: Path, key: MasterKey, crop: np.ndarray) -> None:
    root = tmp_path / "vault"
    populate(root, key, crop)
    sql(root, "DELETE FROM records")
    sql(root, "DELETE FROM audit")
    sql(root, "DELETE FROM vault_info WHERE k = 'head'")
    found = kinds(root, key)
    assert ("audit_truncated", 4) in found and ("head_rollback", 4) in found


def test_vault_file_replaced_is_detected(tmp_path: Path, key: MasterKey, crop: np.ndarray) -> None:
    root = tmp_path / "vault"
    populate(root, key, crop)
    with CaptureVault(root, key, retention_s=3600) as v:
        old_id, before = v.vault_id, v.head()
    shutil.rmtree(root)  # a new, empty vault is opened in its place
    old_keys = {("epoch_key_bad", p.name) for p in (tmp_path / "vault.keys").iterdir()}
    assert old_keys  # the old vault's epoch keys do not open under the new vault's id
    assert kinds(root, key) == {("vault_replaced", old_id)} | old_keys
    shutil.rmtree(tmp_path / "vault.keys")
    with CaptureVault(root, key, retention_s=3600) as v:
        assert v.verify(witness=tmp_path / "none", heads=[v.head()]).ok and before.seq == 4


def test_off_box_witness_copy_and_carried_heads(tmp_path: Path, key: MasterKey,
                                                crop: np.ndarray) -> None:
    root = tmp_path / "vault"
    ids = populate(root, key, crop)
    old_head = sql(root, "SELECT v FROM vault_info WHERE k = 'head'")[0][0]
    with CaptureVault(root, key, retention_s=3600) as v:
        v.read(ids[2], actor="officer")
        carried = v.head()  # what a lane event would carry
        assert carried.seq == 5 and v.verify(heads=[carried]).ok
    shipped = tmp_path / "shipped.witness"
    shutil.copy(tmp_path / "vault.witness", shipped)
    sql(root, "DELETE FROM audit WHERE seq > 4")
    sql(root, "UPDATE vault_info SET v = ? WHERE k = 'head'", (old_head,))
    (tmp_path / "vault.witness").write_bytes(b"")  # the local witness is wiped as well
    assert ("audit_truncated", 5) in kinds(root, key, witness=shipped)
    assert ("audit_truncated", 5) in kinds(root, key, heads=[carried])


def test_witness_lines_are_authenticated(tmp_path: Path, key: MasterKey, crop: np.ndarray) -> None:
    root = tmp_path / "vault"
    populate(root, key, crop)
    wit = tmp_path / "vault.witness"
    lines = wit.read_bytes().splitlines()
    assert len(lines) >= 4
    wit.write_bytes(b"\n".join([*lines, lines[-1].replace(b'"seq":4', b'"seq":99')]) + b"\n")
    assert kinds(root, key) == {("witness_line_bad", len(lines) + 1)}


# -------------------------------------------------------------- finding 2: retention edits
@pytest.mark.parametrize("expires", [9e12, 0.0])  # the year ~287,000, and 1970
def test_edited_expiry_is_detected(tmp_path: Path, key: MasterKey, crop: np.ndarray,
                                   expires: float) -> None:
    root = tmp_path / "vault"
    ids = populate(root, key, crop)
    sql(root, "UPDATE records SET expires_at = ? WHERE id = ?", (expires, ids[1]))
    assert kinds(root, key) == {("record_edited", ids[1])}


def test_expiry_moved_to_1970_is_not_purged(tmp_path: Path, key: MasterKey,
                                            crop: np.ndarray) -> None:
    root = tmp_path / "vault"
    ids = populate(root, key, crop)
    sql(root, "UPDATE records SET expires_at = 0 WHERE id = ?", (ids[1],))
    with CaptureVault(root, key, retention_s=3600) as v:
        assert v.purge_expired() == 0  # untrusted expiry: evidence is not shredded early
    assert sql(root, "SELECT ciphertext IS NOT NULL FROM records WHERE id = ?", (ids[1],)) == [(1,)]


# -------------------------------------------------------------- finding 3: swapped / moved blobs
def test_swapped_key_and_ciphertext_are_detected(tmp_path: Path, key: MasterKey,
                                                 crop: np.ndarray) -> None:
    root = tmp_path / "vault"
    a, b, _ = populate(root, key, crop)
    sql(root, "UPDATE records SET (key_nonce, wrapped_key, nonce, ciphertext) = "
              "(SELECT key_nonce, wrapped_key, nonce, ciphertext FROM records WHERE id = ?) "
              "WHERE id = ?", (a, b))
    assert kinds(root, key) == {("record_edited", b)}
    with CaptureVault(root, key, retention_s=3600) as v, pytest.raises(StorageError) as e:
        v.read(b, actor="officer")
    assert e.value.feature == "integrity"


def test_moved_record_is_detected(tmp_path: Path, key: MasterKey, crop: np.ndarray) -> None:
    root = tmp_path / "vault"
    a, _, _ = populate(root, key, crop)
    sql(root, "UPDATE records SET id = ? WHERE id = ?", ("f" * 32, a))
    assert kinds(root, key) == {("record_unaudited", "f" * 32), ("record_missing", a)}


def test_record_from_another_vault_does_not_fit(tmp_path: Path, key: MasterKey,
                                                crop: np.ndarray) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    a = populate(one, key, crop)[0]
    populate(two, key, crop)
    row = sql(one, "SELECT * FROM records WHERE id = ?", (a,))[0]
    sql(two, f"INSERT INTO records VALUES ({', '.join('?' * len(row))})", row)
    assert kinds(two, key) == {("record_unaudited", a)}
    with CaptureVault(two, key, retention_s=3600) as v, pytest.raises(StorageError) as e:
        v.read(a, actor="officer")  # the vault id is in the associated data
    assert e.value.feature == "integrity"


def test_purged_record_put_back_is_detected(tmp_path: Path, key: MasterKey,
                                            crop: np.ndarray) -> None:
    root = tmp_path / "vault"
    a = populate(root, key, crop)[0]
    backup = sql(root, "SELECT key_nonce, wrapped_key, nonce, ciphertext FROM records "
                       "WHERE id = ?", (a,))[0]
    with CaptureVault(root, key, retention_s=3600) as v:
        v.purge(a, actor="officer", reason="request")
        assert v.verify().ok
    sql(root, "UPDATE records SET key_nonce = ?, wrapped_key = ?, nonce = ?, ciphertext = ? "
              "WHERE id = ?", (*backup, a))
    assert kinds(root, key) == {("purged_record_present", a)}


# -------------------------------------------------------------- finding 4: key material shown
def _subkeys(key: MasterKey, vault: CaptureVault) -> list[bytes]:
    """The master key, every subkey derived from it, and the vault's epoch keys."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    subkeys = [HKDF(hashes.SHA256(), 32, salt=None, info=b"lanecam/vault/" + p).derive(key.raw())
               for p in (b"audit", b"record", b"witness", b"epoch")]
    epochs = vault._epochs
    return [key.raw(), *subkeys, *(k.reveal() for e, vs in epochs.versions().items()
                                   for v in vs if (k := epochs.key(e, v)) is not None)]


def _shows_key(text: str, keys: list[bytes]) -> bool:
    shows = (repr, bytes.hex, lambda b: base64.b64encode(b).decode(), lambda b: str(list(b)))
    return any(f(k) in text for k in keys for f in shows)


def test_no_key_material_in_repr_logs_or_errors(tmp_path: Path, key: MasterKey, crop: np.ndarray,
                                                caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "vault"
    caplog.set_level(logging.DEBUG, logger="lanecam")
    texts: list[str] = []
    with CaptureVault(root, key, retention_s=3600) as v:
        a = v.write(crop, {"n": 1})
        texts += [repr(vars(v)), repr(v), str(vars(v))]
        texts += [repr(getattr(v, name)) for name in vars(v)]
        texts += [repr(vars(v._epochs))]
        keys = _subkeys(key, v)
        assert len(keys) == 6  # one epoch key so far
    sql(root, "UPDATE records SET expires_at = 1 WHERE id = ?", (a,))
    with CaptureVault(root, key, retention_s=3600) as v:
        with pytest.raises(StorageError) as e:
            v.read(a, actor="officer")
        texts.append(str(e.value) + repr(e.value) + repr(e.value.__cause__))
        v.purge_expired()  # logs the record it refuses to purge
        texts.append(repr(v.verify()))
    with pytest.raises(StorageError) as e2:
        CaptureVault(root, MasterKey(os.urandom(32), "other"), retention_s=3600)
    texts += [str(e2.value), caplog.text]
    assert not [t for t in texts if _shows_key(t, keys)]
    assert "<redacted>" in repr(vars(v))


# -------------------------------------------------------------- format
def test_format_1_vault_is_refused(tmp_path: Path, key: MasterKey) -> None:
    root = tmp_path / "vault"
    root.mkdir()
    sql(root, "CREATE TABLE vault_info (k TEXT PRIMARY KEY, v TEXT NOT NULL)")
    sql(root, "INSERT INTO vault_info VALUES ('key_id', ?)", (key.key_id,))
    with pytest.raises(ConfigError) as e:
        CaptureVault(root, key, retention_s=3600)
    assert e.value.feature == "vault_format"


def test_clean_vault_reports_nothing(tmp_path: Path, key: MasterKey, crop: np.ndarray) -> None:
    from lanecam.store import PROBLEM_KINDS

    root = tmp_path / "vault"
    ids = populate(root, key, crop)
    with CaptureVault(root, key, retention_s=3600, checkpoint_every=3) as v:
        v.purge(ids[0], actor="officer", reason="request")
        report = v.verify()
        assert report.ok and report.problems == () and report.rows == 5
    sql(root, "UPDATE audit SET actor = 'x' WHERE seq = 2")
    found = kinds(root, key)
    assert ("audit_row_edited", 2) in found and {k for k, _ in found} <= set(PROBLEM_KINDS)


def test_unwritable_witness_loses_no_record(tmp_path: Path, key: MasterKey, crop: np.ndarray,
                                            caplog: pytest.LogCaptureFixture) -> None:
    root, nowhere = tmp_path / "vault", tmp_path / "no-such-dir" / "w"
    with CaptureVault(root, key, retention_s=3600, witness=nowhere) as v:
        rid = v.write(crop, {"n": 1})  # committed; the failed checkpoint is logged, not raised
        assert v.read(rid, actor="officer").image.shape == crop.shape
        assert {p.kind for p in v.verify().problems} == {"witness_missing"}
    assert "witness" in caplog.text
