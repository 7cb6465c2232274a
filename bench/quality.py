"""Benchmark lanecam's quality kernels against OpenCV, numpy and the memory-read floor.

Run ``python bench/quality.py``.  Prints a table (ms per frame and ratios, all measured in this
run on this machine); asserts nothing about time.  Frames are 2448×2048 mono8 (IMX250), built
from a test face photo; 8 distinct frames (40 MB, more than a typical L3) are cycled so each
pass reads from DRAM like a freshly grabbed frame would.

``python bench/quality.py --faces [SCENARIO ...]`` instead times the burst ranker with face
finding (ROI scoring + dlib face finder, what the lane's analysis thread pays per burst before
matching) on simulator bursts: per scenario one 10-frame 5 MP burst rendered while the first
vehicle closes from 20 to 10 m, with the five seat ROIs predicted by
:func:`lanecam.geometry.occupant_rois` from the simulator's true range (a stand-in for the
tracker).  Arms: the old eager search at full resolution, eager with the shrunk detection crop,
and the lazy default; per arm ms per burst (round-robin, best and median), finder calls, and how
many seats end with the same face as the old eager search.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numba
import numpy as np
from numba import njit, prange

from lanecam.frames import Burst, Frame, FrameMeta
from lanecam.quality import (
    LAYOUT_SFNC,
    BurstRanker,
    StokesImages,
    region_stats,
    region_stats_many,
    stokes,
)
from lanecam.quality.dofp import AnalysisImage, analysis_image

H, W = 2048, 2448
N_FRAMES = 8
REPEATS = 15
ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "tests" / "data" / "faces" / "two_people.jpg"
NOISE_K = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def make_frames() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    base = cv2.resize(cv2.imread(str(PHOTO), cv2.IMREAD_GRAYSCALE), (W, H)).astype(np.float32)
    return [np.clip(np.roll(base, 37 * i, axis=1) + rng.normal(0, 2, base.shape), 0, 255)
            .astype(np.uint8) for i in range(N_FRAMES)]


# --- the same metrics three ways --------------------------------------------------------------

def lanecam_stats(f: np.ndarray) -> object:
    return region_stats(f, [(0, 0, f.shape[1], f.shape[0])])


def _hist_metrics(hist: np.ndarray, n: int) -> tuple[float, float, float]:
    p = hist[hist > 0] / n
    return hist[:26].sum() / n, hist[247:].sum() / n, float(-(p * np.log2(p)).sum())


def opencv_stats(f: np.ndarray) -> object:
    n = f.size
    mean, std = cv2.meanStdDev(f)
    hist = cv2.calcHist([f], [0], None, [256], [0, 256]).ravel()
    under, over, ent = _hist_metrics(hist, n)
    _, sat = cv2.threshold(f, 254, 1, cv2.THRESH_BINARY)
    clipped = cv2.countNonZero(sat) / n
    lap = cv2.Laplacian(f, cv2.CV_32F, ksize=1)[1:-1, 1:-1]
    _, lap_std = cv2.meanStdDev(lap)
    gx = cv2.Sobel(f, cv2.CV_32F, 1, 0, ksize=3)[1:-1, 1:-1]
    gy = cv2.Sobel(f, cv2.CV_32F, 0, 1, ksize=3)[1:-1, 1:-1]
    ten = cv2.mean(cv2.add(cv2.multiply(gx, gx), cv2.multiply(gy, gy)))[0]
    # OpenCV filters every row; the median then uses the same 1-in-8 row sample as lanecam
    r = cv2.convertScaleAbs(cv2.filter2D(f, cv2.CV_16S, NOISE_K)[1:-1:8, 1:-1])
    rh = cv2.calcHist([r], [0], None, [256], [0, 256]).ravel()
    med = int(np.searchsorted(np.cumsum(rh), rh.sum() / 2))
    half = f.shape[1] // 2
    ml = cv2.mean(f[:, :half])[0]
    mr = cv2.mean(f[:, -half:])[0]
    hl = cv2.calcHist([f[:, :half]], [0], None, [256], [0, 256]).ravel()
    hr = cv2.calcHist([f[:, -half:]], [0], None, [256], [0, 256]).ravel()
    return (mean, std, under, over, ent, clipped, lap_std, ten, med, ml, mr,
            np.minimum(hl, hr).sum())


def numpy_stats(f: np.ndarray) -> object:
    n = f.size
    x = f.astype(np.float32)
    mean, std = x.mean(), x.std()
    hist = np.bincount(f.ravel(), minlength=256)
    under, over, ent = _hist_metrics(hist, n)
    clipped = np.count_nonzero(f == 255) / n
    c = x[1:-1, 1:-1]
    lap = x[:-2, 1:-1] + x[2:, 1:-1] + x[1:-1, :-2] + x[1:-1, 2:] - 4 * c
    gx = (x[:-2, 2:] + 2 * x[1:-1, 2:] + x[2:, 2:]) - (x[:-2, :-2] + 2 * x[1:-1, :-2] + x[2:, :-2])
    gy = (x[2:, :-2] + 2 * x[2:, 1:-1] + x[2:, 2:]) - (x[:-2, :-2] + 2 * x[:-2, 1:-1] + x[:-2, 2:])
    ten = (gx * gx + gy * gy).mean()
    r = np.abs((x[:-2:8, :-2] + x[:-2:8, 2:] + x[2::8, :-2] + x[2::8, 2:])
               - 2 * (x[:-2:8, 1:-1] + x[1:-1:8, :-2] + x[1:-1:8, 2:] + x[2::8, 1:-1])
               + 4 * x[1:-1:8, 1:-1])
    med = np.median(r)
    half = f.shape[1] // 2
    hl = np.bincount(f[:, :half].ravel(), minlength=256)
    hr = np.bincount(f[:, -half:].ravel(), minlength=256)
    return (mean, std, under, over, ent, clipped, lap.var(), ten, med, x[:, :half].mean(),
            x[:, -half:].mean(), np.minimum(hl, hr).sum())


# --- memory-read floor ------------------------------------------------------------------------

@njit(parallel=True, nogil=True, cache=True)
def _read_all(words: np.ndarray) -> int:
    """Sum a buffer far larger than the caches on all threads: DRAM read bandwidth."""
    n = words.shape[0]
    chunks = 64
    step = (n + chunks - 1) // chunks
    total = 0
    for c in prange(chunks):
        s = np.uint64(0)
        for i in range(c * step, min(n, (c + 1) * step)):
            s += words[i]
        total += s
    return total


# --- polarization -----------------------------------------------------------------------------

def numpy_stokes(raw: np.ndarray) -> object:
    i135, i0 = raw[0::2, 0::2].astype(np.float32), raw[0::2, 1::2].astype(np.float32)
    i90, i45 = raw[1::2, 0::2].astype(np.float32), raw[1::2, 1::2].astype(np.float32)
    s0 = (i0 + i45 + i90 + i135) / 2
    s1 = i0 - i90
    s2 = i45 - i135
    p = np.sqrt(s1 * s1 + s2 * s2)
    with np.errstate(divide="ignore", invalid="ignore"):
        dolp = np.where(s0 > 0, np.minimum(p / s0, 1), 0)
    return s0, s1, s2, dolp, 0.5 * np.arctan2(s2, s1), np.maximum((s0 - p) / 2, 0), (s0 + p) / 2


# --- burst ranking ----------------------------------------------------------------------------

def burst_of(frames: list[np.ndarray], n: int = 16) -> Burst:
    return Burst("bench", [Frame(frames[i % len(frames)], FrameMeta(
        camera_id="bench", frame_number=i, host_ns=0, width=W, height=H, pixel_format="Mono8"))
        for i in range(n)], requested=n)


def occupant_rois(side: int) -> list[tuple[int, int, int, int]]:
    return [(150 + j * 580, 650, side, side) for j in range(4)]


def first_call_cost(cold: bool) -> tuple[float, float]:
    """(import s, first region_stats call s) in a fresh interpreter; cold = empty Numba cache."""
    code = ("import time; t=time.perf_counter(); import numpy as np; "
            "from lanecam.quality import region_stats; t1=time.perf_counter(); "
            "region_stats(np.zeros((2048, 2448), np.uint8), [(0, 0, 2448, 2048)]); "
            "t2=time.perf_counter(); print(t1-t, t2-t1)")
    env = dict(os.environ)
    if cold:
        env["NUMBA_CACHE_DIR"] = str(Path(os.environ.get("TMPDIR", "/tmp")) /
                                     f"lanecam-bench-cold-{os.getpid()}-{time.time_ns()}")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    return float(out[0]), float(out[1])


def measure(pipelines: dict[str, Callable[[int], object]], rounds: int
            ) -> dict[str, tuple[float, float]]:
    """Round-robin timing: each round calls every pipeline once (with round index ``r``).

    A burst of load from other processes on the shared cores then hits all pipelines alike,
    so the ratios stay meaningful.  A short sleep before each call lets the previous
    pipeline's spinning worker threads (OpenCV's pool, Numba's OpenMP team) go idle.
    Returns ``(best, median)`` seconds per call.
    """
    times: dict[str, list[float]] = {name: [] for name in pipelines}
    for fn in pipelines.values():
        fn(0)  # warm-up: JIT, caches, allocations
    for r in range(rounds):
        for name, fn in pipelines.items():
            time.sleep(0.02)
            t = time.perf_counter()
            fn(r)
            times[name].append(time.perf_counter() - t)
    return {name: (min(v), statistics.median(v)) for name, v in times.items()}


def main() -> None:
    frames = make_frames()
    frame_bytes = frames[0].nbytes
    big = np.ones((512 << 20) // 8, np.uint64)
    out = StokesImages.empty(frames[0].shape)
    dofp_out = AnalysisImage.empty(frames[0].shape, np.uint8, 8)
    ranker = BurstRanker(top_k=3, face_finder=None)
    burst = burst_of(frames)
    arrays = [fr.array for fr in burst]
    rois = {side: [occupant_rois(side)] * 16 for side in (512, 384)}

    def frame(r: int) -> np.ndarray:
        return frames[r % N_FRAMES]

    pipelines: dict[str, Callable[[int], object]] = {
        "lanecam": lambda r: lanecam_stats(frame(r)),
        "opencv": lambda r: opencv_stats(frame(r)),
        "numpy": lambda r: numpy_stats(frame(r)),
        "read": lambda r: _read_all(big),
        "stokes": lambda r: stokes(frame(r), LAYOUT_SFNC, out=out),
        "stokes_np": lambda r: numpy_stokes(frame(r)),
        "dofp": lambda r: analysis_image(frame(r), LAYOUT_SFNC, occupant_rois(512), bit_depth=8,
                                         out=dofp_out),
    }
    for side, rr in rois.items():
        pipelines[f"rank{side}"] = lambda r, rr=rr: ranker.rank(burst, rr)
        pipelines[f"kernel{side}"] = lambda r, rr=rr: region_stats_many(arrays, rr)
    t = measure(pipelines, REPEATS)
    bw = big.nbytes / t["read"][0]
    floor = (frame_bytes / bw,) * 2
    lc, cv, npy, st, sn = t["lanecam"], t["opencv"], t["numpy"], t["stokes"], t["stokes_np"]
    rows: list[tuple[str, tuple[float, float], str]] = [
        ("(a) lanecam fused kernel", lc, "1.0×"),
        ("(b) OpenCV, same metrics", cv, f"{cv[0] / lc[0]:.1f}× slower"),
        ("(c) numpy, same metrics", npy, f"{npy[0] / lc[0]:.1f}× slower"),
        ("(d) memory-read floor", floor, f"lanecam = {lc[0] / floor[0]:.1f}× floor"),
        ("Stokes+DoLP+AoLP+I_min/max, lanecam", st, "1.0×"),
        ("Stokes+DoLP+AoLP+I_min/max, numpy", sn, f"{sn[0] / st[0]:.1f}× slower"),
        ("DoFP analysis image, 4 ROIs 512²", t["dofp"], f"{t['dofp'][0] / st[0]:.2f}× Stokes"),
    ]
    for side in rois:
        mp = 16 * 4 * side * side / 1e6
        rows += [(f"rank 16×5MP burst, 4 ROIs {side}² ({mp:.1f} MP)", t[f"rank{side}"],
                  "target ≤ 10 ms"),
                 ("  of which kernel (region_stats_many)", t[f"kernel{side}"], "")]

    warm = first_call_cost(cold=False)
    cold = first_call_cost(cold=True)

    print(f"lanecam quality benchmark — {W}×{H} mono8, numba {numba.__version__} "
          f"({numba.get_num_threads()} threads, {numba.threading_layer()}), "
          f"OpenCV {cv2.__version__} ({cv2.getNumThreads()} threads), numpy {np.__version__}")
    print(f"read bandwidth {bw / 1e9:.1f} GB/s (parallel Numba sum over 512 MB); "
          f"frame {frame_bytes / 1e6:.2f} MB; {REPEATS} round-robin rounds")
    print()
    print(f"| {'pipeline':<46} | {'best ms':>8} | {'median ms':>9} | {'ratio (best)':<22} |")
    print(f"|{'-' * 48}|{'-' * 9}:|{'-' * 10}:|{'-' * 24}|")
    for name, (best, med), ratio in rows:
        print(f"| {name:<46} | {best * 1e3:8.2f} | {med * 1e3:9.2f} | {ratio:<22} |")
    print()
    print(f"first call after import (5 MP region_stats): warm cache {warm[1] * 1e3:.0f} ms "
          f"(import {warm[0] * 1e3:.0f} ms); cold cache (JIT compile) {cold[1]:.1f} s "
          f"(import {cold[0] * 1e3:.0f} ms)")
    print(f"targets: fused ≥ 10× OpenCV: {cv[0] / lc[0]:.1f}× | ≤ 4× floor: "
          f"{lc[0] / floor[0]:.1f}× | Stokes ≥ 5× numpy: {sn[0] / st[0]:.1f}×")


# --- face search on simulator bursts -----------------------------------------------------------

def sim_bursts(names: list[str], n_frames: int = 10) -> list[tuple[str, Burst, list[list]]]:
    """One burst per scenario: ``n_frames`` 5 MP frames while the first vehicle closes from 20
    to 10 m, and the seat ROIs of every frame (from the true range)."""
    from lanecam.geometry import occupant_rois
    from lanecam.sim.render import Renderer, Shot
    from lanecam.sim.scenario import load_scenario

    out = []
    for name in names:
        sc = load_scenario(name)
        ren = Renderer(sc.world, scale=1.0)
        settings = sc.settings[ren.pose.name]
        kin = sc.world.vehicles[0].kinematics
        t20 = (kin.range_at(0.0) - 20.0) / max(kin.speed_mps, 0.5)
        t10 = (kin.range_at(0.0) - 10.0) / max(kin.speed_mps, 0.5)
        frames, rois = [], []
        for i, t in enumerate(np.linspace(t20, t10, n_frames)):
            img, truth = ren.render(Shot(
                t_s=float(t), exposure_s=settings.exposure_s, gain_db=settings.gain_db,
                polarizer_deg=settings.polarizer_deg, illumination=sc.illumination, seed=i))
            frames.append(Frame(img, FrameMeta(camera_id=name, frame_number=i, host_ns=0,
                                               width=img.shape[1], height=img.shape[0],
                                               pixel_format="Mono8")))
            rois.append(occupant_rois(ren.pose, truth.vehicles[0].range_m))
        out.append((name, Burst(name, frames, requested=n_frames), rois))
    return out


class _Counting:
    def __init__(self, finder: object) -> None:
        self.finder, self.calls = finder, 0

    def find(self, image, roi, *, bit_depth=None):  # type: ignore[no-untyped-def]
        self.calls += 1
        return self.finder.find(image, roi, bit_depth=bit_depth)  # type: ignore[attr-defined]


def faces_main(names: list[str]) -> None:
    from lanecam.quality.faces import RANKER_MAX_SIDE, DlibFaceFinder
    from lanecam.quality.rank import GOOD_FACE
    from lanecam.sim.scenario import SUITE

    names = names or list(SUITE)
    print(f"rendering {len(names)} simulator bursts ...", flush=True)
    bursts = sim_bursts(names)
    full, small = DlibFaceFinder(), DlibFaceFinder(max_side=RANKER_MAX_SIDE)
    full.load()
    arms = {
        "eager, full-res crops (before)": {"finder": full, "face_search": "all"},
        f"eager, max_side {RANKER_MAX_SIDE}": {"finder": small, "face_search": "all"},
        f"lazy good_face {GOOD_FACE:g}, full-res": {"finder": full},
        f"lazy good_face {GOOD_FACE:g}, max_side {RANKER_MAX_SIDE} (default)": {"finder": small},
    }
    calls: dict[str, int] = {a: 0 for a in arms}
    same: dict[str, int] = {a: 0 for a in arms}
    found: dict[str, int] = {a: 0 for a in arms}
    seats = faces_eager = 0
    timings: dict[str, list[tuple[float, float]]] = {a: [] for a in arms}
    for name, burst, rois in bursts:
        chosen = {}
        for arm, kw in arms.items():
            spy = _Counting(kw["finder"])
            r = BurstRanker(top_k=3, face_finder=spy,
                            face_search=kw.get("face_search", "lazy")).rank(burst, rois)
            calls[arm] += spy.calls
            chosen[arm] = {j: (c.roi.frame_index, c.face) if c and c.face else None
                           for j, c in ((j, r.best(j)) for j in r.top)}
        ref = chosen[next(iter(arms))]
        seats += len(ref)
        faces_eager += sum(v is not None for v in ref.values())
        for arm in arms:
            same[arm] += sum(_same_face(ref[j], chosen[arm].get(j)) for j in ref)
            found[arm] += sum(chosen[arm].get(j) is not None for j in ref)
        pipes = {arm: (lambda r, kw=kw, burst=burst, rois=rois: BurstRanker(
            top_k=3, face_finder=kw["finder"], face_search=kw.get("face_search", "lazy"),
        ).rank(burst, rois)) for arm, kw in arms.items()}
        for arm, t in measure(pipes, rounds=3).items():
            timings[arm].append(t)
    n = len(bursts)
    print(f"\n{n} bursts × 10 frames, 5 seats; {seats} seats ranked, {faces_eager} with a face "
          f"in the eager search\n")
    print(f"| {'arm':<44} | best ms/burst | median ms/burst | finder calls/burst | "
          f"seats with a face | same face as before |")
    print(f"|{'-' * 46}|--------------:|----------------:|-------------------:|"
          f"------------------:|--------------------:|")
    for arm in arms:
        best = statistics.median(t[0] for t in timings[arm]) * 1e3
        med = statistics.median(t[1] for t in timings[arm]) * 1e3
        print(f"| {arm:<44} | {best:13.0f} | {med:15.0f} | {calls[arm] / n:18.1f} | "
              f"{found[arm]:>17} | {same[arm]:>12}/{seats:<6} |")
    print("\nms per burst: median over bursts of each burst's best / median of 3 round-robin "
          "runs; 'same face': the seat's chosen frame and a face box overlapping the "
          "eager full-res choice by IoU > 0.5 (or no face in both) — among near-equal frames the "
          "lazy search often keeps another one, which measured as good for matching (see "
          "lanecam.quality.rank)")


def _same_face(a: tuple | None, b: tuple | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if a[0] != b[0]:
        return False
    ax, ay, aw, ah = a[1].box
    bx, by, bw, bh = b[1].box
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    return ix * iy / float(aw * ah + bw * bh - ix * iy) > 0.5


if __name__ == "__main__":
    if "--faces" in sys.argv[1:]:
        faces_main([a for a in sys.argv[1:] if a != "--faces"])
    else:
        main()
