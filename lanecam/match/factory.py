"""The matcher and face finder a lane config names (``[matcher] kind``, ``[capture]
face_finder``), built with the config's thresholds."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ConfigError
from .base import Matcher

if TYPE_CHECKING:
    from ..config import MatcherConfig
    from ..quality.faces import FaceFinder

__all__ = ["face_finder_named", "matcher_from_config"]


def matcher_from_config(cfg: MatcherConfig) -> Matcher:
    """A :class:`~lanecam.match.dlib_matcher.DlibMatcher` or
    :class:`~lanecam.match.sface_matcher.SFaceMatcher` with the config's threshold and the
    false-match rate it was calibrated to (the upper bound when the calibration gave one)."""
    fmr = cfg.fmr_upper if cfg.fmr_upper is not None else cfg.fmr
    if cfg.kind == "dlib":
        from .dlib_matcher import DlibMatcher

        return DlibMatcher(cfg.distance_threshold, fmr=fmr)
    if cfg.kind == "sface":
        from .sface_matcher import SFaceMatcher

        return SFaceMatcher(cfg.cosine_threshold, fmr=fmr)
    raise ConfigError("unknown matcher kind", key="matcher.kind", allowed=["dlib", "sface"])


def face_finder_named(name: str) -> FaceFinder | None:
    """``"hog"``: dlib's HOG finder as the ranker uses it (``None``, logged once, when dlib is
    not installed: ranking then scores ROIs only); ``"yunet"``: OpenCV's YuNet (its package
    missing is a :class:`~lanecam.match.onnx_models.ModelUnavailableError`).  Both shrink
    ROIs to :data:`~lanecam.quality.faces.RANKER_MAX_SIDE` before detection."""
    from ..quality.faces import RANKER_MAX_SIDE, default_face_finder

    if name == "hog":
        return default_face_finder()
    if name == "yunet":
        from ..quality.yunet import YuNetFaceFinder

        finder = YuNetFaceFinder(max_side=RANKER_MAX_SIDE)
        finder.load()                     # a missing or changed model fails the lane's start
        return finder
    raise ConfigError("unknown face finder", key="capture.face_finder", allowed=["hog", "yunet"])
