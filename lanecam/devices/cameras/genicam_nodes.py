"""Read GenICam node facts through either binding: pypylon's ``genicam`` or the ``genicam`` wheel.

Both wrap the same GenApi C++ library, so node kinds share GenApi's ``EInterfaceType`` numbers;
only the Python spelling differs (``GetMin()`` vs ``.min``).  Each adapter turns one node into a
:class:`~lanecam.devices.cameras.NodeInfo` and reads/writes its value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ...errors import vendor_errors
from .chunks import ChunkMixin
from .node_text import GenapiNodeText, NodeText, PylonNodeText
from .persistence import FeatureFilesMixin
from .profile import FeatureKind
from .sequencer import SequencerMixin
from .types import NodeInfo

# GenApi EInterfaceType (GenApi/Types.h): the same numbers in both bindings.
_KIND_BY_INTERFACE = {
    2: FeatureKind.INT,
    3: FeatureKind.BOOL,
    4: FeatureKind.COMMAND,
    5: FeatureKind.FLOAT,
    6: FeatureKind.STRING,
    9: FeatureKind.ENUM,
}


class PylonNodes:
    """Node access on a pypylon ``INodeMap``."""

    def __init__(self, node_map: Any, genicam: Any) -> None:
        self._nm = node_map
        self._g = genicam

    def _node(self, name: str) -> Any:
        try:
            node = self._nm.GetNode(name)
        except self._g.LogicalErrorException:
            # pypylon 4.x raises "Node not existing" for a node the map lacks; 26.x returns
            # None.  Both mean the same: the model has no such node.
            return None
        if node is None or type(node).__name__ == "PlaceholderParameter":
            return None
        if not self._g.IsAvailable(node):
            return None
        return node

    def info(self, name: str) -> NodeInfo | None:
        node = self._node(name)
        if node is None:
            return None
        kind = _KIND_BY_INTERFACE.get(node.GetNode().GetPrincipalInterfaceType())
        if kind is None:
            return None
        g = self._g
        readable, writable = bool(g.IsReadable(node)), bool(g.IsWritable(node))
        lo = hi = inc = None
        entries: tuple[str, ...] = ()
        unit = ""
        if kind in (FeatureKind.INT, FeatureKind.FLOAT) and readable:
            lo, hi = node.GetMin(), node.GetMax()
            if kind == FeatureKind.INT:
                inc = node.GetInc()
            elif node.HasInc():
                inc = node.GetInc()
            if kind == FeatureKind.FLOAT:
                unit = node.GetUnit()
        elif kind == FeatureKind.ENUM:
            entries = tuple(node.GetSymbolics())
        return NodeInfo(kind, readable, writable, lo, hi, inc, entries, unit)

    def get(self, name: str) -> Any:
        return self._nm.GetNode(name).GetValue()

    def set(self, name: str, value: Any) -> None:
        self._nm.GetNode(name).SetValue(value)

    def execute(self, name: str) -> None:
        self._nm.GetNode(name).Execute()

    def text(self, where: str) -> PylonNodeText:
        """Every node by name, as feature-file text (:mod:`.node_text`)."""
        return PylonNodeText(self._nm, self._g, where)


class GenapiNodes:
    """Node access on a Harvesters ``NodeMap`` (``genicam.genapi``)."""

    def __init__(self, node_map: Any, genapi: Any) -> None:
        self._nm = node_map
        self._g = genapi

    def _node(self, name: str) -> Any:
        if not self._nm.has_node(name):
            return None
        node = self._nm.get_node(name)
        return node if self._g.is_available(node) else None

    def info(self, name: str) -> NodeInfo | None:
        node = self._node(name)
        if node is None:
            return None
        kind = _KIND_BY_INTERFACE.get(node.node.principal_interface_type)
        if kind is None:
            return None
        g = self._g
        readable, writable = bool(g.is_readable(node)), bool(g.is_writable(node))
        lo = hi = inc = None
        entries: tuple[str, ...] = ()
        unit = ""
        if kind in (FeatureKind.INT, FeatureKind.FLOAT) and readable:
            lo, hi = node.min, node.max
            if kind == FeatureKind.INT:
                inc = node.inc
            elif node.has_inc():
                inc = node.inc
            if kind == FeatureKind.FLOAT:
                unit = node.unit
        elif kind == FeatureKind.ENUM:
            entries = tuple(node.symbolics)
        return NodeInfo(kind, readable, writable, lo, hi, inc, entries, unit)

    def get(self, name: str) -> Any:
        return self._nm.get_node(name).value

    def set(self, name: str, value: Any) -> None:
        self._nm.get_node(name).value = value

    def execute(self, name: str) -> None:
        self._nm.get_node(name).execute()

    def text(self, where: str) -> GenapiNodeText:
        """Every node by name, as feature-file text (:mod:`.node_text`)."""
        return GenapiNodeText(self._nm, self._g, where)


class _NodeAccess(Protocol):
    def info(self, name: str) -> NodeInfo | None: ...
    def get(self, name: str) -> Any: ...
    def set(self, name: str, value: Any) -> None: ...
    def execute(self, name: str) -> None: ...
    def text(self, where: str) -> NodeText: ...


class GenicamNodeHooks(FeatureFilesMixin, SequencerMixin, ChunkMixin):
    """The four node hooks of :class:`~lanecam.devices.cameras.Camera` over a node adapter,
    and feature files and user sets (:class:`~.persistence.FeatureFilesMixin`) over its nodes,
    the camera's sequencer (:class:`~.sequencer.SequencerMixin`) and chunk data
    (:class:`~.chunks.ChunkMixin`).

    A backend provides ``_n()`` (its :class:`PylonNodes` / :class:`GenapiNodes`, raising when
    closed) and ``_where()`` (its id for error context); vendor exceptions are translated.
    """

    _n: Callable[[], _NodeAccess]  # the backend's node adapter (raises when closed)
    _where: Callable[[], str]  # the backend's id for error context

    def _do_node_info(self, node: str) -> NodeInfo | None:
        with vendor_errors(self._where(), node):
            return self._n().info(node)

    def _do_get(self, node: str) -> Any:
        with vendor_errors(self._where(), node):
            return self._n().get(node)

    def _do_set(self, node: str, value: Any) -> None:
        with vendor_errors(self._where(), node):
            self._n().set(node, value)

    def _do_execute(self, node: str) -> None:
        with vendor_errors(self._where(), node):
            self._n().execute(node)

    def _do_node_text(self) -> NodeText:
        return self._n().text(self._where())
