"""Soak: process resources over a long run, as slopes with their 95 % confidence interval.

``--lane``: the production lane on the simulator (:func:`lanecam.sim.lane.run_sim_lane`: radar,
lidar and strobe firmware fakes on ptys, SimCameras at 5 MP, face-metered exposure control,
dlib face finding and matching) over ``--vehicles`` vehicles, sampled every ``--every``
vehicles from a sink on the lane's event stream.  There is no simulated clock yet, so the lane
runs in real time; the fastest honest way to put many vehicles through it is a stream
(default: one lane, :func:`lanecam.sim.stream.traffic_stream`, the suite's vehicles in a row
``--headway`` s apart: ~2 s of wall time per vehicle, with 10 vehicles more than counted so
that the last sample is not taken while the lane winds down).  ``--lane-mode suite`` instead
runs the ten suite scenarios back to back, a fresh lane (devices, ptys, threads) for each.  The
lane run keeps its last 1,000 events in memory (run_sim_lane's MemorySink), so a stream runs in
laps of at most 1,000 vehicles.  One more sample is printed after the last lane has stopped.
Each SimCamera keeps ground truth (evaluation only) of its last ``--truth-frames`` frames
(default here 256, ~20 vehicles; run_sim_lane's default 4,096 frames fills over the first ~400
vehicles of a stream, ~20 MB per 100 vehicles, and then stays flat).

``--cameras``: ``--cycles`` open/close cycles of an emulated camera (``PYLON_CAMEMU``) through
lanecam's :class:`~lanecam.devices.cameras.pylon.PylonCamera` (a new object each cycle, as a
lane re-opening a camera after a fault) and through raw pypylon in the same process
(EnumerateDevices, CreateDevice, InstantCamera, Open, Close, DestroyDevice: what lanecam does
underneath), each after ``--warmup`` cycles, raw first.

Each sample: RSS (VmRSS), open file descriptors (/proc/self/fd), threads (threading's count and
the kernel's), after ``gc.collect()`` (``--no-gc``: without; ``--malloc-trim``: and after
glibc's ``malloc_trim(0)``, which returns freed heap to the system — what it gives back was
freed memory the allocator kept, not a leak).  The first block (up to the first sample after the
start) is warm-up — caches, JIT, pools fill — and is left out of the least-squares slope; the
± is 1.96 × the slope's standard error.  A slope whose interval holds 0 is not distinguishable
from flat.  ``--trace N`` adds tracemalloc (N frames) and prints the allocation sites that grew
most from the end of the warm-up block to the last sample (Python allocations, numpy's
included; it slows the run).
Prints; asserts nothing.

    python bench/soak.py --lane [--vehicles 1000] [--headway 2.0] [--lane-mode stream|suite]
    python bench/soak.py --cameras [--cycles 200]
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import math
import os
import sys
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import cycle
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lanecam.events import LaneEvent

os.environ.setdefault("PYLON_CAMEMU", "1")  # before pypylon loads

EMULATOR_SERIAL = "0815-0000"
#: gc.collect() before each sample (``--no-gc``: off, to see what garbage cycles add)
COLLECT = [True]
#: glibc malloc_trim(0) before each sample (``--malloc-trim``): tells freed heap that the
#: allocator keeps (RSS that trimming gives back) from memory still in use
TRIM = [False]
#: vehicles after the last counted one, so the last sample is not taken while the lane stops
TAIL = 10


@dataclass(frozen=True)
class Sample:
    """Resources after ``count`` vehicles (or cycles), ``wall_s`` into the run."""

    count: int
    wall_s: float
    rss_kb: int
    fds: int
    threads: int  # threading.active_count()
    os_threads: int  # /proc/self/status Threads
    traced_kb: int = -1  # Python allocations alive (tracemalloc), -1 when not tracing


@dataclass(frozen=True)
class Slope:
    """Least-squares slope per unit of ``count`` and its 95 % half-interval."""

    per_unit: float
    ci95: float
    points: int

    def holds_zero(self) -> bool:
        return abs(self.per_unit) <= self.ci95


def _status(field_name: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field_name}")


def resources(count: int, t0: float) -> Sample:
    """One sample of this process, after a full garbage collection (unless ``--no-gc``)."""
    if COLLECT[0]:
        gc.collect()
    if TRIM[0]:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    traced = tracemalloc.get_traced_memory()[0] // 1024 if tracemalloc.is_tracing() else -1
    return Sample(count, time.monotonic() - t0, _status("VmRSS"), len(os.listdir("/proc/self/fd")),
                  threading.active_count(), _status("Threads"), traced)


def fit(xs: Sequence[float], ys: Sequence[float]) -> Slope:
    """Ordinary least squares slope of ``ys`` on ``xs``, ± 1.96 standard errors (nan if n < 3)."""
    n = len(xs)
    if n < 3:
        return Slope(math.nan, math.nan, n)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    resid = sum((y - my - b * (x - mx)) ** 2 for x, y in zip(xs, ys, strict=True))
    return Slope(b, 1.96 * math.sqrt(resid / (n - 2) / sxx), n)


def slopes(samples: Sequence[Sample], per: int) -> dict[str, Slope]:
    """RSS (kB), fds and threads per ``per`` vehicles or cycles, the warm-up block left out
    (``samples[0]`` is the start, ``samples[1]`` the end of the first block)."""
    kept = samples[1:]
    xs = [s.count / per for s in kept]
    return {name: fit(xs, [float(getattr(s, name)) for s in kept])
            for name in ("rss_kb", "fds", "threads", "os_threads")}


class Tracer:
    """tracemalloc snapshots at each sample (off unless ``frames`` > 0)."""

    def __init__(self, frames: int) -> None:
        self.frames = frames
        self.snaps: list[tracemalloc.Snapshot] = []
        if frames:
            tracemalloc.start(frames)

    def take(self) -> None:
        """A snapshot; only the first two (start, end of warm-up) and the latest are kept,
        so that the snapshots themselves do not grow the process."""
        if self.frames:
            del self.snaps[2:]  # let the previous latest go before the next is taken
            self.snaps.append(tracemalloc.take_snapshot())

    def report(self, top: int = 15) -> list[str]:
        """The sites that grew most from the end of the warm-up block to the last sample."""
        if len(self.snaps) < 3:
            return []
        diff = self.snaps[-1].compare_to(self.snaps[1], "traceback")
        return [f"{d.size_diff / 1024:+9.1f} kB {d.count_diff:+7d} blocks  "
                + " <- ".join(f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno}"
                              for f in d.traceback[:4])
                for d in diff[:top]]


@dataclass
class SampleSink:
    """A lane event sink that samples the process every ``every`` vehicles."""

    every: int
    tracer: Tracer
    t0: float = field(default_factory=time.monotonic)
    count: int = 0
    samples: list[Sample] = field(default_factory=list)
    status: Counter[str] = field(default_factory=Counter)
    verified: int = 0
    occupants: int = 0
    progress: bool = False  # a line on stderr per sample
    stopped: Sample | None = None  # after the last lane stopped

    def start(self) -> None:
        self.samples.append(resources(0, self.t0))
        self.tracer.take()

    def emit(self, event: LaneEvent) -> None:
        self.count += 1
        self.status[event.status if event.status != "failed" else f"failed:{event.failure}"] += 1
        self.occupants += len(event.occupants)
        self.verified += sum(o.outcome == "verified" for o in event.occupants)
        if self.count % self.every == 0:
            self.samples.append(resources(self.count, self.t0))
            self.tracer.take()
            if self.progress:
                print("  sample", self.samples[-1], file=sys.stderr, flush=True)


def lane_soak(vehicles: int, *, every: int = 100, headway_s: float = 2.0, scale: float = 1.0,
              mode: str = "stream", control: str = "exposure", lap: int = 1000,
              trace: int = 0, progress: bool = False, tail: int = TAIL,
              truth_frames: int = 256) -> SampleSink:
    """Put ``vehicles`` vehicles through the simulated lane (a stream: ``tail`` more, not
    counted); the sink holds the samples."""
    from lanecam.match.dlib_matcher import DlibMatcher
    from lanecam.sim.lane import document_templates, run_sim_lane
    from lanecam.sim.scenario import SUITE
    from lanecam.sim.stream import traffic_stream

    matcher = DlibMatcher()
    templates = document_templates(matcher)
    sink = SampleSink(every, Tracer(trace), progress=progress)
    sink.start()
    names = cycle(SUITE)
    while sink.count < vehicles:
        if mode == "stream":
            n = min(lap, vehicles - sink.count) + tail
            sc = traffic_stream(n, headway_s=headway_s)
            timeout = n * headway_s + 30.0
        elif mode == "suite":
            sc, timeout = next(names), 30.0
        else:
            raise ValueError(f"unknown lane mode {mode!r}")
        before = sink.count
        run_sim_lane(sc, matcher, templates=templates, scale=scale, control=control,
                     sinks=[sink], timeout_s=timeout, truth_frames=truth_frames)
        if sink.count == before:
            raise RuntimeError(f"the lane reported no vehicle of {sc}")
    sink.stopped = resources(sink.count, sink.t0)
    return sink


def _raw_cycle(serial: str) -> None:
    from lanecam.devices.cameras.pylon import pylon_sdk

    pylon, _ = pylon_sdk()
    tlf = pylon.TlFactory.GetInstance()
    dev = next(d for d in tlf.EnumerateDevices() if d.GetSerialNumber() == serial)
    cam = pylon.InstantCamera(tlf.CreateDevice(dev))
    cam.Open()
    cam.Close()
    cam.DestroyDevice()


def _lanecam_cycle(serial: str) -> None:
    from lanecam.devices.cameras.pylon import PylonCamera

    cam = PylonCamera(serial, device_class="BaslerCamEmu")
    cam.open()
    cam.close()


def _cycles(step: Callable[[], None], cycles: int, every: int, warmup: int,
            tracer: Tracer) -> list[Sample]:
    for _ in range(warmup):
        step()
    t0 = time.monotonic()
    out = [resources(0, t0)]
    tracer.take()
    for i in range(1, cycles + 1):
        step()
        if i % every == 0:
            out.append(resources(i, t0))
            tracer.take()
    return out


def camera_soak(cycles: int, *, every: int = 10, warmup: int = 20, serial: str = EMULATOR_SERIAL,
                trace: int = 0) -> dict[str, list[Sample]]:
    """Open/close cycles, raw pypylon then lanecam; the samples of each (keys ``raw`` and
    ``lanecam``)."""
    tracer = Tracer(trace)
    raw = _cycles(lambda: _raw_cycle(serial), cycles, every, warmup, Tracer(0))
    ours = _cycles(lambda: _lanecam_cycle(serial), cycles, every, warmup, tracer)
    for line in tracer.report():
        print("  lanecam", line)
    return {"raw": raw, "lanecam": ours}


def _fmt(s: Slope, unit: str) -> str:
    flat = " (not distinguishable from 0)" if s.holds_zero() else ""
    return f"{s.per_unit:+.2f} ± {s.ci95:.2f}{' ' + unit if unit else ''}{flat}"


def print_samples(samples: Sequence[Sample], what: str) -> None:
    traced = samples[0].traced_kb >= 0
    print(f"| {what} | wall s | RSS MB | ΔRSS kB | fds | threads (threading / kernel) |"
          + (" Python allocations MB |" if traced else ""))
    print("|---|---|---|---|---|---|" + ("---|" if traced else ""))
    prev = samples[0].rss_kb
    for s in samples:
        print(f"| {s.count} | {s.wall_s:.0f} | {s.rss_kb / 1024:.1f} | {s.rss_kb - prev:+d} "
              f"| {s.fds} | {s.threads} / {s.os_threads} |"
              + (f" {s.traced_kb / 1024:.1f} |" if traced else ""))
        prev = s.rss_kb


def print_slopes(samples: Sequence[Sample], per: int, unit: str) -> dict[str, Slope]:
    got = slopes(samples, per)
    print(f"slopes per {per} {unit}, warm-up block 0–{samples[1].count} left out, "
          f"{got['rss_kb'].points} samples: RSS {_fmt(got['rss_kb'], 'kB')}; "
          f"fds {_fmt(got['fds'], '')}; threads {_fmt(got['threads'], '')}; "
          f"kernel threads {_fmt(got['os_threads'], '')}")
    late = samples[len(samples) // 2:]
    if len(late) >= 3:
        rss = fit([x.count / per for x in late], [float(x.rss_kb) for x in late])
        print(f"RSS slope over the second half ({late[0].count}–{late[-1].count} {unit}): "
              f"{_fmt(rss, 'kB')} per {per}")
    return got


def run_lane(args: argparse.Namespace) -> None:
    what = (f"stream of the suite's vehicles {args.headway:g} s apart, one lane per lap of "
            f"≤ 1,000" if args.lane_mode == "stream" else "suite scenarios back to back, a "
            "fresh lane each")
    print(f"lane soak: {args.vehicles} vehicles, {what}; control={args.control}, "
          f"scale {args.scale:g}, ground truth kept for {args.truth_frames} frames per camera, "
          "real time (no simulated clock yet)", flush=True)
    sink = lane_soak(args.vehicles, every=args.every, headway_s=args.headway, scale=args.scale,
                     mode=args.lane_mode, control=args.control, trace=args.trace,
                     progress=True, truth_frames=args.truth_frames)
    print_samples(sink.samples, "vehicles")
    print_slopes(sink.samples, 100, "vehicles")
    if sink.stopped is not None:
        print(f"after the lane stopped ({sink.stopped.count} vehicles): RSS "
              f"{sink.stopped.rss_kb / 1024:.1f} MB, fds {sink.stopped.fds}, threads "
              f"{sink.stopped.threads} / {sink.stopped.os_threads}")
    print(f"events {dict(sink.status)}; occupants verified {sink.verified}/{sink.occupants} "
          "(documents follow arrival order: one extra or missed event misaligns the rest, so "
          f"this is no capture rate); wall {sink.samples[-1].wall_s:.0f} s to the last sample, "
          f"{(sink.stopped or sink.samples[-1]).wall_s:.0f} s to the lane's stop")
    for line in sink.tracer.report():
        print(" ", line)


def run_cameras(args: argparse.Namespace) -> None:
    print(f"camera soak: {args.cycles} open/close cycles each on the pylon emulator "
          f"({EMULATOR_SERIAL}), {args.warmup} warm-up cycles each, raw pypylon first", flush=True)
    t = time.monotonic()
    got = camera_soak(args.cycles, every=args.every_cycles, warmup=args.warmup, trace=args.trace)
    per: dict[str, Slope] = {}
    for name in ("raw", "lanecam"):
        print(f"\n{name}:")
        print_samples(got[name], "cycles")
        per[name] = print_slopes(got[name], 1, "cycle")["rss_kb"]
    r, o = per["raw"], per["lanecam"]
    ratio = o.per_unit / r.per_unit if r.per_unit else math.nan
    print(f"\nRSS growth per cycle: raw pypylon {_fmt(r, 'kB')}, lanecam {_fmt(o, 'kB')}; "
          f"ratio lanecam/raw {ratio:.2f}; wall {time.monotonic() - t:.0f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lane", action="store_true", help="the simulated lane soak")
    ap.add_argument("--cameras", action="store_true", help="the camera open/close soak")
    ap.add_argument("--vehicles", type=int, default=1000)
    ap.add_argument("--every", type=int, default=100, help="vehicles per sample")
    ap.add_argument("--headway", type=float, default=2.0, help="s between stream vehicles")
    ap.add_argument("--lane-mode", choices=("stream", "suite"), default="stream")
    ap.add_argument("--control", default="exposure", help="ablation arm (run_sim_lane)")
    ap.add_argument("--scale", type=float, default=1.0, help="simulator render scale")
    ap.add_argument("--truth-frames", type=int, default=256,
                    help="ground-truth frames each SimCamera keeps")
    ap.add_argument("--cycles", type=int, default=200)
    ap.add_argument("--every-cycles", type=int, default=10, help="cycles per sample")
    ap.add_argument("--warmup", type=int, default=20, help="camera warm-up cycles")
    ap.add_argument("--trace", type=int, default=0, help="tracemalloc frames (0: off)")
    ap.add_argument("--no-gc", action="store_true", help="no gc.collect() before a sample")
    ap.add_argument("--malloc-trim", action="store_true",
                    help="glibc malloc_trim(0) before each sample")
    args = ap.parse_args()
    COLLECT[0] = not args.no_gc
    TRIM[0] = args.malloc_trim
    both = not (args.lane or args.cameras)
    print(f"{os.cpu_count()} CPUs; pid {os.getpid()}; gc.collect() before each sample: "
          f"{COLLECT[0]}; malloc_trim: {TRIM[0]}")
    if args.cameras or both:
        run_cameras(args)
    if args.lane or both:
        run_lane(args)


if __name__ == "__main__":
    main()
