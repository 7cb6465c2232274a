"""Identity galleries: the folder format is validated with typed errors (fuzzed SOURCES.tsv), a
texture comes from the first photo the way the shipped textures were made, the document from
another photo, and the renderer draws gallery identities."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from population_helpers import make_gallery

from lanecam.sim.population import GalleryError, load_gallery
from lanecam.sim.textures import load_face, register_face_source


def test_gallery_lists_people_with_and_without_documents(tmp_path: Path) -> None:
    g = load_gallery(make_gallery(tmp_path / "g"))
    assert g.names == ("p-biden", "p-lmm", "p-obama")
    assert g.identity("p-obama").document_photo.name == "obama2.jpg"
    assert g.identity("p-obama").texture_photo.name == "obama.jpg"
    assert not g.identity("p-lmm").has_document
    assert g.document_rgb("p-biden").shape[2] == 3


def test_texture_is_made_like_the_shipped_one(tmp_path: Path) -> None:
    g = load_gallery(make_gallery(tmp_path / "g"))
    mine, shipped = g.texture("p-obama"), load_face("obama")
    diff = np.abs(mine.grey - shipped.grey) * 255
    assert float(diff.mean()) < 2.0  # same photo, same landmarks: within the rounding
    register_face_source(["p-obama"], g.texture)
    assert load_face("p-obama") is mine


@pytest.mark.parametrize(("mutate", "reason"), [
    (lambda r: (r / "LICENSE.txt").unlink(), "no_licence"),
    (lambda r: (r / "bad name!").mkdir(), "bad_name"),
    (lambda r: (r / "empty").mkdir(), "no_photos"),
    (lambda r: (r / "SOURCES.tsv").write_text("person\tfile\np-obama\tp-obama/obama.jpg\n"),
     "unsourced"),
    (lambda r: (r / "SOURCES.tsv").write_text("who\twhat\nx\ty\n"), "bad_sources"),
])
def test_malformed_gallery_is_a_typed_error(tmp_path: Path, mutate, reason: str) -> None:
    root = make_gallery(tmp_path / "g")
    mutate(root)
    with pytest.raises(GalleryError) as e:
        load_gallery(root)
    assert e.value.reason == reason and e.value.key


def test_licence_per_person_is_enough(tmp_path: Path) -> None:
    root = make_gallery(tmp_path / "g", {"a": ["obama.jpg"]})
    (root / "LICENSE.txt").rename(root / "a" / "LICENSE.md")
    assert load_gallery(root).names == ("a",)


def test_photo_without_a_face_is_a_typed_error(tmp_path: Path) -> None:
    root = make_gallery(tmp_path / "g", {"a": ["obama.jpg"]})
    import cv2

    cv2.imwrite(str(root / "a" / "obama.jpg"), np.full((200, 200, 3), 128, np.uint8))
    with pytest.raises(GalleryError) as e:
        load_gallery(root).texture("a")
    assert e.value.reason == "no_face"


def test_missing_folder_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(GalleryError) as e:
        load_gallery(tmp_path / "nowhere")
    assert e.value.reason == "not_found"


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.sampled_from("personfilea/.jpg\t\n\"x-1"), max_size=80))
def test_fuzzed_sources_file_loads_or_fails_typed(tmp_path: Path, text: str) -> None:
    root = tmp_path / "fz"
    if not root.exists():
        make_gallery(root, {"a": ["obama.jpg"]})
    (root / "SOURCES.tsv").write_text(text)
    try:
        g = load_gallery(root)
    except GalleryError as e:
        assert e.reason in ("unsourced", "bad_sources")
    else:
        assert g.names == ("a",)


def test_a_one_photo_person_can_be_impersonated_but_has_no_document(tmp_path: Path) -> None:
    import copy
    import tomllib

    from lanecam.errors import ConfigError
    from lanecam.sim.population import draw_population, parse_spec
    from lanecam.sim.population.spec import default_spec_path

    g = load_gallery(make_gallery(tmp_path / "g"))
    with pytest.raises(ConfigError):
        g.document_rgb("p-lmm")
    assert g.document_rgb("p-lmm", impostor=True).ndim == 3
    doc = copy.deepcopy(tomllib.loads(default_spec_path().read_text()))
    doc["travelers"]["impostor"]["p"] = 1.0
    occ = [o for v in draw_population(parse_spec(doc), g, 2, 40) for o in v.occupants]
    assert all(o.impostor and o.document not in (None, o.identity) for o in occ)
    assert any(o.document == "p-lmm" for o in occ)


def test_exclude_file_leaves_people_out_and_check_finds_faceless_photos(tmp_path: Path) -> None:
    import pickle

    import cv2

    from lanecam.match.dlib_matcher import DlibMatcher
    from lanecam.sim.population.gallery import check_gallery

    root = make_gallery(tmp_path / "g", {"a": ["obama.jpg"], "b": ["biden.jpg", "biden2.jpg"]})
    cv2.imwrite(str(root / "b" / "biden2.jpg"), np.full((120, 100, 3), 90, np.uint8))
    g = load_gallery(root)
    assert check_gallery(g) == [("b", "biden2.jpg")]
    with pytest.raises(GalleryError) as e:
        g.document_template(DlibMatcher(), "b")
    assert e.value.reason == "no_face" and e.value.key == "b"
    again = pickle.loads(pickle.dumps(e.value))  # as it crosses from a worker process
    assert (type(again), again.reason, again.key) == (GalleryError, "no_face", "b")
    (root / "EXCLUDE.txt").write_text("# no face\nb  # biden2.jpg\n")
    g = load_gallery(root)
    assert (g.names, g.excluded) == (("a",), ("b",))
    (root / "EXCLUDE.txt").write_text("nobody\n")
    with pytest.raises(GalleryError) as e:
        load_gallery(root)
    assert e.value.reason == "bad_name"
