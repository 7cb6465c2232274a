"""Canonical camera features: their kinds and SI units, and how one family spells one
(:class:`FeatureMap`: node name, scale/offset or a logarithmic law, enum words).  Used by the
profile loader (:mod:`.profile`, :mod:`.profile_toml`) and by every camera backend."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CANONICAL_FEATURES", "FeatureKind", "FeatureMap"]


class FeatureKind:
    """How a canonical feature is typed at our API."""

    FLOAT = "float"  # SI number, converted with scale/offset
    INT = "int"  # integral count or pixels
    ENUM = "enum"  # word, mapped through `values`
    BOOL = "bool"
    STRING = "string"
    COMMAND = "command"  # executed, no value


#: Every canonical feature lanecam knows, its kind and its SI unit (for messages and docs).
CANONICAL_FEATURES: dict[str, tuple[str, str]] = {
    "exposure_time": (FeatureKind.FLOAT, "s"),
    "gain": (FeatureKind.FLOAT, "dB"),
    "gain_selector": (FeatureKind.ENUM, ""),  # word "all": the gain every tap/channel gets
    "frame_rate": (FeatureKind.FLOAT, "Hz"),
    "frame_rate_enable": (FeatureKind.BOOL, ""),
    "trigger_delay": (FeatureKind.FLOAT, "s"),
    "width": (FeatureKind.INT, "px"),
    "height": (FeatureKind.INT, "px"),
    "offset_x": (FeatureKind.INT, "px"),
    "offset_y": (FeatureKind.INT, "px"),
    "pixel_format": (FeatureKind.ENUM, ""),
    "acquisition_mode": (FeatureKind.ENUM, ""),
    "exposure_auto": (FeatureKind.ENUM, ""),
    "gain_auto": (FeatureKind.ENUM, ""),
    "trigger_selector": (FeatureKind.ENUM, ""),
    "trigger_mode": (FeatureKind.ENUM, ""),
    "trigger_source": (FeatureKind.ENUM, ""),
    "trigger_activation": (FeatureKind.ENUM, ""),
    "trigger_software": (FeatureKind.COMMAND, ""),
    "line_selector": (FeatureKind.ENUM, ""),
    "line_mode": (FeatureKind.ENUM, ""),
    "line_source": (FeatureKind.ENUM, ""),
    "line_debouncer_time": (FeatureKind.FLOAT, "s"),
    "burst_frame_count": (FeatureKind.INT, "frames"),
    "burst_mode": (FeatureKind.ENUM, ""),
    "ptp_enable": (FeatureKind.BOOL, ""),
    "timestamp_latch": (FeatureKind.COMMAND, ""),
    "timestamp_value": (FeatureKind.INT, "ticks"),
    "action_device_key": (FeatureKind.INT, ""),
    "action_group_key": (FeatureKind.INT, ""),
    "action_group_mask": (FeatureKind.INT, ""),
    "test_image_selector": (FeatureKind.ENUM, ""),
    "image_file_mode": (FeatureKind.ENUM, ""),
    "image_filename": (FeatureKind.STRING, ""),
    "failed_buffer_count": (FeatureKind.INT, "frames"),
    "failed_buffer": (FeatureKind.COMMAND, ""),
    "device_removal": (FeatureKind.COMMAND, ""),
    # sequencer, Basler classic SFNC 1.x (lanecam.devices.cameras.sequencer)
    "sequence_enable": (FeatureKind.BOOL, ""),
    "sequence_advance_mode": (FeatureKind.ENUM, ""),  # word "auto": next set every frame
    "sequence_set_total": (FeatureKind.INT, "sets"),
    "sequence_set_index": (FeatureKind.INT, ""),
    "sequence_set_executions": (FeatureKind.INT, "frames"),
    "sequence_set_store": (FeatureKind.COMMAND, ""),
    # sequencer, SFNC 2 (ace 2, FLIR)
    "sequencer_mode": (FeatureKind.ENUM, ""),  # words "on", "off"
    "sequencer_configuration_mode": (FeatureKind.ENUM, ""),  # words "on", "off"
    "sequencer_set_selector": (FeatureKind.INT, ""),
    "sequencer_set_save": (FeatureKind.COMMAND, ""),
    "sequencer_set_start": (FeatureKind.INT, ""),
    "sequencer_path_selector": (FeatureKind.INT, ""),
    "sequencer_set_next": (FeatureKind.INT, ""),
    "sequencer_trigger_source": (FeatureKind.ENUM, ""),  # word "frame": advance every frame
    # chunk data (lanecam.devices.cameras.chunks): words of chunk_selector are CHUNK_KEYS
    "chunk_mode_active": (FeatureKind.BOOL, ""),
    "chunk_selector": (FeatureKind.ENUM, ""),
    "chunk_enable": (FeatureKind.BOOL, ""),
    "chunk_exposure_time": (FeatureKind.FLOAT, "s"),  # read from a frame's chunks
    "chunk_gain": (FeatureKind.FLOAT, "dB"),
    "chunk_timestamp": (FeatureKind.INT, "ticks"),
    "chunk_frame_counter": (FeatureKind.INT, "frames"),
    "chunk_line_status": (FeatureKind.INT, ""),
    "chunk_sequencer_set": (FeatureKind.INT, ""),
}


@dataclass(frozen=True)
class FeatureMap:
    """One canonical feature as one family spells it."""

    canonical: str
    node: str
    kind: str
    unit: str
    scale: float = 1.0
    offset: float = 0.0
    values: Mapping[str, str] = field(default_factory=dict)
    #: > 0: a logarithmic law instead of scale/offset, ``value = 20·log10(node / log_ref)``
    #: (dB from a raw gain; from a ``[[gain_model]]`` row)
    log_ref: float = 0.0

    def to_node(self, value: Any) -> Any:
        """Canonical (SI) value → node value."""
        if self.kind == FeatureKind.FLOAT and self.log_ref > 0:
            return self.log_ref * 10.0 ** (float(value) / 20.0)
        if self.kind == FeatureKind.FLOAT:
            return float(value) * self.scale + self.offset
        if self.kind == FeatureKind.INT:
            return int(value)
        if self.kind == FeatureKind.ENUM:
            return self.values.get(str(value), str(value))
        return value

    def from_node(self, raw: Any) -> Any:
        """Node value → canonical (SI) value."""
        if self.kind == FeatureKind.FLOAT and self.log_ref > 0:
            return 20.0 * math.log10(raw / self.log_ref) if raw > 0 else -math.inf
        if self.kind == FeatureKind.FLOAT:
            return (float(raw) - self.offset) / self.scale
        if self.kind == FeatureKind.ENUM:
            for word, entry in self.values.items():
                if entry == raw:
                    return word
            return str(raw)
        return raw
