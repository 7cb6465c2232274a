"""The SimCamera's GenICam-like node map: SFNC 2.x names with *live* limits (Width/Height/Offset
ranges follow each other; ROI and pixel format lock while streaming; the frame-rate ceiling
follows exposure and height), the trigger nodes per TriggerSelector and the line nodes per
LineSelector.

Units are the SFNC ones: ExposureTime, TriggerDelay and LineDebouncerTime µs, Gain dB,
AcquisitionFrameRate Hz, ROI pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..devices.cameras import NodeInfo
from ..devices.cameras import FeatureKind
from ..errors import DeviceError, LimitError

__all__ = ["FULL_HEIGHT_READOUT_S", "SimNodeMap"]

#: Readout of a full 2048-row frame: 75 fps class (PQ §1.5: BFS-U3-51S5P 75 fps, VCXU-50MP 77).
FULL_HEIGHT_READOUT_S = 1.0 / 75.0
# Node limits of a Pregius-class GigE camera (ASSUMED typical values; a real camera's come
# from its own node map): exposure 10 µs–1 s, gain 0–48 dB, ROI steps 8 × 2 px (2 keeps the
# polarization mosaic's phase).
_MIN_EXPOSURE_US = 10.0
_MAX_EXPOSURE_US = 1_000_000.0
_MAX_GAIN_DB = 48.0
_WIDTH_INC = 8
_HEIGHT_INC = 2
_UNITS = {"ExposureTime": "us", "Gain": "dB", "AcquisitionFrameRate": "Hz",
          "TriggerDelay": "us", "LineDebouncerTime": "us"}


@dataclass
class SimNode:
    """One node: its kind, value (None: held per selector) and enum entries."""

    kind: str
    value: Any = None
    entries: tuple[str, ...] = ()
    locked_when_streaming: bool = False
    readonly: bool = False


class SimNodeMap:
    """The node map of a ``width_px`` × ``height_px`` sensor; empty until :meth:`power_on`.

    ``nodes`` by name; ``sel`` the trigger nodes per TriggerSelector; ``lines`` the line nodes
    per LineSelector.  The camera holds the stream lock and says whether it is streaming.
    """

    SELECTED = ("TriggerMode", "TriggerSource", "TriggerActivation", "TriggerDelay")
    LINE = ("LineMode", "LineSource")

    def __init__(self, width_px: int, height_px: int) -> None:
        self.width_px, self.height_px = width_px, height_px
        self.nodes: dict[str, SimNode] = {}
        self.sel: dict[str, dict[str, Any]] = {}
        self.lines: dict[str, dict[str, Any]] = {}

    def power_on(self, model: str, serial: str) -> None:
        """Every node at its power-on value."""
        w, h = self.width_px, self.height_px
        n = SimNode
        self.nodes = {
            "DeviceVendorName": n("string", "lanecam", readonly=True),
            "DeviceModelName": n("string", model, readonly=True),
            "DeviceSerialNumber": n("string", serial, readonly=True),
            "ExposureTime": n(FeatureKind.FLOAT, 1000.0),
            "Gain": n(FeatureKind.FLOAT, 0.0),
            "AcquisitionFrameRateEnable": n(FeatureKind.BOOL, False),
            "AcquisitionFrameRate": n(FeatureKind.FLOAT, 30.0),
            "Width": n(FeatureKind.INT, w, locked_when_streaming=True),
            "Height": n(FeatureKind.INT, h, locked_when_streaming=True),
            "OffsetX": n(FeatureKind.INT, 0, locked_when_streaming=True),
            "OffsetY": n(FeatureKind.INT, 0, locked_when_streaming=True),
            "PixelFormat": n(FeatureKind.ENUM, "Mono8", ("Mono8", "Mono12"),
                             locked_when_streaming=True),
            "AcquisitionMode": n(FeatureKind.ENUM, "Continuous", ("Continuous",)),
            "ExposureAuto": n(FeatureKind.ENUM, "Off", ("Off",)),
            "GainAuto": n(FeatureKind.ENUM, "Off", ("Off",)),
            "TriggerSelector": n(FeatureKind.ENUM, "FrameStart", ("FrameStart", "FrameBurstStart")),
            "TriggerMode": n(FeatureKind.ENUM, None, ("Off", "On")),
            "TriggerSource": n(FeatureKind.ENUM, None, ("Software", "Line1", "Line2")),
            "TriggerActivation": n(FeatureKind.ENUM, None, ("RisingEdge", "FallingEdge")),
            "TriggerDelay": n(FeatureKind.FLOAT, None),
            "TriggerSoftware": n(FeatureKind.COMMAND),
            "AcquisitionBurstFrameCount": n(FeatureKind.INT, 1),
            "LineSelector": n(FeatureKind.ENUM, "Line1", ("Line1", "Line2")),
            "LineMode": n(FeatureKind.ENUM, None, ("Input", "Output")),
            "LineSource": n(FeatureKind.ENUM, None, ("Off", "ExposureActive")),
            "LineDebouncerTime": n(FeatureKind.FLOAT, 0.0),
            "TimestampLatch": n(FeatureKind.COMMAND),
            "TimestampLatchValue": n(FeatureKind.INT, 0, readonly=True),
            "ForceFailedBufferCount": n(FeatureKind.INT, 1),
            "ForceFailedBuffer": n(FeatureKind.COMMAND),
            "SimDeviceRemoval": n(FeatureKind.COMMAND),
        }
        self.sel = {s: {"TriggerMode": "Off", "TriggerSource": "Software",
                        "TriggerActivation": "RisingEdge", "TriggerDelay": 0.0}
                    for s in ("FrameStart", "FrameBurstStart")}
        self.lines = {"Line1": {"LineMode": "Input", "LineSource": "Off"},
                      "Line2": {"LineMode": "Input", "LineSource": "Off"}}

    def value(self, node: str) -> Any:
        """A node's value (a trigger or line node: the selected one's)."""
        if node in self.SELECTED:
            return self.sel[self.nodes["TriggerSelector"].value][node]
        if node in self.LINE:
            return self.lines[self.nodes["LineSelector"].value][node]
        return self.nodes[node].value

    def limits(self, node: str) -> tuple[float | None, float | None, float | None]:
        """A numeric node's live (min, max, increment); Nones where it has none."""
        v = self.value
        sw, sh = self.width_px, self.height_px
        if node == "ExposureTime":
            return _MIN_EXPOSURE_US, _MAX_EXPOSURE_US, None
        if node == "Gain":
            return 0.0, _MAX_GAIN_DB, None
        if node == "AcquisitionFrameRate":
            return 0.1, self.max_fps(), None
        if node == "Width":
            return 16, sw - v("OffsetX"), _WIDTH_INC
        if node == "Height":
            return 16, sh - v("OffsetY"), _HEIGHT_INC
        if node == "OffsetX":
            return 0, sw - v("Width"), _WIDTH_INC
        if node == "OffsetY":
            return 0, sh - v("Height"), _HEIGHT_INC
        if node == "TriggerDelay":
            return 0.0, 1_000_000.0, None
        if node == "AcquisitionBurstFrameCount":
            return 1, 255, 1
        if node == "LineDebouncerTime":
            return 0.0, 10_000.0, None
        if node == "ForceFailedBufferCount":
            return 1, 255, 1
        if node == "TimestampLatchValue":
            return 0, 2**63 - 1, 1
        return None, None, None

    def max_fps(self, exposure_us: float | None = None) -> float:
        """Frame-rate ceiling (Hz) for ``exposure_us`` (default: ExposureTime) and the ROI's
        readout."""
        exp = (self.nodes["ExposureTime"].value if exposure_us is None else exposure_us) * 1e-6
        return 1.0 / max(self.readout_s(), exp)

    def readout_s(self) -> float:
        """Readout time (s) of the ROI's rows."""
        return FULL_HEIGHT_READOUT_S * self.nodes["Height"].value / self.height_px

    def entries(self, node: str) -> tuple[str, ...]:
        """An enum node's entries now (Line1 is an input only)."""
        if node == "LineMode" and self.nodes["LineSelector"].value == "Line1":
            return ("Input",)
        return self.nodes[node].entries

    def writable(self, node: str, streaming: bool) -> bool:
        """Whether ``node`` may be written now."""
        nd = self.nodes[node]
        if nd.readonly:
            return False
        if nd.locked_when_streaming and streaming:
            return False
        return node != "LineSource" or self.value("LineMode") == "Output"

    def info(self, node: str, streaming: bool) -> NodeInfo:
        """What the Camera policy layer asks of a node: kind, access, live limits, unit."""
        nd = self.nodes[node]
        lo, hi, inc = self.limits(node)
        readable = nd.kind != FeatureKind.COMMAND
        return NodeInfo(nd.kind, readable, self.writable(node, streaming), lo, hi, inc,
                        self.entries(node) if nd.kind == FeatureKind.ENUM else (),
                        _UNITS.get(node, ""))

    def set(self, node: str, value: Any, streaming: bool, where: str) -> None:
        """Write ``value`` to ``node`` after the checks a device makes (``where`` names the
        device in errors); a lower ceiling clamps AcquisitionFrameRate."""
        nd = self.nodes[node]
        if not self.writable(node, streaming):
            raise DeviceError(f"{node} is not writable now", device=where, feature=node)
        if nd.kind == FeatureKind.ENUM:
            if value not in self.entries(node):
                raise LimitError(f"{value!r} is not an entry of {node}", device=where,
                                 key=node, allowed=list(self.entries(node)))
        elif nd.kind in (FeatureKind.INT, FeatureKind.FLOAT):
            lo, hi, inc = self.limits(node)
            if (lo is not None and value < lo) or (hi is not None and value > hi) or (
                    nd.kind == FeatureKind.INT and inc and lo is not None and (value - lo) % inc):
                raise LimitError(f"{value!r} outside {node} limits", device=where,
                                 key=node, allowed=f"[{lo}, {hi}] step {inc}")
            value = int(value) if nd.kind == FeatureKind.INT else float(value)
        elif nd.kind == FeatureKind.BOOL:
            value = bool(value)
        if node in self.SELECTED:
            self.sel[self.nodes["TriggerSelector"].value][node] = value
        elif node in self.LINE:
            self.lines[self.nodes["LineSelector"].value][node] = value
        else:
            nd.value = value
        if node in ("ExposureTime", "Height") and \
                self.nodes["AcquisitionFrameRate"].value > self.max_fps():
            self.nodes["AcquisitionFrameRate"].value = self.max_fps()
