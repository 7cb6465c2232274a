"""Forgetting that survives backups (issue 13, part 3).

The finding: a copy of the vault file taken before a purge still decrypted the purged crop with
the master key, and a purge while a reader held a snapshot left the wrapped key and ciphertext
in the WAL.  Every test here failed on the format-2 vault (one master-derived wrapping key, in
the file's reach): the backup copy read the crop back.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st
from vault_sql import sql

from lanecam.errors import ConfigError, StorageError
from lanecam.store import CaptureVault, MasterKey
from lanecam.store.epochs import EpochKeys
from lanecam.store.records import RecordRow, identity

HOUR = 3600.0


class Clock:
    """Wall time under the test's control, starting at an epoch boundary (2023-11-14 22:00)."""

    def __init__(self) -> None:
        self.t = 1_700_002_800.0

    def __call__(self) -> float:
        return self.t




def backup(root: Path, to: Path) -> Path:
    """What an operator's nightly backup takes: the vault directory (db, WAL), nothing else."""
    shutil.copytree(root, to)
    return to


def key_files(root: Path) -> list[str]:
    return sorted(p.name for p in root.parent.joinpath(f"{root.name}.keys").iterdir())


def test_backup_taken_before_an_early_purge_no_longer_decrypts(tmp_path: Path, key: MasterKey,
                                                               crop: np.ndarray) -> None:
    root = tmp_path / "vault"
    with CaptureVault(root, key, retention_s=30 * 86400) as v:
        gone, kept = v.write(crop, {"n": 1}), v.write(crop, {"n": 2})
        copy = backup(root, tmp_path / "backup")
        v.purge(gone, actor="officer", reason="traveler request")
        assert v.read(kept, actor="officer").meta == {"n": 2}  # re-wrapped, still readable
        assert v.verify().ok
        assert v.audit_rows()[-2]["action"] == "purge"
    # the attacker has the backup, the master key and today's key directory
    with CaptureVault(copy, key, retention_s=30 * 86400, keys=tmp_path / "vault.keys",
                      witness=tmp_path / "none") as old, pytest.raises(StorageError) as e:
        old.read(gone, actor="attacker")
    assert e.value.feature == "key_missing"
    assert key_files(root) == [f"{e_}.2.key" for e_ in {int(f.split('.')[0])
                                                        for f in key_files(root)}]


def test_pre_purge_wrapped_key_opens_under_no_remaining_key(tmp_path: Path, key: MasterKey,
                                                            crop: np.ndarray) -> None:
    root = tmp_path / "vault"
    with CaptureVault(root, key, retention_s=86400) as v:
        rid = v.write(crop, {"n": 1})
        v.write(crop, {"n": 2})
        rec = RecordRow.from_db(sql(root, f"SELECT {RecordRow.COLUMNS} FROM records "
                                          "WHERE id = ?", (rid,))[0])
        aad = b"key:" + identity(v.vault_id, rec)
        epochs = v._epochs
        before = epochs.key(rec.epoch, rec.key_version)
        assert before is not None  # control: the key of the day unwraps it
        assert len(AESGCM(before.reveal()).decrypt(rec.key_nonce, rec.wrapped_key, aad)) == 32
        v.purge(rid, actor="officer", reason="request")
        remaining = [epochs.key(e, ver) for e, vs in epochs.versions().items() for ver in vs]
    assert remaining
    for k in remaining:
        assert k is not None
        with pytest.raises(InvalidTag):
            AESGCM(k.reveal()).decrypt(rec.key_nonce, rec.wrapped_key, aad)


def test_retention_destroys_the_epoch_key_and_the_backup_goes_dark(tmp_path: Path,
                                                                    key: MasterKey,
                                                                    crop: np.ndarray) -> None:
    clock = Clock()
    root = tmp_path / "vault"
    with CaptureVault(root, key, retention_s=600, wall_clock=clock) as v:
        rid = v.write(crop, {"n": 1})
        copy = backup(root, tmp_path / "backup")
        assert len(key_files(root)) == 1
        clock.t += 601  # expired, but its epoch (the hour holding the expiry) has not ended
        assert v.purge_expired() == 1
        assert len(key_files(root)) == 1
        clock.t += HOUR  # the epoch has ended: its key goes
        assert v.purge_expired() == 0
        assert key_files(root) == []
        assert v.audit_rows()[-1]["action"] == "shred"
        assert v.verify().ok
    with CaptureVault(copy, key, retention_s=600, wall_clock=clock,
                      keys=tmp_path / "vault.keys", witness=tmp_path / "none") as old, \
            pytest.raises(StorageError) as e:
        old.read(rid, actor="attacker")
    assert e.value.feature == "key_missing"


def test_an_edited_expiry_does_not_keep_the_key(tmp_path: Path, key: MasterKey,
                                                crop: np.ndarray) -> None:
    clock = Clock()
    root = tmp_path / "vault"
    with CaptureVault(root, key, retention_s=600, wall_clock=clock) as v:
        rid = v.write(crop, {"n": 1})
    sql(root, "UPDATE records SET expires_at = 9e12 WHERE id = ?", (rid,))  # year ~287,000
    clock.t += 2 * HOUR
    with CaptureVault(root, key, retention_s=600, wall_clock=clock) as v:
        assert v.purge_expired() == 0  # the record itself cannot be trusted, so not purged...
        with pytest.raises(StorageError) as e:
            v.read(rid, actor="officer")
        found = {(p.kind, p.ref) for p in v.verify().problems}
    assert e.value.feature in ("integrity", "key_missing")  # ...but it can never be read
    assert ("record_edited", rid) in found and key_files(root) == []


def test_a_restored_key_directory_is_reported(tmp_path: Path, key: MasterKey,
                                              crop: np.ndarray) -> None:
    clock = Clock()
    root, keys = tmp_path / "vault", tmp_path / "vault.keys"
    with CaptureVault(root, key, retention_s=600, wall_clock=clock) as v:
        a = v.write(crop, {"n": 1})
        b = v.write(crop, {"n": 2})
        saved = tmp_path / "keys-backup"
        shutil.copytree(keys, saved)
        v.purge(a, actor="officer", reason="request")  # version 1 retired
        clock.t += 2 * HOUR
        v.purge_expired()  # b expires, the epoch ends: version 2 destroyed
    for p in saved.iterdir():
        shutil.copy2(p, keys / p.name)
    with CaptureVault(root, key, retention_s=600, wall_clock=clock) as v:
        found = {p.kind for p in v.verify().problems}
        with pytest.raises(StorageError):
            v.read(b, actor="attacker")  # purged: its blobs are gone from the file
    assert found == {"epoch_key_restored"}


def test_purge_under_a_reader_snapshot(tmp_path: Path, key: MasterKey, crop: np.ndarray) -> None:
    root = tmp_path / "vault"
    with CaptureVault(root, key, retention_s=86400) as v:
        rid = v.write(crop, {"n": 1})
        v.write(crop, {"n": 2})
        (wrapped, ct), = sql(root, "SELECT wrapped_key, ciphertext FROM records WHERE id = ?",
                             (rid,))
        reader = sqlite3.connect(root / "vault.sqlite", isolation_level=None)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM records").fetchone()  # holds a snapshot
        v.purge(rid, actor="officer", reason="request")
        assert v.faults["checkpoint_blocked"] == 1
        # whatever the WAL still holds is wrapped by a version that no longer exists
        assert key_files(root) == [f"{key_files(root)[0].split('.')[0]}.2.key"]
        reader.execute("COMMIT")
        reader.close()
        v.write(crop, {"n": 3})  # the next commit retries the checkpoint
        assert v.faults["checkpoint_blocked"] == 1
        disk = b"".join(p.read_bytes() for p in root.iterdir() if p.is_file())
    assert bytes(wrapped) not in disk and bytes(ct)[:64] not in disk  # type: ignore[arg-type]


def test_rewrapped_and_swapped_wrapped_keys(tmp_path: Path, key: MasterKey,
                                            crop: np.ndarray) -> None:
    root = tmp_path / "vault"
    with CaptureVault(root, key, retention_s=86400) as v:
        a, b = v.write(crop, {"n": 1}), v.write(crop, {"n": 2})
    sql(root, "UPDATE records SET (key_nonce, wrapped_key) = (SELECT key_nonce, wrapped_key "
              "FROM records WHERE id = ?) WHERE id = ?", (a, b))
    with CaptureVault(root, key, retention_s=86400) as v:
        found = {(p.kind, p.ref) for p in v.verify().problems}
    assert found == {("key_unbound", b)}


def test_a_renamed_key_file_opens_nothing(tmp_path: Path, key: MasterKey,
                                          crop: np.ndarray) -> None:
    root, keys = tmp_path / "vault", tmp_path / "vault.keys"
    with CaptureVault(root, key, retention_s=86400) as v:
        rid = v.write(crop, {"n": 1})
    (f,) = keys.iterdir()
    f.rename(keys / f"{int(f.name.split('.')[0]) + 5}.1.key")
    with CaptureVault(root, key, retention_s=86400) as v:
        found = {p.kind for p in v.verify().problems}
        with pytest.raises(StorageError) as e:
            v.read(rid, actor="officer")
    assert found == {"epoch_key_bad", "key_missing"} and e.value.feature == "key_missing"


def test_a_crash_mid_rotation_is_tidied_on_open(tmp_path: Path, key: MasterKey,
                                                crop: np.ndarray) -> None:
    root, keys = tmp_path / "vault", tmp_path / "vault.keys"
    with CaptureVault(root, key, retention_s=86400) as v:
        rid = v.write(crop, {"n": 1})
        (epoch,), = sql(root, "SELECT epoch FROM records")
        v._epochs.rotate(int(epoch))
        v._epochs.rotate(int(epoch))
    assert len(list(keys.iterdir())) == 3
    with CaptureVault(root, key, retention_s=86400) as v:
        assert v.faults["stale_key_destroyed"] == 1
        assert sorted(p.name for p in keys.iterdir()) == [f"{epoch}.1.key", f"{epoch}.3.key"]
        assert v.read(rid, actor="officer").meta == {"n": 1}
        v.write(crop, {"n": 2})  # the newest version wraps new records
        assert sql(root, "SELECT key_version FROM records ORDER BY created_at") == [(1,), (3,)]


def test_keys_and_epoch_length_are_checked(tmp_path: Path, key: MasterKey) -> None:
    root = tmp_path / "vault"
    with pytest.raises(ConfigError) as e:
        CaptureVault(root, key, retention_s=60, keys=root / "keys")
    assert e.value.key == "keys"
    CaptureVault(root, key, retention_s=60, epoch_s=86400).close()
    with pytest.raises(ConfigError) as e2:
        CaptureVault(root, key, retention_s=60, epoch_s=HOUR)
    assert e2.value.key == "epoch_s"


def test_a_format_2_vault_is_refused(tmp_path: Path, key: MasterKey) -> None:
    root = tmp_path / "vault"
    root.mkdir()
    sql(root, "CREATE TABLE vault_info (k TEXT PRIMARY KEY, v TEXT NOT NULL)")
    sql(root, "INSERT INTO vault_info VALUES ('format', '2'), ('vault_id', 'x'), ('key_id', ?)",
        (key.key_id,))
    with pytest.raises(ConfigError) as e:
        CaptureVault(root, key, retention_s=3600)
    assert e.value.feature == "vault_format"


@settings(max_examples=200, deadline=None)
@given(blob=st.binary(max_size=80), epoch=st.integers(-5, 5), version=st.integers(1, 3))
def test_any_key_file_content_opens_or_is_refused(tmp_path_factory: pytest.TempPathFactory,
                                                  blob: bytes, epoch: int, version: int) -> None:
    """A key file of any bytes gives None (not a key, not an exception)."""
    from lanecam.store.keys import Secret

    d = tmp_path_factory.mktemp("keys")
    store = EpochKeys(d, Secret(b"k" * 32), "vault", HOUR)
    (d / f"{epoch}.{version}.key").write_bytes(blob)
    assert store.key(epoch, version) is None
    assert store.versions() == {epoch: [version]}
