"""CaptureVault on real face crops: encryption, tampering, purge, crash, full disk, audit chain."""

from __future__ import annotations

import base64
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from lanecam.errors import ConfigError, StorageError
from lanecam.store import CaptureVault, MasterKey, generate_key_file

FACES = Path(__file__).parent.parent / "data" / "faces"


class Clock:
    def __init__(self) -> None:
        self.t = 1_700_000_000.0  # 2023: in the past, so real-time purges see it expired

    def __call__(self) -> float:
        return self.t


def all_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.iterdir()) if p.is_file())


def test_round_trip_and_no_plaintext_on_disk(tmp_path: Path, key: MasterKey, crop: np.ndarray) -> None:
    with CaptureVault(tmp_path, key, retention_s=3600) as v:
        rid = v.write(crop, {"lane": "L1", "camera": "pylon:0815-0000", "occupant": 0, "score": 81.5})
        rec = v.read(rid, actor="officer-7")
        np.testing.assert_array_equal(rec.image, crop)
        assert rec.meta == {"lane": "L1", "camera": "pylon:0815-0000", "occupant": 0, "score": 81.5}
        assert "array" not in repr(rec)
        assert [r["action"] for r in v.audit_rows()] == ["write", "read"]
        assert v.audit_rows()[1]["actor"] == "officer-7"
        assert v.verify().ok
    disk = all_bytes(tmp_path)
    assert b"\x89PNG" not in disk and crop[100:101, 100:164].tobytes() not in disk


def test_wrong_key_is_refused(tmp_path: Path, key: MasterKey, crop: np.ndarray) -> None:
    with CaptureVault(tmp_path, key, retention_s=3600) as v:
        v.write(crop, {"n": 1})
    with pytest.raises(StorageError) as e:
        CaptureVault(tmp_path, MasterKey(os.urandom(32), "other"), retention_s=3600)
    assert key.key_id in str(e.value.allowed)


@pytest.mark.parametrize("column,value", [("meta", '{"n": 2}'), ("ciphertext", None),
                                          ("wrapped_key", None), ("expires_at", 9e12)])
def test_tampered_record_does_not_decrypt(tmp_path: Path, key: MasterKey, crop: np.ndarray,
                                          column: str, value: object) -> None:
    with CaptureVault(tmp_path, key, retention_s=3600) as v:
        rid = v.write(crop, {"n": 1})
    db = sqlite3.connect(tmp_path / "vault.sqlite")
    if value is None:  # flip one byte of the blob
        blob = bytearray(db.execute(f"SELECT {column} FROM records").fetchone()[0])
        blob[len(blob) // 2] ^= 0x01
        value = bytes(blob)
    db.execute(f"UPDATE records SET {column} = ?", (value,))
    db.commit()
    db.close()
    with CaptureVault(tmp_path, key, retention_s=3600) as v, pytest.raises(StorageError) as e:
        v.read(rid, actor="officer")
    assert "authenticate" in str(e.value)


def _tamper(tmp_path: Path, sql: str) -> None:
    db = sqlite3.connect(tmp_path / "vault.sqlite")
    db.execute(sql)
    db.commit()
    db.close()


@pytest.mark.parametrize("sql,bad_seq", [
    ("UPDATE audit SET actor = 'nobody' WHERE seq = 2", 2),
    ("UPDATE audit SET detail = '{}' WHERE seq = 1", 1),
    ("DELETE FROM audit WHERE seq = 2", 3),
    ("DELETE FROM audit WHERE seq = 4", None),  # cut off the end: the MACed head catches it
    ("DELETE FROM records WHERE rowid = 1", None),  # a record vanished: log and table disagree
])
def test_tampered_audit_is_detected(tmp_path: Path, key: MasterKey, crop: np.ndarray, sql: str,
                                    bad_seq: int | None) -> None:
    with CaptureVault(tmp_path, key, retention_s=3600) as v:
        a = v.write(crop, {"n": 1})
        v.read(a, actor="officer")
        v.write(crop, {"n": 2})
        v.purge(a, actor="officer", reason="request")
        assert v.verify().ok and v.verify().rows == 4
    _tamper(tmp_path, sql)
    with CaptureVault(tmp_path, key, retention_s=3600) as v:
        report = v.verify()
    assert not report.ok and report.first_bad_seq == bad_seq


def test_retention_purge_destroys_the_record(tmp_path: Path, key: MasterKey, crop: np.ndarray) -> None:
    clock = Clock()
    with CaptureVault(tmp_path, key, retention_s=60, wall_clock=clock) as v:
        old = v.write(crop, {"n": 1})
        clock.t += 30
        young = v.write(crop, {"n": 2})
        wrapped = sqlite3.connect(tmp_path / "vault.sqlite").execute(
            "SELECT wrapped_key, ciphertext FROM records WHERE id = ?", (old,)).fetchone()
        clock.t += 31
        assert v.purge_expired() == 1
        with pytest.raises(StorageError, match="purged"):
            v.read(old, actor="officer")
        assert v.read(young, actor="officer").meta == {"n": 2}
        assert [r["id"] for r in v.records()] == [young]
        assert v.verify().ok
        assert v.audit_rows()[-2]["action"] == "purge"
    disk = all_bytes(tmp_path)
    assert wrapped[0] not in disk and wrapped[1][:64] not in disk  # gone from db and WAL


def test_full_disk_is_typed_and_loses_nothing(tmp_path: Path, key: MasterKey, crop: np.ndarray) -> None:
    with CaptureVault(tmp_path, key, retention_s=3600, max_bytes=400_000) as v:
        ids = []
        with pytest.raises(StorageError) as err:
            for i in range(100):
                ids.append(v.write(crop, {"n": i}))
        assert err.value.feature == "disk_full"  # SQLITE_FULL, told by its result code
        assert 0 < len(ids) < 100
        for rid in ids:  # everything committed before the failure is intact
            assert v.read(rid, actor="check").image.shape == crop.shape
        assert v.verify().ok


WRITER = textwrap.dedent("""
    import os, sys, cv2
    from lanecam.store import CaptureVault, MasterKey
    crop = cv2.imread(sys.argv[2], cv2.IMREAD_GRAYSCALE)[200:520, 250:570].copy()
    v = CaptureVault(sys.argv[1], MasterKey.from_env(), retention_s=3600)
    i = 0
    while True:
        rid = v.write(crop, {"n": i})
        print(rid, flush=True)
        i += 1
""")


def test_killed_writer_loses_no_committed_record(tmp_path: Path, key: MasterKey) -> None:
    env = dict(os.environ, LANECAM_MASTER_KEY=base64.b64encode(key.raw()).decode())
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), str(FACES / "obama.jpg")],
                            stdout=subprocess.PIPE, text=True, env=env)
    committed = [proc.stdout.readline().strip() for _ in range(15)]
    proc.send_signal(signal.SIGKILL)  # mid-write: the loop never pauses
    proc.wait(timeout=30)
    with CaptureVault(tmp_path, key, retention_s=3600) as v:
        for rid in committed:
            assert v.read(rid, actor="check").image.shape == (320, 320)
        assert len(v.records()) >= len(committed)
        assert v.verify().ok
    assert b"\x89PNG" not in all_bytes(tmp_path)


def test_key_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "master.key"
    made = generate_key_file(path)
    assert MasterKey.from_file(path).key_id == made.key_id
    with pytest.raises(ConfigError):
        generate_key_file(path)  # never overwrites
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="private"):
        MasterKey.from_file(path)
    monkeypatch.setenv("LANECAM_MASTER_KEY", base64.b64encode(made.raw()).decode())
    assert MasterKey.from_env().key_id == made.key_id
    monkeypatch.setenv("LANECAM_MASTER_KEY", "not base64!")
    with pytest.raises(ConfigError):
        MasterKey.from_env()
    assert MasterKey.from_kms(lambda: made.raw(), "hsm").source == "kms:hsm"
    assert made.key_id in repr(made) and base64.b64encode(made.raw()).decode() not in repr(made)


def test_metadata_must_be_plain_scalars(tmp_path: Path, key: MasterKey, crop: np.ndarray) -> None:
    with CaptureVault(tmp_path, key, retention_s=3600) as v:
        with pytest.raises(ConfigError) as e:
            v.write(crop, {"template": np.zeros(128)})
        assert e.value.key == "template"
        assert v.records() == []


def test_vault_cli_verify_and_purge(tmp_path: Path, crop: np.ndarray) -> None:
    from lanecam.cli import main

    keyfile = tmp_path / "k"
    assert main(["vault", "keygen", str(keyfile)]) == 0
    root = tmp_path / "vault"
    clock = Clock()
    with CaptureVault(root, MasterKey.from_file(keyfile), retention_s=10, wall_clock=clock) as v:
        v.write(crop, {"n": 1})
    args = ["--root", str(root), "--key-file", str(keyfile)]
    assert main(["vault", "verify", *args]) == 0
    assert main(["vault", "purge", *args]) == 0  # real time is far past the fake clock's expiry
    with CaptureVault(root, MasterKey.from_file(keyfile), retention_s=10) as v:
        assert v.records() == [] and v.verify().ok
    _tamper(root, "UPDATE audit SET actor = 'x' WHERE seq = 1")
    assert main(["vault", "verify", *args]) == 1


@pytest.mark.parametrize("raw", [b" " + bytes(30) + b"\n", b"\n" * 32, b"\t" + bytes(31)])
def test_raw_keys_with_whitespace_bytes_are_kept_whole(raw: bytes) -> None:
    assert MasterKey.from_kms(lambda: raw).raw() == raw
    assert MasterKey.from_kms(lambda: base64.b64encode(raw) + b"\n").raw() == raw
