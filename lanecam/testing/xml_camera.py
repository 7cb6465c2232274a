"""XmlCamera: a real camera's GenICam XML in the real GenApi engine, as a lanecam Camera.

The test double for everything lanecam writes to a camera's node map.  The camera layer
(:class:`~lanecam.devices.cameras.Camera`: profiles, SI units, selectors, live limits, trigger
set-up) runs unchanged; its node reads and writes go through ``genicam.genapi`` on the vendor's
XML, so selectors, ranges, increments, access modes, ``pIsLocked``/``pIsAvailable`` formulas and
converters are checked by GenApi itself, not by a fake of ours.  Behind GenApi sits register
memory (:class:`~lanecam.devices.cameras.genicam_xml.RegisterSpace`) seeded from the XML
(:class:`~lanecam.devices.cameras.genicam_xml.XmlDevice`): the device's registers are plausible,
not the real model's values, so ranges that a device reports at run time are arbitrary
(0…65535 by default).  What the XML states as constants is the vendor's.

What it models of a device:

* identity: ``vendor``/``model``/``serial`` as given (also written into the XML's
  ``DeviceVendorName``/``DeviceModelName``/``DeviceSerialNumber`` string registers);
* streaming state: :meth:`arm` executes ``AcquisitionStart`` and sets ``TLParamsLocked = 1`` as
  a GenTL producer does, so features the XML locks while grabbing become read-only;
  :meth:`disarm` undoes both;
* no pixels: :meth:`grab` raises :class:`~lanecam.errors.UnsupportedFeatureError`
  (``feature == "stream"``).

Every node write the camera layer makes is kept in :attr:`XmlCamera.node_writes`, in order, for
tests that check what was sent (a sequencer's set-up, PTP, chunk enables).  The register memory
survives close/open, like a powered camera.  Seeding runs in a forked child (see
:func:`~lanecam.devices.cameras.genicam_xml.seed_isolated`), so opening takes 0.1–1 s per XML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lanecam.devices.cameras import Camera, CameraInfo, RawGrab
from lanecam.devices.cameras.genicam_nodes import GenapiNodes, GenicamNodeHooks
from lanecam.devices.cameras.genicam_xml import XmlDevice, XmlSource, read_xml
from lanecam.errors import DeviceError, UnsupportedFeatureError

__all__ = ["XmlCamera"]

_IDENTITY = ("DeviceVendorName", "DeviceModelName", "DeviceSerialNumber")


class XmlCamera(GenicamNodeHooks, Camera):
    """A camera made of its GenICam XML (a path, a ``.zip``, or a loaded :class:`XmlSource`).

    ``vendor``/``model`` default to the XML's ``VendorName``/``ModelName``; pass the device's
    strings (``"Basler"``, ``"acA1300-60gm"``) so the profile is chosen as for the real camera,
    or ``profile=`` by name.  Other keyword arguments go to :class:`Camera`.
    """

    backend = "genicam-xml"

    def __init__(self, xml: Path | str | XmlSource, *, vendor: str | None = None,
                 model: str | None = None, serial: str = "xml-0", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._xml = xml
        self._vendor, self._model, self.serial = vendor, model, serial
        self.device: XmlDevice | None = None  # made at the first open, kept after close
        self._nodes: GenapiNodes | None = None
        self.node_writes: list[tuple[str, Any]] = []
        self.streaming = False

    @property
    def nodemap(self) -> Any:
        """The ``genicam.genapi.NodeMap`` of the vendor's XML (None before the first open)."""
        return None if self.device is None else self.device.nodemap

    def _where(self) -> str:
        return self._info.id if self._info else f"genicam-xml:{self.serial}"

    # ------------------------------------------------------------------ open / close
    def _do_open(self) -> CameraInfo:
        from genicam import genapi

        if self.device is None:
            src = self._xml if isinstance(self._xml, XmlSource) else read_xml(self._xml)
            self.device = XmlDevice(src)
            self._write_identity()
        self._nodes = GenapiNodes(self.device.nodemap, genapi)
        return CameraInfo(self.backend, self._vendor or self.device.vendor_name,
                          self._model or self.device.model_name, self.serial)

    def _write_identity(self) -> None:
        assert self.device is not None
        values = (self._vendor or self.device.vendor_name,
                  self._model or self.device.model_name, self.serial)
        registers = [(n, v) for n, v in zip(_IDENTITY, values, strict=True)
                     if getattr(self.device.elements.get(n), "tag", "").endswith("StringReg")]
        if registers:
            clone = self.device.writable_clone()  # the XML has them read-only
            for name, value in registers:
                clone.get_node(name).value = value
            self.device.nodemap._invalidate_nodes()

    def _do_close(self) -> None:
        self._nodes = None
        self.streaming = False

    def _n(self) -> GenapiNodes:
        if self._nodes is None:
            raise DeviceError("XML camera is closed", device=self._where())
        return self._nodes

    def _do_set(self, node: str, value: Any) -> None:
        super()._do_set(node, value)
        self.node_writes.append((node, value))

    def _do_execute(self, node: str) -> None:
        super()._do_execute(node)
        self.node_writes.append((node, None))

    # ------------------------------------------------------------------ streaming state
    def _do_start(self, buffer_count: int) -> None:
        self._stream_state(True)

    def _do_stop(self) -> None:
        if self._nodes is not None and self.streaming:
            self._stream_state(False)

    def _stream_state(self, on: bool) -> None:
        """AcquisitionStart/Stop and TLParamsLocked, where the XML has them."""
        nodes = self._n()
        command = "AcquisitionStart" if on else "AcquisitionStop"
        info = nodes.info(command)
        if info is not None and info.writable:  # (NA on some seeded images: then not sent)
            self._do_execute(command)
        if nodes.info("TLParamsLocked") is not None:
            self._do_set("TLParamsLocked", 1 if on else 0)
        self.streaming = on

    def _do_retrieve(self, timeout_s: float) -> RawGrab:
        raise UnsupportedFeatureError("an XML camera streams no pixels", device=self._where(),
                                      feature="stream")
