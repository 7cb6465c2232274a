"""The hooks a camera backend implements (pylon, Harvesters/GenTL, the simulator, the XML test
double): open and close a device, read and write its GenICam nodes, start and stop streaming,
hand over one buffer.  :class:`~.camera.Camera` holds every policy over them; hooks with a
default (teardown, sequencer) live there."""

from __future__ import annotations

import abc
from typing import Any

from .types import CameraInfo, NodeInfo, RawGrab

__all__ = ["CameraHooks"]


class CameraHooks(abc.ABC):
    """The abstract ``_do_*`` hooks; errors are lanecam's typed ones (``DeviceError`` and its
    subclasses), never the SDK's."""

    @abc.abstractmethod
    def _do_open(self) -> CameraInfo:
        """Find and open the device; return its identity."""

    @abc.abstractmethod
    def _do_close(self) -> None:
        """Release the device (streaming is already stopped)."""

    @abc.abstractmethod
    def _do_node_info(self, node: str) -> NodeInfo | None:
        """Live info about a node, or ``None`` if the device does not offer it now."""

    @abc.abstractmethod
    def _do_get(self, node: str) -> Any: ...

    @abc.abstractmethod
    def _do_set(self, node: str, value: Any) -> None: ...

    @abc.abstractmethod
    def _do_execute(self, node: str) -> None: ...

    @abc.abstractmethod
    def _do_start(self, buffer_count: int) -> None:
        """Allocate ``buffer_count`` buffers and start streaming."""

    @abc.abstractmethod
    def _do_stop(self) -> None: ...

    @abc.abstractmethod
    def _do_retrieve(self, timeout_s: float) -> RawGrab:
        """Next buffer, or :class:`DeviceTimeoutError` / :class:`DeviceLostError`."""
