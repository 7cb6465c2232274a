"""Lane configuration: every bad key or value is reported with its path and what is allowed."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lanecam.config import load_lane_config, parse_lane_config
from lanecam.errors import ConfigError

GOOD = {
    "lane": {"id": "north-1"},
    "cameras": [{"name": "driver", "device": "sim", "lateral_m": -2.5},
                {"name": "passenger", "device": "pylon:0815-0001", "focal_length_m": 0.075}],
    "capture": {"zone_near_m": 9.0, "zone_far_m": 20.0, "frames": 10},
    "sensors": {"radar": {"url": "/dev/ttyACM0", "model": "ops243-c"}},
    "vault": {"root": "/tmp/v", "key_env": "LANECAM_MASTER_KEY"},
    "sinks": [{"kind": "jsonl", "path": "events.jsonl"}],
}


def test_good_config() -> None:
    cfg = parse_lane_config(GOOD)
    assert cfg.lane_id == "north-1" and [c.name for c in cfg.cameras] == ["driver", "passenger"]
    assert cfg.cameras[1].focal_length_m == 0.075 and cfg.cameras[0].focal_length_m == 0.05
    assert cfg.capture.frames == 10 and cfg.radar.model == "ops243-c" and cfg.lidar is None
    assert cfg.vault.key_env == "LANECAM_MASTER_KEY"
    assert cfg.vault.witness is None and cfg.vault.keys is None and cfg.vault.epoch_s is None
    doc = copy.deepcopy(GOOD)
    doc["vault"] |= {"witness": "/srv/worm/n1.witness", "keys": "/run/keys", "epoch_s": 86400}
    v = parse_lane_config(doc).vault
    assert (v.witness, v.keys, v.epoch_s) == ("/srv/worm/n1.witness", "/run/keys", 86400.0)


BAD = [
    (("cameras", 1, "focal_lenght_m"), 0.05, "cameras[1].focal_lenght_m"),
    (("cameras", 0, "focal_length_m"), 0.0, "cameras[0].focal_length_m"),
    (("cameras", 0, "focal_length_m"), "50mm", "cameras[0].focal_length_m"),
    (("cameras", 0, "device"), "gige:1", "cameras[0].device"),
    (("cameras", 1, "width_px"), 2448.5, "cameras[1].width_px"),
    (("capture", "frames"), 0, "capture.frames"),
    (("capture", "frames"), True, "capture.frames"),
    (("capture", "zone_near_m"), 25.0, "capture.zone_near_m"),
    (("capture", "exposure_s"), float("nan"), "capture.exposure_s"),
    (("sensors", "sonar"), {"url": "x", "model": "y"}, "sensors.sonar"),
    (("sensors", "radar", "baud"), 9600, "sensors.radar.baud"),
    (("matcher", "kind"), "arcface", "matcher.kind"),
    (("vault", "key_file"), "/etc/k", "vault"),
    (("vault", "master_key"), "c2VjcmV0", "vault.master_key"),
    (("vault", "epoch_s"), 5.0, "vault.epoch_s"),
    (("vault", "witness"), 3, "vault.witness"),
    (("sinks", 0, "kind"), "kafka", "sinks[0].kind"),
    (("lane", "id"), "has spaces", "lane.id"),
    (("extra",), {}, "extra"),
]


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(BAD))
def test_bad_values_name_their_path(case: tuple) -> None:
    path, bad, key = case
    doc = copy.deepcopy(GOOD)
    node = doc
    for p in path[:-1]:
        node = node[p] if not isinstance(p, str) or p in node else node.setdefault(p, {})
    node[path[-1]] = bad
    with pytest.raises(ConfigError) as e:
        parse_lane_config(doc)
    assert e.value.key == key


@settings(max_examples=150, deadline=None)
@given(st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
                    lambda c: st.one_of(st.lists(c, max_size=3),
                                        st.dictionaries(st.text(max_size=8), c, max_size=3)),
                    max_leaves=10))
def test_arbitrary_documents_only_raise_config_error(doc: object) -> None:
    try:
        parse_lane_config(doc)  # type: ignore[arg-type]
    except ConfigError:
        pass


def test_missing_and_duplicate(tmp_path: Path) -> None:
    doc = copy.deepcopy(GOOD)
    del doc["cameras"][0]["device"]
    with pytest.raises(ConfigError) as e:
        parse_lane_config(doc)
    assert e.value.key == "cameras[0].device"
    doc = copy.deepcopy(GOOD)
    doc["cameras"][1]["name"] = "driver"
    with pytest.raises(ConfigError, match="unique"):
        parse_lane_config(doc)
    (tmp_path / "l.toml").write_text("[lane\n")
    with pytest.raises(ConfigError, match="TOML"):
        load_lane_config(tmp_path / "l.toml")
