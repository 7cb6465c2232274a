"""The officer console's configuration (``console.toml``), every key typed like the lane's.

Example::

    [console]
    host = "0.0.0.0"
    port = 8443
    tls_cert = "/etc/lanecam/console.crt"    # both or neither; without them: plain HTTP,
    tls_key = "/etc/lanecam/console.key"     # only for a console bound to 127.0.0.1
    session_s = 900                          # a session ends after this long idle
    lockout_failures = 5                     # wrong passwords in a row lock the account
    lockout_s = 900
    state_dir = "/var/lib/lanecam/console"   # the referral queue (default: beside this file)

    [mqtt]                                   # the site's broker (the lanes' [mqtt] keys)
    host = "broker.port"
    site = "port1"

    [[lanes]]                                # crops stay in the lane: its crop service
    id = "north-1"
    api = "https://north-1.port:8444"        # the lane's [crop_api]
    ca = "/etc/lanecam/site-ca.crt"          # checks the lane's server certificate
    client_cert = "/etc/lanecam/console-client.crt"   # pinned in the lane's [crop_api]
    client_key = "/etc/lanecam/console-client.key"

    [[users]]
    id = "officer-7"
    role = "officer"                         # officer, supervisor or auditor
    lanes = ["north-1"]                      # an officer's assigned lanes
    password_hash = "$argon2id$v=19$..."     # `lanecam console --hash-password`
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import MqttConfig, _build, _parse_mqtt, _rng
from ..config_fields import read_toml_file
from ..errors import ConfigError

__all__ = ["ROLES", "ConsoleConfig", "ConsoleLane", "ConsoleUser", "load_console_config",
           "parse_console_config"]

ROLES = ("officer", "supervisor", "auditor")
_LANE_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = field(default=8443, metadata=_rng(0, 65535))
    tls_cert: str | None = None
    tls_key: str | None = None
    session_s: float = field(default=900.0, metadata=_rng(10.0, 86400.0))
    lockout_failures: int = field(default=5, metadata=_rng(1, 100))
    lockout_s: float = field(default=900.0, metadata=_rng(1.0, 86400.0))
    state_dir: str | None = None


@dataclass(frozen=True)
class LaneEntry:
    id: str
    api: str
    ca: str
    client_cert: str
    client_key: str


@dataclass(frozen=True)
class UserEntry:
    id: str
    role: str = field(metadata={"choices": ROLES})
    password_hash: str
    lanes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConsoleLane:
    """A lane as the console reaches it: its crop service's URL and the TLS files."""

    lane_id: str
    api: str
    ca: str
    client_cert: str
    client_key: str


@dataclass(frozen=True)
class ConsoleUser:
    id: str
    role: str
    password_hash: str
    lanes: frozenset[str]

    def may_see(self, lane_id: str) -> bool:
        """Referrals and crops of ``lane_id``: supervisors all, officers their lanes."""
        return self.role == "supervisor" or (self.role == "officer" and lane_id in self.lanes)


@dataclass(frozen=True)
class ConsoleConfig:
    server: ServerConfig
    mqtt: MqttConfig
    lanes: tuple[ConsoleLane, ...]
    users: tuple[ConsoleUser, ...]
    state_dir: Path = Path("console-state")


def _user(raw: Any, key: str, lane_ids: set[str]) -> ConsoleUser:
    if not isinstance(raw, Mapping):
        raise ConfigError("must be a table", key=key)
    lanes = raw.get("lanes", [])
    if not isinstance(lanes, list) or not all(isinstance(x, str) for x in lanes):
        raise ConfigError("must be an array of lane ids", key=f"{key}.lanes")
    unknown = sorted(set(lanes) - lane_ids)
    if unknown:
        raise ConfigError("no such lane", key=f"{key}.lanes", allowed=sorted(lane_ids))
    u: UserEntry = _build(UserEntry, {k: v for k, v in raw.items() if k != "lanes"}, key)
    if not u.password_hash.startswith("$argon2"):
        raise ConfigError("password_hash must be an argon2 hash", key=f"{key}.password_hash")
    return ConsoleUser(u.id, u.role, u.password_hash, frozenset(lanes))


def parse_console_config(doc: Mapping[str, Any], base: Path = Path()) -> ConsoleConfig:
    """Validate a parsed console TOML (relative paths are taken from ``base``)."""
    if not isinstance(doc, Mapping):
        raise ConfigError("must be a table", key="<root>")
    for k in doc:
        if k not in ("console", "mqtt", "lanes", "users"):
            raise ConfigError("unknown table", key=k, allowed=["console", "lanes", "mqtt", "users"])
    server: ServerConfig = _build(ServerConfig, doc.get("console", {}), "console")
    if (server.tls_cert is None) != (server.tls_key is None):
        raise ConfigError("TLS needs a certificate and its key", key="console.tls_cert",
                          allowed=["tls_cert and tls_key", "neither"])
    raw_mqtt = doc.get("mqtt")
    if not isinstance(raw_mqtt, Mapping) or "outbox" in raw_mqtt:
        raise ConfigError("the console needs the site's [mqtt] broker (no outbox)", key="mqtt")
    mqtt = _parse_mqtt({**raw_mqtt, "outbox": "-"})
    raw_lanes = doc.get("lanes", [])
    if not isinstance(raw_lanes, list):
        raise ConfigError("must be an array of tables", key="lanes")
    lanes = []
    for i, raw in enumerate(raw_lanes):
        e: LaneEntry = _build(LaneEntry, raw, f"lanes[{i}]")
        if not _LANE_ID.fullmatch(e.id):
            raise ConfigError("lane id must be 1-64 letters, digits, '_.-'", key=f"lanes[{i}].id")
        if not e.api.startswith("https://"):
            raise ConfigError("the crop service is reached over https://", key=f"lanes[{i}].api")
        lanes.append(ConsoleLane(e.id, e.api, str(base / e.ca), str(base / e.client_cert),
                                 str(base / e.client_key)))
    ids = {c.lane_id for c in lanes}
    if len(ids) != len(lanes):
        raise ConfigError("lane ids must be unique", key="lanes")
    raw_users = doc.get("users", [])
    if not isinstance(raw_users, list) or not raw_users:
        raise ConfigError("at least one [[users]] entry", key="users")
    users = tuple(_user(r, f"users[{i}]", ids) for i, r in enumerate(raw_users))
    if len({u.id for u in users}) != len(users):
        raise ConfigError("user ids must be unique", key="users")
    state = base / (server.state_dir or "console-state")
    return ConsoleConfig(server, mqtt, tuple(lanes), users, state)


def load_console_config(path: str | Path) -> ConsoleConfig:
    p = Path(path)
    return parse_console_config(read_toml_file(p, "console config"), p.parent)
