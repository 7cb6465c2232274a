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


# ---------------------------------------------------------------- GigE ([cameras.transport], [gige])
GIGE = {"ptp": True, "ptp_lock_timeout_s": 20.0,
        "action": {"device_key": 0x12345678, "group_key": 1, "group_mask": 0x3}}
TRANSPORT = {"link": "eth1", "link_mbps": 1000, "mtu": 9000, "heartbeat_s": 3.0}


def _gige_doc() -> dict:
    doc = copy.deepcopy(GOOD)
    for i, c in enumerate(doc["cameras"]):
        c["device"] = f"pylon:4012345{i}"
        c["transport"] = dict(TRANSPORT)
    doc["gige"] = copy.deepcopy(GIGE)
    return doc


def test_gige_keys_parse_typed() -> None:
    cfg = parse_lane_config(_gige_doc())
    t = cfg.cameras[0].transport
    assert (t.link, t.link_mbps, t.mtu, t.headroom, t.heartbeat_s) == ("eth1", 1000.0, 9000,
                                                                        0.9, 3.0)
    assert cfg.gige.ptp and cfg.gige.ptp_lock_timeout_s == 20.0
    assert cfg.gige.action.device_key == 0x12345678 and cfg.gige.action.group_mask == 3
    assert parse_lane_config(GOOD).gige.ptp is False and parse_lane_config(GOOD).gige.action is None


GIGE_BAD = [
    (("cameras", 0, "transport", "mtu"), 100, "cameras[0].transport.mtu"),
    (("cameras", 0, "transport", "mtu"), 1500.0, "cameras[0].transport.mtu"),
    (("cameras", 0, "transport", "link_mbps"), 0, "cameras[0].transport.link_mbps"),
    (("cameras", 0, "transport", "headroom"), 1.5, "cameras[0].transport.headroom"),
    (("cameras", 0, "transport", "heartbeat_s"), -1.0, "cameras[0].transport.heartbeat_s"),
    (("cameras", 0, "transport", "packet_delay"), 5, "cameras[0].transport.packet_delay"),
    (("cameras", 1, "transport", "link_mbps"), 100, "cameras[1].transport.link_mbps"),
    (("cameras", 0, "device"), "sim", "cameras[0].transport"),
    (("gige", "ptp"), "yes", "gige.ptp"),
    (("gige", "ptp_lock_timeout_s"), 0.0, "gige.ptp_lock_timeout_s"),
    (("gige", "ptp_lock_timeout_s"), float("inf"), "gige.ptp_lock_timeout_s"),
    (("gige", "action", "group_mask"), 0, "gige.action.group_mask"),
    (("gige", "action", "device_key"), 2**32, "gige.action.device_key"),
    (("gige", "action", "group_key"), -1, "gige.action.group_key"),
    (("gige", "action", "group_key"), True, "gige.action.group_key"),
    (("gige", "action"), 5, "gige.action"),
    (("gige", "multicast"), True, "gige.multicast"),
]


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(GIGE_BAD))
def test_bad_gige_values_name_their_path(case: tuple) -> None:
    path, bad, key = case
    doc = _gige_doc()
    node = doc
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = bad
    with pytest.raises(ConfigError) as e:
        parse_lane_config(doc)
    assert e.value.key == key


def test_ptp_or_actions_with_a_simulated_camera_are_refused() -> None:
    doc = copy.deepcopy(GOOD)
    doc["cameras"][0]["device"] = "sim"
    doc["gige"] = {"ptp": True}
    with pytest.raises(ConfigError) as e:
        parse_lane_config(doc)
    assert e.value.key == "gige.ptp"


_ANY = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**40, max_value=2**40),
                 st.floats(), st.text(max_size=6))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from([*TRANSPORT, "headroom", "x"]), _ANY, max_size=5),
       st.dictionaries(st.sampled_from([*GIGE, "ptp_accept_master", "x"]),
                       st.one_of(_ANY, st.dictionaries(
                           st.sampled_from(["device_key", "group_key", "group_mask", "x"]),
                           _ANY, max_size=4)), max_size=4))
def test_arbitrary_gige_tables_only_raise_config_error(transport: dict, gige: dict) -> None:
    doc = _gige_doc()
    doc["cameras"][0]["transport"] = transport
    doc["gige"] = gige
    try:
        cfg = parse_lane_config(doc)
    except ConfigError:
        return
    t = cfg.cameras[0].transport
    assert 576 <= t.mtu <= 16128 and 0 < t.headroom <= 1 and t.link_mbps > 0
    a = cfg.gige.action
    assert a is None or (0 <= a.device_key <= 0xFFFFFFFF and 1 <= a.group_mask <= 0xFFFFFFFF)


def _side_doc(view: object, lateral: object, yaw: object, second: str = "windshield") -> dict:
    doc = copy.deepcopy(GOOD)
    cam = doc["cameras"][0]
    cam["view"], cam["lateral_m"] = view, lateral
    if yaw is not None:
        cam["yaw_deg"] = yaw
    doc["cameras"][1] |= {"view": second, "lateral_m": -3.0, "yaw_deg": 30.0}
    return doc


def test_side_camera_view_parses_and_is_checked() -> None:
    cfg = parse_lane_config(_side_doc("side", 3.2, -35.0))
    assert cfg.cameras[0].view == "side" and cfg.cameras[1].view == "windshield"
    assert parse_lane_config(GOOD).cameras[0].view == "windshield"  # the default
    cases = [(_side_doc("roof", 3.2, -35.0), "cameras[0].view"),
             (_side_doc("side", 0.5, -35.0), "cameras[0].lateral_m"),  # in the lane
             (_side_doc("side", 3.2, 35.0), "cameras[0].yaw_deg"),  # turned away
             (_side_doc("both", -3.2, None), "cameras[0].yaw_deg"),  # no yaw given
             (_side_doc("side", 3.2, -5.0), "cameras[0].yaw_deg"),  # looks down the lane
             (_side_doc("side", 3.2, -35.0, second="side"), "cameras")]  # no windshield
    for doc, key in cases:
        with pytest.raises(ConfigError) as e:
            parse_lane_config(doc)
        assert e.value.key == key


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.sampled_from(["windshield", "side", "both"]), st.text(max_size=6),
                 st.integers(), st.none()),
       st.one_of(st.floats(-25, 25), st.integers(-25, 25), st.text(max_size=3)),
       st.one_of(st.none(), st.floats(-70, 70), st.booleans()),
       st.sampled_from(["windshield", "side", "both"]))
def test_arbitrary_views_only_raise_config_error(view: object, lateral: object, yaw: object,
                                                 second: str) -> None:
    try:
        cfg = parse_lane_config(_side_doc(view, lateral, yaw, second))
    except ConfigError as exc:
        assert exc.key in ("cameras[0].view", "cameras[0].lateral_m", "cameras[0].yaw_deg",
                               "cameras[1].lateral_m", "cameras[1].yaw_deg", "cameras")
        return
    for c in cfg.cameras:  # what parses keeps the rules
        assert c.view in ("windshield", "side", "both")
        if c.view != "windshield":
            assert abs(c.lateral_m) >= 1.0 and c.yaw_deg is not None
            assert c.yaw_deg * c.lateral_m < 0 and abs(c.yaw_deg) >= 10.0
    assert any(c.view != "side" for c in cfg.cameras)
