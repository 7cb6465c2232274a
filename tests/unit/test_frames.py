from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lanecam.frames import BufferPool, Burst, Frame, FrameMeta, FrameReleasedError


def meta(n: int = 0, complete: bool = True) -> FrameMeta:
    return FrameMeta(camera_id="t:0", frame_number=n, host_ns=1, width=4, height=3,
                     pixel_format="Mono8", complete=complete,
                     incomplete_reason=None if complete else "cut short")


def test_release_requeues_exactly_once() -> None:
    calls = []
    f = Frame(np.zeros((3, 4), np.uint8), meta(), release=lambda: calls.append(1))
    with f:
        assert f.array.shape == (3, 4)
    f.release()
    assert calls == [1]
    with pytest.raises(FrameReleasedError):
        _ = f.array


def test_release_from_many_threads_calls_back_once() -> None:
    calls = []
    f = Frame(np.zeros(4, np.uint8), meta(), release=lambda: calls.append(1))
    ts = [threading.Thread(target=f.release) for _ in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert calls == [1]


def test_burst_counts_and_releases() -> None:
    released = []
    frames = [Frame(np.zeros((3, 4), np.uint8), meta(i, complete=i != 1),
                    release=lambda i=i: released.append(i)) for i in range(3)]
    with Burst("t:0", frames, requested=5) as b:
        assert len(b) == 3 and b.incomplete_count == 1 and b.missing_count == 2
        assert [f.meta.frame_number for f in b.complete_frames] == [0, 2]
    assert sorted(released) == [0, 1, 2]


def test_pool_is_fixed_and_counts_overflow() -> None:
    pool = BufferPool.for_shape(2, (3, 4), np.uint16)
    a = pool.acquire((3, 4), np.uint16)
    b = pool.acquire((2, 2), np.uint8)
    assert a is not None and b is not None and pool.in_use == 2
    assert pool.acquire((3, 4), np.uint16) is None
    assert pool.overflow == 1
    pool.release(a)
    assert pool.acquire((3, 4), np.uint16) is not None
    with pytest.raises(ValueError):
        pool.acquire((100, 100), np.uint8)
    with pytest.raises(ValueError):
        pool.release(np.zeros(3))


@given(st.lists(st.integers(1, 64), min_size=1, max_size=30), st.integers(1, 5))
def test_detach_copies_pixels_and_frees_the_driver_buffer(sizes: list[int], cap: int) -> None:
    pool = BufferPool(cap, 64)
    kept, released = [], []
    for i, n in enumerate(sizes):
        src = np.arange(n, dtype=np.uint8)
        f = Frame(src, meta(i), release=lambda i=i: released.append(i))
        moved = f.detach(pool)
        assert f.released and released[-1] == i  # driver buffer back at once
        if moved is None:
            continue
        np.testing.assert_array_equal(moved.array, src)
        kept.append(moved)
    assert len(kept) == min(cap, len(sizes))
    assert pool.overflow == len(sizes) - len(kept)
    for k in kept:
        k.release()
    assert pool.in_use == 0
