"""Plain-sqlite3 access to a vault file, as an attacker or a backup tool has it (no key)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any


def sql(root: Path, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on ``root/vault.sqlite`` with plain sqlite3 and commit."""
    db = sqlite3.connect(root / "vault.sqlite")
    try:
        rows = db.execute(statement, params).fetchall()
        db.commit()
        return rows
    finally:
        db.close()
