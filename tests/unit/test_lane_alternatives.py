"""``[lane_alternatives]``: a lane need met without its node only where the profile names how
and the camera's XML allows it; never a blanket pass (issue 14)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from lanecam.devices.cameras import load_profile, load_profiles, select_profile
from lanecam.devices.cameras.xml_check import XmlFacts, evaluate
from lanecam.errors import ConfigError

DATA = Path(__file__).parents[1] / "data" / "genicam" / "measured"
PROFILES = load_profiles()


def _facts(stem: str) -> XmlFacts:
    return XmlFacts.from_json(json.loads((DATA / f"{stem}.json").read_text(encoding="utf-8")))


def _without(facts: XmlFacts, node: str) -> XmlFacts:
    return dataclasses.replace(facts, nodes={k: v for k, v in facts.nodes.items() if k != node})


def test_pilot_bursts_by_one_software_trigger_per_frame() -> None:
    facts = _facts("Basler_piA640_210gm")
    report = evaluate(facts, select_profile("Basler", "piA640-210gm", PROFILES))
    assert report.ok and report.missing == []
    alt = report.alternatives["burst_frame_count"]
    assert alt["way"] == "per-frame-trigger" and "TriggerSoftware" in alt["reason"]
    assert "burst_frame_count" not in report.features  # the node is not claimed present


def test_per_frame_trigger_is_refused_without_a_software_trigger() -> None:
    facts = _without(_facts("Basler_piA640_210gm"), "TriggerSoftware")
    report = evaluate(facts, select_profile("Basler", "piA640-210gm", PROFILES))
    assert not report.ok and "burst_frame_count" in report.missing
    assert report.alternatives == {}
    assert any(n.startswith("burst_frame_count: alternative 'per-frame-trigger'")
               for n in report.notes)


def test_per_frame_trigger_is_refused_without_a_frame_trigger() -> None:
    facts = _facts("Basler_piA640_210gm")
    sel = facts.nodes["TriggerSelector"]
    nodes = {**facts.nodes, "TriggerSelector": dataclasses.replace(sel, entries=("LineStart",))}
    report = evaluate(dataclasses.replace(facts, nodes=nodes),
                      select_profile("Basler", "piA640-210gm", PROFILES))
    assert "burst_frame_count" in report.missing and not report.ok


def test_exposure_only_gain_only_where_no_gain_law_is_cited() -> None:
    without_row = evaluate(_facts("Basler-acA1300-60gm"),
                           select_profile("Basler", "acA1300-60gm", PROFILES))
    assert without_row.ok and without_row.alternatives["gain"]["way"] == "exposure-only"
    assert "gain" not in without_row.features
    with_row = evaluate(_facts("Basler-acA2000-50gmNIR"),
                        select_profile("Basler", "acA2000-50gmNIR", PROFILES))
    assert with_row.alternatives == {} and with_row.features["gain"].present


def test_exposure_only_is_refused_when_the_xml_lacks_the_raw_gain_node() -> None:
    facts = _without(_facts("Basler-scA640-70gm"), "GainRaw")
    report = evaluate(facts, select_profile("Basler", "scA640-70gm", PROFILES))
    assert report.missing == ["gain"] and not report.ok


def test_families_with_their_nodes_name_no_alternative() -> None:
    for name in ("generic-sfnc2", "basler-ace2", "flir-blackfly-s-gige", "avt-mako-g",
                 "avt-manta-g", "hikrobot-gige"):
        assert PROFILES[name].alternatives == {}, name
    report = evaluate(_facts("AVT_Manta_G235B"), select_profile("", "", PROFILES, "generic-sfnc2"))
    assert not report.ok and "burst_frame_count" in report.missing


@pytest.mark.parametrize(("table", "key"), [
    ('[lane_alternatives]\nexposure_time = "exposure-only"\n', "lane_alternatives.exposure_time"),
    ('[lane_alternatives]\ngain = "digital"\n', "lane_alternatives.gain"),
    ('lane_alternatives = 3\n', "lane_alternatives"),
])
def test_an_unknown_alternative_is_a_typed_refusal(tmp_path: Path, table: str, key: str) -> None:
    path = tmp_path / "site.toml"
    path.write_text(f'{table}[profile]\nname = "site"\nextends = "basler-classic-gige"\n',
                    encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_profile(path)
    assert e.value.key == key


def test_a_site_row_replaces_the_alternative_by_real_gain(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text('[profile]\nname = "site-aca1300"\nextends = "basler-classic-gige"\n'
                    '[[gain_model]]\nmodel_regex = "^acA1300-60g"\nscale = 27.8\n'
                    'source = "site measurement, lab book p. 12"\n'
                    '[features]\ngain = { node = "GainRaw" }\n', encoding="utf-8")
    prof = load_profile(path).for_model("acA1300-60gm")
    report = evaluate(_facts("Basler-acA1300-60gm"), prof)
    assert report.ok and report.alternatives == {} and report.features["gain"].present
