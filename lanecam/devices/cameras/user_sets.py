"""User sets: the settings a camera keeps in its own flash (GenICam ``UserSetControl``).

``UserSetSelector`` picks a set (``Default`` is the factory set, ``UserSet1``..; Basler also
ships factory sets such as ``HighGain``, ``AutoFunctions``), ``UserSetLoad`` makes it the
active settings, ``UserSetSave`` stores the active settings into it (factory sets cannot be
overwritten), and the startup set, loaded at power-on or reset, is ``UserSetDefault`` (SFNC 2:
ace 2, ace USB, boost, dart) or ``UserSetDefaultSelector`` (ace classic GigE, CameraLink).
Sources: docs.baslerweb.com PLCamera.UserSetSelectorEnum, UserSetDefaultEnum,
UserSetDefaultSelectorEnum.

A feature file survives nothing on the camera: after a power cycle the camera runs its
startup set.  To commission a lane, load the ``.pfs`` (:meth:`load_settings`), save it into a
user set and make that set the startup set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

from ...errors import DeviceError, LimitError, UnsupportedFeatureError
from .node_text import NodeFacts, NodeText

__all__ = ["LOAD", "SAVE", "SELECTOR", "STARTUP_NODES", "UserSets"]

SELECTOR, LOAD, SAVE = "UserSetSelector", "UserSetLoad", "UserSetSave"
#: The startup-set node, SFNC 2 name first.
STARTUP_NODES = ("UserSetDefault", "UserSetDefaultSelector")


class UserSets:
    """A camera's user sets.  ``session`` yields the camera's node access under its lock
    (open, not streaming); ``after_load`` runs once a set became the active settings."""

    def __init__(self, session: Callable[[str], AbstractContextManager[NodeText]],
                 after_load: Callable[[], None]) -> None:
        self._session = session
        self._after_load = after_load

    @staticmethod
    def _need(nodes: NodeText, name: str) -> NodeFacts:
        f = nodes.facts(name)
        if f is None or not f.available:
            raise UnsupportedFeatureError(f"the camera has no {name}", device=nodes.where,
                                          feature=name)
        return f

    def names(self) -> tuple[str, ...]:
        """The sets ``UserSetSelector`` offers now."""
        with self._session("user_sets") as nodes:
            return self._need(nodes, SELECTOR).available_entries

    def selected(self) -> str:
        """The set ``UserSetSelector`` points at."""
        with self._session("user_sets") as nodes:
            self._need(nodes, SELECTOR)
            return nodes.get(SELECTOR)

    def _select(self, nodes: NodeText, name: str) -> None:
        f = self._need(nodes, SELECTOR)
        if name not in f.available_entries:
            raise LimitError("no such user set", device=nodes.where, key="user_set",
                             allowed=list(f.available_entries))
        nodes.set(SELECTOR, name)

    def _run(self, nodes: NodeText, command: str, name: str) -> None:
        self._select(nodes, name)
        f = self._need(nodes, command)
        if not f.writable:
            raise LimitError(f"{command} is not allowed for this set (factory sets are "
                             "read-only)", device=nodes.where, key="user_set",
                             allowed=list(self._writable_sets(nodes, command)))
        nodes.execute(command)

    def _writable_sets(self, nodes: NodeText, command: str) -> Iterator[str]:
        before = nodes.get(SELECTOR)
        try:
            for s in self._need(nodes, SELECTOR).available_entries:
                nodes.set(SELECTOR, s)
                f = nodes.facts(command)
                if f is not None and f.writable:
                    yield s
        finally:
            nodes.set(SELECTOR, before)

    def load(self, name: str) -> None:
        """Make set ``name`` the active settings (``UserSetLoad``)."""
        with self._session("user_set_load") as nodes:
            self._run(nodes, LOAD, name)
            nodes.invalidate()  # every value may have changed behind GenApi's cache
        self._after_load()

    def save(self, name: str) -> None:
        """Store the active settings into set ``name`` (``UserSetSave``); LimitError for a
        set the camera will not overwrite."""
        with self._session("user_set_save") as nodes:
            self._run(nodes, SAVE, name)

    def _startup_node(self, nodes: NodeText) -> tuple[str, NodeFacts]:
        for node in STARTUP_NODES:
            f = nodes.facts(node)
            if f is not None and f.available:
                return node, f
        raise UnsupportedFeatureError("the camera has no startup user set node",
                                      device=nodes.where, feature=STARTUP_NODES[0],
                                      allowed=list(STARTUP_NODES))

    def startup(self) -> str:
        """The set the camera loads at power-on."""
        with self._session("user_sets") as nodes:
            node, _ = self._startup_node(nodes)
            return nodes.get(node)

    def set_startup(self, name: str) -> None:
        """Make set ``name`` the one loaded at power-on."""
        with self._session("user_set_startup") as nodes:
            node, f = self._startup_node(nodes)
            if name not in f.available_entries:
                raise LimitError("not a startup set", device=nodes.where, key="user_set",
                                 allowed=list(f.available_entries))
            if not f.writable:
                raise DeviceError(f"{node} is not writable now", device=nodes.where,
                                  feature=node)
            nodes.set(node, name)
