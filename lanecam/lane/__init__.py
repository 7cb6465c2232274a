"""One lane, wired: sensors → tracker → planner → burst engine → ranker → face finder →
matcher → :class:`~lanecam.events.LaneEvent` → vault and sinks.

Rooms, each one stage of the lane:

* :mod:`.runner` — :class:`Lane`: threads, bounded queues, stopping, fault counting, events;
* :mod:`.planning` — which vehicle to film when (duplicate gate, tailgaters);
* :mod:`.fixed_burst`, :mod:`.closed_loop` — the burst engines (fixed settings; closed-loop
  exposure, gain and strobe with an open-loop, optionally bracketed rest);
* :mod:`.analyzer` — the motorized analyzer and its Malus probe;
* :mod:`.exposure_io` — exposure settings between the controller and the devices;
* :mod:`.camera` — :class:`LaneCamera` and what the lane does with one camera;
* :mod:`.job`, :mod:`.types` — one vehicle's job and its bursts; documents, counters;
* :mod:`.analysis`, :mod:`.decide` — ranking, crops and templates; faces to documents;
* :mod:`.builder` — a lane from a validated :class:`~lanecam.config.LaneConfig`.

Adaptive capture (:attr:`LaneCamera.exposure`, :attr:`LaneCamera.polarization`; both None
keeps the fixed settings): the capture thread grabs each frame right after its trigger,
meters the faces found in the predicted occupant ROIs and sets exposure, gain and the strobe
pulse for the next frame before triggering it, bounded by the motion blur of the tracked
speed, the camera's live limits, the gain noise budget and the illuminator's eye-safety
interlock.  Each frame's ROIs come from the tracker's live estimate at its exposure time, and
from this vehicle's cabin as measured on the faces found.
"""

from __future__ import annotations

from .analysis import face_crop
from .camera import LaneCamera
from .job import VehicleJob
from .runner import Lane
from .types import DocumentSource, LaneStats, SensorReader, TravelDocument

__all__ = ["DocumentSource", "Lane", "LaneCamera", "LaneStats", "SensorReader",
           "TravelDocument", "VehicleJob", "face_crop"]
