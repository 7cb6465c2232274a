"""The population spec: the shipped default parses and cites a source for every distribution;
every malformed spec is a ConfigError naming its key (fuzzed)."""

from __future__ import annotations

import copy
import tomllib
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lanecam.errors import ConfigError
from lanecam.sim.population.spec import SCHEMA, default_spec_path, load_spec, parse_spec

BASE: dict[str, Any] = tomllib.loads(default_spec_path().read_text())
DIST_PATHS = [(s, k) for s, keys in SCHEMA.items() for k in keys]


def test_default_spec_parses_and_every_distribution_has_a_source() -> None:
    spec = load_spec()
    for s, k in DIST_PATHS:
        assert spec.d(s, k).source.strip()
    for modes in spec.pose.values():
        for m in modes:
            assert all(d.source for d in (m.yaw_deg, m.pitch_deg, m.roll_deg))
    assert {m.name for m in spec.pose["driver"]} == {"booth", "phone", "mirror"}
    lo, hi = spec.d("motion", "speed_mph").p("lo"), spec.d("motion", "speed_mph").p("hi")
    assert (lo, hi) == (5.0, 45.0)


def test_draws_stay_inside_the_declared_range() -> None:
    spec = load_spec()
    rng = np.random.default_rng(3)
    speeds = [spec.d("motion", "speed_mph").draw(rng) for _ in range(2000)]
    assert 5.0 <= min(speeds) and max(speeds) <= 45.0
    assert sum(s == 5.0 for s in speeds) == 0  # truncated, not clipped: no pile at the bound


@pytest.mark.parametrize(("section", "key"), DIST_PATHS[:6])
def test_missing_key_names_it(section: str, key: str) -> None:
    doc = copy.deepcopy(BASE)
    del doc[section][key]
    with pytest.raises(ConfigError) as e:
        parse_spec(doc)
    assert e.value.key == f"{section}.{key}"


def test_missing_source_is_refused() -> None:
    doc = copy.deepcopy(BASE)
    del doc["motion"]["speed_mph"]["source"]
    with pytest.raises(ConfigError) as e:
        parse_spec(doc)
    assert e.value.key == "motion.speed_mph.source"


def test_choice_outside_the_allowed_values_lists_them() -> None:
    doc = copy.deepcopy(BASE)
    doc["vehicle"]["class"]["values"][0] = "tank"
    with pytest.raises(ConfigError) as e:
        parse_spec(doc)
    assert e.value.key == "vehicle.class.values" and "sedan" in e.value.allowed


def test_more_occupants_than_seats_is_refused() -> None:
    doc = copy.deepcopy(BASE)
    doc["vehicle"]["occupants"]["values"][-1] = 7
    with pytest.raises(ConfigError) as e:
        parse_spec(doc)
    assert e.value.key == "vehicle.occupants.values"


def _leaves(node: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(node, dict):
        return [x for k, v in node.items() for x in _leaves(v, f"{path}.{k}" if path else k)]
    if isinstance(node, list) and node and isinstance(node[0], dict):
        return [x for i, v in enumerate(node) for x in _leaves(v, f"{path}[{i}]")]
    return [(path, node)]


def _put(doc: Any, path: str, value: Any) -> None:
    parts = path.replace("[", ".[").split(".")
    node = doc
    for p in parts[:-1]:
        node = node[int(p[1:-1])] if p.startswith("[") else node[p]
    last = parts[-1]
    if last.startswith("["):
        node[int(last[1:-1])] = value
    else:
        node[last] = value


LEAVES = [p for p, _ in _leaves(BASE) if not p.startswith("population")]
JUNK = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                 st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
                 st.lists(st.integers(-3, 9), max_size=4), st.dictionaries(
                     st.text(max_size=4), st.integers(), max_size=2))


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_fuzzed_leaf_is_accepted_or_refused_with_a_key(data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(LEAVES))
    doc = copy.deepcopy(BASE)
    _put(doc, path, data.draw(JUNK))
    try:
        spec = parse_spec(doc)
    except ConfigError as e:
        assert e.key, path
        return
    rng = np.random.default_rng(0)  # whatever was accepted can be drawn from
    for s, k in DIST_PATHS:
        spec.d(s, k).draw(rng)


@settings(max_examples=100, deadline=None)
@given(section=st.sampled_from(sorted(SCHEMA)), key=st.from_regex(r"[a-z_]{1,12}", fullmatch=True))
def test_unknown_key_is_refused_with_its_path(section: str, key: str) -> None:
    doc = copy.deepcopy(BASE)
    if key in doc[section]:
        return
    doc[section][key] = {"kind": "share", "p": 0.5, "source": "x"}
    with pytest.raises(ConfigError) as e:
        parse_spec(doc)
    assert e.value.key == f"{section}.{key}"
    assert sorted(SCHEMA[section]) == e.value.allowed


@settings(max_examples=100, deadline=None)
@given(doc=st.recursive(st.one_of(st.integers(), st.text(max_size=5), st.booleans()),
                        lambda c: st.dictionaries(st.text(max_size=6), c, max_size=4)
                        | st.lists(c, max_size=3), max_leaves=12))
def test_arbitrary_documents_never_escape_as_other_errors(doc: Any) -> None:
    with pytest.raises(ConfigError):
        parse_spec(doc)
