"""Side windows in the simulator: a side camera sees the rear-row faces through the door glass
(between the B- and C-pillars), privacy glass darkens the rear doors only, and adding a side
camera leaves the windshield camera's frames byte for byte as they were."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from lanecam.sim import load_scenario
from lanecam.sim.render import Renderer, Shot
from lanecam.sim.side_glass import side_panes
from lanecam.sim.vehicles import VehicleGeometry

T_STOPPED = 4.3  # s: the van stands at the booth, both rows beside the side camera


def _shot(sc, t: float = T_STOPPED) -> Shot:  # type: ignore[no-untyped-def]
    return Shot(t, 3e-4, 20.0, illumination=sc.illumination, noise=False)


def _faces(img: np.ndarray, truth, least: float = 0.5  # type: ignore[no-untyped-def]
           ) -> dict[str, float]:
    """Mean level of each face seen at least ``least`` (a 3-D head seen 70° off frontal
    shows ~0.6 of its face)."""
    out = {}
    for f in truth.faces:
        if f.in_view and f.visibility > least:
            x0, y0, x1, y1 = (round(v) for v in f.box)
            out[f.seat] = float(img[max(y0, 0):y1, max(x0, 0):x1].mean())
    return out


def test_side_camera_sees_the_rear_row_through_the_door_glass() -> None:
    sc = load_scenario("rear_seat_side")
    side = Renderer(sc.world, "side0", scale=0.25)
    _, truth = side.render(_shot(sc))
    seen = {f.seat: f for f in truth.faces if f.in_view and f.visibility > 0.9}
    assert "rear_left" in seen and seen["rear_left"].ied_px > 18
    # with 3-D heads, the front passenger's headrest stands in the line of sight to the rear
    # middle face (depth order), so that face is seen in part only
    middle = next(f for f in truth.faces if f.seat == "rear_middle")
    assert middle.in_view and "headrest" in middle.occluders and middle.visibility < 0.5
    # without its side glass (drawn as the windshield view does: a dark panel) the same camera
    # sees no rear face: the faces come through the door glass
    flat = replace(sc.world, cameras=tuple(replace(c, view="windshield") if c.name == "side0"
                                           else c for c in sc.world.cameras))
    _, t2 = Renderer(flat, "side0", scale=0.25).render(_shot(sc))
    assert not any(f.in_view and f.visibility > 0.5 and f.seat.startswith("rear")
                   for f in t2.faces)
    # the panes: front door ahead of the rear door, the B-pillar between, normals outwards
    g: VehicleGeometry = sc.world.vehicles[0].geometry(T_STOPPED)
    (n0, front, nf), (n1, rear, nr) = side_panes(g, +1)
    assert (n0, n1) == ("front_door", "rear_door")
    assert front[:, 2].max() < rear[:, 2].min()  # the B-pillar's width between them
    assert nf[0] > 0.9 and nf[1] > 0 and np.allclose(nf, nr)


def test_privacy_glass_darkens_the_rear_doors_only() -> None:
    # rear_seat_side's camera looks back along the lane at 35°: it sees the rear row through
    # the *front* door glass (the line of sight leaves the cabin ahead of the face), so rear
    # privacy glass does not darken its view.  A camera turned 70° across the lane, beside the
    # rear door, looks through it.
    sc = load_scenario("rear_seat_side")
    across = replace(sc.world.camera("side0"), name="across", yaw_deg=-70.0, station_m=4.0)
    levels = {}
    for cam in ("side0", "across"):
        for tint in ("clear", "privacy"):
            v = replace(sc.world.vehicles[0], side_glass=tint)
            world = replace(sc.world, vehicles=(v,), cameras=(*sc.world.cameras, across))
            img, truth = Renderer(world, cam, scale=0.25).render(_shot(sc))
            levels[cam, tint] = _faces(img, truth)
    assert levels["side0", "privacy"] == levels["side0", "clear"]  # all through the front doors
    assert levels["across", "privacy"]["rear_left"] < 0.6 * levels["across", "clear"]["rear_left"]


def test_a_side_camera_leaves_the_windshield_frames_unchanged() -> None:
    with_side = load_scenario("rear_seat_side")
    alone = replace(with_side.world, cameras=with_side.world.cameras[:1])
    for t in (2.0, 3.5):
        a, _ = Renderer(with_side.world, "cam0", scale=0.2).render(_shot(with_side, t))
        b, _ = Renderer(alone, "cam0", scale=0.2).render(_shot(with_side, t))
        assert np.array_equal(a, b)
    # and rear_seat's van is rear_seat_side's: the same vehicle, the booth camera unchanged
    rear = load_scenario("rear_seat")
    assert rear.world.vehicles == with_side.world.vehicles
    assert rear.world.cameras[0] == with_side.world.cameras[0]
