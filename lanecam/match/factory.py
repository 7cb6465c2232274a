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
    :class:`~lanecam.match.sface_matcher.SFaceMatcher` with the config's threshold."""
    if cfg.kind == "dlib":
        from .dlib_matcher import DlibMatcher

        return DlibMatcher(cfg.distance_threshold)
    if cfg.kind == "sface":
        from .sface_matcher import SFaceMatcher

        return SFaceMatcher(cfg.cosine_threshold)
    raise ConfigError("unknown matcher kind", key="matcher.kind", allowed=["dlib", "sface"])


def face_finder_named(name: str) -> FaceFinder:
    """``"hog"``: dlib's HOG finder as the ranker uses it; ``"yunet"``: OpenCV's YuNet.  Both
    shrink ROIs to :data:`~lanecam.quality.faces.RANKER_MAX_SIDE` before detection."""
    from ..quality.faces import RANKER_MAX_SIDE, DlibFaceFinder

    if name == "hog":
        return DlibFaceFinder(upsample=0, max_side=RANKER_MAX_SIDE)
    if name == "yunet":
        from ..quality.yunet import YuNetFaceFinder

        return YuNetFaceFinder(max_side=RANKER_MAX_SIDE)
    raise ConfigError("unknown face finder", key="capture.face_finder", allowed=["hog", "yunet"])
