"""Any GenICam camera through Harvesters and a GenTL producer (``.cti``).

Producers come from explicit paths or from ``GENICAM_GENTL64_PATH`` (directories separated by
``os.pathsep``).  One :class:`harvesters.core.Harvester` serves every camera of the same set of
producers in this process — a second Harvester on the same producer sees no devices, and
``Harvester.update()`` makes every acquirer it made obsolete.  So a full rescan
(destroy, reset, add the files, update, create again) is done only when a camera cannot simply
be created again, and cameras that share the hub are then marked lost and reconnect themselves.

Harvesters discards incomplete buffers itself; lanecam counts them (``counters.incomplete`` and
``counters.dropped``) through Harvesters' ``INCOMPLETE_BUFFER`` callback.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...errors import ConfigError, DeviceError, DeviceLostError, DeviceTimeoutError, vendor_errors
from .camera import Camera
from .types import CameraInfo, RawGrab
from .genicam_nodes import GenapiNodes, GenicamNodeHooks

__all__ = ["HarvestersCamera", "discover_harvesters", "find_producers", "viky_cti"]

log = logging.getLogger(__name__)


def viky_cti() -> Path:
    """The ``viky.cti`` simulator producer shipped inside the ``genicam`` wheel."""
    import genicam

    path = Path(genicam.__file__).parent / "viky.cti"
    if not path.is_file():
        raise ConfigError("the genicam package has no viky.cti", key="cti", allowed=str(path))
    return path


def find_producers(cti: str | Path | Sequence[str | Path] | None = None) -> tuple[Path, ...]:
    """Resolve producer files: explicit ``.cti`` paths, else every ``.cti`` on GENICAM_GENTL64_PATH."""
    if cti is not None:
        items = [cti] if isinstance(cti, (str, Path)) else list(cti)
        paths = tuple(Path(p) for p in items)
        for p in paths:
            if not p.is_file():
                raise ConfigError("GenTL producer file not found", key="cti", allowed=str(p))
        return paths
    env = os.environ.get("GENICAM_GENTL64_PATH", "")
    found = sorted(p for d in env.split(os.pathsep) if d and Path(d).is_dir()
                   for p in Path(d).glob("*.cti"))
    if not found:
        raise ConfigError("no GenTL producer: pass cti= or set GENICAM_GENTL64_PATH",
                          key="cti", allowed="a path to a .cti file")
    return tuple(found)


class _Hub:
    """One Harvester per producer set, shared by the cameras that use it."""

    _hubs: dict[tuple[str, ...], _Hub] = {}
    _hubs_lock = threading.Lock()

    def __init__(self, ctis: tuple[Path, ...]) -> None:
        from harvesters.core import Harvester

        self.ctis = ctis
        self.lock = threading.RLock()
        self.h = Harvester()
        self.users: weakref.WeakSet[HarvestersCamera] = weakref.WeakSet()
        self._load()

    @classmethod
    def get(cls, ctis: tuple[Path, ...]) -> _Hub:
        key = tuple(str(p.resolve()) for p in ctis)
        with cls._hubs_lock:
            hub = cls._hubs.get(key)
            if hub is None:
                hub = cls._hubs[key] = _Hub(ctis)
            return hub

    def _load(self) -> None:
        with vendor_errors("harvesters", "update"):
            for p in self.ctis:
                self.h.add_file(str(p), check_existence=True, check_validity=True)
            self.h.update()

    def rescan(self, requester: HarvestersCamera) -> None:
        """reset, add the files, update: every other acquirer of this hub becomes obsolete."""
        with self.lock:
            for cam in list(self.users):
                if cam is not requester and cam.is_open:
                    cam._hub_invalidated()
            with vendor_errors("harvesters", "reset"):
                self.h.reset()
            self._load()

    def devices(self) -> list[Any]:
        return list(self.h.device_info_list)


def discover_harvesters(cti: str | Path | Sequence[str | Path] | None = None) -> list[CameraInfo]:
    """Every device the producers list."""
    hub = _Hub.get(find_producers(cti))
    return [CameraInfo("harvesters", d.vendor, d.model, d.serial_number, d.display_name)
            for d in hub.devices()]


class HarvestersCamera(GenicamNodeHooks, Camera):
    """A GenTL device by serial number (``None``: the first one listed)."""

    backend = "harvesters"

    def __init__(self, serial: str | None = None, *,
                 cti: str | Path | Sequence[str | Path] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.serial = serial
        self._cti = cti
        self._hub: _Hub | None = None
        self._ia: Any = None
        self._nodes: GenapiNodes | None = None
        self._discarded = 0
        self._discard_lock = threading.Lock()

    @property
    def native(self) -> Any:
        """The Harvesters ``ImageAcquirer``; ``None`` if closed."""
        return self._ia

    def _where(self) -> str:
        return self._info.id if self._info else f"harvesters:{self.serial or '<first>'}"

    # ------------------------------------------------------------------ open / close
    def _do_open(self) -> CameraInfo:
        hub = self._hub or _Hub.get(find_producers(self._cti))
        self._hub = hub
        with hub.lock:
            dev = self._find(hub)
            if dev is None:  # maybe it came back: look again
                hub.rescan(self)
                dev = self._find(hub)
            if dev is None:
                raise DeviceLostError("no such GenTL device", device=self._where(),
                                      allowed=[d.serial_number for d in hub.devices()])
            with vendor_errors(self._where(), "create"):
                ia = hub.h.create({"serial_number": dev.serial_number})
            hub.users.add(self)
        self._attach(ia)
        return CameraInfo("harvesters", dev.vendor, dev.model, dev.serial_number, dev.display_name)

    def _find(self, hub: _Hub) -> Any:
        for d in hub.devices():
            if self.serial is None or d.serial_number == self.serial:
                return d
        return None

    def _attach(self, ia: Any) -> None:
        from genicam import genapi
        from harvesters.core import Callback, ImageAcquirer

        owner = weakref.ref(self)

        class _Incomplete(Callback):  # Harvesters drops incomplete buffers; we count them
            def emit(self, context: Any = None) -> None:
                cam = owner()
                if cam is not None:
                    with cam._discard_lock:
                        cam._discarded += 1

        ia.add_callback(ImageAcquirer.Events.INCOMPLETE_BUFFER, _Incomplete())
        self._ia = ia
        self._nodes = GenapiNodes(ia.remote_device.node_map, genapi)

    def _do_close(self) -> None:
        ia, self._ia, self._nodes = self._ia, None, None
        if self._hub is not None:
            self._hub.users.discard(self)
        if ia is not None:
            with vendor_errors(self._where(), "destroy"):
                ia.destroy()

    def _do_teardown(self) -> None:
        super()._do_teardown()
        hub = self._hub
        if hub is not None and not any(c.is_open for c in hub.users if c is not self):
            hub.rescan(self)  # the documented full recovery: reset, add the file, update

    def _hub_invalidated(self) -> None:
        """Another camera rescanned the shared producer: our acquirer is obsolete."""
        self._ia = self._nodes = None
        self._mark_lost()

    # ------------------------------------------------------------------ nodes
    def _n(self) -> GenapiNodes:
        if self._nodes is None:
            raise DeviceLostError("acquirer is gone; call reconnect()", device=self._where())
        return self._nodes

    # ------------------------------------------------------------------ streaming
    def _do_start(self, buffer_count: int) -> None:
        ia = self._ia
        with vendor_errors(self._where(), "start"):
            ia.num_buffers = max(buffer_count, ia.min_num_buffers)
            ia.start()

    def _do_stop(self) -> None:
        ia = self._ia
        if ia is not None:
            with vendor_errors(self._where(), "stop"):
                ia.stop()

    def _do_retrieve(self, timeout_s: float) -> RawGrab:
        from genicam.gentl import TimeoutException

        ia = self._ia
        if ia is None:
            raise DeviceLostError("acquirer is gone; call reconnect()", device=self._where())
        try:
            buf = ia.fetch(timeout=max(timeout_s, 1e-3))
        except TimeoutException as exc:
            self._take_discarded()
            raise DeviceTimeoutError(f"no frame within {timeout_s:g} s",
                                     device=self._where()) from exc
        except Exception as exc:
            if not self._device_open(ia):
                raise DeviceLostError(f"device went away: {type(exc).__name__}",
                                      device=self._where()) from exc
            raise DeviceError(f"fetch failed: {type(exc).__name__}", device=self._where()) from exc
        skipped = self._take_discarded()
        try:
            comp = buf.payload.components[0]
            shape: tuple[int, ...] = (comp.height, comp.width)
            per_px = comp.num_components_per_pixel
            if per_px and per_px != 1:
                shape = (*shape, int(per_px))
            array = comp.data.reshape(shape)
            fmt = comp.data_format
            number = int(buf.module.frame_id)
        except Exception as exc:
            buf.queue()
            raise DeviceError(f"buffer without an image: {type(exc).__name__}",
                              device=self._where()) from exc
        try:
            device_ns: int | None = int(buf.timestamp_ns)
        except Exception as exc:  # producers without timestamps (viky) raise NotAvailableException
            self._count("no_device_timestamp", type(exc).__name__)
            device_ns = None
        # Harvesters has attached this buffer's chunk data to the remote node map in fetch
        chunks = self._frame_chunks(lambda node: self._n().get(node))
        return RawGrab(array=array, release=buf.queue, frame_number=number, device_ns=device_ns,
                       skipped=skipped, pixel_format=str(fmt), chunks=chunks)

    def _take_discarded(self) -> int:
        with self._discard_lock:
            n, self._discarded = self._discarded, 0
        if n:
            self.counters.incomplete += n
            log.warning("%s: producer discarded %d incomplete buffer(s)", self._where(), n)
        return n

    def _device_open(self, ia: Any) -> bool:
        """Whether the producer still reports the device open (unreadable: taken as gone)."""
        try:
            return bool(ia.device.module.is_open())
        except Exception as exc:
            self._count("device_state_unreadable", type(exc).__name__)
            return False
