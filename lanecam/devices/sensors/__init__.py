"""Vehicle-trigger sensors: OPS243 radar, Benewake TF-series lidar, inductive-loop detector.

Every reading carries ``t_ns``, the host monotonic time (from the injected clock) at which the
driver received it.  Speeds are m/s with **positive = approaching** (inbound), ranges metres.
Reading types live on the ground floor (:mod:`lanecam.readings`) and are re-exported here.
"""

from ...readings import LidarReading, LoopEdge, RadarObject, RadarReading
from .base import SerialSensor
from .lidar import (
    BENEWAKE_DATA,
    BENEWAKE_REPLY,
    TF02_PRO,
    TF_LUNA,
    BenewakeLidar,
    LidarModel,
    parse_benewake_frame,
)
from .loop import CallableLineSource, LineStateSource, LoopDetector, ModemLineSource
from .ops243_protocol import OPS243_MAX_LINE, parse_object_report, widest_object_report
from .ops243_settings import RadarSettingsReport, SettingMismatch
from .radar import OPS243Radar, RadarSettings, parse_ops243_line

__all__ = [
    "RadarReading",
    "RadarObject",
    "OPS243_MAX_LINE",
    "parse_object_report",
    "widest_object_report",
    "RadarSettingsReport",
    "SettingMismatch",
    "LidarReading",
    "LoopEdge",
    "SerialSensor",
    "RadarSettings",
    "OPS243Radar",
    "parse_ops243_line",
    "LidarModel",
    "TF_LUNA",
    "TF02_PRO",
    "BenewakeLidar",
    "parse_benewake_frame",
    "BENEWAKE_DATA",
    "BENEWAKE_REPLY",
    "LineStateSource",
    "ModemLineSource",
    "CallableLineSource",
    "LoopDetector",
]
