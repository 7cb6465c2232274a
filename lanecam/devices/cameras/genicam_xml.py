"""A camera's GenICam XML loaded into the real GenApi engine, with no device behind it.

The ``genicam`` wheel's GenApi reads and writes registers through a *port*; here the port is
:class:`RegisterPort`, a Python ``genicam.genapi.AbstractPort`` over :class:`RegisterSpace`
(register memory in 4 KiB ``bytearray`` pages, so XMLs whose registers sit at addresses such as
``0xF0F00000`` cost a page, not gigabytes).  This is the way Harvesters connects a GenTL port
(``NodeMap.connect(port, "Device")``), with memory in place of a transport.

A vendor XML says where each value lives but not what the device holds there: with blank
memory most features of a real XML read "not implemented".  :meth:`XmlDevice.seed` therefore
writes a plausible register image *through GenApi itself*, on a second node map of the same
XML in which every register is writable (``AccessMode RO`` → ``RW``, no ``pIsLocked``): the
nodes that say a feature is implemented or available are set true, range registers get a
range (min 0, or 1 where a formula divides by it; max as large as the register holds, up
to 1e6), and every feature gets its first
valid value.  The *unmodified* XML is then loaded on the same memory and is what callers use,
so access modes, selectors, ranges and increments are the vendor's, checked by GenApi.

Units: none here; values are node values.
"""

from __future__ import annotations

import logging
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from genicam.genapi import GenericException

from ...errors import ConfigError

__all__ = ["RegisterPort", "RegisterSpace", "SeedReport", "XmlDevice", "XmlSource", "read_xml",
           "seed_isolated"]

log = logging.getLogger(__name__)

_PAGE = 4096
#: register node types whose value lives in memory (GenApi schema)
_REGISTER_TAGS = {"IntReg", "MaskedIntReg", "FloatReg", "StringReg", "Register", "StructReg",
                  "StructEntry"}
#: nodes the seeder writes directly (converters are written through their inverse formula)
_SETTABLE = _REGISTER_TAGS | {"Integer", "Float", "Converter", "IntConverter"}
#: candidate maxima for a range register, largest first (a 1-byte register takes 255)
_MAX_CANDIDATES = (1_000_000, 65535, 4095, 255, 1)


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
    if _tag(root) != "RegisterDescription":
        raise ConfigError(f"{p.name} is not a GenICam description (root <{_tag(root)}>)",
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


def _tag(e: ET.Element) -> str:
    return e.tag.rsplit("}", 1)[-1]


def _text(e: ET.Element | None) -> str:
    return "" if e is None or e.text is None else e.text.strip()


@dataclass
class SeedReport:
    """What :meth:`XmlDevice.seed` wrote and what it could not."""

    written: int = 0
    failed: list[str] = field(default_factory=list)
    #: nodes whose write killed a seeding process (a formula dividing by zero): skipped
    crashed: list[str] = field(default_factory=list)
    skip: frozenset[str] = frozenset()
    journal: Callable[[str], None] | None = None

    def attempt(self, name: str) -> bool:
        """Note an attempt to write ``name``; False when it is to be skipped."""
        if name in self.skip:
            return False
        if self.journal is not None:
            self.journal(name)
        return True


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
        self.elements = _index(root)
        #: nodes holding a feature's value (``pValue`` targets): never lit up as flags
        self._values = self._closure((_text(sub) for el in self.elements.values() for sub in el
                                      if _tag(sub) == "pValue"), links=("pValue",))
        #: nodes a ``pIsLocked`` formula reads: left at 0 (unlocked)
        self._locks = self._closure(_text(sub) for el in self.elements.values() for sub in el
                                    if _tag(sub) == "pIsLocked")
        #: nodes giving another node's range: seeded as ranges, never reset to their minimum
        self._ranges = {_text(sub) for el in self.elements.values() for sub in el
                        if _tag(sub) in ("pMin", "pMax", "pInc")}
        #: what selectors hold (an Enumeration's value and what it reads): never range-seeded
        self._selectors = self._closure(
            _text(sub) for el in self.elements.values() if _tag(el) == "Enumeration"
            for sub in el if _tag(sub) == "pValue")
        #: registers holding what a user sets (RW values: OffsetX in ``Width ≤ Sensor - Offset``)
        self._settable = {n for n in self._values if n in self.elements
                          and _text(self.elements[n].find("{*}AccessMode")) in ("RW", "WO")}
        self._range_inputs = self._closure(self._ranges, skip=self._selectors)
        self.seed_report = SeedReport()
        if seed:
            self.seed_report = seed_isolated(self)
        self.nodemap = self._load(source.text)

    def _closure(self, names: Iterable[str], skip: Iterable[str] = (),
                 links: tuple[str, ...] = ("pVariable", "pValue")) -> set[str]:
        """``names`` and every node they read through ``links``, not entering ``skip``."""
        out: set[str] = set()
        todo, skipped = list(names), set(skip)
        while todo:
            name = todo.pop()
            if name in out or name in skipped or name not in self.elements:
                continue
            out.add(name)
            todo += [_text(s) for s in self.elements[name] if _tag(s) in links]
        return out

    def _load(self, text: str) -> Any:
        from genicam.genapi import NodeMap

        nm = NodeMap()
        nm.load_xml_from_string(text)
        nm.connect(RegisterPort(self.space), self.port_name)
        return nm

    # ------------------------------------------------------------------ seeding
    def writable_clone(self) -> Any:
        """A node map of the same XML on the same memory with every register writable."""
        text = re.sub(r"<AccessMode>\s*R[OW]\s*</AccessMode>", "<AccessMode>RW</AccessMode>",
                      self.source.text)
        text = re.sub(r"<ImposedAccessMode>\s*RO\s*</ImposedAccessMode>",
                      "<ImposedAccessMode>RW</ImposedAccessMode>", text)
        text = re.sub(r"<pIsLocked>[^<]*</pIsLocked>", "", text)
        return self._load(text)

    def seed(self, rep: SeedReport | None = None) -> SeedReport:
        """Write a plausible register image (see the module docstring) in this process;
        returns what failed.  :func:`seed_isolated` runs it where a crash cannot hurt."""
        rep = rep or SeedReport()
        clone = self.writable_clone()
        flags = list(self._refs(*_FLAG_ROLES))
        for name in flags:
            self._make_true(clone, name, rep)
        self._seed_formula_inputs(clone, rep)
        for el in self.elements.values():
            if _tag(el) in ("Integer", "Float"):
                self._seed_range(clone, el, rep)
        self._fix_divided_ranges(clone, rep)
        for feat, el in self.elements.items():
            if _tag(el) in ("Integer", "Float", "Enumeration"):
                self._seed_value(clone, feat, el, rep)
        for name in flags:  # again: selectors now hold valid entries
            self._make_true(clone, name, rep)
        for el in self.elements.values():
            if _tag(el) == "Enumeration" and el.find("{*}pSelected") is not None:
                self._seed_selected(clone, el, rep)
        self._seed_formula_inputs(clone, rep)  # selectors moved some registers: again
        for feat, el in self.elements.items():  # an enumeration left on no entry gets its first
            if _tag(el) == "Enumeration":
                self._seed_value(clone, feat, el, rep)
        log.debug("seeded %s: %d writes, %d failed", self.source.origin, rep.written,
                  len(rep.failed))
        return rep

    def _refs(self, *roles: str) -> Iterator[str]:
        seen: set[str] = set()
        for el in self.elements.values():
            for sub in el.iter():
                if _tag(sub) in roles and _text(sub) not in seen:
                    seen.add(_text(sub))
                    yield _text(sub)

    def _make_true(self, clone: Any, name: str, rep: SeedReport) -> None:
        el = self.elements.get(name)
        if el is None or name in self._locks or _try_value(clone, name) not in (0, False, None):
            return  # (a node a lock formula reads stays as it is: unlocked wins)
        if _write(clone, name, 1, rep):
            return
        for var in el.findall("{*}pVariable"):  # a SwissKnife: light its inquiry bits up
            target = _text(var)
            if target in self._values or target in self._locks:  # a value or a lock input
                continue
            before = _try_value(clone, target)
            lit = isinstance(before, int) and any(  # -1: all bits of a signed register
                _write(clone, target, v, rep, quiet=True) for v in (-1, _all_ones(clone, target)))
            if lit and _try_value(clone, name) in (0, False, None):
                _write(clone, target, before, rep)  # it did not help: put it back

    def _seed_range(self, clone: Any, el: ET.Element, rep: SeedReport) -> None:
        """pMin registers 0, pMax registers as large as they hold (≤ 1e6), pInc registers 1:
        every register the range formula reads, except selector values.  Where the range then
        does not evaluate (``1e6 / TO`` with TO at its minimum 0), the minimum becomes 1."""
        mins: list[str] = []
        for role, values in (("pMin", (0,)), ("pMax", _MAX_CANDIDATES), ("pInc", (1,))):
            target = _text(el.find(f"{{*}}{role}"))
            if not target:
                continue
            leaves = [n for n in self._closure([target], skip=self._selectors | self._settable)
                      if _tag(self.elements[n]) in _REGISTER_TAGS]
            mins += leaves if role == "pMin" else []
            for leaf in leaves:
                if not any(_write(clone, leaf, v, rep, quiet=True) for v in values):
                    rep.failed.append(f"{leaf} ({role} of {el.get('Name')})")
        if mins and not _range_readable(clone, el.get("Name", "")):
            for leaf in mins:
                _write(clone, leaf, 1, rep, quiet=True)

    def _fix_divided_ranges(self, clone: Any, rep: SeedReport) -> None:
        """A float whose range does not evaluate (``1e9 / (P1 * TO)`` over a raw value whose
        minimum is 0): the minimum registers of the nodes it reads become 1."""
        for name, el in self.elements.items():
            if _tag(el) not in ("Float", "Converter") or _range_readable(clone, name):
                continue
            for dep in self._closure([name], skip=self._selectors):
                target = _text(self.elements[dep].find("{*}pMin"))
                for leaf in self._closure([target], skip=self._selectors) if target else ():
                    if _tag(self.elements[leaf]) in _REGISTER_TAGS:
                        _write(clone, leaf, 1, rep, quiet=True)

    def _seed_selected(self, clone: Any, sel: ET.Element, rep: SeedReport) -> None:
        """Inquiry bits and ranges of the features ``sel`` selects, for every entry of ``sel``
        (a device keeps them per selector value: LineMode of Line2 is not LineMode of Line1)."""
        name = sel.get("Name", "")
        selected = [self.elements[n] for n in (_text(p) for p in sel.findall("{*}pSelected"))
                    if n in self.elements]
        try:
            entries = [str(e) for e in clone.get_node(name).symbolics]
        except (GenericException, AttributeError):
            return
        for entry in entries:
            if not (rep.attempt(name) and _set_entry(clone, name, entry)):
                continue
            for el in selected:
                for flag in {_text(s) for s in el.iter() if _tag(s) in _FLAG_ROLES}:
                    self._make_true(clone, flag, rep)
                if _tag(el) in ("Integer", "Float"):
                    self._seed_range(clone, el, rep)
                if _tag(el) in ("Integer", "Float", "Enumeration"):
                    self._seed_value(clone, el.get("Name", ""), el, rep)
        if entries and rep.attempt(name) and _set_entry(clone, name, entries[0]):
            for el in selected:  # the first entry's ranges win (it is where the map starts)
                if _tag(el) in ("Integer", "Float"):
                    self._seed_range(clone, el, rep)

    def _seed_formula_inputs(self, clone: Any, rep: SeedReport) -> None:
        """Registers that feed a formula and read 0 (a time base, a divisor) are set to 1, so
        ``FROM*1000/P2`` does not divide by zero; selector and feature values are left alone."""
        for el in self.elements.values():
            if _tag(el) not in ("SwissKnife", "IntSwissKnife", "Converter", "IntConverter"):
                continue
            keep = self._locks | self._range_inputs | self._values
            inputs = [_text(v) for v in el.findall("{*}pVariable") if _text(v) not in keep]
            to = _text(el.find("{*}pValue"))
            if _tag(el) in ("Converter", "IntConverter") and to not in self._locks:
                inputs.append(to)  # FormulaFrom may divide by TO (1e9 / (P1 * TO))
            for target in inputs:
                kind = _tag(self.elements[target]) if target in self.elements else ""
                if kind in _SETTABLE and _try_value(clone, target) == 0:
                    _write(clone, target, 1, rep, quiet=True)

    def _seed_value(self, clone: Any, name: str, el: ET.Element, rep: SeedReport) -> None:
        value = _text(el.find("{*}pValue"))
        if not value or name in self._ranges or value in self._range_inputs - self._settable:
            return  # (WidthMax reads the register Width's range reads: it keeps its maximum)
        if not rep.attempt(name):
            return
        try:
            node = clone.get_node(name)
            if _tag(el) == "Enumeration":
                entries = [str(e) for e in node.symbolics]
                if entries and str(_try_value(clone, name)) not in entries:
                    node.value = entries[0]
                    rep.written += 1
            elif _inc_ok(node):
                node.value = node.min
                rep.written += 1
            else:
                rep.failed.append(f"{name}: increment 0")
        except GenericException as exc:  # a feature GenApi cannot reach: leave its memory alone
            rep.failed.append(f"{name}: {type(exc).__name__}")


_FLAG_ROLES = ("pIsImplemented", "pIsAvailable")


def _range_readable(nm: Any, name: str) -> bool:
    """False when the node's range formula fails to evaluate (it divides by zero); a node
    that is not readable at all (not implemented, unavailable) does not count against it."""
    from genicam.genapi import AccessException

    try:
        node = nm.get_node(name)
        return bool(node.min <= node.max)
    except (AccessException, AttributeError):
        return True
    except GenericException:  # LogicalErrorException "#Infinity somewhere!"
        return False


def _set_entry(nm: Any, name: str, entry: str) -> bool:
    try:
        nm.get_node(name).value = entry
    except GenericException:  # an entry the seeded image does not allow: skipped
        return False
    return True


def _index(root: ET.Element) -> dict[str, ET.Element]:
    out: dict[str, ET.Element] = {}
    for e in root.iter():
        name = e.get("Name")
        if name and _tag(e) not in ("EnumEntry", "pVariable", "pIndex"):
            out.setdefault(name, e)
    return out


def _try_value(nm: Any, name: str) -> Any:
    try:
        return nm.get_node(name).value
    except (GenericException, AttributeError):  # unreadable or no value: "unknown"
        return None


def _all_ones(nm: Any, name: str) -> int:
    try:
        return int(nm.get_node(name).max)
    except (GenericException, AttributeError):  # no max: a 32-bit register is common
        return 0xFFFFFFFF


def _inc_ok(node: Any) -> bool:
    """False for an integer node whose increment reads 0: GenApi's range check divides by the
    increment, and an integer division by zero kills the process (SIGFPE), not a Python error."""
    if node.node.principal_interface_type != 2:
        return True
    try:
        return int(node.inc) > 0
    except GenericException:  # no readable increment: GenApi will refuse the write itself
        return True


def _write(nm: Any, name: str, value: Any, rep: SeedReport, quiet: bool = False) -> bool:
    if not rep.attempt(name):
        return False
    try:
        node = nm.get_node(name)
        if not _inc_ok(node):
            rep.failed.append(f"{name}: increment 0")
            return False
        node.value = value
    except (GenericException, AttributeError, TypeError) as exc:  # reported, never raised
        if not quiet:
            rep.failed.append(f"{name}={value!r}: {type(exc).__name__}")
        return False
    rep.written += 1
    return True


def seed_isolated(dev: XmlDevice, max_crashes: int = 32) -> SeedReport:
    """Seed ``dev`` in a forked child and copy its register image back.

    A vendor formula such as ``TO/(1<<P1)`` divides by zero for some register values, and GenApi
    evaluates integer formulas in C++: the process dies of SIGFPE instead of raising.  The child
    names each node before writing it; when a child dies, that node is skipped and seeding runs
    again (at most ``max_crashes`` times, then ConfigError).
    """
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    skip: set[str] = set()
    while True:
        recv, send = ctx.Pipe(duplex=False)
        child = ctx.Process(target=_seed_child, args=(dev, frozenset(skip), send), daemon=True)
        child.start()
        send.close()
        last, result = "", None
        while True:
            try:
                kind, payload = recv.recv()
            except EOFError:
                break
            if kind == "try":
                last = payload
            else:
                result = payload
        child.join()
        recv.close()
        if result is not None:
            pages, rep = result
            dev.space._pages.update(pages)
            rep.crashed = sorted(skip)
            return rep
        if not last or len(skip) >= max_crashes:
            raise ConfigError(f"seeding {dev.source.origin} crashed GenApi (exit "
                              f"{child.exitcode}) after {len(skip)} skipped node(s)",
                              key="xml", allowed=sorted(skip))
        log.warning("%s: writing %s crashed GenApi (exit %s); skipping it",
                    dev.source.origin, last, child.exitcode)
        skip.add(last)


def _seed_child(dev: XmlDevice, skip: frozenset[str], send: Any) -> None:
    rep = SeedReport(skip=skip, journal=lambda name: send.send(("try", name)))
    dev.seed(rep)
    rep.journal = None
    send.send(("done", (dev.space._pages, rep)))
    send.close()
