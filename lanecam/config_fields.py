"""Field metadata shared by the lane config's tables (:mod:`lanecam.config` and its parts)."""

from __future__ import annotations

__all__ = ["rng"]


def rng(lo: float | None = None, hi: float | None = None, *, open_lo: bool = False) -> dict:
    """A numeric field's allowed range: ``lo`` ≤ value ≤ ``hi`` (``lo`` < value if
    ``open_lo``); ``None`` leaves that side open."""
    return {"lo": lo, "hi": hi, "open_lo": open_lo}
