"""Heads in 3-D: visible face fraction, inter-eye distance and eyes seen against head yaw, and a
contact sheet (yaw −60…+60°, then cap, mask, hand, phone, sunglasses, a child).

A sedan's driver at 12 m from a camera 2 m up, sun at 50° behind the camera, the 500 W/sr
strobe fired over the 300 µs exposure, rendered at scale 0.5 without noise.  Prints a table; writes the sheet to ``--out`` (default ``docs/img/heads_pose.png``).

    python bench/heads_pose.py [--out FILE] [--scale S]
"""

from __future__ import annotations

import argparse
import math
from dataclasses import replace

import cv2
import numpy as np

from lanecam.frames import IlluminationState
from lanecam.sim import CameraPose, Kinematics, Lamp, Occupant, Renderer, Shot, Sun, Vehicle, World
from lanecam.sim.vehicles import VEHICLE_CLASSES

YAWS = (-60, -45, -30, -15, 0, 15, 30, 45, 60)
EXTRAS = (("cap", {"hat": True}), ("mask", {"mask": True}), ("hand", {"hand": "hand"}),
          ("phone", {"hand": "phone"}), ("sunglasses", {"sunglasses": True}),
          ("child 0.8", {"head_scale": 0.8, "height_offset_m": 0.1}))


def world(occ: Occupant) -> World:
    cam = CameraPose(lateral_m=0.9, height_m=2.0, pitch_deg=3.0, yaw_deg=-1.0, focus_m=13.0)
    veh = Vehicle(VEHICLE_CLASSES["sedan"], Kinematics(12.0, 0.0), (occ,))
    return World((cam,), Sun(50.0, 170.0, "clear", 0.3), (veh,), (Lamp(intensity_w_sr=500.0),),
                 seed=3)


def shoot(occ: Occupant, scale: float) -> tuple[np.ndarray, object]:
    r = Renderer(world(occ), scale=scale)
    strobe = IlluminationState("strobe", brightness=1.0, pulse_s=300e-6)
    img, truth = r.render(Shot(0.0, 300e-6, 18.0, illumination=strobe, noise=False))
    return img, truth.faces[0]


def crop(img: np.ndarray, box: tuple[float, float, float, float], size: int = 160) -> np.ndarray:
    x0, y0, x1, y1 = box
    cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, 0.9 * max(x1 - x0, y1 - y0)
    m = np.array([[size / (2 * half), 0, size / 2 - cx * size / (2 * half)],
                  [0, size / (2 * half), size / 2 - cy * size / (2 * half)]])
    return cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_LINEAR)


def label(tile: np.ndarray, text: str) -> np.ndarray:
    out = tile.copy()
    cv2.putText(out, text, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.42, 255, 1, cv2.LINE_AA)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="docs/img/heads_pose.png")
    ap.add_argument("--scale", type=float, default=0.5)
    args = ap.parse_args()
    base = Occupant("driver", "obama")
    _, front = shoot(base, args.scale)
    print(f"{'yaw set':>7} {'yaw seen':>8} {'visible':>7} {'IED px':>7} {'IED/IED0':>8} "
          f"{'cos(seen)/cos(seen0)':>20} {'eyes':>4}  occluders")
    row1 = []
    for yaw in YAWS:
        img, f = shoot(replace(base, yaw_deg=float(yaw)), args.scale)
        ratio = math.cos(math.radians(f.yaw_deg)) / math.cos(math.radians(front.yaw_deg))
        print(f"{yaw:>7} {f.yaw_deg:>8.1f} {f.visibility:>7.3f} {f.ied_px:>7.2f} "
              f"{f.ied_px / front.ied_px:>8.3f} {ratio:>20.3f} {f.eyes_visible:>4}  "
              f"{','.join(f.occluders) or '-'}")
        row1.append(label(crop(img, front.box), f"yaw {yaw:+d}"))
    row2 = []
    for name, kw in EXTRAS:
        img, f = shoot(replace(base, yaw_deg=15.0, **kw), args.scale)  # type: ignore[arg-type]
        print(f"{name:>10}: visible {f.visibility:.3f}, occluders {','.join(f.occluders) or '-'}")
        row2.append(label(crop(img, front.box), name))
    row2 += [np.zeros_like(row1[0])] * (len(row1) - len(row2))
    sheet = np.vstack([np.hstack(row1), np.hstack(row2)])
    cv2.imwrite(args.out, sheet)
    print(f"wrote {args.out} {sheet.shape[1]}x{sheet.shape[0]}")


if __name__ == "__main__":
    main()
