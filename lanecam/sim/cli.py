"""``lanecam sim render``: render a scenario's frames to PNG plus a contact sheet;
``lanecam sim population``: draw a seeded population of vehicles and travelers (JSON);
``lanecam sim gallery DIR [--check]``: an identity gallery's contents and unusable photos.

The frames are the scenario's own settings (exposure, gain, polarizer, illuminator) at evenly
spaced times; ``--scale`` renders a smaller sensor with the same field of view (quick looks),
``--seed`` replaces the scenario's seed (clouds and noise).  Written files are simulated
pictures of the shipped test faces only.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from ..errors import LanecamError
from .render import Renderer, Shot
from .scenario import SUITE, Scenario, load_scenario
from .truth import FrameTruth

__all__ = ["add_parser", "cmd_gallery", "cmd_population", "cmd_sim", "contact_sheet",
           "render_scenario"]


def render_scenario(scenario: Scenario, *, frames: int | None = None, scale: float = 1.0,
                    seed: int | None = None, camera: str | None = None
                    ) -> list[tuple[NDArray[np.uint8], FrameTruth]]:
    """Render the scenario's frames with its capture settings (8-bit)."""
    world = scenario.world if seed is None else replace(scenario.world, seed=seed)
    renderer = Renderer(world, camera, scale)
    cs = scenario.settings[renderer.pose.name]
    out = []
    for i, t in enumerate(scenario.frame_times(frames)):
        shot = Shot(t, cs.exposure_s, cs.gain_db, cs.polarizer_deg, scenario.illumination,
                    seed=world.seed * 1_000_003 + i)
        out.append(renderer.render(shot))
    return out


def _tile(img: NDArray[np.uint8], truth: FrameTruth, width: int) -> NDArray[np.uint8]:
    """Full frame thumbnail beside a zoom on the nearest visible windshield, with a caption."""
    h = round(img.shape[0] * width / img.shape[1])
    thumb = cv2.resize(img, (width, h), interpolation=cv2.INTER_AREA)
    near = [v for v in truth.vehicles if v.in_view]
    zoom = np.zeros((h, round(h * 1.6)), np.uint8)
    if near:
        v = min(near, key=lambda v: v.range_m)
        x0, y0, x1, y1 = v.windshield_box
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        half_w = max(x1 - x0, 8) * 0.6
        half_h = half_w / 1.6
        xa, xb = int(max(cx - half_w, 0)), int(min(cx + half_w, img.shape[1]))
        ya, yb = int(max(cy - half_h, 0)), int(min(cy + half_h, img.shape[0]))
        if xb - xa > 2 and yb - ya > 2:
            crop = img[ya:yb, xa:xb]
            s = min(zoom.shape[1] / crop.shape[1], zoom.shape[0] / crop.shape[0])
            size = (max(1, int(crop.shape[1] * s)), max(1, int(crop.shape[0] * s)))
            scaled = cv2.resize(crop, size,
                                interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
            zoom[:scaled.shape[0], :scaled.shape[1]] = scaled
            cv2.rectangle(thumb, (int(xa * width / img.shape[1]), int(ya * width / img.shape[1])),
                          (int(xb * width / img.shape[1]), int(yb * width / img.shape[1])), 255, 1)
    panel = np.hstack([thumb, np.full((h, 4), 255, np.uint8), zoom])
    faces = [f for f in truth.faces if f.in_view]
    rng = min((v.range_m for v in truth.vehicles), default=float("nan"))
    glare = max((f.glare_fraction for f in faces), default=0.0)
    vis = min((f.visibility for f in faces), default=0.0)
    text = (f"t={truth.time_s:.2f}s range={rng:.1f}m faces={len(faces)} "
            f"glare<={glare:.0%} vis>={vis:.0%}")
    cap = np.zeros((22, panel.shape[1]), np.uint8)
    cv2.putText(cap, text, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, 255, 1, cv2.LINE_AA)
    return np.vstack([panel, cap])


def contact_sheet(frames: list[tuple[NDArray[np.uint8], FrameTruth]], title: str, *,
                  columns: int = 2, tile_width: int = 288) -> NDArray[np.uint8]:
    """A grid of captioned tiles (8-bit grey)."""
    tiles = [_tile(img, tr, tile_width) for img, tr in frames]
    th, tw = tiles[0].shape
    rows = -(-len(tiles) // columns)
    sheet = np.zeros((rows * (th + 4) + 28, columns * (tw + 4)), np.uint8)
    cv2.putText(sheet, title, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 255, 1, cv2.LINE_AA)
    for i, t in enumerate(tiles):
        r, c = divmod(i, columns)
        y, x = 28 + r * (th + 4), c * (tw + 4)
        sheet[y:y + th, x:x + tw] = t
    return sheet


def _write(path: Path, img: NDArray[np.uint8]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), img, [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise LanecamError(f"could not write {path}")


def cmd_sim(args: argparse.Namespace) -> int:
    """Entry point of ``lanecam sim render``."""
    if not 0 < args.scale <= 1:
        raise LanecamError("--scale must be in (0, 1]")
    if args.frames is not None and not 1 <= args.frames <= 64:
        raise LanecamError("--frames must be 1–64")
    sc = load_scenario(args.scenario)
    out = Path(args.out)
    frames = render_scenario(sc, frames=args.frames, scale=args.scale, seed=args.seed)
    for i, (img, _) in enumerate(frames):
        _write(out / f"{sc.name}_{i:02d}.png", img)
    sheet = contact_sheet(frames, f"{sc.name}: {sc.description}")
    _write(out / f"{sc.name}_contact.png", sheet)
    print(f"wrote {len(frames)} frames and {sc.name}_contact.png to {out}")
    return 0


def cmd_population(args: argparse.Namespace) -> int:
    """Entry point of ``lanecam sim population``: the drawn vehicles as JSON (stdout or
    ``--out``)."""
    from .population import draw_population, load_gallery, load_spec, shipped_gallery

    spec = load_spec(args.spec)
    gallery = load_gallery(args.identities) if args.identities else shipped_gallery()
    vehicles = draw_population(spec, gallery, args.seed, args.vehicles)
    text = json.dumps({"seed": args.seed, "spec": spec.name,
                       "vehicles": [v.as_dict() for v in vehicles]}, indent=1) + "\n"
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        n = sum(len(v.occupants) for v in vehicles)
        print(f"wrote {len(vehicles)} vehicles, {n} travelers to {out}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_gallery(args: argparse.Namespace) -> int:
    """Entry point of ``lanecam sim gallery DIR [--check]``: what a gallery folder holds; with
    ``--check``, the people in whose photos no face is found, one a line (EXCLUDE.txt format,
    on stdout; exit 1 when there are any)."""
    from .population.gallery import check_gallery, load_gallery

    g = load_gallery(args.dir)
    docs = sum(i.has_document for i in g.identities)
    print(f"# {len(g.identities)} people ({docs} with a document photo), "
          f"{len(g.excluded)} excluded by EXCLUDE.txt", file=sys.stderr)
    if not args.check:
        return 0
    bad = check_gallery(g)
    for person, photo in bad:
        print(f"{person}  # no face found in {photo}")
    print(f"# {len({p for p, _ in bad})} people with a photo without a face", file=sys.stderr)
    return 1 if bad else 0


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``sim render SCENARIO --out DIR [--frames N] [--scale S] [--seed N]`` and
    ``sim population --seed S --vehicles N [--spec FILE] [--identities DIR] [--out FILE]``."""
    sim = sub.add_parser("sim", help="the lane simulator")
    simsub = sim.add_subparsers(dest="sim_command", required=True)
    r = simsub.add_parser("render", help="render a scenario to PNG frames and a contact sheet")
    r.add_argument("scenario", help=f"a shipped scenario ({', '.join(SUITE)}) or a .toml path")
    r.add_argument("--out", required=True, help="output directory")
    r.add_argument("--frames", type=int, default=None, help="number of frames (default: scenario)")
    r.add_argument("--scale", type=float, default=1.0,
                   help="render scale in (0, 1]: fewer, larger pixels, same field of view and "
                        "per-pixel signal (quick looks)")
    r.add_argument("--seed", type=int, default=None, help="override the scenario seed")
    r.set_defaults(func=cmd_sim)
    p = simsub.add_parser("population", help="draw a seeded population of vehicles (JSON)")
    p.add_argument("--seed", type=int, required=True, help="population seed (0 … 2**63 - 1)")
    p.add_argument("--vehicles", type=int, required=True, help="number of vehicles")
    p.add_argument("--spec", help="population spec TOML (default: the shipped, documented one)")
    p.add_argument("--identities", help="gallery folder (default: the shipped faces)")
    p.add_argument("--out", help="write the JSON here (default: stdout)")
    p.set_defaults(func=cmd_population)
    g = simsub.add_parser("gallery", help="what an identity gallery folder holds; --check "
                          "lists people whose photos show no face (EXCLUDE.txt format)")
    g.add_argument("dir", help="gallery folder (format: lanecam.sim.population.gallery)")
    g.add_argument("--check", action="store_true", help="find a face in every photo")
    g.set_defaults(func=cmd_gallery)
