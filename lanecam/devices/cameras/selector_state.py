"""Selector state while a feature file is checked, applied, undone or saved.

GenICam selectors (``TriggerSelector``, ``LineSelector``, ``GainSelector`` ...) address which
instance of a feature a read or write reaches.  :class:`Selectors` moves them only when a key
needs another instance, remembers the value each had when it was first touched and puts every
one back afterwards, outer selectors before the ones they select.  :class:`Relations` caches
which selectors (directly or through other selectors) address each node: that is static,
unlike limits and access.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from .node_text import NodeFacts, NodeText

__all__ = ["Context", "Relations", "RestoreFailure", "Selectors"]

log = logging.getLogger(__name__)

#: A key's selector state: ``((selector, value), ...)``, outer selectors first.
Context = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class RestoreFailure:
    """A value lanecam could not put back: which node, the value it tried, and why."""

    name: str
    value: str
    reason: str
    line: int = 0


class Relations:
    """Static facts of a node map: which nodes exist, which are selectors, who selects whom."""

    def __init__(self, nodes: NodeText) -> None:
        self.nodes = nodes
        self._facts: dict[str, NodeFacts | None] = {}
        self._closure: dict[str, tuple[str, ...]] = {}

    def facts(self, name: str) -> NodeFacts | None:
        """The node's facts as first read (use ``nodes.facts`` for live limits/access)."""
        if name not in self._facts:
            self._facts[name] = self.nodes.facts(name)
        return self._facts[name]

    def is_selector(self, name: str) -> bool:
        f = self.facts(name)
        return f is not None and f.is_selector

    def depth(self, name: str, _seen: frozenset[str] = frozenset()) -> int:
        """0 for a selector nothing selects, else one more than its deepest selector."""
        f = self.facts(name)
        if f is None or name in _seen:
            return 0
        parents = [p for p in f.selected_by if self.is_selector(p)]
        return 1 + max((self.depth(p, _seen | {name}) for p in parents), default=-1)

    def selectors_of(self, name: str) -> tuple[str, ...]:
        """Every selector addressing ``name``, directly or through selectors, outer first."""
        if name not in self._closure:
            found: list[str] = []
            todo = [name]
            while todo:
                f = self.facts(todo.pop())
                for p in f.selected_by if f is not None else ():
                    if p not in found and p != name and self.is_selector(p):
                        found.append(p)
                        todo.append(p)
            self._closure[name] = tuple(sorted(found, key=lambda s: (self.depth(s),
                                                                     found.index(s))))
        return self._closure[name]


class Selectors:
    """Moves selectors on demand and puts them back (see the module docstring)."""

    def __init__(self, nodes: NodeText, relations: Relations) -> None:
        self.nodes = nodes
        self.relations = relations
        self.current: dict[str, str] = {}
        self.original: dict[str, str] = {}

    def value(self, name: str) -> str:
        """The selector's value now (read from the camera the first time)."""
        if name not in self.current:
            v = self.nodes.get(name)
            self.current[name] = self.original[name] = v
        return self.current[name]

    def move(self, context: Context) -> None:
        """Point every selector of ``context`` at its value (outer first); raises the camera's
        error if one refuses."""
        for name, value in context:
            if self.value(name) != value:
                self.nodes.set(name, value)
                self.current[name] = value

    def restore(self) -> list[RestoreFailure]:
        """Put every touched selector back (outer first); failures are returned and logged."""
        failures: list[RestoreFailure] = []
        order = sorted(self.original, key=lambda s: (self.relations.depth(s),
                                                     list(self.original).index(s)))
        for name in order:
            want = self.original[name]
            if self.current.get(name) == want:
                continue
            try:
                self.nodes.set(name, want)
                self.current[name] = want
            except Exception as exc:  # noqa: BLE001 - restore the others; the caller reports it
                failures.append(RestoreFailure(name, want, f"{type(exc).__name__}: {exc}"))
                log.warning("%s: could not restore selector %s = %s: %s", self.nodes.where,
                            name, want, exc)
        return failures

    def touched(self) -> Sequence[str]:
        return tuple(self.original)
