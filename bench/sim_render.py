"""Render time of the lane simulator per 5 MP frame (2448×2048), one core.

For each scenario: the median and the best wall time of ``Renderer.render`` at full resolution
over frames spread across the scenario (background cached, Numba compiled beforehand), and the
median at scale 0.25.  On a shared machine the best time is the cleaner figure.
Peers measured in the same run: numpy drawing one Gaussian deviate per pixel
(``Generator.normal``, what the fused kernel replaces) and a plain 5 MP float32 → uint8 numpy
conversion (a memory-bound floor).  Prints; asserts nothing.

    python bench/sim_render.py [--repeat N] [scenario ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")


def main() -> None:
    from lanecam.sim import SUITE, Renderer, Shot, load_scenario

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=8)
    ap.add_argument("scenarios", nargs="*", default=["clear_noon", "low_sun_behind", "night",
                                                     "tailgating_pair", "rear_seat"])
    args = ap.parse_args()
    unknown = set(args.scenarios) - set(SUITE)
    if unknown:
        raise SystemExit(f"unknown scenarios {sorted(unknown)}; suite: {SUITE}")

    n_px = 2448 * 2048
    rng = np.random.default_rng(0)
    t = time.perf_counter()
    rng.normal(size=n_px).astype(np.float32)
    peer_normal = (time.perf_counter() - t) * 1e3
    img = rng.random((2048, 2448), dtype=np.float32)
    t = time.perf_counter()
    (img * 255).astype(np.uint8)
    floor = (time.perf_counter() - t) * 1e3

    print(f"{'scenario':<18} {'ms/5MP median':>13} {'best':>6} {'ms @0.25':>9} "
          f"{'median vs numpy normal':>23}")
    for name in args.scenarios:
        sc = load_scenario(name)
        cs = sc.settings[sc.world.cameras[0].name]
        times = sc.frame_times(args.repeat)
        res, best = {}, 0.0
        for scale in (1.0, 0.25):
            r = Renderer(sc.world, scale=scale)
            r.render(Shot(times[0], cs.exposure_s, cs.gain_db, cs.polarizer_deg,
                          sc.illumination, seed=1))  # compile + background
            ms = []
            for i, ts in enumerate(times):
                shot = Shot(ts, cs.exposure_s, cs.gain_db, cs.polarizer_deg, sc.illumination,
                            seed=i)
                t = time.perf_counter()
                r.render(shot)
                ms.append((time.perf_counter() - t) * 1e3)
            res[scale] = statistics.median(ms)
            if scale == 1.0:
                best = min(ms)
        print(f"{name:<18} {res[1.0]:>13.1f} {best:>6.1f} {res[0.25]:>9.1f} "
              f"{res[1.0] / peer_normal:>22.2f}×")
    print(f"peers: numpy Generator.normal for 5 MP {peer_normal:.1f} ms; "
          f"float32→uint8 5 MP {floor:.1f} ms")


if __name__ == "__main__":
    main()
