"""Helpers for the burst-quality tests: real face photos (tests/data/faces, MIT), frame builders.

(Uniquely named, not conftest.py, so other test directories' helpers never shadow it.)
"""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np
from hypothesis import HealthCheck, settings

from lanecam.frames import Burst, Frame, FrameMeta

FACES = Path(__file__).resolve().parents[1] / "data" / "faces"

QUALITY_SETTINGS = settings(max_examples=40, deadline=None,
                            suppress_health_check=[HealthCheck.too_slow])
"""Hypothesis settings for this directory (applied per test, never as a global profile)."""


@functools.cache
def gray(name: str) -> np.ndarray:
    """A face photo as 8-bit gray (read-only; copy before modifying)."""
    img = cv2.imread(str(FACES / name), cv2.IMREAD_GRAYSCALE)
    assert img is not None, name
    img.flags.writeable = False
    return img


def photo_names() -> list[str]:
    return sorted(p.name for p in FACES.iterdir() if p.suffix in {".jpg", ".png"})


def make_frame(array: np.ndarray, n: int = 0, *, complete: bool = True,
               pixel_format: str | None = None) -> Frame:
    fmt = pixel_format or ("Mono8" if array.dtype == np.uint8 else "Mono16")
    meta = FrameMeta(camera_id="cam", frame_number=n, host_ns=0, width=array.shape[1],
                     height=array.shape[0], pixel_format=fmt, complete=complete,
                     incomplete_reason=None if complete else "buffer underrun")
    return Frame(array, meta)


def make_burst(arrays: list[np.ndarray], *, incomplete: tuple[int, ...] = ()) -> Burst:
    frames = [make_frame(a, i, complete=i not in incomplete) for i, a in enumerate(arrays)]
    return Burst("cam", frames, requested=len(frames))
