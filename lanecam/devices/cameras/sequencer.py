"""Camera sequencers: :meth:`Camera.program_sequence` on real GenICam cameras.

Two kinds, told apart by which canonical features the camera's profile maps *and* the live
device offers (the node names are profile data, ``firmware_profiles/cameras/*.toml``):

``classic`` — Basler ace classic GigE (SFNC 1.x): ``SequenceEnable``, ``SequenceAdvanceMode``
    (``Auto``: the next set at every frame trigger), ``SequenceSetTotalNumber``,
    ``SequenceSetIndex``, ``SequenceSetExecutions`` (frames per set in Auto mode) and
    ``SequenceSetStore`` (the active exposure/gain become set *i*).  Runs of equal steps
    become one set executed that many times.  The camera cycles: after the last set's
    executions it starts again at set 0, so the last set is given the most executions the
    device allows and a sequence needing more frames than that is refused.
``sfnc2`` — SFNC 2 (ace 2, Teledyne FLIR Blackfly S): ``SequencerMode`` off,
    ``SequencerConfigurationMode`` on, per set ``SequencerSetSelector`` = *i*, the step's
    exposure/gain, path 0 (``SequencerPathSelector``) → ``SequencerSetNext`` = *i+1* on
    ``SequencerTriggerSource`` = frame start, ``SequencerSetSave``; the last set points at
    itself, so it holds for every later frame; ``SequencerSetStart`` = 0, configuration off,
    ``SequencerMode`` on.  Trailing equal steps share the last set.

Every limit (number of sets, executions per set, the set indices, the trigger-source word) is
read live and checked before anything is sent; the step values were checked by
:meth:`Camera.program_sequence`.  Clearing (``[]``) switches the sequencer off and writes the
configured exposure/gain back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from ...errors import LimitError, UnsupportedFeatureError
from .types import CameraInfo, FeatureLimits

__all__ = [
    "SequencePlan",
    "SequencerKind",
    "plan_sequence",
    "program",
    "sequencer_kind",
    "switch_off",
]

SequencerKind = Literal["classic", "sfnc2"]

_CLASSIC = ("sequence_enable", "sequence_advance_mode", "sequence_set_total",
            "sequence_set_index", "sequence_set_store")
_SFNC2 = ("sequencer_mode", "sequencer_configuration_mode", "sequencer_set_selector",
          "sequencer_set_save", "sequencer_set_next", "sequencer_trigger_source")


class SequencingCamera(Protocol):
    """What programming a sequencer uses of a camera (:class:`Camera` satisfies it)."""

    @property
    def info(self) -> CameraInfo: ...

    @property
    def id(self) -> str: ...

    def supports(self, name: str) -> bool: ...

    def limits(self, name: str) -> FeatureLimits: ...

    def configure(self, settings: Mapping[str, Any]) -> dict[str, Any]: ...

    def execute(self, name: str) -> None: ...


def sequencer_kind(cam: SequencingCamera) -> SequencerKind | None:
    """``"sfnc2"`` or ``"classic"`` when the live camera offers every node of that kind (the
    profile maps them and the device has them), else None."""
    if all(cam.supports(f) for f in _SFNC2):
        return "sfnc2"
    if all(cam.supports(f) for f in _CLASSIC):
        return "classic"
    return None


@dataclass(frozen=True)
class SequencePlan:
    """The sets to write: ``sets[i]`` (node → raw value) runs ``frames[i]`` frames (0 = the
    last set, held: the most the device allows, or for ever on SFNC 2)."""

    kind: SequencerKind
    sets: tuple[dict[str, Any], ...]
    frames: tuple[int, ...]


def _runs(steps: Sequence[dict[str, Any]]) -> list[tuple[dict[str, Any], int]]:
    runs: list[tuple[dict[str, Any], int]] = []
    for step in steps:
        if runs and runs[-1][0] == step:
            runs[-1] = (step, runs[-1][1] + 1)
        else:
            runs.append((step, 1))
    return runs


def _int_max(cam: SequencingCamera, name: str) -> int:
    lim = cam.limits(name)
    if lim.max is None:
        raise LimitError(f"{cam.info.model} reports no maximum for {name}", device=cam.id,
                         feature=name)
    return int(lim.max)


def _refuse(cam: SequencingCamera, what: str, feature: str, allowed: str) -> LimitError:
    return LimitError(f"{cam.info.model}: {what}", device=cam.id, feature=feature,
                      allowed=allowed)


def plan_sequence(cam: SequencingCamera, steps: Sequence[dict[str, Any]]) -> SequencePlan:
    """Map checked steps (node → raw value) onto the camera's sequencer sets, checking the
    live limits; UnsupportedFeatureError without a sequencer, LimitError when it is too small."""
    kind = sequencer_kind(cam)
    if kind is None:
        raise UnsupportedFeatureError(f"{cam.info.vendor} {cam.info.model} offers no sequencer "
                                      "lanecam can program", device=cam.id, feature="sequence")
    runs = _runs(steps)
    if kind == "sfnc2":
        sets = [s for s, n in runs[:-1] for _ in range(n)] + [runs[-1][0]]
        top = cam.limits("sequencer_set_selector")
        if top.max is None or len(sets) - 1 > top.max or (top.min or 0) > 0:
            raise _refuse(cam, f"{len(sets)} sequencer sets needed", "sequencer_set_selector",
                          top.describe())
        if "frame" not in cam.limits("sequencer_trigger_source").values:
            raise _refuse(cam, "the sequencer cannot advance on frame start",
                          "sequencer_trigger_source", cam.limits("sequencer_trigger_source")
                          .describe())
        return SequencePlan(kind, tuple(sets), tuple([1] * (len(sets) - 1) + [0]))
    total = _int_max(cam, "sequence_set_total")
    if len(runs) > total:
        raise _refuse(cam, f"{len(runs)} sequence sets needed", "sequence_set_total",
                      f"≤ {total} sets")
    if cam.supports("sequence_set_executions"):
        most = _int_max(cam, "sequence_set_executions")
        if any(n > most for _, n in runs[:-1]):
            raise _refuse(cam, "a run of equal steps is longer than one set can execute",
                          "sequence_set_executions", f"≤ {most} frames per set")
    elif any(n > 1 for _, n in runs[:-1]):
        raise _refuse(cam, "no SequenceSetExecutions: one set per frame", "sequence_set_total",
                      f"≤ {total} sets")
    if "auto" not in cam.limits("sequence_advance_mode").values:
        raise _refuse(cam, "the sequencer cannot advance by itself", "sequence_advance_mode",
                      cam.limits("sequence_advance_mode").describe())
    return SequencePlan(kind, tuple(s for s, _ in runs),
                        tuple([n for _, n in runs[:-1]] + [0]))


def program(cam: SequencingCamera, plan: SequencePlan,
            write_set: Callable[[dict[str, Any]], None]) -> None:
    """Write ``plan`` (``write_set`` writes one set's node values) and start the sequencer."""
    if plan.kind == "sfnc2":
        _program_sfnc2(cam, plan, write_set)
    else:
        _program_classic(cam, plan, write_set)


def _program_sfnc2(cam: SequencingCamera, plan: SequencePlan,
                   write_set: Callable[[dict[str, Any]], None]) -> None:
    cam.configure({"sequencer_mode": "off"})
    cam.configure({"sequencer_configuration_mode": "on"})
    last = len(plan.sets) - 1
    for i, values in enumerate(plan.sets):
        cam.configure({"sequencer_set_selector": i})
        write_set(values)
        if cam.supports("sequencer_path_selector"):
            cam.configure({"sequencer_path_selector": 0})
        cam.configure({"sequencer_set_next": min(i + 1, last)})
        cam.configure({"sequencer_trigger_source": "frame"})
        cam.execute("sequencer_set_save")
    if cam.supports("sequencer_set_start"):
        cam.configure({"sequencer_set_start": 0})
    cam.configure({"sequencer_configuration_mode": "off"})
    cam.configure({"sequencer_mode": "on"})


def _program_classic(cam: SequencingCamera, plan: SequencePlan,
                     write_set: Callable[[dict[str, Any]], None]) -> None:
    cam.configure({"sequence_enable": False})
    cam.configure({"sequence_advance_mode": "auto"})
    cam.configure({"sequence_set_total": len(plan.sets)})
    executions = cam.supports("sequence_set_executions")
    for i, (values, frames) in enumerate(zip(plan.sets, plan.frames, strict=True)):
        cam.configure({"sequence_set_index": i})
        write_set(values)
        if executions:
            n = frames or _int_max(cam, "sequence_set_executions")
            cam.configure({"sequence_set_executions": n})
        cam.execute("sequence_set_store")
    cam.configure({"sequence_enable": True})


def switch_off(cam: SequencingCamera) -> bool:
    """Switch the sequencer off (no-op without one); True when there was one."""
    kind = sequencer_kind(cam)
    if kind == "sfnc2":
        cam.configure({"sequencer_mode": "off"})
    elif kind == "classic":
        cam.configure({"sequence_enable": False})
    return kind is not None


class SequencerMixin:
    """:meth:`Camera.program_sequence` for GenICam backends (pylon, Harvesters, XML cameras):
    ``supports_sequence`` is live (the profile maps the nodes and the device offers them).

    The configured exposure/gain stay what frame metadata reports as configured while the
    sequencer runs; clearing writes them back to the camera.
    """

    _exposure_s: float | None
    _gain_db: float | None
    _applied: dict[str, Any]
    is_open: bool
    _do_set: Callable[[str, Any], None]

    @property
    def supports_sequence(self) -> bool:
        return self.is_open and sequencer_kind(self._as_cam()) is not None

    def _as_cam(self) -> SequencingCamera:
        return self  # type: ignore[return-value]  # mixed into a Camera

    def _do_program_sequence(self, steps: list[dict[str, Any]]) -> None:
        cam = self._as_cam()
        if not steps:
            if switch_off(cam):
                again: dict[str, Any] = {k: self._applied[k] for k in ("exposure_time", "gain")
                                         if k in self._applied}
                if again:
                    cam.configure(again)
            return
        plan = plan_sequence(cam, steps)  # every limit checked before anything is sent
        configured = (self._exposure_s, self._gain_db)
        try:
            program(cam, plan, self._write_set)
        finally:
            self._exposure_s, self._gain_db = configured

    def _write_set(self, values: dict[str, Any]) -> None:
        for node, raw in values.items():
            self._do_set(node, raw)
