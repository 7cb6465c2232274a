"""``[mqtt]`` and ``[metrics]``: every key typed, every bad value a ConfigError naming its key
(decided on the error's fields, never its text), fuzzed like the other parsers."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lanecam.config import MqttConfig, parse_lane_config
from lanecam.errors import ConfigError

BASE: dict[str, Any] = {"lane": {"id": "n1"}, "cameras": [{"name": "c", "device": "sim"}]}
MQTT = {"host": "broker.port", "site": "port1", "outbox": "/var/lib/lanecam/outbox.sqlite"}


def _parse(mqtt: Any, metrics: Any = None) -> Any:
    doc = dict(BASE, mqtt=mqtt)
    if metrics is not None:
        doc["metrics"] = metrics
    return parse_lane_config(doc)


def test_a_full_table_parses() -> None:
    cfg = _parse(dict(MQTT, port=8883, username="lane-n1", password_env="MQTT_PW", tls=True,
                      ca_file="/etc/ca.pem", cert_file="/etc/c.pem", key_file="/etc/c.key",
                      keepalive_s=20), {"port": 9100, "host": "0.0.0.0"})
    assert cfg.mqtt == MqttConfig("broker.port", "port1", "/var/lib/lanecam/outbox.sqlite", 8883,
                                  "lane-n1", "MQTT_PW", True, "/etc/ca.pem", "/etc/c.pem",
                                  "/etc/c.key", 20)
    assert cfg.metrics is not None and cfg.metrics.port == 9100


@pytest.mark.parametrize(("change", "key"), [
    ({"port": 0}, "mqtt.port"), ({"port": "1883"}, "mqtt.port"), ({"port": 70000}, "mqtt.port"),
    ({"site": "a/b"}, "mqtt.site"), ({"site": "#"}, "mqtt.site"), ({"host": ""}, "mqtt.host"),
    ({"password": "x"}, "mqtt.password"),  # secrets are named, never written in the config
    ({"password_env": "PW"}, "mqtt.username"), ({"ca_file": "/ca"}, "mqtt.tls"),
    ({"tls": True, "cert_file": "/c"}, "mqtt.cert_file"), ({"tls": "yes"}, "mqtt.tls"),
    ({"keepalive_s": 1}, "mqtt.keepalive_s"), ({"outbox": 3}, "mqtt.outbox"),
])
def test_bad_values_name_their_key(change: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as e:
        _parse(dict(MQTT, **change))
    assert e.value.key == key


def test_missing_keys_and_bad_metrics() -> None:
    for k in MQTT:
        with pytest.raises(ConfigError) as e:
            _parse({n: v for n, v in MQTT.items() if n != k})
        assert e.value.key == f"mqtt.{k}"
    with pytest.raises(ConfigError) as e:
        _parse(MQTT, {"port": -1})
    assert e.value.key == "metrics.port"


_leaf = st.one_of(st.none(), st.booleans(), st.integers(-10, 70000), st.floats(),
                  st.text(max_size=6), st.sampled_from(["/x", "port1", "a/b", "+"]))
_keys = st.sampled_from([*MQTT, "port", "username", "password_env", "tls", "ca_file",
                         "cert_file", "key_file", "keepalive_s", "bogus"])


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_leaf, st.lists(_leaf, max_size=2), st.dictionaries(_keys, _leaf, max_size=8)),
       st.one_of(st.none(), st.dictionaries(st.sampled_from(["port", "host", "x"]), _leaf,
                                            max_size=3)))
def test_arbitrary_tables_only_raise_config_error(mqtt: Any, metrics: Any) -> None:
    try:
        cfg = _parse(mqtt, metrics)
    except ConfigError as exc:
        assert exc.key is not None and exc.key.split(".")[0].split("[")[0] in (
            "mqtt", "metrics")
        return
    assert isinstance(cfg.mqtt, MqttConfig)


def test_the_readme_port_tables_parse() -> None:
    import re
    import tomllib
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    (block,) = [b for b in re.findall(r"```toml\n(.*?)```", readme, flags=re.DOTALL)
                if "[mqtt]" in b]
    doc = tomllib.loads(block)
    cfg = _parse(doc["mqtt"], doc["metrics"])
    assert cfg.mqtt.tls and cfg.mqtt.password_env and cfg.metrics.port == 9464
