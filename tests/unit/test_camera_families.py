"""Every camera family's profile against real GenICam XMLs of that family.

The vendor XMLs are not redistributable; ``tests/data/genicam/measured/`` holds what GenApi
read from each (``tests/data/genicam/measure.py``; origins in ``xmls.toml`` and
``SOURCES.md``).  These tests evaluate the *current* profiles against those facts, so a profile
change that breaks a family shows here without the XMLs.  With ``LANECAM_GENICAM_XML_DIR`` set,
the facts are measured again from the XMLs and must match the record.
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from lanecam.devices.cameras import Trigger, load_profile, load_profiles, select_profile
from lanecam.devices.cameras.acquisition import action_source
from lanecam.devices.cameras.xml_check import XmlFacts, evaluate, measure
from lanecam.errors import ConfigError, UnsupportedFeatureError
from lanecam.testing.xml_camera import XmlCamera

DATA = Path(__file__).parents[1] / "data" / "genicam"
ROWS = tomllib.loads((DATA / "xmls.toml").read_text(encoding="utf-8"))["xml"]
PROFILES = load_profiles()

#: lane needs a family meets without their node, by its profile's [lane_alternatives]
EXPECTED_ALTERNATIVES = {
    # GainRaw's dB law is per model; rows ship only for models whose manual was found
    "basler-classic-gige": {"gain": "exposure-only"},
    "basler-scout": {"gain": "exposure-only"},
    # one trigger selector (AcquisitionStart), no AcquisitionFrameCount: no camera-side burst
    "basler-pilot": {"burst_frame_count": "per-frame-trigger"},
}
#: XMLs whose model has a sourced [[gain_model]] row (acA2000-50 / acA2040-25, acA640-90,
#: acA1300-30, piA640-210)
HAS_GAIN_ROW = {"Basler-acA2000-50gmNIR.xml", "Basler-acA640-90gm.xml", "Basler-acA1300-30gm.xml",
                "Basler_piA640_210gm.xml"}


def _facts(row: dict[str, str]) -> XmlFacts:
    doc = json.loads((DATA / "measured" / f"{Path(row['file']).stem}.json").read_text())
    return XmlFacts.from_json(doc)


def _profile_for(row: dict[str, str], facts: XmlFacts):
    if row["model"]:
        return select_profile(facts.vendor, row["model"], PROFILES)
    return select_profile(facts.vendor, "", PROFILES, row["profile"])


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r['profile']}:{r['file']}")
def test_family_profile_on_a_real_xml(row: dict[str, str]) -> None:
    facts = _facts(row)
    prof = _profile_for(row, facts)
    assert prof.name == row["profile"]  # the model pattern covers the real model string
    report = evaluate(facts, prof, model=row["model"] or None)
    if row["profile"] == "generic-sfnc2" and facts.vendor.startswith("Allied"):
        # issue 14's finding, kept as a check: the SFNC 2 names leave an AVT camera without
        # exposure, burst count, strobe, frame rate and clock
        assert {"exposure_time", "burst_frame_count", "line_source", "frame_rate",
                "timestamp_value"} <= set(report.missing)
        return
    expected = dict(EXPECTED_ALTERNATIVES.get(row["profile"], {}))
    if row["file"] in HAS_GAIN_ROW:
        expected.pop("gain", None)
    assert report.missing == [], report.missing
    assert {k: v["way"] for k, v in report.alternatives.items()} == expected
    assert not report.mismatches, report.mismatches
    assert report.ok


def test_every_family_is_checked_against_two_or_more_real_xmls() -> None:
    per_family = Counter(r["profile"] for r in ROWS if r["model"] or "hikrobot" in r["profile"])
    families = {"basler-classic-gige": 2, "basler-scout": 2, "flir-blackfly-s-gige": 2,
                "avt-mako-g": 2, "avt-manta-g": 2}
    for family, least in families.items():
        assert per_family[family] >= least, family
    # one XML each was found for these (SOURCES.md); the family count is what there is
    assert per_family["basler-pilot"] == 1 and per_family["basler-ace2"] == 1
    assert per_family["hikrobot-gige"] + per_family["hikrobot-u3v"] == 2
    assert sum(r["profile"] == "generic-sfnc2" for r in ROWS) >= 2


@pytest.mark.parametrize(("vendor", "model", "profile"), [
    ("Basler", "acA1300-60gm", "basler-classic-gige"),
    ("Basler", "acA2000-50gmNIR", "basler-classic-gige"),
    ("Basler", "acA1920-25gc", "basler-classic-gige"),
    ("Basler", "scA1300-32gm", "basler-scout"),
    ("Basler", "scA640-70gc", "basler-scout"),
    ("Basler", "piA2400-17gc", "basler-pilot"),
    ("Basler", "piA640-210gm", "basler-pilot"),
    ("Basler", "a2A2600-20gmBAS", "basler-ace2"),
    ("Basler", "a2A1920-51gcPRO", "basler-ace2"),
    ("FLIR", "Blackfly S BFS-PGE-23S6C", "flir-blackfly-s-gige"),
    ("FLIR", "BFS_PGE_23S6", "flir-blackfly-s-gige"),  # the XML's own ModelName
    ("Point Grey Research", "Blackfly S BFS-PGE-50S5C", "flir-blackfly-s-gige"),
    ("Allied Vision Technologies", "Mako G-125B", "avt-mako-g"),
    ("Allied_Vision_Technologies", "MAKO_A_CCD", "avt-mako-g"),
    ("Allied Vision Technologies", "Manta G-201C", "avt-manta-g"),
    ("Allied Vision", "Manta G-507C", "avt-manta-g"),
    ("Hikrobot", "MV-CA013-20GM", "hikrobot-gige"),
    ("HIKROBOT", "MV-CA050-20UC", "hikrobot-u3v"),
])
def test_model_patterns_cover_real_model_strings(vendor: str, model: str, profile: str) -> None:
    assert select_profile(vendor, model, PROFILES).name == profile


def test_no_profile_for_a_usb_blackfly_or_an_unknown_vendor() -> None:
    for vendor, model in (("FLIR", "Blackfly S BFS-U3-51S5M"), ("Lucid", "TRI050S-C")):
        with pytest.raises(ConfigError):
            select_profile(vendor, model, PROFILES)


def test_gain_law_per_model_is_data_with_a_source() -> None:
    log = select_profile("Basler", "acA2040-25gm", PROFILES).features["gain"]
    assert log.to_node(12.0) == pytest.approx(127.39, abs=0.01)  # 32·10^(12/20)
    assert log.from_node(128) == pytest.approx(12.04, abs=0.01)
    assert log.from_node(0) == -math.inf
    lin = select_profile("Basler", "piA640-210gm", PROFILES).features["gain"]
    assert lin.to_node(16.155) == pytest.approx(450, abs=0.01)  # 0.0359 dB × 450 (manual)
    # derived rows: the GigE GainRaw limits map onto the USB sibling's dB limits
    for model, raws, dbs in (("acA640-90gm", (190, 100, 1023, 400), (0, -3.231, 29.9047, 7.539)),
                             ("acA1300-30gm", (300, 200, 850, 400), (0, -3.59, 19.745, 3.59))):
        g = select_profile("Basler", model, PROFILES).features["gain"]
        assert [g.from_node(r) for r in raws] == pytest.approx(dbs, abs=1e-9)
        assert g.to_node(0.0) == raws[0]
    other = select_profile("Basler", "acA1300-60gm", PROFILES)
    assert "gain" not in other.features and "acA1300-60gm" in other.absent["gain"]
    for row in PROFILES["basler-classic-gige"].gain_models + PROFILES["basler-pilot"].gain_models:
        assert row["source"].strip()


@pytest.mark.parametrize(("row", "key"), [
    ('log_ref = 32\noffset = 10\n', "gain_model[0]"),       # an offset only goes with a scale
    ('scale = 27.8\noffset = "190"\n', "gain_model[0].offset"),
    ('scale = 27.8\noffset = nan\n', "gain_model[0].offset"),
])
def test_a_gain_row_offset_is_checked(tmp_path: Path, row: str, key: str) -> None:
    path = tmp_path / "site.toml"
    path.write_text('[profile]\nname = "site-ace"\nextends = "basler-classic-gige"\n'
                    f'[[gain_model]]\nmodel_regex = "^acA1300-60g"\n{row}source = "lab"\n',
                    encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_profile(path)
    assert e.value.key == key


def test_a_gain_row_without_a_source_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text('[profile]\nname = "site-ace"\nextends = "basler-classic-gige"\n'
                    '[[gain_model]]\nmodel_regex = "^acA1300-60g"\nscale = 27.8\n'
                    'source = ""\n', encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_profile(path)
    assert e.value.key == "gain_model[0].source"


def _action_camera(tmp_path: Path, entries: list[str]) -> XmlCamera:
    """Aravis's fake camera with the TriggerSource entries ``entries`` (LGPL-derived XML)."""
    text = (DATA / "aravis-fake-camera.xml").read_text(encoding="utf-8")
    extra = "".join(f'<EnumEntry Name="{e}" NameSpace="Standard"><Value>{10 + i}</Value>'
                    "</EnumEntry>" for i, e in enumerate(entries))
    anchor = '<EnumEntry Name="Software" NameSpace="Standard">'
    text = text.replace(anchor, extra + anchor, 1)
    path = tmp_path / f"actions-{'-'.join(entries) or 'none'}.xml"
    path.write_text(text, encoding="utf-8")
    profiles = dict(PROFILES)
    profiles["aravis-fake"] = load_profile(DATA / "profiles" / "aravis-fake.toml", profiles)
    return XmlCamera(path, profiles=profiles)


@pytest.mark.parametrize(("entries", "chosen"), [
    (["Action0"], "Action0"),                       # FLIR Blackfly S offers only Action0
    (["Action1", "Action2", "Action3"], "Action1"),  # Basler, Hikrobot
    (["Action3", "Action2"], "Action2"),
])
def test_action_source_is_chosen_from_what_the_xml_offers(tmp_path: Path, entries: list[str],
                                                          chosen: str) -> None:
    with _action_camera(tmp_path, entries) as cam:
        assert action_source(cam, "frame") == chosen


def test_no_action_source_is_a_typed_refusal(tmp_path: Path) -> None:
    with _action_camera(tmp_path, []) as cam:
        with pytest.raises(UnsupportedFeatureError) as e:
            action_source(cam, "frame")
        assert e.value.feature == "trigger_source"
        with pytest.raises(UnsupportedFeatureError):  # and arm says so before writing keys
            cam.arm(Trigger.action())


@pytest.mark.skipif(not os.environ.get("LANECAM_GENICAM_XML_DIR"),
                    reason="set LANECAM_GENICAM_XML_DIR to re-measure the vendor XMLs")
@pytest.mark.parametrize("stem", sorted({Path(r["file"]).stem for r in ROWS})
                         if os.environ.get("LANECAM_GENICAM_XML_DIR") else ["-"])
def test_the_record_matches_a_new_measurement(stem: str) -> None:
    xml = Path(os.environ["LANECAM_GENICAM_XML_DIR"]) / f"{stem}.xml"
    recorded = XmlFacts.from_json(json.loads((DATA / "measured" / f"{stem}.json").read_text()))
    fresh = measure(xml, recorded.nodes.keys())
    assert fresh.nodes == recorded.nodes
