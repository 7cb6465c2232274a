"""One exception root for lanecam; subclasses by failure mode.

Every error carries its context as attributes (``device``, ``feature``, ``allowed``, ``key``) and
in its message, so a log line says which camera, which feature and what would have been
accepted.  Messages never contain pixel data, crops or face templates: only names and numbers.

Vendor exceptions (pypylon / genicam / pyserial) are translated by :func:`vendor_errors` and kept
as ``__cause__``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = [
    "LanecamError",
    "DeviceError",
    "DeviceTimeoutError",
    "DeviceLostError",
    "LaneUnavailableError",
    "ProtocolError",
    "UnsupportedFeatureError",
    "LimitError",
    "NotCapturableError",
    "ConfigError",
    "StorageError",
    "vendor_errors",
]


class LanecamError(Exception):
    """Root of every error lanecam raises on purpose."""

    def __init__(
        self,
        message: str,
        *,
        device: str | None = None,
        feature: str | None = None,
        allowed: Any = None,
        key: str | None = None,
    ) -> None:
        self.message = message
        self.device = device
        self.feature = feature
        self.allowed = allowed
        self.key = key
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [self.message]
        ctx = []
        if self.device is not None:
            ctx.append(f"device={self.device}")
        if self.key is not None:
            ctx.append(f"key={self.key}")
        if self.feature is not None:
            ctx.append(f"feature={self.feature}")
        if self.allowed is not None:
            ctx.append(f"allowed={self.allowed}")
        if ctx:
            parts.append("[" + ", ".join(ctx) + "]")
        return " ".join(parts)


class DeviceError(LanecamError):
    """A device refused, failed or misbehaved."""


class DeviceTimeoutError(DeviceError, TimeoutError):
    """A device did not answer (frame fetch, serial reply) within the timeout."""


class DeviceLostError(DeviceError):
    """The device went away (unplugged, heartbeat lost, port vanished); ``reconnect()`` recovers."""


class ProtocolError(DeviceError):
    """Bytes from a device did not parse: bad header, checksum, length or content."""


class UnsupportedFeatureError(DeviceError):
    """The device model (or its firmware profile) has no such feature."""


class LimitError(LanecamError, ValueError):
    """A value is outside the allowed range (device live limits or a safety interlock)."""


class NotCapturableError(LimitError):
    """The scheduler can never capture this vehicle; ``reason`` says why, as a code:
    ``"passed"`` (it is past the capture window), ``"stops_short"`` (predicted to stop before
    the window) or ``"too_fast"`` (its speed needs an exposure below the camera's minimum);
    for a side camera's seat rows (:mod:`lanecam.lane.side`) also ``"out_of_view"`` (a row
    never crosses the camera's view) and ``"side_rows"`` (no row of the vehicle can be filmed).

    Callers decide on ``reason`` (or the type), never on the message's words."""

    REASONS = ("passed", "stops_short", "too_fast", "out_of_view", "side_rows")

    def __init__(self, message: str, *, reason: str, **context: Any) -> None:
        if reason not in self.REASONS:
            raise ValueError(f"unknown reason {reason!r}; one of {self.REASONS}")
        self.reason = reason
        super().__init__(message, **context)


class ConfigError(LanecamError, ValueError):
    """A configuration or profile is malformed: unknown key, wrong type, missing field."""


class StorageError(LanecamError, OSError):
    """Persisting data failed (disk full, permission, corrupt record)."""


class LaneUnavailableError(LanecamError, ConnectionError):
    """A lane's crop service could not be used: ``feature`` is ``"down"`` (no connection),
    ``"timeout"``, ``"tls"`` (handshake or certificate failed), ``"refused"`` (401/403: the
    lane does not accept this client) or ``"protocol"`` (an answer that makes no sense)."""


def _is_timeout(exc: BaseException) -> bool:
    name = type(exc).__name__
    return isinstance(exc, TimeoutError) or name in {"TimeoutException", "TimeoutError"}


def _is_access_lost(exc: BaseException) -> bool:
    name = type(exc).__name__
    return name in {"AccessDeniedException", "AccessException", "NotInitializedException"}


@contextlib.contextmanager
def vendor_errors(device: str, feature: str | None = None, allowed: Any = None) -> Iterator[None]:
    """Translate vendor SDK exceptions raised inside the block into lanecam errors.

    Our own errors pass through unchanged; genicam/pylon timeouts become
    :class:`DeviceTimeoutError`, access losses :class:`DeviceLostError`, everything else
    :class:`DeviceError`.  The vendor exception is kept as ``__cause__``.
    """
    try:
        yield
    except LanecamError:
        raise
    except Exception as exc:  # vendor SDKs raise many unrelated base classes
        text = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        if _is_timeout(exc):
            raise DeviceTimeoutError(text, device=device, feature=feature, allowed=allowed) from exc
        if _is_access_lost(exc):
            raise DeviceLostError(text, device=device, feature=feature, allowed=allowed) from exc
        raise DeviceError(
            f"{type(exc).__name__}: {text}", device=device, feature=feature, allowed=allowed
        ) from exc
