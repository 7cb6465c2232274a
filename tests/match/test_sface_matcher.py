"""SFace matcher and the shipped ONNX models: checksums, loading, separation on real photos."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from lanecam.errors import ConfigError
from lanecam.match import FaceHint, FaceNotFoundError, Template, onnx_models
from lanecam.match.onnx_models import ModelIntegrityError, ModelUnavailableError, model_file
from lanecam.match.sface_matcher import KIND, SFaceMatcher
from lanecam.match.thresholds import shipped_threshold

FACES = Path(__file__).parent.parent / "data" / "faces"
PEOPLE = {"alex-lacamoire.png": "alex", "alex-lacamoire2.jpg": "alex", "biden.jpg": "biden",
          "biden2.jpg": "biden", "lin-manuel-miranda.png": "lin", "obama.jpg": "obama",
          "obama2.jpg": "obama", "obama3.jpg": "obama", "obama_partial_face.jpg": "obama"}


def rgb(name: str) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(FACES / name)), cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def matcher() -> SFaceMatcher:
    m = SFaceMatcher()
    m.load()
    return m


@pytest.fixture(scope="module")
def templates(matcher: SFaceMatcher) -> dict[str, Template]:
    return {n: matcher.template(rgb(n)) for n in PEOPLE}


def test_every_genuine_pair_scores_above_every_impostor_pair(matcher: SFaceMatcher,
                                                              templates: dict) -> None:
    names = sorted(templates)
    genuine, impostor = [], []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            s = matcher.compare(templates[a], templates[b])
            (genuine if PEOPLE[a] == PEOPLE[b] else impostor).append(s)
    assert len(genuine) == 8 and len(impostor) == 28
    assert min(genuine) > matcher.threshold > max(impostor)
    decision = matcher.verify(templates["obama2.jpg"], templates["obama.jpg"])
    assert decision.outcome == "verified" and decision.matcher == "sface"
    # the measured default: decisions carry its Clopper–Pearson bound (lanecam/match/thresholds)
    assert decision.fmr == shipped_threshold("sface").fmr_upper


def test_a_grey_64px_probe_still_matches_its_document(matcher: SFaceMatcher,
                                                      templates: dict) -> None:
    grey = cv2.imread(str(FACES / "obama2.jpg"), cv2.IMREAD_GRAYSCALE)
    face = matcher.finder.find(grey, (0, 0, grey.shape[1], grey.shape[0]))[0]
    k = 64 / face.box.width
    small = cv2.resize(grey, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
    probe = matcher.template(small)
    assert matcher.compare(probe, templates["obama.jpg"]) > matcher.threshold
    assert matcher.compare(probe, templates["biden.jpg"]) < matcher.threshold


def test_the_hint_chooses_which_face_is_templated(matcher: SFaceMatcher, templates: dict) -> None:
    img = rgb("two_people.jpg")
    faces = matcher.finder.find(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY),
                                (0, 0, img.shape[1], img.shape[0]))
    faces = [f for f in faces if f.detector_score > 0.8]       # (a 0.6 false find: a small patch)
    assert len(faces) == 2
    by_person = {}
    for f in faces:
        t = matcher.template(img, FaceHint((f.box.x, f.box.y, f.box.x + f.box.width,
                                            f.box.y + f.box.height)))
        best = max(templates, key=lambda n: matcher.compare(t, templates[n]))
        by_person[PEOPLE[best]] = matcher.compare(t, templates[best])
    assert set(by_person) == {"biden", "obama"}
    with pytest.raises(FaceNotFoundError):
        matcher.template(img, FaceHint((0, 600, 40, 640)))      # nobody there


def test_no_face_and_bad_images_are_typed_errors(matcher: SFaceMatcher) -> None:
    with pytest.raises(FaceNotFoundError):
        matcher.template(np.full((200, 200), 128, np.uint8))
    with pytest.raises(ConfigError):
        matcher.template(np.zeros((50, 50), np.float32))
    with pytest.raises(ConfigError):
        SFaceMatcher(cosine_threshold=1.5)


def test_templates_say_which_model_made_them(matcher: SFaceMatcher, templates: dict) -> None:
    t = templates["biden.jpg"]
    assert t.kind == KIND and len(t) == 512 and "bytes" in repr(t)
    back = Template.from_bytes(t.to_bytes())
    assert matcher.compare(back, t) == pytest.approx(1.0, abs=1e-5)
    other = Template(b"\0" * 512, kind="dlib-resnet-v1", version=1)
    with pytest.raises(ConfigError):
        matcher.compare(other, t)


def test_fused_template_leaves_out_images_without_a_face(matcher: SFaceMatcher,
                                                         templates: dict) -> None:
    blank = np.full((120, 120), 90, np.uint8)
    fused = matcher.template_many([rgb("obama.jpg"), blank, rgb("obama3.jpg"), rgb("biden.jpg")])
    assert matcher.counters["fuse_no_face"] == 1 and matcher.counters["fuse_outlier"] == 1
    assert matcher.compare(fused, templates["obama2.jpg"]) > matcher.compare(
        templates["obama.jpg"], templates["obama2.jpg"]) - 0.05
    with pytest.raises(FaceNotFoundError):
        matcher.template_many([blank])


def test_a_changed_model_file_is_refused(tmp_path: Path) -> None:
    good = model_file("sface")
    bad = tmp_path / good.name
    shutil.copy(good, bad)
    with open(bad, "r+b") as fh:
        fh.seek(4096)
        byte = fh.read(1)
        fh.seek(4096)
        fh.write(bytes([byte[0] ^ 1]))
    with pytest.raises(ModelIntegrityError) as err:
        SFaceMatcher(model_path=bad).load()
    assert err.value.feature == "sface"
    with pytest.raises(ModelUnavailableError):
        model_file("sface", path=tmp_path / "absent.onnx")


def test_a_missing_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = onnx_models.MODELS["yunet"]
    monkeypatch.setitem(onnx_models.MODELS, "yunet", onnx_models.ModelFile(
        spec.name, "lanecam_no_such_package", spec.path, spec.sha256, spec.licence, spec.origin))
    with pytest.raises(ModelUnavailableError) as err:
        model_file("yunet")
    assert err.value.feature == "yunet" and isinstance(err.value, ImportError)
    with pytest.raises(ModelUnavailableError):
        model_file("arcface")
