"""Seeding a GenICam XML's register memory so its features read as a device's would.

A vendor XML says where each value lives, not what a device holds there: on blank memory most
features of a real XML read "not implemented".  :class:`Seeder` writes a plausible image
*through GenApi*, on :meth:`~.genicam_xml.XmlDevice.writable_clone` (the same XML with every
register writable and no ``pIsLocked``), in passes:

1. the nodes ``pIsImplemented``/``pIsAvailable`` name are set true (a SwissKnife's inquiry
   registers are lit with all ones; selector values and lock inputs are never touched);
2. registers feeding a formula that read 0 are set to 1 (a time base, ``1e9 / (P1 * TO)``);
3. ranges: every register a ``pMin`` reads 0 (1 where the range then fails to evaluate),
   ``pMax`` as large as the register holds (≤ 1e6), ``pInc`` 1;
4. every feature its minimum, every enumeration its first entry;
5. for every selector and each of its entries: steps 1, 3 and 4 for what it selects (a device
   keeps LineMode per line), ending on the first entry.

The unmodified XML is then loaded on that memory (:class:`~.genicam_xml.XmlDevice`), so access
modes, selectors, ranges and increments are the vendor's, computed by GenApi.  Some vendor
formulas kill the process on some register values (an integer trap in C++, SIGFPE), so
:func:`seed_isolated` seeds in a forked child, skips the node whose write killed it, and
remembers each XML's image for the process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET

from genicam.genapi import GenericException

from ...errors import ConfigError
from .genicam_elements import element_text, local_tag

if TYPE_CHECKING:
    from .genicam_xml import XmlDevice

__all__ = ["SeedReport", "Seeder", "seed_isolated"]

log = logging.getLogger(__name__)

#: register node types whose value lives in memory (GenApi schema)
_REGISTER_TAGS = {"IntReg", "MaskedIntReg", "FloatReg", "StringReg", "Register", "StructReg",
                  "StructEntry"}
#: nodes the seeder writes directly (converters are written through their inverse formula)
_SETTABLE = _REGISTER_TAGS | {"Integer", "Float", "Converter", "IntConverter"}
#: candidate maxima for a range register, largest first (a 1-byte register takes 255)
_MAX_CANDIDATES = (1_000_000, 65535, 4095, 255, 1)
_FLAG_ROLES = ("pIsImplemented", "pIsAvailable")


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


class Seeder:
    """The passes of the module docstring over one :class:`~.genicam_xml.XmlDevice`."""

    def __init__(self, dev: XmlDevice) -> None:
        self.dev = dev
        self.elements = dev.elements
        #: nodes holding a feature's value (``pValue`` targets): never lit up as flags
        self._values = dev.closure((element_text(sub) for el in self.elements.values() for sub in el
                                      if local_tag(sub) == "pValue"), links=("pValue",))
        #: nodes a ``pIsLocked`` formula reads: left at 0 (unlocked)
        self._locks = dev.closure(element_text(sub) for el in self.elements.values() for sub in el
                                    if local_tag(sub) == "pIsLocked")
        #: nodes giving another node's range: seeded as ranges, never reset to their minimum
        self._ranges = {element_text(sub) for el in self.elements.values() for sub in el
                        if local_tag(sub) in ("pMin", "pMax", "pInc")}
        #: what selectors hold (an Enumeration's value and what it reads): never range-seeded
        self._selectors = dev.closure(
            (element_text(sub) for el in self.elements.values() if local_tag(el) == "Enumeration"
             for sub in el if local_tag(sub) == "pValue"), links=("pValue",))
        #: registers holding what a user sets (RW values: OffsetX in ``Width ≤ Sensor - Offset``)
        self._settable = {n for n in self._values if n in self.elements
                          and element_text(self.elements[n].find("{*}AccessMode")) in ("RW", "WO")}
        self._range_inputs = dev.closure(self._ranges, skip=self._selectors)

    def run(self, rep: SeedReport) -> SeedReport:
        """Write the register image; returns what was written and what failed."""
        clone = self.dev.writable_clone()
        flags = list(self._refs(*_FLAG_ROLES))
        for name in flags:
            self._make_true(clone, name, rep)
        self._seed_formula_inputs(clone, rep)
        for el in self.elements.values():
            if local_tag(el) in ("Integer", "Float"):
                self._seed_range(clone, el, rep)
        self._fix_divided_ranges(clone, rep)
        for feat, el in self.elements.items():
            if local_tag(el) in ("Integer", "Float", "Enumeration"):
                self._seed_value(clone, feat, el, rep)
        for name in flags:  # again: selectors now hold valid entries
            self._make_true(clone, name, rep)
        for el in self.elements.values():
            if local_tag(el) == "Enumeration" and el.find("{*}pSelected") is not None:
                self._seed_selected(clone, el, rep)
        self._seed_formula_inputs(clone, rep)  # selectors moved some registers: again
        for feat, el in self.elements.items():  # an enumeration left on no entry gets its first
            if local_tag(el) == "Enumeration":
                self._seed_value(clone, feat, el, rep)
        # (no logging here: this runs in a forked child, where a lock another thread held
        # at the fork would never be released)
        return rep

    def _refs(self, *roles: str) -> Iterator[str]:
        seen: set[str] = set()
        for el in self.elements.values():
            for sub in el.iter():
                if local_tag(sub) in roles and element_text(sub) not in seen:
                    seen.add(element_text(sub))
                    yield element_text(sub)

    def _make_true(self, clone: Any, name: str, rep: SeedReport) -> None:
        el = self.elements.get(name)
        if el is None or name in self._locks or _try_value(clone, name) not in (0, False, None):
            return  # (a node a lock formula reads stays as it is: unlocked wins)
        if _write(clone, name, 1, rep):
            return
        for var in el.findall("{*}pVariable"):  # a SwissKnife: light its inquiry bits up
            target = element_text(var)
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
            target = element_text(el.find(f"{{*}}{role}"))
            if not target:
                continue
            leaves = [n for n in self.dev.closure([target], skip=self._selectors | self._settable)
                      if local_tag(self.elements[n]) in _REGISTER_TAGS]
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
            if local_tag(el) not in ("Float", "Converter") or _range_readable(clone, name):
                continue
            for dep in self.dev.closure([name], skip=self._selectors):
                target = element_text(self.elements[dep].find("{*}pMin"))
                for leaf in self.dev.closure([target], skip=self._selectors) if target else ():
                    if local_tag(self.elements[leaf]) in _REGISTER_TAGS:
                        _write(clone, leaf, 1, rep, quiet=True)

    def _seed_selected(self, clone: Any, sel: ET.Element, rep: SeedReport) -> None:
        """Inquiry bits and ranges of the features ``sel`` selects, for every entry of ``sel``
        (a device keeps them per selector value: LineMode of Line2 is not LineMode of Line1)."""
        name = sel.get("Name", "")
        selected = [self.elements[n] for n in (element_text(p) for p in sel.findall("{*}pSelected"))
                    if n in self.elements]
        try:
            entries = [str(e) for e in clone.get_node(name).symbolics]
        except (GenericException, AttributeError):
            return
        for entry in entries:
            if not (rep.attempt(name) and _set_entry(clone, name, entry)):
                continue
            for el in selected:
                for flag in {element_text(s) for s in el.iter() if local_tag(s) in _FLAG_ROLES}:
                    self._make_true(clone, flag, rep)
                if local_tag(el) in ("Integer", "Float"):
                    self._seed_range(clone, el, rep)
                if local_tag(el) in ("Integer", "Float", "Enumeration"):
                    self._seed_value(clone, el.get("Name", ""), el, rep)
        if entries and rep.attempt(name) and _set_entry(clone, name, entries[0]):
            for el in selected:  # the first entry's ranges win (it is where the map starts)
                if local_tag(el) in ("Integer", "Float"):
                    self._seed_range(clone, el, rep)

    def _seed_formula_inputs(self, clone: Any, rep: SeedReport) -> None:
        """Registers that feed a formula and read 0 (a time base, a divisor) are set to 1, so
        ``FROM*1000/P2`` does not divide by zero; selector and feature values are left alone."""
        for el in self.elements.values():
            if local_tag(el) not in ("SwissKnife", "IntSwissKnife", "Converter", "IntConverter"):
                continue
            keep = self._locks | self._range_inputs | self._values
            inputs = [element_text(v) for v in el.findall("{*}pVariable") if element_text(v) not in keep]
            to = element_text(el.find("{*}pValue"))
            if local_tag(el) in ("Converter", "IntConverter") and to not in self._locks:
                inputs.append(to)  # FormulaFrom may divide by TO (1e9 / (P1 * TO))
            for target in inputs:
                kind = local_tag(self.elements[target]) if target in self.elements else ""
                if kind in _SETTABLE and _try_value(clone, target) == 0:
                    _write(clone, target, 1, rep, quiet=True)

    def _seed_value(self, clone: Any, name: str, el: ET.Element, rep: SeedReport) -> None:
        value = element_text(el.find("{*}pValue"))
        if not value or name in self._ranges or value in self._range_inputs - self._settable:
            return  # (WidthMax reads the register Width's range reads: it keeps its maximum)
        if not rep.attempt(name):
            return
        try:
            node = clone.get_node(name)
            if local_tag(el) == "Enumeration":
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


#: seeded register images by XML text digest (bounded): one seeding per XML per process
_SEEDED: dict[str, tuple[dict[int, bytearray], SeedReport]] = {}
_SEEDED_MAX = 64
#: how long one seeding child may take (the largest vendor XMLs take about 3 s)
_CHILD_TIMEOUT_S = 120.0


def seed_isolated(dev: XmlDevice, max_crashes: int = 32) -> SeedReport:
    """:func:`_seed_in_child`, remembered per XML text: a second device of the same XML starts
    from a copy of the first one's seeded memory."""
    import hashlib

    key = hashlib.sha256(dev.source.text.encode("utf-8")).hexdigest()
    if key not in _SEEDED:
        if len(_SEEDED) >= _SEEDED_MAX:
            del _SEEDED[next(iter(_SEEDED))]
        rep = _seed_in_child(dev, max_crashes)
        _SEEDED[key] = ({k: bytearray(v) for k, v in dev.space._pages.items()}, rep)
        return rep
    pages, rep = _SEEDED[key]
    dev.space._pages.update({k: bytearray(v) for k, v in pages.items()})
    return rep


def _seed_in_child(dev: XmlDevice, max_crashes: int) -> SeedReport:
    """Seed ``dev`` in a forked child and copy its register image back.

    A vendor formula such as ``TO/(1<<P1)`` divides by zero for some register values, and GenApi
    evaluates integer formulas in C++: the process dies of SIGFPE instead of raising.  The child
    names each node before writing it; when a child dies, that node is skipped and seeding runs
    again (at most ``max_crashes`` times, then ConfigError).
    """
    skip: set[str] = set()
    while True:
        last, kind, payload, exitcode = _run_child(dev, frozenset(skip))
        if kind == "done":
            pages, rep = payload
            dev.space._pages.update(pages)
            rep.crashed = sorted(skip)
            return rep
        if kind == "error":  # a Python error, not a crash: nothing to skip
            raise ConfigError(f"seeding {dev.source.origin} failed: {payload}", key="xml")
        if not last or len(skip) >= max_crashes:
            raise ConfigError(f"seeding {dev.source.origin} crashed GenApi (exit {exitcode}) "
                              f"after {len(skip)} skipped node(s)", key="xml",
                              allowed=sorted(skip))
        log.info("%s: writing %s crashed GenApi (exit %s); skipping it",
                 dev.source.origin, last, exitcode)
        skip.add(last)


def _run_child(dev: XmlDevice, skip: frozenset[str]) -> tuple[str, str, Any, int | None]:
    """One forked seeding: (the last node it tried, "done"/"error"/"", payload, exit code)."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_seed_child, args=(dev, skip, send), daemon=True)
    child.start()
    send.close()
    last, kind, payload = "", "", None
    deadline = time.monotonic() + _CHILD_TIMEOUT_S
    while True:
        if not recv.poll(max(0.0, deadline - time.monotonic())):
            child.kill()  # a hung child (it never should): seeding failed, say where
            kind, payload = "error", f"no answer within {_CHILD_TIMEOUT_S:g} s after {last!r}"
            break
        try:
            k, p = recv.recv()
        except EOFError:
            break
        if k == "try":
            last = p
        else:
            kind, payload = k, p
    child.join()
    recv.close()
    return last, kind, payload, child.exitcode


def _seed_child(dev: XmlDevice, skip: frozenset[str], send: Any) -> None:
    rep = SeedReport(skip=skip, journal=lambda name: send.send(("try", name)))
    try:
        dev.seed(rep)
    except Exception as exc:  # reported to the parent, which raises it as a ConfigError
        send.send(("error", f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"))
    else:
        rep.journal = None
        send.send(("done", (dev.space._pages, rep)))
    send.close()
