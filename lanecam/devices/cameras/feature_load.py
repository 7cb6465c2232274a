"""Loading a feature file into a camera: check everything, then write all of it or none.

1. **Model.**  The file's ``Device = ...`` header must name this camera's GenICam description
   (vendor, model, product GUID and version GUID): else :class:`ModelMismatchError`, unless
   the caller allows another model.  A file without that header names no model.
2. **Check, before any setting is written.**  Each key, in file order and under the selector
   state the file sets up to it (in sequence or in braces), is looked up on the camera: a key
   the camera lacks, cannot write or read back, or whose value it would refuse (type, entry,
   live range, increment, length) becomes a :class:`KeyProblem`; so does every key addressed by
   a selector whose file value was refused, and every key written twice under one selector
   state with different values (a file from a camera with a selector this one lacks, such as
   ``GainSelector`` taps).  The previous value of every key that will be written is read now.
   Only selectors move during the check, and they are put back.
3. **Apply** the keys that passed, in file order.  If the camera refuses one, every key
   written so far (and the refused one) gets its previous value back, newest first, and
   :class:`SettingsApplyError` names the key, its line and why.  Selectors are put back to
   what they were before the load, in every case.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

from ...errors import ConfigError, DeviceError
from .feature_check import ValueRejected, canonical_value
from .feature_file import DeviceDescription, Entry, FeatureFile
from .node_text import VALUE_KINDS, NodeFacts, NodeText
from .selector_state import Context, Relations, RestoreFailure, Selectors

__all__ = [
    "KeyNote",
    "KeyProblem",
    "KeyWrite",
    "LoadReport",
    "ModelMismatchError",
    "SettingsApplyError",
    "SettingsRejectedError",
    "check_model",
    "load_feature_file",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeyProblem:
    """A key that is not written: ``kind`` is one of
    :data:`~lanecam.devices.cameras.feature_check.PROBLEM_KINDS`."""

    line: int
    name: str
    value: str
    kind: str
    context: Context = ()
    allowed: str | None = None


@dataclass(frozen=True)
class KeyWrite:
    """A key that is (or would be) written: the exact text, and the value it replaces."""

    line: int
    name: str
    context: Context
    text: str
    previous: str


@dataclass(frozen=True)
class KeyNote:
    """A key written without the braced selector its line names: this camera has no such
    selector for it (pylon does the same, silently)."""

    line: int
    name: str
    selector: str


@dataclass(frozen=True)
class LoadReport:
    """What a load did (``applied``) or would do (``dry_run``)."""

    path: str | None
    file_device: DeviceDescription | None
    camera_device: DeviceDescription
    model_differences: tuple[str, ...]
    writes: tuple[KeyWrite, ...]
    problems: tuple[KeyProblem, ...]
    notes: tuple[KeyNote, ...]
    dry_run: bool
    applied: bool
    selector_restore_failures: tuple[RestoreFailure, ...] = ()

    @property
    def complete(self) -> bool:
        """Every key of the file is (or would be) written."""
        return not self.problems


class ModelMismatchError(ConfigError):
    """The file was saved from another camera description.  ``differences`` lists what differs
    (``vendor``, ``model``, ``product_guid``, ``version_guid``, or ``device`` when the file
    names none); ``file_device``/``camera_device`` are both descriptions."""

    def __init__(self, differences: tuple[str, ...], file_device: DeviceDescription | None,
                 camera_device: DeviceDescription, device: str) -> None:
        self.differences = differences
        self.file_device = file_device
        self.camera_device = camera_device
        named = (f"{file_device.vendor}::{file_device.model}" if file_device
                 else "no device (no 'Device =' header)")
        super().__init__(f"the feature file names {named}; {', '.join(differences)} differ "
                         "from this camera's description", device=device, key="Device",
                         allowed=camera_device.info_line())


class SettingsRejectedError(ConfigError):
    """A strict load found keys it would not write; ``report`` lists them.  Nothing was
    written.  ``key`` is the first such line."""

    def __init__(self, report: LoadReport, device: str) -> None:
        self.report = report
        first = report.problems[0]
        super().__init__(f"{len(report.problems)} key(s) of the file would not be written",
                         device=device, key=f"line {first.line}", feature=first.name)


class SettingsApplyError(DeviceError):
    """The camera refused a key while the file was applied; everything written was undone.

    ``line``/``feature`` name the refused key, ``reason`` is the camera's own words (for
    people, not for decisions); ``undo_failures`` lists values that could not be put back
    (empty: the camera is as before the load)."""

    def __init__(self, write: KeyWrite, reason: str, undone: int,
                 undo_failures: tuple[RestoreFailure, ...], device: str) -> None:
        self.line = write.line
        self.write = write
        self.reason = reason
        self.undone = undone
        self.undo_failures = undo_failures
        super().__init__(f"the camera refused a key ({reason}); {undone} write(s) undone"
                         + (f", {len(undo_failures)} could not be" if undo_failures else ""),
                         device=device, key=f"line {write.line}", feature=write.name)

    @property
    def restored(self) -> bool:
        return not self.undo_failures


def check_model(file_device: DeviceDescription | None, camera: DeviceDescription, *,
                any_model: bool, device: str) -> tuple[str, ...]:
    """What differs between the file's device and the camera's; ModelMismatchError unless
    ``any_model``."""
    diffs = ("device",) if file_device is None else file_device.differences(camera)
    if diffs and not any_model:
        raise ModelMismatchError(diffs, file_device, camera, device)
    return diffs


_UNSET = object()


class _Planner:
    """Step 2 of the module docstring: walks the entries under the file's selector state."""

    def __init__(self, nodes: NodeText) -> None:
        self.nodes = nodes
        self.rel = Relations(nodes)
        self.sel = Selectors(nodes, self.rel)
        self.file_sel: dict[str, str | None] = {}  # None: the file's value was refused
        self.writes: list[KeyWrite] = []
        self.problems: list[KeyProblem] = []
        self.notes: list[KeyNote] = []

    def run(self, entries: tuple[Entry, ...]) -> None:
        for e in entries:
            if self.rel.facts(e.name) is None:
                self._problem(e, "missing")
            elif not e.selectors and self.rel.is_selector(e.name):
                self._selector_line(e)
            else:
                self._feature_line(e)
        self._drop_conflicts()
        self.problems.sort(key=lambda p: p.line)

    def _problem(self, e: Entry, kind: str, context: Context = (),
                 allowed: str | None = None) -> None:
        self.problems.append(KeyProblem(e.line, e.name, e.value, kind, context, allowed))

    def _context(self, e: Entry) -> Context | None:
        """The key's selector state, or None (and a problem) under a refused selector."""
        context: list[tuple[str, str]] = []
        braced = dict(e.selectors)
        for s in self.rel.selectors_of(e.name):
            if s in braced:
                value: object = self._check_selector_value(s, braced[s], tuple(context))
            else:
                value = self.file_sel.get(s, _UNSET)
            if value is None:
                shown = (s, braced.get(s, "?"))
                self._problem(e, "under_rejected_selector", (*context, shown))
                return None
            context.append((s, self.sel.value(s) if value is _UNSET else str(value)))
        for s in braced.keys() - dict(context).keys():
            self.notes.append(KeyNote(e.line, e.name, s))
        return tuple(context)

    def _check_selector_value(self, name: str, text: str, outer: Context) -> str | None:
        self.sel.move(outer)
        f = self.nodes.facts(name)
        if f is None or not f.available or not f.writable:
            return None
        try:
            return canonical_value(f, text)
        except ValueRejected:
            return None

    def _selector_line(self, e: Entry) -> None:
        """``Selector<TAB>value`` in sequence: it only sets where later keys go."""
        context = self._context(e)
        if context is None:
            self.file_sel[e.name] = None
            return
        self.sel.move(context)
        f = self.nodes.facts(e.name)
        kind = self._access_problem(f)
        if kind is None and f is not None:
            try:
                self.file_sel[e.name] = canonical_value(f, e.value)
                return
            except ValueRejected as r:
                self._problem(e, r.kind, context, r.allowed)
        else:
            self._problem(e, kind or "missing", context)
        self.file_sel[e.name] = None

    @staticmethod
    def _access_problem(f: NodeFacts | None) -> str | None:
        if f is None:
            return "missing"
        if not f.available:
            return "unavailable"
        if f.kind not in VALUE_KINDS:
            return "not_a_value"
        if not f.writable:
            return "read_only"
        if not f.readable:
            return "write_only"
        return None

    def _feature_line(self, e: Entry) -> None:
        context = self._context(e)
        if context is None:
            return
        self.sel.move(context)
        f = self.nodes.facts(e.name)
        kind = self._access_problem(f)
        if kind is not None or f is None:
            self._problem(e, kind or "missing", context)
            return
        try:
            text = canonical_value(f, e.value)
        except ValueRejected as r:
            self._problem(e, r.kind, context, r.allowed)
            return
        self.writes.append(KeyWrite(e.line, e.name, context, text, self.nodes.get(e.name)))

    def _drop_conflicts(self) -> None:
        groups: dict[tuple[str, Context], list[KeyWrite]] = defaultdict(list)
        for w in self.writes:
            groups[(w.name, w.context)].append(w)
        bad = {id(w) for ws in groups.values() if len({w.text for w in ws}) > 1 for w in ws}
        for w in self.writes:
            if id(w) in bad:
                self.problems.append(KeyProblem(w.line, w.name, w.text, "conflicting",
                                                w.context))
        self.writes = [w for w in self.writes if id(w) not in bad]


def _apply(nodes: NodeText, sel: Selectors, writes: tuple[KeyWrite, ...]) -> None:
    """Step 3: write every key, or undo them all and raise SettingsApplyError."""
    done: list[KeyWrite] = []
    for w in writes:
        try:
            sel.move(w.context)
            nodes.set(w.name, w.text)
        except Exception as exc:
            failures = _undo(nodes, sel, [*done, w])
            failures += sel.restore()
            reason = exc.message if isinstance(exc, DeviceError) else f"{type(exc).__name__}"
            raise SettingsApplyError(w, reason, len(done), tuple(failures),
                                     nodes.where) from exc
        done.append(w)


def _undo(nodes: NodeText, sel: Selectors, done: list[KeyWrite]) -> list[RestoreFailure]:
    failures = []
    for w in reversed(done):
        try:
            sel.move(w.context)
            nodes.set(w.name, w.previous)
        except Exception as exc:  # noqa: BLE001 - go on undoing the others; each is reported
            failures.append(RestoreFailure(w.name, w.previous, f"{type(exc).__name__}: {exc}",
                                           w.line))
            log.warning("%s: could not undo line %d %s: %s", nodes.where, w.line, w.name, exc)
    return failures


def load_feature_file(nodes: NodeText, ff: FeatureFile, *, path: str | None = None,
                      dry_run: bool = False, any_model: bool = False,
                      strict: bool = False) -> LoadReport:
    """Check ``ff`` against the camera and apply it all-or-nothing (the module docstring).

    ``dry_run``: check only.  ``any_model``: load a file saved from another camera description
    (its keys are still checked one by one).  ``strict``: refuse the whole file
    (:class:`SettingsRejectedError`) when any key would not be written."""
    camera = nodes.device()
    diffs = check_model(ff.device, camera, any_model=any_model, device=nodes.where)
    planner = _Planner(nodes)
    try:
        planner.run(ff.entries)
    except BaseException:
        planner.sel.restore()
        raise

    def report(applied: bool, failures: list[RestoreFailure]) -> LoadReport:
        return LoadReport(path, ff.device, camera, diffs, tuple(planner.writes),
                          tuple(planner.problems), tuple(planner.notes), dry_run, applied,
                          tuple(failures))

    if dry_run or (strict and planner.problems):
        checked = report(False, planner.sel.restore())
        if strict and planner.problems:
            raise SettingsRejectedError(checked, nodes.where)
        return checked
    _apply(nodes, planner.sel, tuple(planner.writes))
    return report(True, planner.sel.restore())
