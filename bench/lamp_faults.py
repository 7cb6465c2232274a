"""Fault experiments for the strobe-lamp driver on the Gardasoft RT fake (real pty).

Each experiment injects one wire fault and checks, right when the driver call returns, whether
the state the driver reports is the controller's (or the driver is faulted with the lamp dark).
The faults are injected by overriding the fake's transmit/receive methods only, so the script
runs unchanged against older drivers (put their tree first on PYTHONPATH).

    python bench/lamp_faults.py [--trials 20]
"""

from __future__ import annotations

import argparse
import threading
import time
from collections import Counter
from collections.abc import Callable

from lanecam.devices.fakes import ChannelState, GardasoftRTFake
from lanecam.devices.fakes.base import PtyFake
from lanecam.devices.illuminators import GardasoftRT
from lanecam.devices.serial_link import SerialLink
from lanecam.errors import LanecamError

TIMEOUT_S = 0.1  # driver read timeout (s)
LATE_S = 0.15  # a held reply is sent this long after its command (s)
PULSE = {"width_s": 0.001, "brightness": 1.0, "max_rate_hz": 10.0}  # 1 ms at 100 %


class FaultyFake(GardasoftRTFake):
    """The fake with three knobs that need no driver-side support: hold the next reply back
    (later replies queue behind it, as on a busy controller), and after a power-on print a
    prompt and lose the first line (the controller still booting when it arrives)."""

    def __init__(self, **kw: object) -> None:
        self.hold_next = False
        self._held: list[bytes] | None = None
        self.boot = False
        super().__init__(**kw)  # type: ignore[arg-type]

    def _send(self, data: bytes) -> None:
        if self._held is not None:
            self._held.append(data)
            return
        if self.hold_next:
            self.hold_next = False
            self._held = [data]
            threading.Timer(LATE_S, self._release).start()
            return
        PtyFake._send(self, data)

    def _release(self) -> None:
        with self._lock:
            held, self._held = self._held or [], None
            for data in held:
                PtyFake._send(self, data)

    def _on_bytes(self, data: bytes) -> None:
        if self.boot and b"\r" in data:
            self.boot = False
            PtyFake._send(self, b"\r\n>")
            data = data[data.index(b"\r") + 1:]
        if data:
            super()._on_bytes(data)


def _rig() -> tuple[FaultyFake, GardasoftRT]:
    fake = FaultyFake(channels=1, power_on={1: ChannelState("pulse", 100.0, 1.0, 0.0, 100.0)})
    fake.start()
    il = GardasoftRT(SerialLink(fake.port, timeout=TIMEOUT_S))
    il.open()
    return fake, il


def _truthful(fake: FaultyFake, il: GardasoftRT) -> bool:
    lit = fake.emitting()
    if il.state == "faulted":
        return not lit
    return (il.state != "off") == lit


def stray_prompt_before_off(fake: FaultyFake, il: GardasoftRT) -> bool:
    il.set_pulse(**PULSE)
    PtyFake._send(fake, b">")
    time.sleep(0.02)
    il.off()
    return _truthful(fake, il)


def late_reply_after_timeout(fake: FaultyFake, il: GardasoftRT) -> bool:
    fake.hold_next = True  # the reply to the next line (the command) comes late
    try:
        il.set_continuous(0.3)
    except LanecamError:
        pass  # a timeout may be reported; what follows must be in step
    try:
        ok = il.read_error() == 0 and il.read_error() == 0
    except LanecamError:
        ok = False
    return ok and _truthful(fake, il)


def replug_powers_up_lit(fake: FaultyFake, il: GardasoftRT) -> bool:
    il.set_pulse(**PULSE)
    fake.unplug()
    fake.replug()
    fake.boot = True
    for _ in range(2):  # the first call finds the old port gone, the next reconnects
        try:
            il.read_error()
        except LanecamError:
            pass
    return _truthful(fake, il)


EXPERIMENTS: dict[str, Callable[[FaultyFake, GardasoftRT], bool]] = {
    "stray '>' before off()": stray_prompt_before_off,
    "late reply to a command (then GR, GR)": late_reply_after_timeout,
    "replug powers up lit (+ boot prompt, first line lost)": replug_powers_up_lit,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=20)
    args = ap.parse_args()
    for name, run in EXPERIMENTS.items():
        outcome: Counter[str] = Counter()
        for _ in range(args.trials):
            fake, il = _rig()
            try:
                outcome["truthful" if run(fake, il) else "WRONG"] += 1
            finally:
                il.link.close()
                fake.stop()
        print(f"{name:55s} {outcome['truthful']:3d}/{args.trials} truthful, "
              f"{outcome['WRONG']:3d} wrong")


if __name__ == "__main__":
    main()
