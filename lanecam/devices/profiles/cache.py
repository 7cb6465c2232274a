"""Profiles are parsed once per process: a loaded profile is kept, keyed by its files.

A camera parsed its firmware profiles every time it opened, and a lane opens cameras again
after a fault: each open re-read and re-validated every shipped camera profile (~3 ms and ~54 kB
of transient allocations; issue 13).  :func:`parse_once` keeps the result of a loader keyed by
the files it read — each file's resolved path, ``st_mtime_ns`` and ``st_size`` — so an edited,
added or removed file is read again and an unchanged one never is.  (A file rewritten within
the filesystem's timestamp resolution at the same size would be missed.)  Errors are not kept:
a broken file raises on every call until it is fixed.

Loaded profiles are frozen dataclasses and are shared: the same object comes back every time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["MAX_ENTRIES", "clear_profile_cache", "parse_once"]

T = TypeVar("T")

#: How many (loader, file set) entries are kept; the oldest goes first.  A process loads a
#: handful of profile sets, so the bound only matters for one that loads from many folders.
MAX_ENTRIES = 64

_lock = threading.Lock()
#: (kind, resolved paths) → (the files' (mtime_ns, size), the loaded value)
_entries: dict[tuple[Hashable, tuple[str, ...]], tuple[tuple[tuple[int, int], ...], Any]] = {}


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None  # the loader reports the missing file in its own words
    return (st.st_mtime_ns, st.st_size)


def parse_once(kind: Hashable, paths: Sequence[Path], load: Callable[[], T]) -> T:
    """``load()``, or what it returned before for the same ``kind`` and unchanged ``paths``.

    ``kind`` names the loader (and anything else its result depends on); ``paths`` are every
    file ``load`` reads.  A file that cannot be stat'ed is never cached.
    """
    names = tuple(str(Path(p).resolve()) for p in paths)
    stamps = [_stamp(Path(n)) for n in names]
    key = (kind, names)
    if any(s is None for s in stamps):
        return load()
    stamp = tuple(s for s in stamps if s is not None)
    with _lock:
        hit = _entries.get(key)
    if hit is not None and hit[0] == stamp:
        return hit[1]  # type: ignore[no-any-return]
    value = load()
    with _lock:
        _entries.pop(key, None)  # re-insert: the newest goes last
        _entries[key] = (stamp, value)
        while len(_entries) > MAX_ENTRIES:
            del _entries[next(iter(_entries))]
    return value


def clear_profile_cache() -> None:
    """Forget every loaded profile (the next load reads the files again)."""
    with _lock:
        _entries.clear()
