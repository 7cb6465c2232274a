"""The scenario loader refuses every malformed document and names the exact key path."""

from __future__ import annotations

import copy
import math
import tomllib
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lanecam.errors import ConfigError
from lanecam.sim import load_scenario
from lanecam.sim.scenario import parse_scenario, scenario_path

with open(scenario_path("tailgating_pair"), "rb") as _fh:
    BASE: dict[str, Any] = tomllib.load(_fh)
# every optional key present, so each one is mutated too
BASE["lane"] = {"width_m": 3.6}
BASE["camera"][0].update({"station_m": 0.5, "width_px": 1224, "height_px": 1024,
                          "extinction_ratio": 200.0, "polarizer_deg": 90.0,
                          "view": "windshield"})
BASE["vehicle"][1].update({"decel_mps2": 1.5, "start_s": 0.1, "lateral_m": 0.2,
                           "windshield": "solar_control", "nir_transmission": 0.3,
                           "rake_deg": 30.0, "visors": ["driver"], "a_pillar_m": 0.1,
                           "body_reflectance": 0.4, "headrests": False,
                           "side_glass": "privacy"})
BASE["vehicle"][1]["occupant"][1].update({"sunglasses": False, "hat": True, "yaw_deg": 5.0,
                                          "pitch_deg": -3.0, "roll_deg": 2.0,
                                          "height_offset_m": 0.05, "mask": True,
                                          "hand": "phone", "head_scale": 0.8})


def leaves(doc: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(key path, value) of every scalar or vector leaf, in the loader's path syntax."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            p = f"{path}.{k}" if path else k
            if isinstance(v, list) and v and isinstance(v[0], dict):
                for i, item in enumerate(v):
                    yield from leaves(item, f"{p}[{i}]")
            elif isinstance(v, dict):
                yield from leaves(v, p)
            else:
                yield p, v


def tables(doc: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(doc, dict):
        yield path, doc
        for k, v in doc.items():
            p = f"{path}.{k}" if path else k
            if isinstance(v, list) and v and isinstance(v[0], dict):
                for i, item in enumerate(v):
                    yield from tables(item, f"{p}[{i}]")
            elif isinstance(v, dict):
                yield from tables(v, p)


def put(doc: dict[str, Any], path: str, value: Any) -> None:
    node: Any = doc
    parts = path.replace("[", ".[").split(".")
    for part in parts[:-1]:
        node = node[int(part[1:-1])] if part.startswith("[") else node[part]
    node[parts[-1]] = value


LEAVES = sorted(p for p, _ in leaves(BASE))
TABLES = sorted(p for p, _ in tables(BASE))


def bad_values(value: Any, path: str) -> st.SearchStrategy[Any]:
    """Values that can never be valid where ``value`` is."""
    if isinstance(value, bool):
        return st.sampled_from(["yes", 1, 0.0, None.__class__.__name__])
    if isinstance(value, (int, float)):
        return st.one_of(st.text(max_size=5), st.booleans(), st.just([1.0]),
                         st.sampled_from([math.nan, math.inf, -math.inf, 1e12, -1e12]))
    if isinstance(value, str):
        wrong_type = st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans())
        if path == "scenario.description":  # free text: only the type can be wrong
            return wrong_type
        return st.one_of(wrong_type, st.just("no such thing!"), st.just(""))
    if isinstance(value, list):
        return st.one_of(st.just([1.0, 2.0]), st.just(["a", "b", "c"]), st.just("x"),
                         st.integers(), st.just([1.0, math.nan, 2.0]), st.just(["nobody"]))
    raise AssertionError(value)


def test_base_documents_are_valid() -> None:
    assert parse_scenario(BASE).name == "tailgating_pair"
    assert len(LEAVES) > 60 and len(TABLES) == 11


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_bad_value_is_refused_with_its_key_path(data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(LEAVES))
    value = dict(leaves(BASE))[path]
    bad = data.draw(bad_values(value, path))
    doc = copy.deepcopy(BASE)
    put(doc, path, bad)
    with pytest.raises(ConfigError) as e:
        parse_scenario(doc)
    assert e.value.key == path, (path, bad, str(e.value))


@settings(max_examples=100, deadline=None)
@given(table=st.sampled_from(TABLES), key=st.from_regex(r"[a-z_]{1,12}", fullmatch=True))
def test_unknown_key_is_refused_with_its_path(table: str, key: str) -> None:
    doc = copy.deepcopy(BASE)
    node: Any = doc
    if table:
        for part in table.replace("[", ".[").split("."):
            node = node[int(part[1:-1])] if part.startswith("[") else node[part]
    if key in node or (not table and key in {"lane"}):
        return
    node[key] = 1
    with pytest.raises(ConfigError) as e:
        parse_scenario(doc)
    assert e.value.key == (f"{table}.{key}" if table else key)


@pytest.mark.parametrize("path, value, key", [
    ("vehicle[0].occupant[0].seat", "roof", "vehicle[0].occupant[0].seat"),
    ("vehicle[0].rake_deg", 45.0, "vehicle[0].rake_deg"),
    ("vehicle[0].rake_deg", 19.9, "vehicle[0].rake_deg"),
    ("vehicle[0].speed_mph", 41.0, "vehicle[0].speed_mph"),
    ("vehicle[0].speed_mph", 4.9, "vehicle[0].speed_mph"),
    ("vehicle[1].occupant[1].seat", "driver", "vehicle[1].occupant"),
    ("camera[0].polarizer", "circular", "camera[0].polarizer"),
    ("vehicle[0].visors", ["rear_left"], "vehicle[0].visors"),
    ("vehicle[1].occupant[1].hand", "glove", "vehicle[1].occupant[1].hand"),
    ("vehicle[1].occupant[1].head_scale", 0.5, "vehicle[1].occupant[1].head_scale"),
    ("camera[0].view", "roof", "camera[0].view"),
    ("vehicle[0].side_glass", "mirrored", "vehicle[0].side_glass"),
])
def test_domain_rules(path: str, value: Any, key: str) -> None:
    doc = copy.deepcopy(BASE)
    put(doc, path, value)
    with pytest.raises(ConfigError) as e:
        parse_scenario(doc)
    assert e.value.key == key and e.value.allowed is not None or key.endswith("occupant")


def test_both_or_no_speed_and_too_many_occupants() -> None:
    doc = copy.deepcopy(BASE)
    doc["vehicle"][0]["speed_mps"] = 10.0
    with pytest.raises(ConfigError) as e:
        parse_scenario(doc)
    assert e.value.key == "vehicle[0].speed_mph"
    doc = copy.deepcopy(BASE)
    doc["vehicle"][0]["occupant"] = [{"seat": s, "face": "obama"} for s in (
        "driver", "front_passenger", "rear_left", "rear_middle", "rear_right", "driver")]
    with pytest.raises(ConfigError) as e:
        parse_scenario(doc)
    assert e.value.key == "vehicle[0].occupant"


def test_unknown_scenario_and_bad_toml(tmp_path: Any) -> None:
    with pytest.raises(ConfigError) as e:
        load_scenario("no_such_scenario")
    assert "clear_noon" in e.value.allowed
    bad = tmp_path / "bad.toml"
    bad.write_text("[scenario\nname=")
    with pytest.raises(ConfigError):
        load_scenario(bad)
