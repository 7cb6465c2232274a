"""Every scenario of the suite renders, and its ground truth is consistent with its set-up."""

from __future__ import annotations

import pytest

from lanecam.sim import SUITE, load_scenario, scenario_names
from lanecam.sim.cli import render_scenario
from lanecam.sim.truth import FrameTruth

SCALE = 0.2
ACCESSORIES = {"sunglasses", "hat"}


def test_suite_is_shipped() -> None:
    assert set(SUITE) <= set(scenario_names())
    assert len(SUITE) >= 10


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[FrameTruth]]:
    out = {}
    for name in SUITE:
        frames = render_scenario(load_scenario(name), frames=4, scale=SCALE)
        for img, _ in frames:
            assert img.dtype.name == "uint8" and img.ndim == 2 and img.std() > 0
        out[name] = [t for _, t in frames]
    return out


@pytest.mark.parametrize("name", SUITE)
def test_ground_truth_is_consistent(name: str, rendered: dict[str, list[FrameTruth]]) -> None:
    sc = load_scenario(name)
    truths = rendered[name]
    occupants = {(v.name, o.seat): o for v in sc.world.vehicles for o in v.occupants}
    visors = {(v.name, s) for v in sc.world.vehicles for s in v.visors}
    seen_any = False
    for tr in truths:
        assert len(tr.faces) == len(occupants)
        for f in tr.faces:
            occ = occupants[(f.vehicle, f.seat)]
            assert f.face == occ.face
            assert 0.0 <= f.visibility <= 1.0 and 0.0 <= f.glare_fraction <= 1.0
            if not f.in_view:
                continue
            x0, y0, x1, y1 = f.box
            assert x1 > x0 and y1 > y0 and f.ied_px > 0 and f.motion_blur_px >= 0
            worn = {a for a in ACCESSORIES if getattr(occ, a)}
            assert worn <= set(f.occluders)
            if worn:
                assert f.visibility < 0.97
            if "visor_shadow" in f.occluders:
                assert (f.vehicle, f.seat) in visors
            if not set(f.occluders) - {"visor_shadow"}:
                assert f.visibility > 0.99  # nothing set in the way: the face is seen whole
                seen_any = True
            else:
                assert f.visibility < 1.0 or set(f.occluders) <= ACCESSORIES | {"visor_shadow"}
    if name not in ("tailgating_pair",):
        assert seen_any or any(getattr(o, a) for o in occupants.values() for a in ACCESSORIES)


def _max_glare(truths: list[FrameTruth], what: str = "glare_fraction") -> float:
    return max(getattr(f, what) for t in truths for f in t.faces if f.in_view)


def test_scenarios_differ_the_way_their_names_say(rendered: dict[str, list[FrameTruth]]) -> None:
    assert _max_glare(rendered["night"]) < 0.01
    # sunlit clouds mirrored near grazing incidence: the brightest glare of the suite
    radiance = {n: _max_glare(t, "glare_radiance") for n, t in rendered.items()}
    assert max(radiance, key=radiance.__getitem__) == "low_sun_behind"
    assert radiance["low_sun_behind"] > 3 * radiance["clear_noon"]
    assert _max_glare(rendered["low_sun_behind"]) > 0.25
    fast, slow = ([f.motion_blur_px / t.exposure_s for t in rendered[n] for f in t.faces
                   if f.seat == "driver"] for n in ("fast_40mph", "clear_noon"))
    assert fast[-1] == pytest.approx(slow[-1] * 40 / 25, rel=0.05)  # same ranges: blur ∝ v·t
    rear = [f for t in rendered["rear_seat"] for f in t.faces if f.seat.startswith("rear")]
    assert any(f.in_view and f.visibility > 0.3 for f in rear)
    lead_first = rendered["tailgating_pair"][0]
    follower = [f for f in lead_first.faces if f.vehicle == "follower"]
    assert all(f.visibility < 0.5 or not f.in_view for f in follower)  # hidden by the leader
    low_facing = rendered["low_sun_facing"]
    assert not any(f.sunlit for t in low_facing for f in t.faces)  # backlit occupants
    assert any(f.sunlit for t in rendered["low_sun_behind"] for f in t.faces)
    vis = [f for t in rendered["visor_sunglasses"] for f in t.faces if f.seat == "driver"]
    assert any("visor_shadow" in f.occluders for f in vis)


UNOCCLUDED = ("clear_noon", "low_sun_behind", "low_sun_facing", "overcast", "night",
              "solar_control_windshield", "fast_40mph")


@pytest.mark.parametrize("name", UNOCCLUDED)
def test_faces_are_fully_visible_when_no_occluder_is_set(
        name: str, rendered: dict[str, list[FrameTruth]]) -> None:
    sc = load_scenario(name)
    (vehicle,) = sc.world.vehicles  # one vehicle, front seats, no accessories, no visor
    assert not vehicle.visors and all(
        o.seat in ("driver", "front_passenger") and not (o.sunglasses or o.hat)
        for o in vehicle.occupants)
    faces = [f for t in rendered[name] for f in t.faces if f.in_view]
    assert len(faces) == len(vehicle.occupants) * len(rendered[name])
    assert all(f.occluders == () and f.visibility > 0.99 for f in faces)
