"""A camera's GenICam XML loaded into the real GenApi engine, with no device behind it.

The ``genicam`` wheel's GenApi reads and writes registers through a *port*; here the port is
:class:`RegisterPort`, a Python ``genicam.genapi.AbstractPort`` over :class:`RegisterSpace`
(register memory in 4 KiB ``bytearray`` pages, so XMLs whose registers sit at addresses such as
``0xF0F00000`` cost a page, not gigabytes).  This is the way Harvesters connects a GenTL port
(``NodeMap.connect(port, "Device")``), with memory in place of a transport.

A vendor XML says where each value lives but not what the device holds there: with blank
memory most features of a real XML read "not implemented".  :class:`XmlDevice` therefore seeds
a plausible register image first (:mod:`.genicam_seed`, through GenApi itself), then loads the
*unmodified* XML on that memory: access modes, selectors, ranges and increments are the
vendor's, computed by GenApi.

Units: none here; values are node values.
"""

from __future__ import annotations

import logging
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET

from ...errors import ConfigError
from .genicam_elements import element_text, index_elements, local_tag

if TYPE_CHECKING:
    from .genicam_seed import SeedReport

__all__ = ["RegisterPort", "RegisterSpace", "XmlDevice", "XmlSource", "read_xml"]

log = logging.getLogger(__name__)

_PAGE = 4096


class RegisterSpace:
    """Sparse register memory: 4 KiB ``bytearray`` pages, zero until written."""

    def __init__(self) -> None:
        self._pages: dict[int, bytearray] = {}
        self.reads = 0
        self.writes = 0

    def read(self, address: int, length: int) -> bytes:
        self.reads += 1
        return bytes(self._byte(address + i) for i in range(length))

    def write(self, address: int, data: bytes) -> None:
        self.writes += 1
        for i, b in enumerate(data):
            page = self._pages.setdefault((address + i) // _PAGE, bytearray(_PAGE))
            page[(address + i) % _PAGE] = b

    def _byte(self, address: int) -> int:
        page = self._pages.get(address // _PAGE)
        return 0 if page is None else page[address % _PAGE]

    @property
    def pages(self) -> int:
        return len(self._pages)


def _port_class() -> type:
    """``RegisterPort`` needs ``genicam`` at class creation: made on first use."""
    from genicam.genapi import AbstractPort, EAccessMode

    class _RegisterPort(AbstractPort):  # type: ignore[misc]  # SWIG director class
        """A GenApi port over a :class:`RegisterSpace` (read/write always allowed)."""

        def __init__(self, space: RegisterSpace) -> None:
            super().__init__()
            self.space = space

        def get_access_mode(self) -> Any:
            return EAccessMode.RW

        def read(self, address: int, length: int) -> bytes:
            return self.space.read(int(address), int(length))

        def write(self, address: int, value: Any) -> None:
            self.space.write(int(address), bytes(value))

    return _RegisterPort


_PORT_CLASS: type | None = None


def RegisterPort(space: RegisterSpace) -> Any:
    """A ``genicam.genapi.AbstractPort`` reading and writing ``space``."""
    global _PORT_CLASS
    if _PORT_CLASS is None:
        _PORT_CLASS = _port_class()
    return _PORT_CLASS(space)


@dataclass(frozen=True)
class XmlSource:
    """A GenICam XML as text, and what was stripped from before its first element."""

    text: str
    origin: str
    prefix: str = ""  # junk before the XML (some tools prepend an id line); "" when clean
    padded: int = 0  # element values trimmed of whitespace a re-indenting tool put there

    @property
    def root(self) -> ET.Element:
        return ET.fromstring(self.text.encode("utf-8"))


def read_xml(path: Path | str) -> XmlSource:
    """A device description from an ``.xml`` file or a ``.zip`` holding one.

    Text before the first ``<`` (``arv-tool`` and some viewers prepend a line such as
    ``Basler-acA2040-35gm-23186103 (169.254.184.157)``) is stripped, logged as a warning and
    kept in :attr:`XmlSource.prefix`.  ConfigError (``key="xml"``) when there is no XML in the
    file at all or it does not parse.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError("GenICam XML file not found", key="xml", allowed=str(p))
    data = p.read_bytes()
    if data[:4] == b"PK\x03\x04":
        data = _from_zip(p)
    text = data.decode("utf-8-sig", errors="replace")
    start = text.find("<")
    if start < 0:
        raise ConfigError(f"{p.name} holds no XML", key="xml", allowed="a GenICam XML file")
    prefix = text[:start].strip()
    text, padded = _unpad(text)
    if prefix:
        log.warning("%s: stripped %d characters before the XML: %r", p.name, start, prefix[:80])
    if padded:
        log.warning("%s: %d element values were padded with whitespace (a re-indented file); "
                    "trimmed", p.name, padded)
    src = XmlSource(text[start:], str(p), prefix, padded)
    try:
        root = src.root
    except ET.ParseError as exc:
        raise ConfigError(f"{p.name} is not well-formed XML: {exc}", key="xml") from exc
    if local_tag(root) != "RegisterDescription":
        raise ConfigError(f"{p.name} is not a GenICam description (root <{local_tag(root)}>)",
                          key="xml", allowed="<RegisterDescription>")
    return src


_PADDED = re.compile(r">[ \t\r\n]*\n[ \t\r\n]*([\w.:+-]+)[ \t\r\n]*\n[ \t\r\n]*<")


def _unpad(text: str) -> tuple[str, int]:
    """``<Visibility>⏎  Beginner⏎</Visibility>`` → ``<Visibility>Beginner</Visibility>``: one
    token on a line of its own.  GenApi rejects padded enumeration values ("value is not in
    enumeration"); a file re-indented by an XML tool has thousands."""
    return _PADDED.subn(lambda m: f">{m.group(1)}<", text)


def _from_zip(p: Path) -> bytes:
    with zipfile.ZipFile(p) as z:
        names = [n for n in z.namelist() if n.lower().endswith(".xml")]
        if len(names) != 1:
            raise ConfigError(f"{p.name} must hold exactly one .xml", key="xml", allowed=names)
        return z.read(names[0])




class XmlDevice:
    """One XML on one :class:`RegisterSpace`: the vendor's node map, ready to read and write.

    ``nodemap`` is the ``genicam.genapi.NodeMap`` of the unmodified XML, connected to a
    :func:`RegisterPort` (``port_name`` is the XML's ``<Port>``, ``"Device"`` by default).
    """

    def __init__(self, source: XmlSource, *, seed: bool = True, port_name: str = "Device") -> None:
        self.source = source
        self.space = RegisterSpace()
        self.port_name = port_name
        root = source.root
        self.vendor_name = root.get("VendorName", "")
        self.model_name = root.get("ModelName", "")
        self.elements = index_elements(root)
        self.nodemap = self._load(source.text)  # GenApi's own check of the XML, first
        self.seed_report: SeedReport | None = None
        if seed:
            from .genicam_seed import seed_isolated

            self.seed_report = seed_isolated(self)
            self.nodemap._invalidate_nodes()

    def closure(self, names: Iterable[str], skip: Iterable[str] = (),
                 links: tuple[str, ...] = ("pVariable", "pValue")) -> set[str]:
        """``names`` and every node they read through ``links``, not entering ``skip``."""
        out: set[str] = set()
        todo, skipped = list(names), set(skip)
        while todo:
            name = todo.pop()
            if name in out or name in skipped or name not in self.elements:
                continue
            out.add(name)
            todo += [element_text(s) for s in self.elements[name] if local_tag(s) in links]
        return out

    def _load(self, text: str) -> Any:
        from genicam.genapi import GenericException, NodeMap

        nm = NodeMap()
        try:
            nm.load_xml_from_string(text)
        except GenericException as exc:
            first = str(exc).splitlines()[0][:300]
            raise ConfigError(f"GenApi refuses {Path(self.source.origin).name}: {first}",
                              key="xml") from exc
        nm.connect(RegisterPort(self.space), self.port_name)
        return nm

    def writable_clone(self) -> Any:
        """A node map of the same XML on the same memory with every register writable."""
        text = re.sub(r"<AccessMode>\s*R[OW]\s*</AccessMode>", "<AccessMode>RW</AccessMode>",
                      self.source.text)
        text = re.sub(r"<ImposedAccessMode>\s*RO\s*</ImposedAccessMode>",
                      "<ImposedAccessMode>RW</ImposedAccessMode>", text)
        text = re.sub(r"<pIsLocked>[^<]*</pIsLocked>", "", text)
        return self._load(text)

    def seed(self, rep: SeedReport | None = None) -> SeedReport:
        """Write a plausible register image in this process (:class:`.genicam_seed.Seeder`);
        :func:`.genicam_seed.seed_isolated` runs it where a crash cannot hurt."""
        from .genicam_seed import Seeder, SeedReport

        return Seeder(self).run(rep or SeedReport())

