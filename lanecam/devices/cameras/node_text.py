"""GenICam nodes as text, the way feature files hold them, through either GenApi binding.

Feature files (:mod:`.feature_file`) carry any node of a camera, not only lanecam's canonical
features, so this layer reads and writes nodes by name, as the exact text of their value, and
reports what GenApi knows about each: its kind, access, whether it is persisted (streamable,
reachable from ``Root``), which selectors select it, its live limits or entries.

:meth:`NodeText.get` is exact, for putting a value back: a float is ``repr`` of the double
(``ToString`` rounds it to the description's display precision), an integer is decimal, a
boolean ``0``/``1``, an enumeration its symbolic name, a register its ``0x`` hex dump, a string
itself.  :meth:`NodeText.to_string` is GenApi's ``ToString``: what pylon writes into a file and
what its validating load compares the camera's value with, text for text (``3.300e+00``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Protocol

from ...errors import vendor_errors
from .feature_file import DeviceDescription

__all__ = [
    "VALUE_KINDS",
    "GenapiNodeText",
    "NodeFacts",
    "NodeKind",
    "NodeText",
    "PylonNodeText",
]


class NodeKind(enum.Enum):
    """GenApi interface types that matter here (GenApi/Types.h EInterfaceType numbers)."""

    INT = 2
    BOOL = 3
    COMMAND = 4
    FLOAT = 5
    STRING = 6
    REGISTER = 7
    CATEGORY = 8
    ENUM = 9
    OTHER = -1


#: Kinds whose value a feature file carries.
VALUE_KINDS = frozenset({NodeKind.INT, NodeKind.BOOL, NodeKind.FLOAT, NodeKind.STRING,
                         NodeKind.REGISTER, NodeKind.ENUM})


def _kind(interface: int) -> NodeKind:
    try:
        return NodeKind(interface)
    except ValueError:
        return NodeKind.OTHER


@dataclass(frozen=True)
class NodeFacts:
    """What GenApi says about one node now (limits and access follow the selector state)."""

    name: str
    kind: NodeKind
    available: bool
    readable: bool = False
    writable: bool = False
    streamable: bool = False
    is_feature: bool = False
    selects: tuple[str, ...] = ()      # features this node selects (a selector's)
    selected_by: tuple[str, ...] = ()  # selectors that select this node directly
    minimum: int | float | None = None
    maximum: int | float | None = None
    increment: int | None = None
    valid_values: tuple[int, ...] = ()  # integer nodes with a list of valid values
    entries: tuple[str, ...] = ()       # every entry of an enumeration
    available_entries: tuple[str, ...] = ()
    max_length: int | None = None       # strings
    length: int | None = None           # registers, in bytes

    @property
    def is_selector(self) -> bool:
        return bool(self.selects)


class NodeText(Protocol):
    """Text access to one camera's node map (``where`` names the camera in errors)."""

    where: str

    def device(self) -> DeviceDescription: ...
    def genapi_version(self) -> str: ...
    def names(self) -> tuple[str, ...]: ...
    def facts(self, name: str) -> NodeFacts | None: ...
    def get(self, name: str) -> str: ...
    def to_string(self, name: str) -> str: ...
    def set(self, name: str, text: str) -> None: ...
    def execute(self, name: str) -> None: ...
    def invalidate(self) -> None: ...


def _exact(kind: NodeKind, value: Any, to_string: Any) -> str:
    if kind == NodeKind.FLOAT:
        return repr(float(value))
    if kind == NodeKind.INT:
        return str(int(value))
    if kind == NodeKind.BOOL:
        return "1" if value else "0"
    if kind == NodeKind.STRING:
        return str(value)
    return str(to_string())


def _version(v: Any) -> str:
    return f"{v.Major}.{v.Minor}.{getattr(v, 'SubMinor', 0)}"


class PylonNodeText:
    """:class:`NodeText` over a pypylon ``INodeMap``."""

    def __init__(self, node_map: Any, genicam: Any, where: str) -> None:
        self._nm, self._g, self.where = node_map, genicam, where

    def _node(self, name: str) -> Any:
        try:
            node = self._nm.GetNode(name)
        except self._g.LogicalErrorException:  # pypylon 4.x: "Node not existing"
            return None
        if node is None or type(node).__name__ == "PlaceholderParameter":
            return None
        return node

    def device(self) -> DeviceDescription:
        # through IDeviceInfo: pypylon 4.x's INodeMap has no GetVendorName() & co. (its
        # __getattr__ turns the call into GetNode("GetVendorName"): "Node not existing")
        with vendor_errors(self.where, "<device description>"):
            d = self._nm.GetDeviceInfo()
            return DeviceDescription(d.GetVendorName(), d.GetModelName(), d.GetToolTip(),
                                     _version(d.GetDeviceVersion()), d.GetProductGuid(),
                                     d.GetVersionGuid())

    def genapi_version(self) -> str:
        with vendor_errors(self.where, "<GenApi version>"):
            return _version(self._nm.GetDeviceInfo().GetGenApiVersion()[0])

    def names(self) -> tuple[str, ...]:
        with vendor_errors(self.where, "<nodes>"):
            return tuple(n.GetNode().GetName() for n in self._nm.GetNodes())

    def facts(self, name: str) -> NodeFacts | None:
        with vendor_errors(self.where, name):
            node = self._node(name)
            if node is None:
                return None
            g, nd = self._g, node.GetNode()
            kind = _kind(nd.GetPrincipalInterfaceType())
            if not g.IsAvailable(node):
                return NodeFacts(name, kind, available=False)
            readable = bool(g.IsReadable(node))
            return NodeFacts(
                name, kind, True, readable=readable, writable=bool(g.IsWritable(node)),
                streamable=bool(nd.IsStreamable()), is_feature=bool(nd.IsFeature()),
                selects=tuple(_pylon_name(x) for x in nd.GetSelectedFeatures()),
                selected_by=tuple(_pylon_name(x) for x in nd.GetSelectingFeatures()),
                **self._limits(node, kind, readable))

    def _limits(self, node: Any, kind: NodeKind, readable: bool) -> dict[str, Any]:
        if kind == NodeKind.ENUM:
            entries = list(node.GetEntries())
            return {"entries": tuple(e.GetSymbolic() for e in entries),
                    "available_entries": tuple(e.GetSymbolic() for e in entries
                                               if self._g.IsAvailable(e))}
        if not readable:
            return {}
        if kind == NodeKind.INT:
            listed = tuple(node.GetListOfValidValues()) if node.GetIncMode() == 2 else ()
            return {"minimum": node.GetMin(), "maximum": node.GetMax(),
                    "increment": node.GetInc(), "valid_values": listed}
        if kind == NodeKind.FLOAT:
            return {"minimum": node.GetMin(), "maximum": node.GetMax()}
        if kind == NodeKind.STRING:
            return {"max_length": node.GetMaxLength()}
        if kind == NodeKind.REGISTER:
            return {"length": node.GetLength()}
        return {}

    def get(self, name: str) -> str:
        with vendor_errors(self.where, name):
            node = self._nm.GetNode(name)
            kind = _kind(node.GetNode().GetPrincipalInterfaceType())
            value = node.GetValue() if kind in (NodeKind.INT, NodeKind.FLOAT, NodeKind.BOOL,
                                                NodeKind.STRING) else None
            return _exact(kind, value, node.ToString)

    def to_string(self, name: str) -> str:
        """GenApi's own text for the value (what pylon writes and its validation compares)."""
        with vendor_errors(self.where, name):
            return str(self._nm.GetNode(name).ToString())

    def set(self, name: str, text: str) -> None:
        with vendor_errors(self.where, name):
            node = self._nm.GetNode(name)
            kind = _kind(node.GetNode().GetPrincipalInterfaceType())
            _set(node, kind, text, node.SetValue, node.FromString)

    def execute(self, name: str) -> None:
        with vendor_errors(self.where, name):
            self._nm.GetNode(name).Execute()

    def invalidate(self) -> None:
        """Drop GenApi's cached values (the camera changed them itself, e.g. UserSetLoad)."""
        with vendor_errors(self.where, "<nodes>"):
            self._nm.InvalidateNodes()


def _pylon_name(x: Any) -> str:
    return str(x.GetNode().GetName() if hasattr(x, "GetNode") else x.GetName())


def _set(node: Any, kind: NodeKind, text: str, set_value: Any, from_string: Any) -> None:
    if kind == NodeKind.STRING:
        set_value(text)
    elif kind == NodeKind.INT:
        set_value(int(text))
    elif kind == NodeKind.FLOAT:
        set_value(float(text))
    elif kind == NodeKind.BOOL:
        set_value(text == "1")
    else:
        from_string(text)


class GenapiNodeText:
    """:class:`NodeText` over a ``genicam.genapi`` node map (Harvesters)."""

    def __init__(self, node_map: Any, genapi: Any, where: str) -> None:
        self._nm, self._g, self.where = node_map, genapi, where

    def device(self) -> DeviceDescription:
        with vendor_errors(self.where, "<device description>"):
            d = self._nm.device_info
            return DeviceDescription(d.vendor_name, d.model_name, d.tooltip,
                                     _version(d.get_device_version()), d.product_guid,
                                     d.version_guid)

    def genapi_version(self) -> str:
        with vendor_errors(self.where, "<GenApi version>"):
            return _version(self._nm.device_info.genapi_version[0])

    def names(self) -> tuple[str, ...]:
        with vendor_errors(self.where, "<nodes>"):
            return tuple(n.node.name for n in self._nm._get_nodes())

    def facts(self, name: str) -> NodeFacts | None:
        with vendor_errors(self.where, name):
            if not self._nm.has_node(name):
                return None
            node = self._nm.get_node(name)
            g, nd = self._g, node.node
            kind = _kind(nd.principal_interface_type)
            if not g.is_available(node):
                return NodeFacts(name, kind, available=False)
            readable = bool(g.is_readable(node))
            return NodeFacts(
                name, kind, True, readable=readable, writable=bool(g.is_writable(node)),
                streamable=bool(nd.is_streamable()), is_feature=bool(nd.is_feature()),
                selects=tuple(x.node.name for x in nd.selected_features),
                selected_by=tuple(x.node.name for x in nd.selecting_features),
                **self._limits(node, kind, readable))

    def _limits(self, node: Any, kind: NodeKind, readable: bool) -> dict[str, Any]:
        if kind == NodeKind.ENUM:
            entries = list(node.entries)
            return {"entries": tuple(e.symbolic for e in entries),
                    "available_entries": tuple(e.symbolic for e in entries
                                               if self._g.is_available(e))}
        if not readable:
            return {}
        if kind == NodeKind.INT:
            listed = tuple(node.list_of_valid_values) if node.inc_mode == 2 else ()
            return {"minimum": node.min, "maximum": node.max, "increment": node.inc,
                    "valid_values": listed}
        if kind == NodeKind.FLOAT:
            return {"minimum": node.min, "maximum": node.max}
        if kind == NodeKind.STRING:
            return {"max_length": node.max_length}
        if kind == NodeKind.REGISTER:
            return {"length": node.length}
        return {}

    def get(self, name: str) -> str:
        with vendor_errors(self.where, name):
            node = self._nm.get_node(name)
            kind = _kind(node.node.principal_interface_type)
            value = node.value if kind in (NodeKind.INT, NodeKind.FLOAT, NodeKind.BOOL,
                                           NodeKind.STRING) else None
            return _exact(kind, value, node.to_string)

    def to_string(self, name: str) -> str:
        """GenApi's own text for the value (what pylon writes and its validation compares)."""
        with vendor_errors(self.where, name):
            return str(self._nm.get_node(name).to_string())

    def set(self, name: str, text: str) -> None:
        with vendor_errors(self.where, name):
            node = self._nm.get_node(name)
            kind = _kind(node.node.principal_interface_type)

            def set_value(v: Any) -> None:
                node.value = v

            _set(node, kind, text, set_value, node.from_string)

    def execute(self, name: str) -> None:
        with vendor_errors(self.where, name):
            self._nm.get_node(name).execute()

    def invalidate(self) -> None:
        """Drop GenApi's cached values (the camera changed them itself, e.g. UserSetLoad)."""
        with vendor_errors(self.where, "<nodes>"):
            self._nm._invalidate_nodes()  # the genicam binding exposes only this spelling
