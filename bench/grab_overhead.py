"""Grab-loop overhead: lanecam's PylonCamera vs a raw pypylon RetrieveResult loop.

Same emulated camera, same settings, same buffer count, rounds alternating between the two so
drift in machine load hits both.  Prints frames per second and the ratio (lanecam / raw);
asserts nothing about time.

    python bench/grab_overhead.py [--frames 2000] [--rounds 5] [--width 640 --height 480]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("PYLON_CAMEMU", "1")

from lanecam.devices.cameras import Trigger  # noqa: E402
from lanecam.devices.cameras.pylon import PylonCamera, pylon_sdk  # noqa: E402


def lanecam_loop(cam: PylonCamera, n: int) -> float:
    cam.arm(Trigger.free_run())
    t0 = time.perf_counter()
    checksum = 0
    for frame in cam.frames(timeout_s=1.0, count=n):
        with frame:
            checksum += int(frame.array[0, 0])
    dt = time.perf_counter() - t0
    cam.disarm()
    return n / dt


def raw_loop(cam: PylonCamera, n: int) -> float:
    pylon, _ = pylon_sdk()
    ic = cam.native
    ic.MaxNumBuffer.Value = cam.buffer_count
    ic.StartGrabbing(pylon.GrabStrategy_OneByOne)
    t0 = time.perf_counter()
    checksum = 0
    for _ in range(n):
        res = ic.RetrieveResult(1000, pylon.TimeoutHandling_ThrowException)
        if res.GrabSucceeded():
            with res.GetArrayZeroCopy() as a:
                checksum += int(a[0, 0])
        res.Release()
    dt = time.perf_counter() - t0
    ic.StopGrabbing()
    return n / dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    args = ap.parse_args()
    with PylonCamera("0815-0000", device_class="BaslerCamEmu") as cam:
        cam.configure({"width": args.width, "height": args.height, "pixel_format": "Mono8",
                       "exposure_time": 1e-4, "frame_rate": 5000.0})
        lanecam_loop(cam, 200)  # warm-up both paths
        raw_loop(cam, 200)
        ours, raw = [], []
        for _ in range(args.rounds):
            ours.append(lanecam_loop(cam, args.frames))
            raw.append(raw_loop(cam, args.frames))
    o, r = statistics.median(ours), statistics.median(raw)
    print(f"pylon emulator, {args.width}x{args.height} Mono8, {args.frames} frames x "
          f"{args.rounds} rounds (median)")
    print(f"| loop | frames/s |\n|---|---|\n| raw pypylon RetrieveResult | {r:,.0f} |\n"
          f"| lanecam PylonCamera.frames() | {o:,.0f} |")
    print(f"ratio lanecam/raw = {o / r:.3f} (target >= 0.95)")


if __name__ == "__main__":
    main()
