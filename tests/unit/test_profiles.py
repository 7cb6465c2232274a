"""Firmware profiles: the shipped files, selection, and hypothesis-fuzzed malformed files."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lanecam.devices.cameras.profile import (
    CANONICAL_FEATURES,
    FeatureKind,
    load_profile,
    load_profiles,
    select_profile,
)
from lanecam.errors import ConfigError

BUILTIN = load_profiles()


def test_the_four_required_families_ship() -> None:
    assert {"basler-classic-gige", "basler-ace2", "generic-sfnc2", "viky"} <= set(BUILTIN)
    classic, ace2 = BUILTIN["basler-classic-gige"], BUILTIN["basler-ace2"]
    assert classic.feature("exposure_time").node == "ExposureTimeAbs"
    assert classic.feature("gain").node == "GainRaw"
    assert ace2.feature("exposure_time").node == "ExposureTime"
    assert ace2.feature("gain").node == "Gain"
    assert ace2.feature("burst_mode").node == "BslAcquisitionBurstMode"
    assert ace2.feature("ptp_enable").node == "PtpEnable"
    assert ace2.feature("trigger_selector").to_node("burst") == "FrameBurstStart"
    assert classic.feature("trigger_selector").to_node("burst") == "AcquisitionStart"


def test_units_convert_both_ways() -> None:
    exp = BUILTIN["basler-ace2"].feature("exposure_time")
    assert exp.to_node(0.0008) == pytest.approx(800.0)
    assert exp.from_node(800.0) == pytest.approx(0.0008)


@pytest.mark.parametrize(
    ("vendor", "model", "expected"),
    [("Basler", "Emulation", "basler-camemu"),
     ("Basler", "acA1300-30gm", "basler-classic-gige"),
     ("Basler", "a2A1920-51gmPRO", "basler-ace2"),
     ("Machine Vision Games Ltd.", "Viky", "viky")],
)
def test_selection_by_vendor_and_model(vendor: str, model: str, expected: str) -> None:
    assert select_profile(vendor, model, BUILTIN).name == expected


def test_unknown_camera_needs_an_explicit_profile() -> None:
    with pytest.raises(ConfigError) as e:
        select_profile("Acme", "X1", BUILTIN)
    assert "generic-sfnc2" in e.value.allowed
    assert select_profile("Acme", "X1", BUILTIN, override="generic-sfnc2").name == "generic-sfnc2"
    with pytest.raises(ConfigError):
        select_profile("Acme", "X1", BUILTIN, override="nope")


def test_polarization_layout_is_data_not_code() -> None:
    assert BUILTIN["generic-sfnc2-polarized"].polarization_layout == ((135, 0), (90, 45))
    assert BUILTIN["generic-sfnc2"].polarization_layout is None


def test_extends_inherits_and_false_removes(tmp_path: Path) -> None:
    p = tmp_path / "site.toml"
    p.write_text('[profile]\nname = "site-cam"\nextends = "basler-ace2"\n'
                 '[[profile.match]]\nvendor = "Basler"\nmodel = "a2A1920-51gmPRO"\n'
                 '[features]\nptp_enable = false\n'
                 '[polarization]\nlayout = [[90, 45], [135, 0]]\n')
    prof = load_profile(p)
    assert prof.feature("ptp_enable") is None
    assert prof.feature("burst_mode").node == "BslAcquisitionBurstMode"
    assert prof.polarization_layout == ((90, 45), (135, 0))


def test_extends_cycle_and_unknown_parent(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('[profile]\nname = "a"\nextends = "b"\n')
    (tmp_path / "b.toml").write_text('[profile]\nname = "b"\nextends = "a"\n')
    with pytest.raises(ConfigError, match="cycle"):
        load_profiles([tmp_path])
    (tmp_path / "b.toml").write_text('[profile]\nname = "b"\nextends = "zzz"\n')
    with pytest.raises(ConfigError) as e:
        load_profiles([tmp_path])
    assert "extends" in e.value.key


GOOD = {
    "profile": {"name": "fuzz", "match": [{"vendor": "V", "model": "M"}]},
    "features": {"exposure_time": {"node": "ExposureTime", "scale": 1e6},
                 "pixel_format": {"node": "PixelFormat", "values": {"mono": "Mono8"}}},
}

# (path into the document, a bad value, the key the error must name)
BAD_EDITS = [
    (("profile", "name"), "Bad Name!", "profile.name"),
    (("profile", "name"), 7, "profile.name"),
    (("profile", "colour"), "red", "profile.colour"),
    (("profile", "match"), "V", "profile.match"),
    (("features", "exposure_tme"), {"node": "X"}, "features.exposure_tme"),
    (("features", "exposure_time", "node"), "1bad", "features.exposure_time.node"),
    (("features", "exposure_time", "scale"), "1e6", "features.exposure_time.scale"),
    (("features", "exposure_time", "scale"), True, "features.exposure_time.scale"),
    (("features", "exposure_time", "units"), "us", "features.exposure_time.units"),
    (("features", "pixel_format", "values"), {"mono": 8}, "features.pixel_format.values"),
    (("features", "gain"), "Gain", "features.gain"),
    (("polarization", "layout"), [[0, 45], [90, 90]], "polarization.layout"),
    (("extra",), {}, "extra"),
]


def _toml(doc: dict) -> str:
    import json

    def val(v: object) -> str:
        return json.dumps(v) if not isinstance(v, dict) else \
            "{ " + ", ".join(f"{k} = {val(x)}" for k, x in v.items()) + " }"

    lines = []
    for table, body in doc.items():
        scalars = {k: v for k, v in body.items() if not (isinstance(v, list) and v and isinstance(v[0], dict))}
        arrays = {k: v for k, v in body.items() if k not in scalars}
        lines.append(f"[{table}]")
        lines += [f"{k} = {val(v)}" for k, v in scalars.items()]
        for k, items in arrays.items():
            for item in items:
                lines.append(f"[[{table}.{k}]]")
                lines += [f"{a} = {val(b)}" for a, b in item.items()]
    return "\n".join(lines) + "\n"


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edit=st.sampled_from(BAD_EDITS))
def test_each_malformed_profile_names_its_key(tmp_path: Path, edit: tuple) -> None:
    import copy

    path, bad, key = edit
    doc = copy.deepcopy(GOOD)
    node = doc
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = bad
    f = tmp_path / "p.toml"
    f.write_text(_toml(doc))
    with pytest.raises(ConfigError) as e:
        load_profile(f, base={})
    assert e.value.key is not None and key in e.value.key


def test_good_document_round_trips(tmp_path: Path) -> None:
    f = tmp_path / "p.toml"
    f.write_text(_toml(GOOD))
    prof = load_profile(f, base={})
    assert prof.feature("pixel_format").to_node("mono") == "Mono8"


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=string.printable, max_size=300))
def test_arbitrary_text_never_escapes_as_anything_but_config_error(tmp_path: Path, text: str) -> None:
    f = tmp_path / "p.toml"
    f.write_text(text)
    try:
        load_profile(f, base={})
    except ConfigError:
        pass


def test_every_canonical_feature_has_a_kind() -> None:
    kinds = {k for k, _ in CANONICAL_FEATURES.values()}
    assert kinds <= {FeatureKind.FLOAT, FeatureKind.INT, FeatureKind.ENUM, FeatureKind.BOOL,
                     FeatureKind.STRING, FeatureKind.COMMAND}
