"""The examples of ``docs/testing.md``, run as tests (each code block there is a slice of this
file, checked by :func:`test_docs_show_this_file`)."""

from __future__ import annotations

import re
from pathlib import Path

# --- example: expected_exchange ------------------------------------------------------------
import pytest

from lanecam.devices.serial_link import SerialLink
from lanecam.errors import LimitError, ProtocolError
from lanecam.testing import expected_exchange


class ThermoProbe:
    """A made-up probe: ``T?\\r`` asks for the temperature, answered ``T=<°C>\\r\\n``;
    ``A<n>\\r`` sets averaging to n samples (1–16), answered ``OK\\r\\n``."""

    def __init__(self, link: SerialLink) -> None:
        self.link = link

    def _reply(self) -> bytes:
        return self.link.read_line().rstrip(b"\r")

    def temperature_k(self) -> float:
        """The probe's temperature in kelvin."""
        self.link.write(b"T?\r")
        line = self._reply()
        if not line.startswith(b"T="):
            raise ProtocolError(f"unexpected reply {line!r}", device=self.link.name)
        return float(line[2:]) + 273.15

    def set_averaging(self, n: int) -> None:
        """Average ``n`` samples per reading (1–16)."""
        if not 1 <= n <= 16:
            raise LimitError("averaging out of range", key="averaging", allowed="1-16")
        self.link.write(b"A%d\r" % n)
        if self._reply() != b"OK":
            raise ProtocolError("averaging not acknowledged", device=self.link.name)


def test_temperature_is_read_in_kelvin() -> None:
    with expected_exchange([(b"T?\r", b"T=21.5\r\n")]) as link:
        link.open()
        assert ThermoProbe(link).temperature_k() == pytest.approx(294.65)


def test_averaging_is_acknowledged() -> None:
    with expected_exchange([(b"A4\r", b"OK\r\n")]) as link:
        link.open()
        ThermoProbe(link).set_averaging(4)


def test_out_of_range_averaging_sends_nothing() -> None:
    with expected_exchange([]) as link, pytest.raises(LimitError) as e:
        link.open()
        ThermoProbe(link).set_averaging(99)
    assert e.value.key == "averaging"


def test_a_garbled_reply_is_a_protocol_error() -> None:
    with expected_exchange([(b"T?\r", b"T?\r\n")]) as link, pytest.raises(ProtocolError):
        link.open()
        ThermoProbe(link).temperature_k()
# --- end: expected_exchange ----------------------------------------------------------------


# --- example: camera contract --------------------------------------------------------------
from collections.abc import Iterator

from lanecam.devices.cameras import Camera
from lanecam.devices.cameras.harvesters import HarvestersCamera, viky_cti
from lanecam.testing import CameraContract


@pytest.mark.emulator
class TestMyGenTLCamera(CameraContract):
    """Every contract check on a camera behind a GenTL producer (here: viky.cti)."""

    @pytest.fixture
    def camera(self) -> Iterator[Camera]:
        with HarvestersCamera("0", cti=viky_cti()) as cam:
            if cam.supports("pixel_format"):
                cam.configure({"pixel_format": "Mono8"})
            yield cam
# --- end: camera contract ------------------------------------------------------------------


# --- example: XML camera ------------------------------------------------------------------
from lanecam.devices.cameras import Trigger, load_profile, load_profiles
from lanecam.testing import XmlCamera

GENICAM = Path(__file__).resolve().parents[1] / "data" / "genicam"  # Aravis's fake camera XML


def test_xml_camera_records_what_the_camera_layer_sent() -> None:
    profiles = load_profiles()  # plus a profile of your own for a camera lanecam has none for
    profiles["aravis-fake"] = load_profile(GENICAM / "profiles" / "aravis-fake.toml", profiles)
    with XmlCamera(GENICAM / "aravis-fake-camera.xml", profiles=profiles) as cam:
        cam.configure({"exposure_time": 0.0005})  # ExposureTimeAbs = 500.0 µs, through GenApi
        cam.arm(Trigger.software())
        assert cam.node_writes[0] == ("ExposureTimeAbs", 500.0)
        assert cam.node_writes[-1] == ("TLParamsLocked", 1)  # arm() locks, as a producer does
        assert cam.nodemap.get_node("TLParamsLocked").value == 1
# --- end: XML camera -----------------------------------------------------------------------


DOC = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


def test_docs_show_this_file() -> None:
    """Each ``python`` block of docs/testing.md is, verbatim, an example section above."""
    source = Path(__file__).read_text(encoding="utf-8")
    sections = re.findall(r"# --- example: [^\n]*\n(.*?)# --- end", source, flags=re.S)
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) == len(sections) == 3
    assert [b.strip() for b in blocks] == [s.strip() for s in sections]
