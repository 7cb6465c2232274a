"""Drawing a population: seeded per vehicle, shaped by the spec, mapped onto the world."""

from __future__ import annotations

import copy
import json
import tomllib
from collections import Counter
from typing import Any

import pytest

from lanecam.cli import main
from lanecam.errors import ConfigError
from lanecam.sim.population import (
    draw_population,
    draw_vehicle,
    load_spec,
    parse_spec,
    shipped_gallery,
)
from lanecam.sim.population.scenes import START_RANGE_M, vehicle_scenario
from lanecam.sim.population.spec import default_spec_path

SPEC = load_spec()
GALLERY = shipped_gallery()
BASE: dict[str, Any] = tomllib.loads(default_spec_path().read_text())


def test_a_vehicle_depends_only_on_seed_and_index() -> None:
    pop = draw_population(SPEC, GALLERY, 42, 6)
    assert draw_vehicle(SPEC, GALLERY, 42, 4) == pop[4]
    assert draw_population(SPEC, GALLERY, 42, 3, start=3) == pop[3:]
    assert draw_population(SPEC, GALLERY, 43, 6) != pop


def test_population_follows_the_spec() -> None:
    doc = copy.deepcopy(BASE)
    doc["vehicle"]["class"] = {"kind": "choice", "values": ["suv", "pickup"],
                               "weights": [3, 1], "source": "test"}
    doc["scene"]["night"]["p"] = 0.5
    doc["occupant"]["child"]["p"] = 1.0
    doc["vehicle"]["occupants"] = {"kind": "constant", "value": 4, "source": "test"}
    doc["travelers"]["impostor"]["p"] = 0.5
    pop = draw_population(parse_spec(doc), GALLERY, 7, 800)
    classes = Counter(v.vclass for v in pop)
    assert set(classes) == {"suv", "pickup"}
    assert 0.70 < classes["suv"] / 800 < 0.80  # 3:1 (±5 %, ~4 s.d.)
    assert 0.44 < sum(v.night for v in pop) / 800 < 0.56
    for v in pop:
        assert [o.seat for o in v.occupants] == ["driver", "front_passenger", "rear_right",
                                                 "rear_left"]
        for o in v.occupants:  # children only behind; every rear occupant here is one
            assert o.child == o.seat.startswith("rear")
            assert (o.head_scale < 1.0) == o.child
            if o.impostor:
                assert o.document is not None and o.document != o.identity
            elif o.document is not None:
                assert o.document == o.identity
        if v.night:
            assert v.sun_elevation_deg < 0 and not any(o.sunglasses for o in v.occupants)
    imp = [o for v in pop for o in v.occupants if o.impostor]
    assert 0.4 < len(imp) / sum(len(v.occupants) for v in pop) < 0.6


def test_every_vehicle_reaches_the_camera_and_tailgaters_follow_their_leader() -> None:
    doc = copy.deepcopy(BASE)
    doc["motion"]["tailgating"]["p"] = 0.5
    doc["motion"]["braking"]["p"] = 1.0
    for v in draw_population(parse_spec(doc), GALLERY, 11, 60):
        sc = vehicle_scenario(v)
        subject = sc.world.vehicles[-1]
        kin = subject.kinematics
        assert kin.range_at(120.0) < 0  # passes the camera plane
        assert [o.face for o in subject.occupants] == [o.identity for o in v.occupants]
        if v.tailgating_gap_s is None:
            assert len(sc.world.vehicles) == 1 and kin.start_range_m == START_RANGE_M
            continue
        leader = sc.world.vehicles[0]
        gap_m = kin.start_range_m - leader.kinematics.start_range_m - leader.vclass.length_m
        assert gap_m == pytest.approx(v.tailgating_gap_s * kin.speed_mps)
        assert leader.occupants[0].face not in {o.identity for o in v.occupants}


def test_seed_out_of_range_is_refused() -> None:
    with pytest.raises(ConfigError) as e:
        draw_vehicle(SPEC, GALLERY, -1, 0)
    assert e.value.key == "seed"


def test_cli_population_writes_the_same_json_for_the_same_seed(tmp_path, capsys) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert main(["sim", "population", "--seed", "5", "--vehicles", "4", "--out", str(a)]) == 0
    assert main(["sim", "population", "--seed", "5", "--vehicles", "4", "--out", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()
    doc = json.loads(a.read_text())
    assert doc["seed"] == 5 and len(doc["vehicles"]) == 4
    bad = tmp_path / "bad.toml"
    bad.write_text("[vehicle]\nwheels = 3\n")
    assert main(["sim", "population", "--seed", "5", "--vehicles", "1", "--spec", str(bad)]) == 2
    assert "ConfigError" in capsys.readouterr().err


def test_a_person_seated_twice_presents_one_document() -> None:
    doc = copy.deepcopy(BASE)  # 5 seats, 4 shipped faces: someone sits twice in every vehicle
    doc["vehicle"]["occupants"] = {"kind": "constant", "value": 5, "source": "test"}
    doc["travelers"]["impostor"]["p"] = 0.5
    for v in draw_population(parse_spec(doc), GALLERY, 13, 50):
        seen: dict[str, tuple[object, bool]] = {}
        for o in v.occupants:
            assert seen.setdefault(o.identity, (o.document, o.impostor)) == (o.document,
                                                                            o.impostor)
        assert len(seen) < 5
