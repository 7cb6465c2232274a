"""Vault heads carried in lane events: written by the JSONL sink, read back by
``lanecam vault verify --events``, and enough on their own to show a cut-off audit tail."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lanecam.cli import main
from lanecam.events import JsonlSink, LaneEvent
from lanecam.store import AuditHead, CaptureVault, MasterKey, generate_key_file
from lanecam.store.heads import heads_from_events


def _event(n: int, head: AuditHead | None) -> LaneEvent:
    return LaneEvent("L1", f"L1-{n}", "complete", n, n + 1, 5.0,
                     vault_head_seq=head.seq if head else None,
                     vault_head_mac=head.mac if head else None)


def test_heads_round_trip_through_the_jsonl_sink(tmp_path: Path, key: MasterKey,
                                                 crop: np.ndarray) -> None:
    sink = JsonlSink(tmp_path / "events.jsonl")
    with CaptureVault(tmp_path / "vault", key, retention_s=3600) as v:
        heads = []
        for n in range(3):
            v.write(crop, {"n": n})
            heads.append(v.head())
            sink.emit(_event(n, heads[-1]))
        sink.emit(_event(9, None))  # a lane without a vault carries no head
        with open(sink.path, "ab") as fh:
            fh.write(b'{"vault_head_seq": "7", "vault_head_mac": "x"}\n\xff\xfe\n')
        found = heads_from_events(sink.path.read_bytes().splitlines())
        assert found.heads == tuple(heads) and found.bad_lines == (5, 6)
        assert v.verify(heads=found.heads).ok


def test_carried_heads_alone_show_a_cut_tail(tmp_path: Path, crop: np.ndarray,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    keyfile = tmp_path / "master.key"
    key = generate_key_file(keyfile)
    root, witness = tmp_path / "vault", tmp_path / "vault.witness"
    sink = JsonlSink(tmp_path / "events.jsonl")
    with CaptureVault(root, key, retention_s=3600) as v:
        v.write(crop, {"n": 0})
        old_head = sqlite3.connect(root / "vault.sqlite").execute(
            "SELECT v FROM vault_info WHERE k = 'head'").fetchone()[0]
        shutil.copy(witness, tmp_path / "old.witness")  # the witness as it was then
        for n in range(1, 3):
            v.write(crop, {"n": n})
            sink.emit(_event(n, v.head()))
    db = sqlite3.connect(root / "vault.sqlite")
    db.execute("DELETE FROM audit WHERE seq > 1")
    db.execute("DELETE FROM records WHERE rowid > 1")
    db.execute("UPDATE vault_info SET v = ? WHERE k = 'head'", (old_head,))
    db.commit()
    db.close()
    args = ["vault", "verify", "--root", str(root), "--key-file", str(keyfile),
            "--witness", str(tmp_path / "old.witness")]
    assert main(args) == 0  # the stale witness alone cannot tell
    capsys.readouterr()
    assert main([*args, "--events", str(sink.path)]) == 1
    out = capsys.readouterr().out
    assert "audit_truncated 2" in out and "audit_truncated 3" in out


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(
    st.binary(max_size=60),
    st.builds(lambda s, m: f'{{"vault_head_seq": {s}, "vault_head_mac": {m}}}'.encode(),
              st.sampled_from(["1", "-1", "1.5", "true", "null", '"3"', "99999999999999999999"]),
              st.sampled_from(['"' + "a" * 64 + '"', '"x"', "null", "5", "[]"])),
), max_size=8))
def test_any_event_stream_gives_heads_or_bad_lines(lines: list[bytes]) -> None:
    found = heads_from_events(lines)
    assert len(found.heads) + len(found.bad_lines) <= len(lines)
    assert all(h.seq >= 0 and len(h.mac) == 64 for h in found.heads)
    assert all(1 <= n <= len(lines) for n in found.bad_lines)
