"""The pypylon path end to end: the pylon camera emulator serves simulator frames.

    python examples/emulated_pylon_lane.py [SCENARIO]

The simulator renders the scenario at the times the capture scheduler will pick (the vehicle's
passage through the capture window) into a folder; the pylon emulator serves that folder with
``ImageFileMode`` — one image per software trigger, in order.  The lane then runs unchanged on
``PylonCamera``: the radar and lidar are the firmware fakes on ptys fed by the same world, so the
tracker and scheduler trigger the emulated camera as the simulated vehicle arrives.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PYLON_CAMEMU", "1")  # before pypylon loads

import cv2  # noqa: E402

from lanecam.control.tracker import TrackerConfig, VehicleTracker  # noqa: E402
from lanecam.devices.cameras.pylon import PylonCamera  # noqa: E402
from lanecam.devices.sensors import TF02_PRO, BenewakeLidar, OPS243Radar  # noqa: E402
from lanecam.devices.serial_link import SerialLink  # noqa: E402
from lanecam.events import MemorySink  # noqa: E402
from lanecam.geometry import CabinModel  # noqa: E402
from lanecam.lane import Lane, LaneCamera  # noqa: E402
from lanecam.match.dlib_matcher import DlibMatcher  # noqa: E402
from lanecam.quality.rank import BurstRanker  # noqa: E402
from lanecam.sim.devices import SimDevices  # noqa: E402
from lanecam.sim.lane import SimDocuments, document_templates, scenario_scheduler  # noqa: E402
from lanecam.sim.render import Renderer, Shot  # noqa: E402
from lanecam.sim.scenario import load_scenario  # noqa: E402

FRAMES = 8


def main() -> None:
    import logging
    logging.basicConfig(level=logging.INFO, format="%(relativeCreated)6.0f %(name)s: %(message)s")
    sc = load_scenario(sys.argv[1] if len(sys.argv) > 1 else "low_sun_facing")
    world, pose = sc.world, sc.world.cameras[0]
    settings = sc.settings[pose.name]
    vehicle = world.vehicles[0]
    sched = scenario_scheduler(pose, settings, (9.0, 22.0), FRAMES, clock=None)  # type: ignore[arg-type]
    near, far = sched.geometry.window()
    setback = CabinModel().face_setback_m
    k = vehicle.kinematics
    t_far = (k.range_at(0.0) - (far - setback)) / k.speed_mps
    t_near = (k.range_at(0.0) - (near - setback)) / k.speed_mps
    times = [t_far + (t_near - t_far) * i / (FRAMES - 1) for i in range(FRAMES)]
    folder = Path(tempfile.mkdtemp(prefix="lanecam-emu-"))
    renderer = Renderer(world)
    for i, t in enumerate(times):
        img, _ = renderer.render(Shot(t, settings.exposure_s, settings.gain_db,
                                      illumination=sc.illumination))
        cv2.imwrite(str(folder / f"frame_{i:03d}.png"), img)
    print(f"rendered {FRAMES} frames of {sc.name} into {folder}")

    lead_s = (45.0 - k.range_at(0.0)) / k.speed_mps
    epoch = time.monotonic_ns() + round(lead_s * 1e9)
    matcher = DlibMatcher()
    sink = MemorySink()
    with SimDevices(world, epoch_ns=epoch) as dev:
        radar = OPS243Radar(SerialLink(dev.ports["radar"]))
        lidar = BenewakeLidar(SerialLink(dev.ports["lidar"]), model=TF02_PRO)
        cam = PylonCamera("0815-0000", device_class="BaslerCamEmu", buffer_count=FRAMES + 6)
        with radar, lidar:
            cam.open()
            cam.configure({"width": pose.width_px, "height": pose.height_px,
                           "pixel_format": "Mono8", "test_image_selector": "Off",
                           "image_file_mode": "On", "image_filename": str(folder)})
            sched = scenario_scheduler(pose, settings, (9.0, 22.0), FRAMES, clock=cam.clock)
            lane_cam = LaneCamera("driver", cam, pose, sched)
            lane = Lane("emu", [lane_cam], VehicleTracker(TrackerConfig()), [radar, lidar],
                        BurstRanker(top_k=3), matcher,
                        SimDocuments(sc, document_templates(matcher)), sinks=[sink])
            with lane:
                deadline = time.monotonic() + lead_s + 15
                while not len(sink) and time.monotonic() < deadline:
                    time.sleep(0.1)
    for e in sink:
        print(f"{e.vehicle_id}: {e.status}, {e.frames} frames from the pylon emulator"
              + (f" ({e.error})" if e.error else ""))
        for o in e.occupants:
            print(f"  {o.outcome}: score {o.score}, quality {o.quality}, camera {o.camera_id}")


if __name__ == "__main__":
    main()
