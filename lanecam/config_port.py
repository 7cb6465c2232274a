"""The port side of a lane config: ``[mqtt]`` (the site's broker), ``[metrics]`` (the lane's
Prometheus endpoint) and ``[crop_api]`` (the lane's crop service for the officer console).
Parsed by :func:`lanecam.config.parse_lane_config` with the same typed checks as every other
table."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .config_fields import rng as _rng
from .errors import ConfigError

__all__ = ["CropApiConfig", "MetricsConfig", "MqttConfig", "check_mqtt"]

_TOPIC_WORD = re.compile(r"[A-Za-z0-9_.-]{1,64}")


@dataclass(frozen=True)
class MqttConfig:
    """The site's MQTT broker (``[mqtt]``): events go with QoS 1 to
    ``lanecam/<site>/<lane>/events`` through a durable on-disk ``outbox`` (SQLite).  Secrets
    are named, never written here: ``password_env`` is an environment variable's name.
    ``tls``: connect over TLS, checking the broker against ``ca_file`` (default: the system's
    roots); ``cert_file``/``key_file``: a client certificate."""

    host: str
    site: str
    outbox: str
    port: int = field(default=1883, metadata=_rng(1, 65535))
    username: str | None = None
    password_env: str | None = None
    tls: bool = False
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    keepalive_s: int = field(default=30, metadata=_rng(5, 3600))


@dataclass(frozen=True)
class MetricsConfig:
    """The lane's Prometheus endpoint (``[metrics]``): ``http://host:port/metrics``."""

    port: int = field(default=9464, metadata=_rng(0, 65535))
    host: str = "127.0.0.1"


@dataclass(frozen=True)
class CropApiConfig:
    """The lane's crop service for the officer console (``[crop_api]``): HTTPS on
    ``host:port`` with ``tls_cert``/``tls_key``; a client must present ``client_cert`` (the
    console's certificate, pinned by its SHA-256) issued by ``client_ca`` (default: that
    certificate itself, self-signed).  ``documents``: the booth's document photos (default:
    ``lanecam run --documents``)."""

    tls_cert: str
    tls_key: str
    client_cert: str
    port: int = field(default=8444, metadata=_rng(0, 65535))
    host: str = "127.0.0.1"
    client_ca: str | None = None
    documents: str | None = None


def check_mqtt(m: MqttConfig) -> MqttConfig:
    """``[mqtt]`` beyond its types: the site is one topic level (no ``/``, ``+`` or ``#``); a
    client key needs its certificate; TLS files need ``tls = true``."""
    if not _TOPIC_WORD.fullmatch(m.site):
        raise ConfigError("site must be 1-64 letters, digits, '_.-'", key="mqtt.site")
    if not m.host:
        raise ConfigError("host must not be empty", key="mqtt.host")
    if (m.cert_file is None) != (m.key_file is None):
        raise ConfigError("a client certificate needs its key", key="mqtt.cert_file",
                          allowed=["cert_file and key_file", "neither"])
    if not m.tls and (m.ca_file or m.cert_file):
        raise ConfigError("TLS files need tls = true", key="mqtt.tls")
    if m.password_env is not None and m.username is None:
        raise ConfigError("a password needs a username", key="mqtt.username")
    return m
