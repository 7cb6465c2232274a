"""The lanes' vaults as the console uses them: every crop read is ``CaptureVault.read(record,
actor=<officer id>)`` (audited in that lane's vault), every decision an audited row there.

One lock per vault: SQLite calls are made from the web server's worker threads one at a time.
Document photos (the booth's scans) are files ``<traveler>.jpg|png`` in the lane's
``documents`` folder, found by the crop's metadata (``traveler``), never by a name from a URL.
"""

from __future__ import annotations

import contextlib
import re
import threading
from pathlib import Path
from typing import Any

from ..errors import StorageError
from ..store import CaptureVault
from ..store.decisions import record_decision
from ..store.keys import MasterKey
from .config import ConsoleLane

__all__ = ["LaneVaults"]

_TRAVELER = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class LaneVaults:
    def __init__(self, lanes: tuple[ConsoleLane, ...]) -> None:
        self.lanes = {c.lane_id: c for c in lanes}
        self._vaults: dict[str, CaptureVault] = {}
        self._locks = {c.lane_id: threading.Lock() for c in lanes}
        self._stack = contextlib.ExitStack()

    def _vault(self, lane_id: str) -> CaptureVault:
        v = self._vaults.get(lane_id)
        if v is None:
            vc = self.lanes[lane_id].lane.vault
            assert vc is not None
            key = MasterKey.from_file(vc.key_file) if vc.key_file else \
                MasterKey.from_env(str(vc.key_env))
            v = self._stack.enter_context(CaptureVault(
                vc.root, key, vc.retention_s, witness=vc.witness, keys=vc.keys,
                epoch_s=vc.epoch_s))
            self._vaults[lane_id] = v
        return v

    def crop_png(self, lane_id: str, record_id: str, officer: str) -> bytes:
        """The crop as PNG bytes; the read is audited with ``officer`` as the actor."""
        import cv2

        with self._locks[lane_id]:
            rec = self._vault(lane_id).read(record_id, actor=officer)
        ok, png = cv2.imencode(".png", rec.image)
        if not ok:
            raise StorageError("could not encode the crop", key="crop")
        return bytes(png.tobytes())

    def document(self, lane_id: str, record_id: str) -> tuple[bytes, str] | None:
        """The booth's document photo of the crop's traveler (bytes, media type), or None."""
        with self._locks[lane_id]:
            meta = self._vault(lane_id).meta(record_id)
        traveler = None if meta is None else meta.get("traveler")
        if not isinstance(traveler, str) or not _TRAVELER.fullmatch(traveler):
            return None
        folder: Path = self.lanes[lane_id].documents
        for ext, media in ((".jpg", "image/jpeg"), (".png", "image/png")):
            p = folder / f"{traveler}{ext}"
            if p.is_file():
                return p.read_bytes(), media
        return None

    def decide(self, lane_id: str, record_id: str, officer: str, decision: str, reason: str,
               referral: str) -> None:
        with self._locks[lane_id]:
            record_decision(self._vault(lane_id), record_id, officer, decision, reason,
                            referral=referral)

    def audit(self, limit: int = 300) -> list[dict[str, Any]]:
        """The newest audit rows of every lane (no pixels are ever in them)."""
        rows: list[dict[str, Any]] = []
        for lane_id in self.lanes:
            with self._locks[lane_id]:
                rows += [dict(r, lane=lane_id) for r in self._vault(lane_id).audit_rows()]
        rows.sort(key=lambda r: r["ts"], reverse=True)
        return rows[:limit]

    def close(self) -> None:
        self._stack.close()
