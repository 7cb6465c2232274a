"""Shipped test helpers for lanecam drivers (needs ``pytest``; ``import lanecam`` does not).

* :func:`expected_exchange` — the exact byte-exchange harness for serial drivers: a real
  :class:`~lanecam.devices.serial_link.SerialLink` replaying ``[(sent, reply), ...]`` that
  fails on any wrong, extra, missing or unread message (:mod:`lanecam.testing.exchange`).
* :class:`CameraContract` — the checks every camera driver must pass; subclass it with a
  ``camera`` fixture yielding an opened camera (:mod:`lanecam.testing.camera_contract`).
* :class:`SerialSensorContract` — the same for serial trigger sensors on a firmware fake
  (:mod:`lanecam.testing.serial_contract`).
* :class:`XmlCamera` — a camera made of a real GenICam XML in the real GenApi engine, over
  register memory, no pixels (:mod:`lanecam.testing.xml_camera`); :class:`XmlCameraContract`
  is the camera contract for it (:mod:`lanecam.testing.xml_contract`).

See ``docs/testing.md`` for worked examples.  Nothing else in lanecam imports this package.
"""

from __future__ import annotations

from .camera_contract import CameraContract
from .exchange import ExchangeError, ExpectedLink, ExpectedPort, Pair, expected_exchange
from .serial_contract import SerialFake, SerialSensor, SerialSensorContract, read_until
from .xml_camera import XmlCamera
from .xml_contract import XmlCameraContract

__all__ = [
    "CameraContract",
    "ExchangeError",
    "ExpectedLink",
    "ExpectedPort",
    "Pair",
    "SerialFake",
    "SerialSensor",
    "SerialSensorContract",
    "XmlCamera",
    "XmlCameraContract",
    "expected_exchange",
    "read_until",
]
