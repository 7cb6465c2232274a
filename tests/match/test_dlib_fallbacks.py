"""DlibMatcher.template_many counts and logs what it leaves out of a fused template (it used to
skip crops silently): ``counters["fuse_no_face"]`` and ``counters["fuse_outlier"]``."""

from __future__ import annotations

import logging
from collections import Counter

import numpy as np
import pytest
from test_dlib_matcher import load_rgb

from lanecam.match.dlib_matcher import DlibMatcher

LOGGER = "lanecam.match.dlib_matcher"


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]


def test_template_many_counts_and_logs_skipped_crops(caplog: pytest.LogCaptureFixture) -> None:
    m = DlibMatcher()
    assert m.counters == Counter()
    obama, biden = load_rgb("obama.jpg"), load_rgb("biden.jpg")
    blank = np.full((200, 200), 128, np.uint8)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        m.template_many([obama, obama])
    assert m.counters == Counter() and not _warnings(caplog)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        m.template_many([blank, obama, biden, blank])
    assert m.counters == Counter({"fuse_no_face": 2, "fuse_outlier": 1})
    assert len(_warnings(caplog)) == 1  # one line per call, not per crop
