"""A simulated lane's output side, for tests, benchmarks and console demos: vehicles with
occupants whose crops go to the lane's vault and whose events go through the MQTT sink.

``python -m lanecam.publish.simlane --config lane.toml --count 100`` emits ``count`` events
(every ``refer_every``-th vehicle's occupant is referred to an officer, its crop taken from a
simulator face texture and stored in the ``[vault]``), prints ``emitted <n> <event_id>`` after
each event is durable in the outbox, then waits for the broker to take everything (``--drain``
seconds) and prints ``drained <left>``.  No camera, detector or matcher runs: this is the
publishing half of a lane, with real vault writes and real broker traffic.

With ``--serve`` it stays up as the lane's crop service (``[crop_api]``, as ``lanecam run``
starts it) and takes batches from stdin, one a line: ``emit <start> <count> <refer_every>``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..config import LaneConfig, load_lane_config
from ..events import LaneEvent, OccupantResult

__all__ = ["SIM_TRAVELERS", "main", "sim_crop", "sim_event"]

SIM_TRAVELERS = ("obama", "biden", "alex-lacamoire")
_ASSETS = Path(__file__).parents[1] / "sim" / "assets"


def sim_crop(traveler: str, size: int = 160) -> Any:
    """A face crop (uint8 gray) cut from the simulator's texture of ``traveler``."""
    import cv2

    img = cv2.imread(str(_ASSETS / f"{traveler}.png"), cv2.IMREAD_GRAYSCALE)
    if img is None:
        img = cv2.imread(str(_ASSETS / "obama.png"), cv2.IMREAD_GRAYSCALE)
    h, w = img.shape
    s = min(h, w)
    sq = img[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
    return cv2.resize(sq, (size, size), interpolation=cv2.INTER_AREA)


def sim_event(lane_id: str, seq: int, refer: bool, vault: Any = None) -> LaneEvent:
    """Vehicle ``seq`` of ``lane_id``: one occupant, verified or (``refer``) referred; its
    crop stored in ``vault`` when given."""
    traveler = SIM_TRAVELERS[seq % len(SIM_TRAVELERS)]
    outcome = "refer_to_officer" if refer else "verified"
    score = 0.41 if refer else 0.83
    record = None
    if vault is not None:
        record = vault.write(sim_crop(traveler), {
            "lane": lane_id, "vehicle": f"{lane_id}-{seq}", "traveler": traveler,
            "seat": "driver", "camera": "sim-0", "frame": 3, "quality": 71.5,
            "outcome": outcome})
    occ = OccupantResult(0, "sim-0", 3, 71.5, True, outcome, score, 0.6, 1e-3, record,
                         "no face matched the document" if refer else None, (40, 30, 80, 96))
    now = time.monotonic_ns()
    return LaneEvent(lane_id, f"{lane_id}-{seq}", "complete", now, now + 1_000_000, 12.5,
                     (occ,), frames=12, incomplete_frames=0,
                     latency_s={"capture": 0.21, "rank": 0.012, "match": 0.09,
                                "decision": 0.35})


def _open_vault(cfg: LaneConfig, stack: Any) -> Any:
    if cfg.vault is None:
        return None
    from ..store import CaptureVault
    from ..store.keys import MasterKey

    v = cfg.vault
    key = MasterKey.from_file(v.key_file) if v.key_file else MasterKey.from_env(str(v.key_env))
    return stack.enter_context(CaptureVault(v.root, key, v.retention_s, witness=v.witness,
                                            keys=v.keys, epoch_s=v.epoch_s))


def _batch(cfg: LaneConfig, sink: Any, vault: Any, start: int, count: int, refer_every: int,
           interval: float, drain: float) -> None:
    for seq in range(start, start + count):
        refer = bool(refer_every) and seq % refer_every == 0
        sink.emit(sim_event(cfg.lane_id, seq, refer, vault))
        print(f"emitted {seq - start + 1}", flush=True)
        if interval:
            time.sleep(interval)
    sink.flush(drain)
    sink.publish_health(cfg.lane_id, {  # what a lane's health beat carries (numbers, names)
        "cameras": ["sim-0"], "vehicles": count, "faults": dict(sink.faults),
        "faulted": {}, "latency": {"decision": {"median_s": 0.35, "max_s": 0.35, "n": count}}})
    print(f"drained {len(sink.outbox)} faults {dict(sink.faults)}", flush=True)


def _serve(cfg: LaneConfig, sink: Any, vault: Any, drain: float) -> None:
    """The lane's crop service (``[crop_api]``) while stdin gives batches, one a line:
    ``emit <start> <count> <refer_every>``; ends at end of input."""
    from .cropapi import CropService

    if cfg.crop_api is None:
        raise SystemExit("--serve needs a [crop_api] table")
    service = CropService(cfg.crop_api, vault).start()
    try:
        print(f"serving {service.port}", flush=True)
        for line in sys.stdin:
            word, *nums = line.split()
            if word == "emit" and len(nums) == 3:
                a, n, every = (int(x) for x in nums)
                _batch(cfg, sink, vault, a, n, every, 0.0, drain)
    finally:
        service.close()


def main(argv: Sequence[str] | None = None) -> int:
    import contextlib

    from .mqtt import MqttSink

    ap = argparse.ArgumentParser(prog="lanecam.publish.simlane")
    ap.add_argument("--config", required=True)
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--start", type=int, default=0, help="first vehicle number")
    ap.add_argument("--interval", type=float, default=0.0, help="seconds between vehicles")
    ap.add_argument("--refer-every", type=int, default=0, help="0: nobody referred")
    ap.add_argument("--drain", type=float, default=10.0)
    ap.add_argument("--serve", action="store_true",
                    help="run the crop service; batches come from stdin ('emit A N EVERY')")
    args = ap.parse_args(argv)
    cfg = load_lane_config(args.config)
    if cfg.mqtt is None:
        print("the lane config has no [mqtt] table", file=sys.stderr)
        return 2
    with contextlib.ExitStack() as stack:
        vault = _open_vault(cfg, stack)
        sink = MqttSink(cfg.mqtt)
        if args.serve:
            _serve(cfg, sink, vault, args.drain)
        else:
            _batch(cfg, sink, vault, args.start, args.count, args.refer_every, args.interval,
                   args.drain)
        sink.close(0)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
