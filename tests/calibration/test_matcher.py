"""``calibrate matcher``: threshold at a target FMR from labelled photos, with an honest
Clopper–Pearson bound (poor when the impostor pairs cannot vouch for the target)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from lanecam.calibration.fragment import apply_fragments
from lanecam.calibration.matcher_fit import binomial_upper, fit_threshold, min_impostors_for
from lanecam.cli import main
from lanecam.config import load_lane_config
from lanecam.match.factory import matcher_from_config

FACES = Path(__file__).parents[1] / "data" / "faces"
LANE = '[lane]\nid = "cal-matcher"\n\n[[cameras]]\nname = "cam0"\ndevice = "sim"\n'
#: group / identity / photos (tests/data/faces, the face_recognition repo's MIT test images)
LAYOUT = {"front": {"alex": ["alex-lacamoire.png", "alex-lacamoire2.jpg"],
                    "biden": ["biden.jpg", "biden2.jpg"]},
          "rear": {"obama": ["obama.jpg", "obama2.jpg", "obama3.jpg"]}}


def test_clopper_pearson_upper_bounds() -> None:
    assert binomial_upper(0, 100) == pytest.approx(1 - 0.05 ** (1 / 100))
    assert binomial_upper(1, 100) == pytest.approx(0.0466, abs=2e-4)  # tables: 0.0466
    assert binomial_upper(5, 1000) == pytest.approx(0.01048, abs=2e-4)
    assert binomial_upper(3, 3) == 1.0
    assert min_impostors_for(1e-3) == 2995  # ≈ 3/target


def test_threshold_is_vouched_for_when_the_sample_can_and_flagged_when_not() -> None:
    rng = np.random.default_rng(0)
    imp, gen = rng.normal(0.2, 0.1, 5000), rng.normal(0.6, 0.08, 300)
    fit = fit_threshold(imp, gen, 1e-3)
    assert fit.supported and fit.fmr.upper <= 1e-3
    assert fit.fmr.errors == int(np.sum(imp >= fit.threshold))
    assert fit.fnmr.rate == pytest.approx(np.mean(gen < fit.threshold))
    small = fit_threshold(imp[:28], gen, 1e-3)
    assert not small.supported and small.fmr.errors == 0
    assert small.threshold > imp[:28].max()
    assert small.fmr.upper == pytest.approx(1 - 0.05 ** (1 / 28))


def _photos(root: Path) -> Path:
    for group, ids in LAYOUT.items():
        for ident, files in ids.items():
            d = root / group / ident
            d.mkdir(parents=True)
            for f in files:
                shutil.copy(FACES / f, d / f)
    return root


def test_labelled_photos_per_group_and_an_unsupported_target(tmp_path: Path) -> None:
    photos = _photos(tmp_path / "photos")
    lane = tmp_path / "lane.toml"
    lane.write_text(LANE)
    out = tmp_path / "out"
    # 7 photos: 5 genuine and 16 impostor pairs, which vouch for FMR ≤ 0.17 at best
    assert main(["calibrate", "matcher", str(lane), "--photos", str(photos), "--out", str(out),
                 "--target-fmr", "0.001"]) == 3
    doc = json.loads((out / "matcher.json").read_text())
    assert doc["quality"] == "poor" and not (out / "matcher.toml").exists()
    assert doc["details"]["impostor_pairs"] == 16 and doc["details"]["genuine_pairs"] == 5
    assert doc["uncertainty"]["fmr_upper"] == pytest.approx(1 - 0.05 ** (1 / 16))
    assert doc["uncertainty"]["fmr_upper"] > 0.001
    assert set(doc["details"]["groups"]) == {"front", "rear"}
    assert doc["details"]["groups"]["front"]["impostor_pairs"] == 4
    # a target the sample can vouch for: the fragment goes into the lane config
    assert main(["calibrate", "matcher", str(lane), "--photos", str(photos), "--out", str(out),
                 "--target-fmr", "0.2"]) == 0
    doc = json.loads((out / "matcher.json").read_text())
    assert doc["quality"] == "good" and doc["uncertainty"]["fmr_upper"] <= 0.2
    assert doc["estimate"]["fnmr"] < 0.5
    apply_fragments(out, lane)
    cfg = load_lane_config(lane)
    assert cfg.matcher.distance_threshold == pytest.approx(doc["estimate"]["distance_threshold"],
                                                           abs=1e-6)
    assert cfg.matcher.fmr_upper is not None and cfg.matcher.fmr_upper <= 0.2
    m = matcher_from_config(cfg.matcher)
    assert m.fmr == cfg.matcher.fmr_upper
    assert math.isclose(m.threshold, doc["estimate"]["similarity_threshold"], abs_tol=1e-6)


def test_sim_identities_rendered_through_the_simulator(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["calibrate", "matcher", "--sim", "clear_noon", "--out", str(out),
                 "--target-fmr", "0.05"]) == 0
    doc = json.loads((out / "matcher.json").read_text())
    assert doc["details"]["identities"] == 4 and doc["details"]["without_face"] == []
    assert doc["uncertainty"]["fmr_upper"] <= 0.05
    assert not list(out.rglob("*.png"))[1:]  # the report only: no rendered face on disk


def test_one_identity_or_no_folder_cannot_measure(tmp_path: Path) -> None:
    from lanecam.calibration import CalibrationError
    from lanecam.calibration.matcher import find_photos

    with pytest.raises(CalibrationError) as err:
        find_photos(tmp_path / "missing")
    assert err.value.reason == "target_not_found"
    (tmp_path / "only" / "alex").mkdir(parents=True)
    shutil.copy(FACES / "alex-lacamoire.png", tmp_path / "only" / "alex")
    with pytest.raises(CalibrationError) as err:
        find_photos(tmp_path / "only")
    assert err.value.reason == "too_few_identities"
    lane = tmp_path / "lane.toml"
    lane.write_text(LANE)
    assert main(["calibrate", "matcher", str(lane), "--photos", str(tmp_path / "only"),
                 "--out", str(tmp_path / "out")]) == 2  # could not run: exit 2, no files
