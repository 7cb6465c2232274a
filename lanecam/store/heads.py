"""Audit heads carried outside the vault: read back from lane events (the JSONL sink).

Each lane event carries ``vault_head_seq`` and ``vault_head_mac`` (see
:class:`lanecam.events.LaneEvent`).  Whoever keeps the events keeps, in effect, a copy of the
chain head as it was after every vehicle; :meth:`CaptureVault.verify` takes them as ``heads``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from .audit import AuditHead

__all__ = ["CarriedHeads", "heads_from_events"]


@dataclass(frozen=True)
class CarriedHeads:
    """Heads found in an event stream; ``bad_lines``: 1-based lines that are not JSON objects
    or carry a malformed head (a line without a head — no vault — is neither)."""

    heads: tuple[AuditHead, ...]
    bad_lines: tuple[int, ...]


def heads_from_events(lines: Iterable[bytes | str]) -> CarriedHeads:
    """The audit heads carried by JSONL lane events, in order."""
    heads: list[AuditHead] = []
    bad: list[int] = []
    for n, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            d = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            bad.append(n)
            continue
        if not isinstance(d, dict):
            bad.append(n)
            continue
        seq, mac = d.get("vault_head_seq"), d.get("vault_head_mac")
        if seq is None and mac is None:
            continue
        if isinstance(seq, int) and not isinstance(seq, bool) and seq >= 0 \
                and isinstance(mac, str) and len(mac) == 64:
            heads.append(AuditHead(seq, mac))
        else:
            bad.append(n)
    return CarriedHeads(tuple(heads), tuple(bad))
