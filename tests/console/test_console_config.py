"""console.toml: typed keys, errors decided on their key (never their text)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lanecam.console.config import parse_console_config
from lanecam.errors import ConfigError
from lanecam.testing.mosquitto import lane_toml

HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"


def _doc(lane_cfg: Path, **over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "console": {"port": 8443}, "mqtt": {"host": "b", "site": "port1"},
        "lanes": [{"config": str(lane_cfg), "documents": "docs"}],
        "users": [{"id": "o1", "role": "officer", "lanes": ["n1"], "password_hash": HASH}]}
    doc.update(over)
    return doc


def test_a_console_config_parses_with_the_lane_vault(tmp_path: Path) -> None:
    lane = lane_toml(tmp_path / "n1", "n1", 1883, vault=True)
    cfg = parse_console_config(_doc(lane), tmp_path)
    assert [c.lane_id for c in cfg.lanes] == ["n1"] and cfg.users[0].lanes == {"n1"}
    assert cfg.lanes[0].lane.vault is not None and cfg.mqtt.site == "port1"


@pytest.mark.parametrize(("over", "key"), [
    ({"mqtt": {"host": "b", "site": "p", "outbox": "/x"}}, "mqtt"),
    ({"mqtt": {"host": "b", "site": "a/b"}}, "mqtt.site"),
    ({"console": {"tls_cert": "/c"}}, "console.tls_cert"),
    ({"console": {"port": 70000}}, "console.port"),
    ({"users": []}, "users"),
    ({"users": [{"id": "o", "role": "boss", "password_hash": HASH}]}, "users[0].role"),
    ({"users": [{"id": "o", "role": "officer", "lanes": ["s9"], "password_hash": HASH}]},
     "users[0].lanes"),
    ({"users": [{"id": "o", "role": "officer", "password_hash": "plain"}]},
     "users[0].password_hash"),
    ({"extra": {}}, "extra"),
])
def test_bad_console_configs_name_their_key(tmp_path: Path, over: dict[str, Any],
                                            key: str) -> None:
    lane = lane_toml(tmp_path / "n1", "n1", 1883, vault=True)
    with pytest.raises(ConfigError) as e:
        parse_console_config(_doc(lane, **over), tmp_path)
    assert e.value.key == key
