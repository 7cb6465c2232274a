"""console.toml: typed keys, errors decided on their key (never their text)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lanecam.console.config import parse_console_config
from lanecam.errors import ConfigError

HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"


LANE = {"id": "n1", "api": "https://10.0.0.5:8444", "ca": "pki/site-ca.crt",
        "client_cert": "pki/console.crt", "client_key": "pki/console.key"}


def _doc(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "console": {"port": 8443}, "mqtt": {"host": "b", "site": "port1"},
        "lanes": [LANE],
        "users": [{"id": "o1", "role": "officer", "lanes": ["n1"], "password_hash": HASH}]}
    doc.update(over)
    return doc


def test_a_console_config_names_each_lanes_crop_service(tmp_path: Path) -> None:
    cfg = parse_console_config(_doc(), tmp_path)
    assert [c.lane_id for c in cfg.lanes] == ["n1"] and cfg.users[0].lanes == {"n1"}
    assert cfg.lanes[0].api == "https://10.0.0.5:8444" and cfg.mqtt.site == "port1"
    assert cfg.lanes[0].client_key == str(tmp_path / "pki/console.key")
    assert cfg.state_dir == tmp_path / "console-state"


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
    ({"lanes": [dict(LANE, api="http://10.0.0.5:8444")]}, "lanes[0].api"),
    ({"lanes": [dict(LANE, id="a/b")]}, "lanes[0].id"),
    ({"lanes": [dict(LANE, config="n1.toml")]}, "lanes[0].config"),
    ({"lanes": [{k: v for k, v in LANE.items() if k != "client_key"}]},
     "lanes[0].client_key"),
])
def test_bad_console_configs_name_their_key(tmp_path: Path, over: dict[str, Any],
                                            key: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_console_config(_doc(**over), tmp_path)
    assert e.value.key == key
