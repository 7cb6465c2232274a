"""``lanecam profile check`` and the GenICam XML loader, on the shipped XML and variants of it."""

from __future__ import annotations

import json
import logging
import zipfile
from pathlib import Path

import pytest

from lanecam.cli import main
from lanecam.devices.cameras import load_profile, load_profiles
from lanecam.devices.cameras.genicam_xml import XmlDevice, read_xml
from lanecam.devices.cameras.xml_check import (
    LANE_NEEDS,
    check_xml,
    evaluate,
    expected_unit,
    measure,
)
from lanecam.errors import ConfigError

DATA = Path(__file__).parents[1] / "data" / "genicam"
FAKE = DATA / "aravis-fake-camera.xml"
ARV_PREFIX = "Basler-acA2040-35gm-23186103 (169.254.184.157)\n"  # what arv-tool writes first


def _profiles() -> dict:
    profiles = load_profiles()
    profiles["aravis-fake"] = load_profile(DATA / "profiles" / "aravis-fake.toml", profiles)
    return profiles


def _variant(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_check_reports_each_feature_and_what_a_lane_misses() -> None:
    report = check_xml(FAKE, _profiles())
    assert (report.vendor, report.model, report.profile) == ("Aravis", "Fake", "aravis-fake")
    exp = report.features["exposure_time"]
    assert (exp.node, exp.type, exp.present) == ("ExposureTimeAbs", "Float", True)
    assert exp.unit == "us" and exp.unit_status == "unit assumed"  # the fake has no <Unit>
    assert exp.range == pytest.approx([1e-5, 10.0])  # the XML's constants, in seconds
    assert report.features["width"].range == "device"  # pMax: a register decides
    assert report.features["trigger_selector"].entries == ["FrameStart", "AcquisitionStart"]
    assert set(report.missing) == {"burst_frame_count", "line_selector", "line_source",
                                   "timestamp_latch", "timestamp_value"}
    assert set(report.missing) <= set(LANE_NEEDS) and not report.ok


def test_a_unit_against_the_scale_is_a_mismatch(tmp_path: Path) -> None:
    text = FAKE.read_text(encoding="utf-8").replace(
        "<Max>10000000.0</Max>", "<Max>10000000.0</Max>\n\t\t<Unit>ms</Unit>", 1)
    report = check_xml(_variant(tmp_path, "ms.xml", text), _profiles())
    exp = report.features["exposure_time"]
    assert (exp.unit, exp.unit_status) == ("ms", "mismatch")
    [m] = [m for m in report.mismatches if m["feature"] == "exposure_time"]
    assert m["node"] == "ExposureTimeAbs" and "'us'" in m["problem"]


def test_the_camera_refuses_a_node_in_another_unit(tmp_path: Path) -> None:
    """At run time too: an exposure node counting ms under a µs profile is a ConfigError
    naming the feature, before anything is written (never a 1000× wrong exposure)."""
    from lanecam.testing import XmlCamera

    text = FAKE.read_text(encoding="utf-8").replace(
        "<Max>10000000.0</Max>", "<Max>10000000.0</Max>\n\t\t<Unit>ms</Unit>", 1)
    with XmlCamera(_variant(tmp_path, "ms.xml", text), profiles=_profiles()) as cam:
        cam.node_writes.clear()
        with pytest.raises(ConfigError) as e:
            cam.configure({"exposure_time": 0.001})
        assert e.value.key == "exposure_time" and e.value.allowed == "us"
        assert cam.node_writes == []


def test_expected_unit_follows_the_scale() -> None:
    assert expected_unit("s", 1e6) == "us" and expected_unit("s", 1e3) == "ms"
    assert expected_unit("dB", 1.0) == "dB" and expected_unit("s", 27.0) is None


def test_junk_before_the_xml_is_stripped_and_named(tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    path = _variant(tmp_path, "arv.xml", ARV_PREFIX + FAKE.read_text(encoding="utf-8"))
    with caplog.at_level(logging.WARNING):
        src = read_xml(path)
    assert src.prefix == ARV_PREFIX.strip()
    assert any("stripped" in r.getMessage() for r in caplog.records)
    report = check_xml(path, _profiles())
    assert any(ARV_PREFIX.strip()[:20] in n for n in report.notes)


def test_a_zipped_xml_loads_and_a_file_without_xml_is_a_typed_error(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "cam.zip", "w") as z:
        z.write(FAKE, "Aravis_Fake.xml")
    assert read_xml(tmp_path / "cam.zip").root.get("ModelName") == "Fake"
    for name, text, word in (("none.xml", "no markup at all", "holds no XML"),
                             ("html.xml", "<html><body/></html>", "not a GenICam"),
                             ("broken.xml", "<RegisterDescription><a>", "not well-formed")):
        with pytest.raises(ConfigError) as e:
            read_xml(_variant(tmp_path, name, text))
        assert e.value.key == "xml" and word in e.value.message
    with zipfile.ZipFile(tmp_path / "two.zip", "w") as z:
        z.write(FAKE, "a.xml")
        z.write(FAKE, "b.xml")
    with pytest.raises(ConfigError) as e:
        read_xml(tmp_path / "two.zip")
    assert e.value.allowed == ["a.xml", "b.xml"]


def test_a_reindented_xml_is_trimmed_so_genapi_takes_it(tmp_path: Path) -> None:
    """A file an XML tool re-indented (one value per line) is refused by GenApi itself
    ("value is not in enumeration"); read_xml trims single-token values."""
    from genicam.genapi import GenericException, NodeMap

    text = FAKE.read_text(encoding="utf-8").replace(
        "<Visibility>Invisible</Visibility>", "<Visibility>\n  Invisible\n</Visibility>")
    assert text != FAKE.read_text(encoding="utf-8")
    with pytest.raises(GenericException):
        NodeMap().load_xml_from_string(text)
    src = read_xml(_variant(tmp_path, "indented.xml", text))
    assert src.padded >= 1
    assert XmlDevice(src).nodemap.get_node("TLParamsLocked").value == 0


def test_cli_json_and_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["profile", "check", str(FAKE), "--profile-dir", str(DATA / "profiles")]
    assert main([*args, "--json"]) == 1  # the fake lacks what a lane needs
    doc = json.loads(capsys.readouterr().out)
    assert {"vendor", "model", "profile", "features", "missing", "mismatches"} <= set(doc)
    assert doc["profile"] == "aravis-fake" and "line_source" in doc["missing"]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "missing: line_source" in out and "NOT OK" in out
    assert main([*args, "--profile", "no-such-profile"]) == 2
    assert "ConfigError" in capsys.readouterr().err


def test_genapi_refusing_an_xml_is_a_typed_error(tmp_path: Path) -> None:
    text = FAKE.read_text(encoding="utf-8").replace(
        "<Min>10.0</Min>", "<Unit>us</Unit><Min>10.0</Min>", 1)  # out of schema order
    with pytest.raises(ConfigError) as e:
        XmlDevice(read_xml(_variant(tmp_path, "order.xml", text)))
    assert e.value.key == "xml" and "GenApi refuses order.xml" in e.value.message


def test_an_xml_model_no_profile_claims_asks_for_the_device_model() -> None:
    with pytest.raises(ConfigError) as e:
        check_xml(FAKE, load_profiles())  # no shipped profile matches Aravis "Fake"
    assert e.value.key == "profile" and "--model" in e.value.message


def test_measure_records_facts_that_evaluate_alike() -> None:
    profiles = _profiles()
    facts = measure(FAKE, {f.node for f in profiles["aravis-fake"].features.values()})
    again = type(facts).from_json(json.loads(json.dumps(facts.to_json())))
    assert again == facts
    a, b = evaluate(facts, profiles["aravis-fake"]), evaluate(again, profiles["aravis-fake"])
    assert a.to_json() == b.to_json()
