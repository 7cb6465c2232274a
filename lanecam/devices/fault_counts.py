"""Named counts of tolerated device events, reported by their owner and never silent.

A driver that carries on after something unusual (a reply it skips, a timestamp a producer
does not provide) calls :func:`count`: the event's counter goes up by one and a WARNING is
logged the 1st, 10th, 100th, … time, so a per-frame event cannot flood the log.
"""

from __future__ import annotations

import logging
from collections import Counter

__all__ = ["count"]


def count(counts: Counter[str], logger: logging.Logger, who: str, event: str,
          detail: str) -> None:
    """``counts[event] += 1``; WARNING when the new count is 1, 10, 100, …"""
    counts[event] += 1
    n = counts[event]
    if n == 10 ** (len(str(n)) - 1):
        logger.warning("%s: %s (%s; %d so far)", who, event, detail, n)
