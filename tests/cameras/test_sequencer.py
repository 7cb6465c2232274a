"""``program_sequence`` on real cameras: Basler classic ``Sequence*`` and SFNC 2 ``Sequencer*``.

The node writes are checked by GenApi on the vendor XMLs (``LANECAM_GENICAM_XML_DIR``, see
``test_xml_cameras.py``): the ten Basler ace classic GigE XMLs (classic sequencer), the Blackfly
S GigE XMLs (SFNC 2 sequencer).  No shipped XML has a sequencer (Aravis's fake camera has none),
nor has the pylon emulator: on those, and on the XMLs of families without one, the refusal is
checked.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from lanecam.devices.cameras import load_profile, load_profiles
from lanecam.devices.cameras.pylon import PylonCamera
from lanecam.devices.cameras.sequencer import sequencer_kind
from lanecam.errors import LimitError, UnsupportedFeatureError
from lanecam.testing.xml_camera import XmlCamera

DATA = Path(__file__).parents[1] / "data" / "genicam"
XML_DIR = os.environ.get("LANECAM_GENICAM_XML_DIR", "")
ROWS = [r for r in tomllib.loads((DATA / "xmls.toml").read_text(encoding="utf-8"))["xml"]
        if r["model"]]
needs_xmls = pytest.mark.skipif(not XML_DIR, reason="set LANECAM_GENICAM_XML_DIR to the "
                                "vendor XMLs tests/data/genicam/xmls.toml lists")


def _rows(profile: str) -> list[str]:
    return [r["file"] for r in ROWS if r["profile"] == profile] if XML_DIR else ["-"]


def _open(file: str) -> Iterator[XmlCamera]:
    row = next(r for r in ROWS if r["file"] == file)
    vendor = "FLIR" if row["profile"].startswith("flir") else "Basler"
    with XmlCamera(Path(XML_DIR) / file, vendor=vendor, model=row["model"]) as cam:
        yield cam


@pytest.fixture
def classic(request: pytest.FixtureRequest) -> Iterator[XmlCamera]:
    yield from _open(request.param)


@pytest.fixture
def sfnc2(request: pytest.FixtureRequest) -> Iterator[XmlCamera]:
    yield from _open(request.param)


def _exposures(cam: XmlCamera) -> tuple[float, float]:
    lim = cam.limits("exposure_time")
    assert lim.min is not None and lim.max is not None
    lo = max(lim.min, 1e-4)
    assert 3 * lo <= lim.max
    return lo, 3 * lo


@needs_xmls
@pytest.mark.parametrize("classic", _rows("basler-classic-gige"), indirect=True)
def test_classic_sets_runs_and_enables_last(classic: XmlCamera) -> None:
    cam = classic
    node = cam.profile.feature("exposure_time")
    assert node is not None and sequencer_kind(cam) == "classic" and cam.supports_sequence
    a, b = _exposures(cam)
    configured = cam.get("exposure_time")
    cam.node_writes.clear()
    cam.program_sequence([{"exposure_time": a}] * 2 + [{"exposure_time": b}] * 3)
    most = int(cam.limits("sequence_set_executions").max or 0)
    assert cam.node_writes == [
        ("SequenceEnable", False), ("SequenceAdvanceMode", "Auto"),
        ("SequenceSetTotalNumber", 2),
        ("SequenceSetIndex", 0), (node.node, node.to_node(a)), ("SequenceSetExecutions", 2),
        ("SequenceSetStore", None),
        ("SequenceSetIndex", 1), (node.node, node.to_node(b)),
        ("SequenceSetExecutions", most), ("SequenceSetStore", None),
        ("SequenceEnable", True)]
    assert cam.nodemap.get_node("SequenceEnable").value is True  # GenApi took every write
    assert cam._exposure_s == configured  # metadata keeps saying what was configured
    cam.node_writes.clear()
    cam.clear_sequence()
    assert cam.node_writes[0] == ("SequenceEnable", False)
    assert cam.nodemap.get_node("SequenceEnable").value is False


@needs_xmls
@pytest.mark.parametrize("sfnc2", _rows("flir-blackfly-s-gige"), indirect=True)
def test_sfnc2_sets_chain_to_a_last_set_that_holds(sfnc2: XmlCamera) -> None:
    cam = sfnc2
    node = cam.profile.feature("exposure_time")
    assert node is not None and sequencer_kind(cam) == "sfnc2"
    a, b = _exposures(cam)
    cam.node_writes.clear()
    cam.program_sequence([{"exposure_time": a}] * 2 + [{"exposure_time": b}] * 3)
    per_set = [[("SequencerSetSelector", i), (node.node, node.to_node(x)),
                ("SequencerPathSelector", 0), ("SequencerSetNext", nxt),
                ("SequencerTriggerSource", "FrameStart"), ("SequencerSetSave", None)]
               for i, x, nxt in ((0, a, 1), (1, a, 2), (2, b, 2))]
    assert cam.node_writes == [
        ("SequencerMode", "Off"), ("SequencerConfigurationMode", "On"),
        *[w for s in per_set for w in s],
        ("SequencerSetStart", 0), ("SequencerConfigurationMode", "Off"), ("SequencerMode", "On")]
    assert cam.nodemap.get_node("SequencerMode").value == "On"
    cam.node_writes.clear()
    cam.clear_sequence()
    assert cam.node_writes[0] == ("SequencerMode", "Off")


@needs_xmls
@pytest.mark.parametrize("sfnc2", _rows("flir-blackfly-s-gige")[:1], indirect=True)
def test_sfnc2_gain_steps_and_too_many_sets_refused_before_any_write(sfnc2: XmlCamera) -> None:
    cam = sfnc2
    lim = cam.limits("gain")
    assert lim.min is not None and lim.max is not None
    cam.program_sequence([{"gain": lim.min}, {"gain": lim.min + 1.0}])
    assert ("SequencerSetSave", None) in cam.node_writes
    _limit_register(cam, "SequencerSetSelector", 3)  # the device: sets 0…3
    cam.node_writes.clear()
    with pytest.raises(LimitError) as e:
        cam.program_sequence([{"gain": lim.min + k} for k in range(5)])
    assert e.value.feature == "sequencer_set_selector" and cam.node_writes == []
    cam.program_sequence([{"gain": lim.min + k} for k in range(4)] + [{"gain": lim.min + 3}] * 9)
    assert cam.node_writes.count(("SequencerSetSave", None)) == 4  # trailing steps: last set


@needs_xmls
@pytest.mark.parametrize("classic", _rows("basler-classic-gige")[:1], indirect=True)
def test_classic_limits_checked_before_any_write(classic: XmlCamera) -> None:
    cam = classic
    a, b = _exposures(cam)
    _limit_register(cam, "SequenceSetTotalNumber", 2)
    cam.node_writes.clear()
    with pytest.raises(LimitError) as e:
        cam.program_sequence([{"exposure_time": x} for x in (a, b, a)])
    assert e.value.feature == "sequence_set_total" and cam.node_writes == []
    _limit_register(cam, "SequenceSetExecutions", 4)
    with pytest.raises(LimitError) as e:
        cam.program_sequence([{"exposure_time": a}] * 5 + [{"exposure_time": b}])
    assert e.value.feature == "sequence_set_executions" and cam.node_writes == []
    with pytest.raises(LimitError) as e:  # a step value beyond the live range: nothing sent
        cam.program_sequence([{"exposure_time": a}, {"exposure_time": 1e6}])
    assert e.value.key == "exposure_time" and cam.node_writes == []
    cam.program_sequence([{"exposure_time": a}] * 4 + [{"exposure_time": b}])
    assert ("SequenceSetExecutions", 4) in cam.node_writes


def _limit_register(cam: XmlCamera, name: str, most: int) -> None:
    """Make the device report ``most`` as the maximum of integer node ``name`` (its pMax)."""
    assert cam.device is not None
    elem = cam.device.elements[name]
    pmax = next(c.text for c in elem if c.tag.endswith("pMax"))
    clone = cam.device.writable_clone()
    clone.get_node(pmax).value = most
    cam.device.nodemap._invalidate_nodes()
    assert cam.device.nodemap.get_node(name).max == most


@needs_xmls
@pytest.mark.parametrize("file", [r["file"] for r in ROWS if r["profile"] in
                                  ("basler-scout", "basler-pilot", "basler-ace2")]
                         if XML_DIR else ["-"])
def test_families_without_a_sequencer_refuse(file: str) -> None:
    """scout, pilot (scA1400's SequenceEnable/SequenceLength is another scheme, not mapped)
    and the a2A2600-20gmBAS XML offer no sequencer lanecam can program."""
    for cam in _open(file):
        assert not cam.supports_sequence
        cam.node_writes.clear()
        with pytest.raises(UnsupportedFeatureError) as e:
            cam.program_sequence([{"exposure_time": cam.get("exposure_time")}])
        assert e.value.feature == "sequence" and cam.node_writes == []
        cam.clear_sequence()  # nothing was programmed: nothing to clear


def test_aravis_fake_camera_has_no_sequencer() -> None:
    profiles = load_profiles()
    profiles["aravis-fake"] = load_profile(DATA / "profiles" / "aravis-fake.toml", profiles)
    with XmlCamera(DATA / "aravis-fake-camera.xml", profiles=profiles) as cam:
        assert not cam.supports_sequence
        with pytest.raises(UnsupportedFeatureError):
            cam.program_sequence([{"exposure_time": cam.get("exposure_time")}])
        assert cam.node_writes == []


def test_pylon_emulator_has_no_sequencer(pylon_cam: PylonCamera) -> None:
    """Measured: the emulator offers none of SequenceEnable, SequencerMode, SequenceSetIndex,
    SequencerSetSelector, SequencerConfigurationMode."""
    assert not pylon_cam.supports_sequence
    with pytest.raises(UnsupportedFeatureError) as e:
        pylon_cam.program_sequence([{"exposure_time": 0.001}])
    assert e.value.feature == "sequence"


@needs_xmls
@pytest.mark.parametrize("classic", _rows("basler-classic-gige")[:1], indirect=True)
def test_reconnect_does_not_replay_the_sequencer_set_up(classic: XmlCamera) -> None:
    """The sequencer's writes are a procedure, not settings: a reconnect restores the
    configured exposure only (replaying SequenceSetTotalNumber after SequenceEnable would be
    out of order); the caller programs the sequence again."""
    cam = classic
    a, b = _exposures(cam)
    cam.configure({"exposure_time": b})
    cam.program_sequence([{"exposure_time": a}, {"exposure_time": b}])
    cam.node_writes.clear()
    cam.reconnect()
    assert not any(name.startswith("Sequence") for name, _ in cam.node_writes)
    node = cam.profile.feature("exposure_time")
    assert node is not None and (node.node, node.to_node(b)) in cam.node_writes
