"""Basler cameras through pypylon (GigE, USB, and the pylon camera emulator).

pypylon is imported on first use, so a program can still set ``PYLON_CAMEMU`` (the number of
emulated cameras) before that.  Frames are zero-copy views of pylon's grab buffers: the buffer
goes back to pylon when the :class:`~lanecam.frames.Frame` is released.  If a caller keeps a
view alive past that, the grab result is pinned (not re-queued, so pylon cannot overwrite the
pixels under it) until the view is gone; ``counters.pinned`` counts such leaks.
"""

from __future__ import annotations

import logging
import sys
import threading
from functools import cache
from typing import Any

import numpy as np

from ...errors import DeviceError, DeviceLostError, DeviceTimeoutError, vendor_errors
from .camera import Camera
from .types import CameraInfo, RawGrab
from .genicam_nodes import GenicamNodeHooks, PylonNodes

__all__ = ["PylonCamera", "discover_pylon", "pylon_sdk"]

log = logging.getLogger(__name__)


@cache
def pylon_sdk() -> tuple[Any, Any]:
    """``(pypylon.pylon, pypylon.genicam)``, imported once."""
    from pypylon import genicam, pylon

    return pylon, genicam


def discover_pylon() -> list[CameraInfo]:
    """Every camera pylon can see (including emulated ones when ``PYLON_CAMEMU`` is set)."""
    pylon, _ = pylon_sdk()
    with vendor_errors("pylon"):
        devs = pylon.TlFactory.GetInstance().EnumerateDevices()
    return [_info(d) for d in devs]


def _info(d: Any) -> CameraInfo:
    return CameraInfo("pylon", d.GetVendorName(), d.GetModelName(), d.GetSerialNumber(),
                      d.GetFriendlyName())


def _failure(res: Any) -> str:
    """Why pylon marks a grab failed: its description and error code (the cause to count by;
    GigE: e.g. missing packets, buffer too small; the emulator's injected failures: code 0)."""
    return f"{res.GetErrorDescription() or 'grab failed'} (error 0x{res.GetErrorCode():08X})"


class PylonCamera(GenicamNodeHooks, Camera):
    """A Basler camera by serial number (``None``: the first one pylon enumerates).

    ``device_class`` narrows the search (``"BaslerGigE"``, ``"BaslerUsb"``, ``"BaslerCamEmu"``).
    """

    backend = "pylon"

    def __init__(self, serial: str | None = None, *, device_class: str | None = None,
                 trigger_ready_timeout_s: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.serial = serial
        self.device_class = device_class
        self.trigger_ready_timeout_s = trigger_ready_timeout_s
        self._cam: Any = None
        self._nodes: PylonNodes | None = None
        self._pinned: list[_Lease] = []
        self._removed = threading.Event()
        self._removal_handler: Any = None

    @property
    def native(self) -> Any:
        """The ``pylon.InstantCamera`` (for features lanecam does not wrap); ``None`` if closed."""
        return self._cam

    def _where(self) -> str:
        return self._info.id if self._info else f"pylon:{self.serial or '<first>'}"

    # ------------------------------------------------------------------ open / close
    def _do_open(self) -> CameraInfo:
        pylon, genicam = pylon_sdk()
        tlf = pylon.TlFactory.GetInstance()
        with vendor_errors(self._where()):
            devs = tlf.EnumerateDevices()
        hits = [d for d in devs
                if (self.serial is None or d.GetSerialNumber() == self.serial)
                and (self.device_class is None or d.GetDeviceClass() == self.device_class)]
        if not hits:
            raise DeviceLostError("no such pylon camera is connected", device=self._where(),
                                  allowed=[d.GetSerialNumber() for d in devs])
        dev = hits[0]
        with vendor_errors(self._where()):
            cam = pylon.InstantCamera(tlf.CreateDevice(dev))
            cam.Open()
            self._removed = threading.Event()
            self._removal_handler = _removal_handler(self._removed)
            cam.RegisterConfiguration(self._removal_handler, pylon.RegistrationMode_Append,
                                      pylon.Cleanup_None)
        self._cam = cam
        self._nodes = PylonNodes(cam.GetNodeMap(), genicam)
        return _info(dev)

    def _do_close(self) -> None:
        cam, self._cam, self._nodes = self._cam, None, None
        if cam is None:
            return
        handler, self._removal_handler = self._removal_handler, None
        with vendor_errors(self._where()):
            if handler is not None:  # a Python handler must not outlive its registration:
                cam.DeregisterConfiguration(handler)  # pylon calls it when the camera dies
            if cam.IsOpen():
                cam.Close()
            cam.DestroyDevice()

    # ------------------------------------------------------------------ nodes
    def _n(self) -> PylonNodes:
        if self._nodes is None:
            raise DeviceError("camera is not open", device=self._where())
        return self._nodes

    # ------------------------------------------------------------------ streaming
    def _do_start(self, buffer_count: int) -> None:
        pylon, _ = pylon_sdk()
        with vendor_errors(self._where(), "StartGrabbing"):
            self._cam.MaxNumBuffer.Value = buffer_count
            self._cam.StartGrabbing(pylon.GrabStrategy_OneByOne)

    def _do_stop(self) -> None:
        cam = self._cam
        if cam is not None:
            with vendor_errors(self._where(), "StopGrabbing"):
                if cam.IsGrabbing():
                    cam.StopGrabbing()
        self._unpin()

    def _do_software_trigger(self) -> None:
        pylon, _ = pylon_sdk()
        ms = max(1, round(self.trigger_ready_timeout_s * 1000))
        with vendor_errors(self._where(), "TriggerSoftware"):
            if not self._cam.WaitForFrameTriggerReady(ms, pylon.TimeoutHandling_Return):
                raise DeviceTimeoutError("camera not ready for a trigger",
                                         device=self._where(), feature="TriggerSoftware")
            self._cam.ExecuteSoftwareTrigger()

    def _do_retrieve(self, timeout_s: float) -> RawGrab:
        pylon, _ = pylon_sdk()
        cam = self._cam
        if self._pinned:
            self._unpin()
        if self._removed.is_set():  # set by pylon's removal callback (polling costs ~1 ms)
            raise DeviceLostError("camera was removed", device=self._where())
        ms = max(0, round(timeout_s * 1000))
        with vendor_errors(self._where(), "RetrieveResult"):
            res = cam.RetrieveResult(ms, pylon.TimeoutHandling_Return)
        if not res.IsValid():
            if cam.IsCameraDeviceRemoved():
                raise DeviceLostError("camera was removed", device=self._where())
            if not cam.IsGrabbing():
                raise DeviceError("camera stopped grabbing", device=self._where())
            raise DeviceTimeoutError(f"no frame within {timeout_s:g} s", device=self._where())
        ok = bool(res.GrabSucceeded())
        lease = _Lease(res)
        if lease.error is not None:
            self._count("no_pixels", lease.error)
        ts = int(res.GetTimeStamp())
        return RawGrab(
            array=lease.array, release=lambda: self._give_back(lease),
            frame_number=int(res.GetImageNumber()),
            complete=ok, reason=None if ok else _failure(res),
            device_ns=ts or None, skipped=int(res.GetNumberOfSkippedImages()),
            pixel_format=self._pixel_format,
            chunks=self._frame_chunks(lambda node: getattr(res, node).Value))

    def _give_back(self, lease: _Lease) -> None:
        if not lease.try_release():
            self.counters.pinned += 1
            log.warning("%s: a frame view outlived its frame; buffer pinned", self._where())
            self._pinned.append(lease)

    def _unpin(self) -> None:
        self._pinned = [lease for lease in self._pinned if not lease.try_release()]


def _removal_handler(flag: threading.Event) -> Any:
    """A pylon ConfigurationEventHandler that sets ``flag`` when the device is removed."""
    pylon, _ = pylon_sdk()

    class _OnRemoval(pylon.ConfigurationEventHandler):  # type: ignore[misc, name-defined]
        def OnCameraDeviceRemoved(self, camera: Any) -> None:
            flag.set()

    return _OnRemoval()


class _Lease:
    """A grab result lent out as a zero-copy ndarray (a copy for packed pixel formats).

    numpy collapses every view's ``base`` to this root array, so its reference count tells
    whether any view outlived the frame.  Only then is the
    result given back to pylon.
    """

    __slots__ = ("res", "array", "error", "_token", "_baseline", "_views")

    def __init__(self, res: Any) -> None:
        pylon, _ = pylon_sdk()
        self.res = res
        self.error: str | None = None  # why the result carries no pixels, if it carries none
        self._views: tuple[memoryview, ...] = ()
        self._token: Any = None
        self._baseline = 0
        self.array: np.ndarray
        try:
            if pylon.IsPacked(res.GetPixelType()):
                self.array = res.GetArray()
                return
            shape, _dtype, fmt = res.GetImageFormat()
            base = res.GetImageMemoryView()
            cast = base.cast(fmt, shape)
            self.array = np.asarray(cast)
            self._views = (cast, base)
            self._token = self.array
            self._baseline = sys.getrefcount(self._token)
        except Exception as exc:  # a failed buffer may carry no image description
            self.error = f"{type(exc).__name__}: {exc}"
            self.array = np.empty((0, 0), np.uint8)

    def try_release(self) -> bool:
        """Give the buffer back to pylon unless a view of it is still alive."""
        if self._token is not None and sys.getrefcount(self._token) > self._baseline:
            return False
        self.array = None  # type: ignore[assignment]
        self._token = None
        try:
            for v in self._views:
                v.release()
        except BufferError:  # pragma: no cover - numpy still exporting: keep it pinned
            return False
        self.res.Release()
        return True
