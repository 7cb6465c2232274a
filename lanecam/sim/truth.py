"""Ground truth of simulated frames — for evaluation only.

Nothing in ``lanecam`` outside ``lanecam.sim`` may import this module or call
:meth:`lanecam.sim.camera.SimCamera.ground_truth` (``tests/sim/test_truth_isolation.py``
checks): the lane must work from what its devices report, as it would with real hardware.

Pixel coordinates are those of the delivered frame (its window, at the render scale).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FaceTruth", "FrameTruth", "VehicleTruth"]


@dataclass(frozen=True)
class FaceTruth:
    """One occupant's face in one frame.

    ``box`` (x0, y0, x1, y1) bounds the face region (brow to chin, cheek to cheek) before blur.
    ``visibility`` is the fraction of the face seen unobstructed through the glass (0–1): of
    surface samples spread evenly over the face as seen frontally (brow to chin, cheek to
    cheek, on the 3-D head), those that face the camera and are the nearest surface at their
    pixel, inside the glass, times the share no nearer vehicle covers.  ``occluders`` names
    what hid any of it: ``"pose"`` (the head itself: turned away, the far cheek behind the
    nose side), ``"sunglasses"``, ``"mask"``, ``"hat"`` (cap worn; its crown hides the brow),
    ``"cap_brim"``, ``"hand"``, ``"phone"``, ``"headrest"`` (another seat's), ``"frame"``
    (A-pillar, roof header or hood), ``"occupant"`` (another person: head, hair or body),
    ``"vehicle"`` (a nearer vehicle);
    ``"visor_shadow"`` marks a face partly in a lowered sun visor's shadow.
    ``glare_fraction`` is the share of the recorded face signal that is windshield reflection
    (0–1); ``glare_radiance`` the mean reflected radiance over the visible face (W·m⁻²·sr⁻¹
    in band, after the polarizer).  Blur lengths are in pixels; ``ied_px`` is the inter-eye
    distance in pixels between the projected eye centres on the head (≈ cos(yaw) of the
    frontal one).  ``yaw_deg``, ``pitch_deg``, ``roll_deg`` are the head's pose as seen by this
    camera (0, 0, 0 looks into the lens; yaw > 0 turned towards +x, pitch > 0 nodding down,
    as ``Occupant``), ``eyes_visible`` how many eye centres (0–2) face the camera unhidden.
    """

    vehicle: str
    seat: str
    face: str
    in_view: bool
    box: tuple[float, float, float, float]
    visibility: float
    occluders: tuple[str, ...]
    glare_fraction: float
    glare_radiance: float
    motion_blur_px: float
    defocus_px: float
    distance_m: float
    ied_px: float
    sunlit: bool
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    roll_deg: float = 0.0
    eyes_visible: int = 0


@dataclass(frozen=True)
class VehicleTruth:
    """A vehicle at mid-exposure: range (m), approach speed (m/s), whether any of it is in
    the frame, and the windshield's bounding box (x0, y0, x1, y1; zeros when out of view)."""

    name: str
    range_m: float
    speed_mps: float
    in_view: bool
    windshield_box: tuple[float, float, float, float]


@dataclass(frozen=True)
class FrameTruth:
    """World state behind one frame: times in world seconds, settings used to render it."""

    time_s: float
    exposure_s: float
    gain_db: float
    polarizer_deg: float | None
    illumination_mode: str
    vehicles: tuple[VehicleTruth, ...]
    faces: tuple[FaceTruth, ...]
