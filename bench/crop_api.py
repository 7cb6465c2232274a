"""What fetching a crop through the lane's crop service costs the console, against reading it
from the vault in-process (what the console did before, on shared storage).

* **vault**: ``CaptureVault.read(record, actor=...)`` and PNG encoding, in-process;
* **api**: ``LaneClient.crop_png`` over mutual TLS on 127.0.0.1 (a new TLS connection per
  call, as the console makes them), the same read and encoding done by the lane.

Both audit the read.  Prints the median and 95th percentile in ms of each and the ratio.

    python bench/crop_api.py [--reads 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import cv2

from lanecam.config import CropApiConfig
from lanecam.console.config import ConsoleLane
from lanecam.console.lanes import LaneClient
from lanecam.publish.cropapi import CropService
from lanecam.publish.simlane import sim_crop
from lanecam.store import CaptureVault, MasterKey
from lanecam.testing.mosquitto import free_port
from lanecam.testing.pki import TestCA


def _times(fn: object, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def _show(name: str, ms: list[float]) -> float:
    med = statistics.median(ms)
    p95 = sorted(ms)[int(0.95 * (len(ms) - 1))]
    print(f"{name:6s} median {med:6.2f} ms  p95 {p95:6.2f} ms  ({len(ms)} reads)")
    return med


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reads", type=int, default=200)
    n = ap.parse_args().reads
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        ca = TestCA(folder / "pki")
        crt, key = ca.issue("lane", server=True)
        client = ca.issue("console", server=False)
        cfg = CropApiConfig(str(crt), str(key), str(client[0]), port=free_port(),
                            client_ca=str(ca.cert_path))
        with CaptureVault(folder / "vault", MasterKey(os.urandom(32), "bench"), 3600) as v:
            rid = v.write(sim_crop("obama"), {"traveler": "obama"})
            local = _show("vault", _times(
                lambda: cv2.imencode(".png", v.read(rid, actor="bench").image), n))
            service = CropService(cfg, v).start()
            try:
                c = LaneClient(ConsoleLane("lane", f"https://127.0.0.1:{service.port}",
                                           str(ca.cert_path), str(client[0]), str(client[1])))
                remote = _show("api", _times(lambda: c.crop_png(rid, "bench"), n))
            finally:
                service.close()
            print(f"api / vault = {remote / local:.1f}; audit rows: {len(v.audit_rows())}")


if __name__ == "__main__":
    main()
