"""Will the camera take this feature-file value?  Checked on GenApi's facts, before any write.

Pure functions: :func:`canonical_value` turns a file's value text into the exact text lanecam
writes (``0640`` → ``640``, ``1e3`` → ``1000.0``, ``true`` → ``1``, trailing spaces dropped
except in strings, ``GENICAM_EMPTY_STRING`` → empty) or raises :class:`ValueRejected` with a
:data:`PROBLEM_KINDS` code and what would have been allowed.  Limits are the node's live ones
under the file's selector state at that point of the file; a later key of the same file can
still fail when an earlier one moves its limits (that failure is caught at the write and
rolled back).
"""

from __future__ import annotations

import math
import re

from .feature_file import EMPTY_STRING
from .node_text import NodeFacts, NodeKind

__all__ = ["PROBLEM_KINDS", "ValueRejected", "canonical_value", "parse_int"]

#: Why a key of a feature file is not written (``KeyProblem.kind``).
PROBLEM_KINDS = frozenset({
    "missing",                  # the camera has no such node
    "unavailable",              # the node exists but is not available now
    "read_only",                # not writable now (or ever)
    "write_only",               # not readable: its previous value cannot be kept for undo
    "not_a_value",              # a command or category
    "bad_value",                # the text is no value of the node's type
    "out_of_range",             # outside the node's live minimum/maximum
    "off_increment",            # not on the node's increment
    "not_listed",               # not in the node's list of valid values
    "unknown_entry",            # the enumeration has no such entry
    "entry_unavailable",        # the entry exists but is not available now
    "too_long",                 # longer than the string node allows
    "wrong_length",             # a register dump of another length
    "under_rejected_selector",  # selected by a selector whose file value was rejected
    "conflicting",              # written more than once under one selector state, differently
})

_HEX = re.compile(r"0[xX][0-9a-fA-F]+\Z")
_DEC = re.compile(r"[+-]?[0-9]+\Z")


class ValueRejected(Exception):
    """A value the node will not take: ``kind`` (in :data:`PROBLEM_KINDS`) and ``allowed``."""

    def __init__(self, kind: str, allowed: str | None = None) -> None:
        if kind not in PROBLEM_KINDS:
            raise ValueError(f"unknown problem kind {kind!r}")
        self.kind = kind
        self.allowed = allowed
        super().__init__(kind)


def parse_int(text: str) -> int | None:
    """A GenApi integer text (decimal, or ``0x`` hex for hex-represented nodes), else None."""
    t = text.strip()
    if _DEC.match(t):
        return int(t, 10)
    if _HEX.match(t):
        return int(t, 16)
    return None


def _range(f: NodeFacts) -> str:
    step = f" step {f.increment}" if f.increment not in (None, 0, 1) else ""
    return f"[{f.minimum}, {f.maximum}]{step}"


def _int(f: NodeFacts, text: str) -> str:
    v = parse_int(text)
    if v is None:
        raise ValueRejected("bad_value", "an integer")
    if f.valid_values:
        if v not in f.valid_values:
            raise ValueRejected("not_listed", ", ".join(map(str, f.valid_values)))
        return str(v)
    if (f.minimum is not None and v < f.minimum) or (f.maximum is not None and v > f.maximum):
        raise ValueRejected("out_of_range", _range(f))
    if f.increment and f.minimum is not None and (v - int(f.minimum)) % f.increment:
        raise ValueRejected("off_increment", _range(f))
    return str(v)


def _float(f: NodeFacts, text: str) -> str:
    try:
        v = float(text.strip())
    except ValueError:
        raise ValueRejected("bad_value", "a number") from None
    if not math.isfinite(v):
        raise ValueRejected("bad_value", "a finite number")
    if (f.minimum is not None and v < f.minimum) or (f.maximum is not None and v > f.maximum):
        raise ValueRejected("out_of_range", _range(f))
    return repr(v)


def _bool(text: str) -> str:
    t = text.strip()
    if t in ("1", "true"):
        return "1"
    if t in ("0", "false"):
        return "0"
    raise ValueRejected("bad_value", "0, 1, true, false")  # GenApi refuses "True", "Off"


def _enum(f: NodeFacts, text: str) -> str:
    t = text.strip()
    if t in f.available_entries:
        return t
    allowed = ", ".join(f.available_entries)
    raise ValueRejected("entry_unavailable" if t in f.entries else "unknown_entry", allowed)


def _string(f: NodeFacts, text: str) -> str:
    v = "" if text == EMPTY_STRING else text
    if f.max_length is not None and len(v.encode("utf-8")) > f.max_length:
        raise ValueRejected("too_long", f"at most {f.max_length} bytes")
    return v


def _register(f: NodeFacts, text: str) -> str:
    t = text.strip()
    if not _HEX.match(t):
        raise ValueRejected("bad_value", "0x and hex digits")
    if f.length is not None and len(t) - 2 != 2 * f.length:
        raise ValueRejected("wrong_length", f"{f.length} bytes ({2 * f.length} hex digits)")
    return t


def canonical_value(f: NodeFacts, text: str) -> str:
    """The exact text to write for a file's value ``text``, or :class:`ValueRejected`."""
    if f.kind == NodeKind.INT:
        return _int(f, text)
    if f.kind == NodeKind.FLOAT:
        return _float(f, text)
    if f.kind == NodeKind.BOOL:
        return _bool(text)
    if f.kind == NodeKind.ENUM:
        return _enum(f, text)
    if f.kind == NodeKind.STRING:
        return _string(f, text)
    if f.kind == NodeKind.REGISTER:
        return _register(f, text)
    raise ValueRejected("not_a_value")
