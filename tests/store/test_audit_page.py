"""``CaptureVault.audit_page``: the newest rows first, paged back by row number, the same
rows as the whole chain; and it stays one short query on a long chain."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from lanecam.store import CaptureVault, MasterKey


def test_pages_walk_the_whole_chain_newest_first(tmp_path: Path, crop: np.ndarray,
                                                 key: MasterKey) -> None:
    with CaptureVault(tmp_path / "v", key, 3600) as v:
        rid = v.write(crop[:40, :40], {"lane": "n1"})
        for i in range(24):
            v.note(rid, f"officer-{i % 3}", "decision", {"decision": "confirmed"})
        pages, before = [], None
        while page := v.audit_page(7, before):
            assert len(page) <= 7
            pages.append(page)
            before = page[-1]["seq"]
        assert [len(p) for p in pages] == [7, 7, 7, 4]
        assert [r for p in pages for r in p] == v.audit_rows()[::-1]
        assert v.audit_page(3, before=1) == [] and v.audit_page(1)[0]["seq"] == 25


def test_a_page_does_not_read_the_whole_chain(tmp_path: Path, crop: np.ndarray,
                                              key: MasterKey) -> None:
    with CaptureVault(tmp_path / "v", key, 3600, checkpoint_every=100_000) as v:
        rid = v.write(crop[:40, :40], {"lane": "n1"})
        v._db.tx(lambda c: c.executemany(  # 20k rows in one go (their MACs do not matter)
            "INSERT INTO audit (seq, ts, action, record_id, actor, detail, mac) VALUES "
            "(?, ?, 'read', ?, 'o', '{}', 'x')", [(s, float(s), rid) for s in range(2, 20_002)]))
        t0 = time.perf_counter()
        everything = v.audit_rows()
        t_all = time.perf_counter() - t0
        t0 = time.perf_counter()
        page = v.audit_page(300)
        t_page = time.perf_counter() - t0
    assert len(everything) == 20_001 and [r["seq"] for r in page] == list(range(20_001, 19_701, -1))
    print(f"audit rows: all 20001 in {t_all * 1e3:.1f} ms, newest 300 in {t_page * 1e3:.2f} ms")
    assert t_page < t_all / 5
