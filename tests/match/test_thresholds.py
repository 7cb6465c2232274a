"""The shipped matcher thresholds: the file, its parser (typed errors, fuzzed), the matchers
reading their defaults from it, and the threshold maths at FMR 1e-4 on synthetic scores."""

from __future__ import annotations

import copy
import importlib.util
import math
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lanecam.calibration.matcher_fit import binomial_upper, fit_threshold, min_impostors_for
from lanecam.config import MatcherConfig
from lanecam.errors import ConfigError
from lanecam.match import sface_matcher
from lanecam.match.base import Template
from lanecam.match.factory import matcher_from_config
from lanecam.match.thresholds import (
    MATCHERS,
    MeasuredThreshold,
    ThresholdsError,
    load_thresholds,
    parse_thresholds,
    shipped_threshold,
)

SHIPPED = Path(__file__).resolve().parents[2] / "lanecam" / "match" / "thresholds.toml"
BENCH = Path(__file__).resolve().parents[2] / "bench" / "matcher_thresholds.py"


def shipped_doc() -> dict[str, Any]:
    return tomllib.loads(SHIPPED.read_text("utf-8"))


# --- the shipped file ------------------------------------------------------------------------

def test_the_shipped_file_describes_both_matchers_and_vouches_for_its_target() -> None:
    got = load_thresholds()
    assert set(got) == set(MATCHERS)
    for name, t in got.items():
        assert t.target_fmr == 1e-4, name
        # the stated bound is the exact Clopper–Pearson bound of the stated counts ...
        assert t.fmr_upper == pytest.approx(
            binomial_upper(t.false_matches, t.impostor_pairs, t.confidence), rel=1e-6), name
        # ... and the sample is large enough to vouch for the target at all
        assert t.impostor_pairs >= min_impostors_for(t.target_fmr, t.confidence), name
        assert t.fmr_upper <= t.target_fmr, name
        if t.genuine_pairs:
            assert t.fnmr_upper == pytest.approx(
                binomial_upper(t.false_non_matches, t.genuine_pairs, t.confidence), rel=1e-6)


def test_shipped_threshold_is_the_packaged_file_and_rejects_unknown_matchers() -> None:
    assert shipped_threshold("dlib") == load_thresholds(SHIPPED)["dlib"]
    with pytest.raises(ThresholdsError) as e:
        shipped_threshold("vendor")
    assert e.value.key == "vendor"


# --- the matchers read it --------------------------------------------------------------------

def test_sface_default_threshold_and_decision_fmr_come_from_the_file() -> None:
    t = shipped_threshold("sface")
    m = sface_matcher.SFaceMatcher()
    assert m.threshold == t.similarity_threshold and m.fmr == t.fmr_upper
    v = np.zeros(128, np.float32)
    v[0] = 1.0
    tmpl = Template(v.tobytes(), kind=sface_matcher.KIND, version=sface_matcher.VERSION)
    d = m.verify(tmpl, tmpl)
    assert d.fmr == t.fmr_upper and d.threshold == t.similarity_threshold and d.match
    # a threshold given by hand is not the measured one: uncalibrated unless told
    assert sface_matcher.SFaceMatcher(0.5).fmr is None
    assert sface_matcher.SFaceMatcher(0.5, fmr=0.01).fmr == 0.01
    # colour templates were not measured
    assert sface_matcher.SFaceMatcher(grey=False).fmr is None


def test_dlib_default_threshold_comes_from_the_file() -> None:
    from lanecam.match.dlib_matcher import DlibMatcher

    t = shipped_threshold("dlib")
    m = DlibMatcher()
    assert m.distance_threshold == pytest.approx(t.distance_threshold)
    assert m.threshold == pytest.approx(t.similarity_threshold) and m.fmr == t.fmr_upper
    assert DlibMatcher(0.6).fmr is None
    assert DlibMatcher(grey=True).fmr is None and DlibMatcher(jitter=2).fmr is None


def test_an_unset_lane_config_gets_the_measured_default() -> None:
    for kind in MATCHERS:
        m = matcher_from_config(MatcherConfig(kind=kind))
        t = shipped_threshold(kind)
        assert m.threshold == pytest.approx(t.similarity_threshold), kind
        assert m.fmr == t.fmr_upper, kind
    calibrated = matcher_from_config(MatcherConfig(kind="sface", cosine_threshold=0.5,
                                                   fmr=1e-3, fmr_upper=2e-3))
    assert calibrated.threshold == 0.5 and calibrated.fmr == 2e-3


# --- parser: typed errors --------------------------------------------------------------------

@pytest.mark.parametrize(("edit", "key"), [
    (lambda d: d["dlib"].pop("fmr_upper"), "dlib.fmr_upper"),
    (lambda d: d["sface"].__setitem__("impostor_pairs", True), "sface.impostor_pairs"),
    (lambda d: d["sface"].__setitem__("impostor_pairs", 0), "sface.impostor_pairs"),
    (lambda d: d["dlib"].__setitem__("false_matches", -1), "dlib.false_matches"),
    (lambda d: d["dlib"].__setitem__("similarity_threshold", 1.5), "dlib.similarity_threshold"),
    (lambda d: d["dlib"].__setitem__("similarity_threshold", math.nan),
     "dlib.similarity_threshold"),
    (lambda d: d["dlib"].__setitem__("target_fmr", "1e-4"), "dlib.target_fmr"),
    (lambda d: d["dlib"].__setitem__("confidence", 1.0), "dlib.confidence"),
    (lambda d: d["dlib"].__setitem__("threshold", 0.4), "dlib.threshold"),
    (lambda d: d["sface"].__setitem__("gallery", " "), "sface.gallery"),
    (lambda d: d.__setitem__("vendor", {}), "vendor"),
    (lambda d: d.pop("sface"), "sface"),
    (lambda d: d["dlib"].update(false_matches=10, impostor_pairs=5), "dlib.false_matches"),
    (lambda d: d["dlib"].update(false_non_matches=3, genuine_pairs=2),
     "dlib.false_non_matches"),
    (lambda d: d["dlib"].update(false_matches=50, impostor_pairs=100, fmr_upper=0.1),
     "dlib.fmr_upper"),
])
def test_a_wrong_value_is_a_thresholds_error_naming_its_key(edit: Any, key: str) -> None:
    doc = shipped_doc()
    edit(doc)
    with pytest.raises(ThresholdsError) as e:
        parse_thresholds(doc)
    assert e.value.key == key and isinstance(e.value, ConfigError)


def test_unreadable_or_non_toml_files_are_thresholds_errors(tmp_path: Path) -> None:
    with pytest.raises(ThresholdsError) as e:
        load_thresholds(tmp_path / "absent.toml")
    assert e.value.key == str(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[dlib\nsimilarity_threshold = ")
    with pytest.raises(ThresholdsError):
        load_thresholds(bad)


def test_a_valid_edit_parses_to_the_values_written() -> None:
    doc = shipped_doc()
    doc["sface"].update(similarity_threshold=0.5, impostor_pairs=40_000, false_matches=1,
                        fmr_upper=binomial_upper(1, 40_000))
    t = parse_thresholds(doc)["sface"]
    assert isinstance(t, MeasuredThreshold)
    assert t.similarity_threshold == 0.5 and t.fmr == 1 / 40_000
    assert t.distance_threshold == pytest.approx(0.5)


# --- parser: fuzzed ----------------------------------------------------------------------------

_values = st.one_of(st.none(), st.booleans(), st.integers(-10, 10**6),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8))


@settings(max_examples=300, deadline=None)
@given(matcher=st.sampled_from(MATCHERS), key=st.sampled_from(
    ["similarity_threshold", "target_fmr", "confidence", "impostor_pairs", "false_matches",
     "fmr_upper", "genuine_pairs", "false_non_matches", "fnmr_upper", "gallery", "extra"]),
    value=_values)
def test_fuzzed_values_parse_or_raise_a_thresholds_error(matcher: str, key: str,
                                                          value: Any) -> None:
    doc = copy.deepcopy(shipped_doc())
    if value is None:
        doc[matcher].pop(key, None)
    else:
        doc[matcher][key] = value
    try:
        got = parse_thresholds(doc)[matcher]
    except ThresholdsError as e:
        assert e.key is not None and e.key.startswith(matcher)
        return
    assert -1 < got.similarity_threshold < 1 and 0 <= got.fmr <= got.fmr_upper <= 1
    assert 0 <= got.false_matches <= got.impostor_pairs


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200))
def test_fuzzed_text_never_escapes_as_another_error(tmp_path_factory: Any, text: str) -> None:
    f = tmp_path_factory.mktemp("fuzz") / "t.toml"
    f.write_text(text, "utf-8")
    try:
        load_thresholds(f)
    except ThresholdsError:
        pass


# --- the threshold maths at 1e-4, synthetic scores -------------------------------------------

def test_thirty_thousand_pairs_are_the_floor_for_1e_4() -> None:
    n = min_impostors_for(1e-4)
    assert 29_000 < n < 31_000
    assert binomial_upper(0, n) <= 1e-4 < binomial_upper(0, n - 1)


def test_fit_at_1e_4_vouches_with_enough_pairs_and_not_with_too_few() -> None:
    rng = np.random.default_rng(7)
    imp = rng.normal(0.1, 0.08, 200_000)
    gen = rng.normal(0.7, 0.08, 50)
    fit = fit_threshold(imp, gen, 1e-4)
    assert fit.supported and fit.fmr.upper <= 1e-4
    # the vouched count of false matches is the largest whose bound stays under the target
    k = fit.fmr.errors
    assert binomial_upper(k, imp.size) <= 1e-4 < binomial_upper(k + 1, imp.size)
    assert np.sum(imp >= fit.threshold) == k and fit.fnmr.errors == 0
    few = fit_threshold(imp[:20_000], gen, 1e-4)
    assert not few.supported and few.fmr.upper > 1e-4


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_matcher_thresholds", BENCH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_bench_ships_the_highest_regime_threshold_and_rescores_every_regime() -> None:
    rng = np.random.default_rng(3)
    imps = {"full": rng.normal(0.10, 0.08, 40_000), "face40": rng.normal(0.15, 0.08, 40_000)}
    gen = {"full": [0.8, 0.9], "face40": [0.3, 0.9]}
    shipped, reg = _bench().summarize(imps, gen, 1e-4)
    assert shipped == max(reg["full"]["fit_threshold"], reg["face40"]["fit_threshold"])
    assert shipped == reg["face40"]["fit_threshold"]          # the harder regime decides
    for r, v in reg.items():
        assert v["false_matches"] == int(np.sum(imps[r] >= shipped))
        assert v["fmr_upper"] == pytest.approx(binomial_upper(v["false_matches"], 40_000))
        assert v["fmr_upper"] <= 1e-4
    assert reg["face40"]["false_non_matches"] == 1 and reg["face40"]["genuine_pairs"] == 2
    assert reg["full"]["false_non_matches"] == 0
