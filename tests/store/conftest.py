"""Shared fixtures of the vault tests: a real face crop and a fresh master key."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from lanecam.store import MasterKey

FACES = Path(__file__).parent.parent / "data" / "faces"


@pytest.fixture(scope="session")
def crop() -> np.ndarray:
    """A 320×320 grey crop of a shipped face photo (see tests/data/faces for its licence)."""
    img = cv2.imread(str(FACES / "obama.jpg"), cv2.IMREAD_GRAYSCALE)
    return np.ascontiguousarray(img[200:520, 250:570])


@pytest.fixture
def key() -> MasterKey:
    return MasterKey(os.urandom(32), "test")
