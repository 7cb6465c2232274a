"""Grab a software-triggered burst from the pylon camera emulator and print frame statistics.

    python examples/emulated_camera.py

Shows the basic camera cycle: open → configure in SI units → arm a trigger → burst → release.
"""

import os

os.environ.setdefault("PYLON_CAMEMU", "1")  # before pypylon loads

from lanecam.devices import Trigger, open_camera  # noqa: E402
from lanecam.errors import LimitError  # noqa: E402


def main() -> None:
    with open_camera("pylon:0815-0000") as cam:
        print(cam, "profile:", cam.profile.name)
        print("exposure limits:", cam.limits("exposure_time").describe())
        print("applied:", cam.configure({"exposure_time": 0.0008, "gain": 12.0, "width": 800}))
        try:
            cam.configure({"exposure_time": 5.0})
        except LimitError as exc:  # rejected, never clamped
            print("refused:", exc)
        cam.arm(Trigger.software())
        with cam.capture_burst(8) as burst:
            for f in burst:
                print(f"frame {f.meta.frame_number}: {f.meta.width}x{f.meta.height} "
                      f"exposure {f.meta.exposure_s * 1e3:.2f} ms, mean {f.array.mean():.1f}")
        print("counters:", cam.counters.as_dict())


if __name__ == "__main__":
    main()
