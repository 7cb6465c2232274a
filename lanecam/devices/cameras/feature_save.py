"""Saving a camera's settings as a feature file, the way GenApi's ``StoreToBag`` chooses them.

A node is saved when GenApi would persist it: it is streamable, reachable from ``Root`` (a
feature), a value (not a command or category), not itself a selector, readable and writable.
Nodes come in node-map order (pylon's order); values are GenApi's ``ToString`` text, as pylon
writes them, because pylon's validating load compares text (``3.3`` is refused where the camera
says ``3.300e+00``).  A node addressed by selectors is saved once per
selector state: the selector values are written in sequence before it (only when they change)
and the group ends with the selectors' values at save time, so every GenApi (and lanecam) reads
it back under the same state.  Selectors are put back afterwards.

pylon drops a persisted node that is not writable at save time without a word (pypylon issue
#826: ``PixelFormat`` vanished from a file saved while the transport layer was locked); here
such nodes are listed in :attr:`SaveReport.not_writable`, and the camera layer refuses to save
while streaming.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ... import __version__
from ...errors import ConfigError
from .feature_file import DeviceDescription, Entry, format_feature_file
from .node_text import VALUE_KINDS, NodeFacts, NodeKind, NodeText
from .selector_state import Context, Relations, RestoreFailure, Selectors

__all__ = ["MAX_SELECTOR_STATES", "SaveReport", "feature_file_text"]

_SAVED_BY = f"saved by lanecam {__version__}: selector state in sequence"
#: Selector states tried per node; a node with more raises ConfigError (never cut short).
MAX_SELECTOR_STATES = 4096


@dataclass(frozen=True)
class SaveReport:
    """What was saved: entry lines, distinct keys, and persisted nodes left out because the
    camera did not allow writing them at save time (they could not be loaded back)."""

    path: str | None
    device: DeviceDescription
    entries: int
    keys: int
    not_writable: tuple[str, ...]
    selector_restore_failures: tuple[RestoreFailure, ...] = ()


def _persisted(f: NodeFacts | None) -> bool:
    return (f is not None and f.available and f.streamable and f.is_feature
            and f.kind in VALUE_KINDS and not f.is_selector and f.readable)


class _Saver:
    def __init__(self, nodes: NodeText) -> None:
        self.nodes = nodes
        self.rel = Relations(nodes)
        self.sel = Selectors(nodes, self.rel)
        self.entries: list[Entry] = []
        self.file_state: dict[str, str] = {}
        self.not_writable: list[str] = []
        self.keys = 0

    def run(self) -> None:
        for name in self.nodes.names():
            if not _persisted(self.rel.facts(name)):
                continue
            selectors = self.rel.selectors_of(name)
            if selectors:
                self._group(name, selectors)
                continue
            f = self.nodes.facts(name)
            if f is not None and f.writable:
                self.entries.append(Entry(name, self.nodes.to_string(name)))
                self.keys += 1
            else:
                self.not_writable.append(name)

    def _values(self, name: str) -> tuple[str, ...]:
        f = self.nodes.facts(name)
        if f is None or not f.writable or not f.readable:
            return (self.sel.value(name),)
        if f.kind == NodeKind.ENUM:
            return f.available_entries
        if f.kind == NodeKind.BOOL:
            return ("0", "1")
        if f.kind == NodeKind.INT and f.minimum is not None and f.maximum is not None:
            step = f.increment or 1
            count = (int(f.maximum) - int(f.minimum)) // step + 1
            if count > MAX_SELECTOR_STATES:
                raise ConfigError(f"selector has {count} values; too many to save",
                                  device=self.nodes.where, key=name,
                                  allowed=f"≤ {MAX_SELECTOR_STATES}")
            return tuple(str(v) for v in range(int(f.minimum), int(f.maximum) + 1, step))
        return (self.sel.value(name),)

    def _states(self, selectors: tuple[str, ...], outer: Context = ()) -> Iterator[Context]:
        """Every selector state, outer selectors first; inner values are read under each
        outer value (they can depend on it)."""
        if not selectors:
            yield outer
            return
        first, rest = selectors[0], selectors[1:]
        self.sel.move(outer)
        for v in self._values(first):
            yield from self._states(rest, (*outer, (first, v)))

    def _group(self, name: str, selectors: tuple[str, ...]) -> None:
        wrote, blocked, n = False, False, 0
        for state in self._states(selectors):
            n += 1
            if n > MAX_SELECTOR_STATES:
                raise ConfigError("too many selector states to save", device=self.nodes.where,
                                  key=name, allowed=f"≤ {MAX_SELECTOR_STATES}")
            self.sel.move(state)
            f = self.nodes.facts(name)
            if f is None or not f.available or not f.readable:
                continue
            if not f.writable:
                blocked = True
                continue
            for s, v in state:
                if self.file_state.get(s) != v:
                    self.entries.append(Entry(s, v))
                    self.file_state[s] = v
            self.entries.append(Entry(name, self.nodes.to_string(name)))
            self.keys += 1
            wrote = True
        if blocked and not wrote:
            self.not_writable.append(name)
        if wrote:  # end the group where the camera was: GenApi does the same
            back = tuple((s, self.sel.original[s]) for s in selectors)
            for s, v in back:
                self.entries.append(Entry(s, v))
                self.file_state[s] = v
            self.sel.move(back)


def feature_file_text(nodes: NodeText, *, crlf: bool = False) -> tuple[str, SaveReport]:
    """The camera's feature file as text, and what it holds (``path`` is None)."""
    saver = _Saver(nodes)
    try:
        saver.run()
    except BaseException:
        saver.sel.restore()
        raise
    failures = saver.sel.restore()
    device = nodes.device()
    text = format_feature_file(saver.entries, device, genapi_version=nodes.genapi_version(),
                               comments=(_SAVED_BY,), crlf=crlf)
    return text, SaveReport(None, device, len(saver.entries), saver.keys,
                            tuple(saver.not_writable), tuple(failures))
