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
    ``visibility`` is the fraction of that face's pixels seen unobstructed through the glass
    (0–1).  ``occluders`` names what hid any of it: ``"sunglasses"``, ``"hat"``,
    ``"frame"`` (A-pillar, roof header or hood), ``"occupant"`` (another person),
    ``"vehicle"`` (a nearer vehicle);
    ``"visor_shadow"`` marks a face partly in a lowered sun visor's shadow.
    ``glare_fraction`` is the share of the recorded face signal that is windshield reflection
    (0–1); ``glare_radiance`` the mean reflected radiance over the visible face (W·m⁻²·sr⁻¹
    in band, after the polarizer).  Blur lengths are in pixels; ``ied_px`` is the inter-eye
    distance in pixels.
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
