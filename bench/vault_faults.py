"""Fault experiments on the capture vault's forgetting (issue 13, part 3).

1. *Backup before a purge*: copy the vault directory (what a nightly backup takes), purge one
   record, then open the copy with the master key (and, for format 3, today's epoch-key
   directory) and try to read the purged crop back.
2. *Purge under a reader's snapshot*: another connection holds a read transaction while a
   record is purged; how long does ``purge`` block, and are the purged wrapped key and
   ciphertext still anywhere in the vault directory after the reader ends and one more write?

Runs unchanged against an older vault (put its tree first on PYTHONPATH) to give the figure
before the change:

    python bench/vault_faults.py [--trials 20]
    PYTHONPATH=<checkout of 9ab5e9f> python bench/vault_faults.py
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

from lanecam.errors import StorageError
from lanecam.store import CaptureVault, MasterKey


def _crop(seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random((64, 64)) * 255).astype(np.uint8)


def _keys_kw(d: Path) -> dict[str, Path]:
    """Format 3 takes the epoch-key directory; older vaults have none."""
    return {"keys": d / "vault.keys"} if "keys" in CaptureVault.__init__.__code__.co_varnames \
        else {}


def backup_recovers(seed: int) -> bool:
    """Whether a pre-purge copy of the vault gives the purged crop back, pixel for pixel."""
    d = Path(tempfile.mkdtemp())
    key, crop = MasterKey(os.urandom(32), "bench"), _crop(seed)
    try:
        with CaptureVault(d / "vault", key, retention_s=3600) as v:
            gone = v.write(crop, {"n": 1})
            v.write(crop, {"n": 2})
            shutil.copytree(d / "vault", d / "backup")
            v.purge(gone, actor="officer", reason="request")
        with CaptureVault(d / "backup", key, retention_s=3600, witness=d / "none",
                          **_keys_kw(d)) as old:
            try:
                return bool(np.array_equal(old.read(gone, actor="attacker").image, crop))
            except StorageError:
                return False
    finally:
        shutil.rmtree(d)


def reader_snapshot() -> tuple[float, bool, bool]:
    """(purge wall time s, wrapped key on disk after, ciphertext on disk after)."""
    d = Path(tempfile.mkdtemp())
    key, crop = MasterKey(os.urandom(32), "bench"), _crop(1)
    try:
        with CaptureVault(d / "vault", key, retention_s=3600) as v:
            gone = v.write(crop, {"n": 1})
            v.write(crop, {"n": 2})
            db = sqlite3.connect(d / "vault" / "vault.sqlite")
            wk, ct = db.execute("SELECT wrapped_key, ciphertext FROM records WHERE id = ?",
                                (gone,)).fetchone()
            db.close()
            reader = sqlite3.connect(d / "vault" / "vault.sqlite", isolation_level=None)
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM records").fetchone()
            t0 = time.monotonic()
            v.purge(gone, actor="officer", reason="request")
            dt = time.monotonic() - t0
            reader.execute("COMMIT")
            reader.close()
            v.write(crop, {"n": 3})
            disk = b"".join(p.read_bytes() for p in (d / "vault").iterdir() if p.is_file())
        return dt, wk in disk, ct[:64] in disk
    finally:
        shutil.rmtree(d)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20)
    args = ap.parse_args()
    import logging

    logging.disable(logging.WARNING)  # the vault's own warning about the held-back checkpoint
    print(f"vault module: {CaptureVault.__module__} ({Path(__file__).name}, "
          f"{args.trials} trials)")
    hits = sum(backup_recovers(i) for i in range(args.trials))
    print(f"| pre-purge backup gives the purged crop back | {hits}/{args.trials} |")
    dt, wk, ct = reader_snapshot()
    print(f"| purge under a reader's snapshot blocks | {dt:.2f} s |")
    print(f"| purged wrapped key / ciphertext on disk after the reader ends | "
          f"{'yes' if wk else 'no'} / {'yes' if ct else 'no'} |")


if __name__ == "__main__":
    main()
