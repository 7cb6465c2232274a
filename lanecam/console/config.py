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

    [mqtt]                                   # the site's broker (the lanes' [mqtt] keys)
    host = "broker.port"
    site = "port1"

    [[lanes]]
    config = "/etc/lanecam/north-1.toml"     # the lane's own config: its id and [vault]
    documents = "/var/lib/lanecam/north-1/documents"   # the booth's document photos

    [[users]]
    id = "officer-7"
    role = "officer"                         # officer, supervisor or auditor
    lanes = ["north-1"]                      # an officer's assigned lanes
    password_hash = "$argon2id$v=19$..."     # `lanecam console --hash-password`
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..config import LaneConfig, MqttConfig, _build, _parse_mqtt, _rng, load_lane_config
from ..errors import ConfigError

__all__ = ["ROLES", "ConsoleConfig", "ConsoleLane", "ConsoleUser", "load_console_config",
           "parse_console_config"]

ROLES = ("officer", "supervisor", "auditor")


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = field(default=8443, metadata=_rng(0, 65535))
    tls_cert: str | None = None
    tls_key: str | None = None
    session_s: float = field(default=900.0, metadata=_rng(10.0, 86400.0))
    lockout_failures: int = field(default=5, metadata=_rng(1, 100))
    lockout_s: float = field(default=900.0, metadata=_rng(1.0, 86400.0))


@dataclass(frozen=True)
class LaneEntry:
    config: str
    documents: str


@dataclass(frozen=True)
class UserEntry:
    id: str
    role: str = field(metadata={"choices": ROLES})
    password_hash: str
    lanes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConsoleLane:
    lane_id: str
    lane: LaneConfig
    documents: Path


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
    """Validate a parsed console TOML (lane configs are read relative to ``base``)."""
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
        lane = load_lane_config(base / e.config)
        if lane.vault is None:
            raise ConfigError("the lane has no [vault]", key=f"lanes[{i}].config")
        lanes.append(ConsoleLane(lane.lane_id, _rebase(lane, base), base / e.documents))
    ids = {c.lane_id for c in lanes}
    if len(ids) != len(lanes):
        raise ConfigError("lane ids must be unique", key="lanes")
    raw_users = doc.get("users", [])
    if not isinstance(raw_users, list) or not raw_users:
        raise ConfigError("at least one [[users]] entry", key="users")
    users = tuple(_user(r, f"users[{i}]", ids) for i, r in enumerate(raw_users))
    if len({u.id for u in users}) != len(users):
        raise ConfigError("user ids must be unique", key="users")
    return ConsoleConfig(server, mqtt, tuple(lanes), users)


def _rebase(lane: LaneConfig, base: Path) -> LaneConfig:
    """The lane's vault paths, relative ones taken from ``base``."""
    v = lane.vault
    assert v is not None

    def at(p: str | None) -> str | None:
        return None if p is None else str(base / p)

    return replace(lane, vault=replace(v, root=str(base / v.root), key_file=at(v.key_file),
                                       witness=at(v.witness), keys=at(v.keys)))


def load_console_config(path: str | Path) -> ConsoleConfig:
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            doc = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", key=str(p)) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read console config: {exc.strerror}", key=str(p)) from exc
    return parse_console_config(doc, p.parent)
