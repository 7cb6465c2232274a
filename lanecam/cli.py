"""The ``lanecam`` command.

``lanecam discover``   list every camera of every backend
``lanecam grab``       grab a few frames from one camera and write a PNG (commissioning aid)
``lanecam demo``       the no-hardware tour: emulated cameras, discovery, a grab written to PNG
``lanecam profiles``   the firmware profiles this install ships, per device kind (each is loaded)
``lanecam sensor``     record a trigger sensor's byte stream; replay (decode) a recording
``lanecam camera``     one camera's settings: pylon feature files (.pfs) and user sets
``lanecam profile``    ``profile check CAMERA.xml``: a camera's GenICam XML against its profile
``lanecam calibrate``  site calibration procedures; ``calibrate apply DIR lane.toml``

``--emulate N`` asks pylon for N emulated cameras (it sets ``PYLON_CAMEMU`` before pypylon
loads).  ``--viky`` adds the GenTL simulator shipped in the genicam wheel.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigError, LanecamError

log = logging.getLogger("lanecam")


def _emulate(n: int | None) -> None:
    if n is not None:
        if "pypylon" in sys.modules and os.environ.get("PYLON_CAMEMU") != str(n):
            raise SystemExit("--emulate must be given before pypylon is loaded")
        os.environ["PYLON_CAMEMU"] = str(n)


def _producers(args: argparse.Namespace) -> list[Path] | None:
    ctis = [Path(p) for p in (args.cti or [])]
    if args.viky:
        from .devices.cameras.harvesters import viky_cti

        ctis.append(viky_cti())
    return ctis or None


def cmd_discover(args: argparse.Namespace) -> int:
    from .devices.cameras import discover

    _emulate(args.emulate)
    ctis = _producers(args)
    backends = ["pylon"]
    if ctis or os.environ.get("GENICAM_GENTL64_PATH"):
        backends.append("harvesters")
    cams = discover(cti=ctis, backends=backends)
    print(f"{'backend':<11} {'vendor':<26} {'model':<14} serial")
    for c in cams:
        print(f"{c.backend:<11} {c.vendor:<26} {c.model:<14} {c.serial}")
    if "harvesters" not in backends:
        print("(GenTL: no producer given; use --cti PATH, --viky or GENICAM_GENTL64_PATH)")
    print(f"{len(cams)} camera(s)")
    if getattr(args, "check", False) or getattr(args, "plan", None):  # (emulators reuses us)
        return _check_network(args, bool(cams))
    return 0 if cams else 1


def _check_network(args: argparse.Namespace, found: bool) -> int:
    """``--check``: the network path of every GigE camera (and every ``--plan``)."""
    from .devices.cameras.gige_check import (
        check_cameras,
        format_report,
        parse_plan,
        plans_from_pylon,
    )

    plans, notes = plans_from_pylon() if args.check else ([], [])
    plans += [parse_plan(p) for p in args.plan or []]
    for note in notes:
        print(note)
    if not plans:
        print("no GigE camera to check")
        return 0 if found else 1
    report = check_cameras(plans)
    print("\n".join(format_report(report)))
    return 0 if report.ok else 1


def _write_png(path: Path, image: object) -> None:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image):  # type: ignore[arg-type]
        raise LanecamError(f"could not write {path}")


def _grab_to_png(camera_id: str, frames: int, out: Path, exposure_s: float | None,
                 cti: list[Path] | None) -> None:
    import numpy as np

    from .devices.cameras import Trigger, open_camera

    kwargs = {"cti": cti} if camera_id.startswith("harvesters") else {}
    with open_camera(camera_id, **kwargs) as cam:
        settings = {}
        if exposure_s is not None:
            settings["exposure_time"] = exposure_s
        if cam.supports("pixel_format") and "Mono8" in cam.limits("pixel_format").values:
            settings["pixel_format"] = "Mono8"
        cam.configure(settings)
        soft = cam.supports("trigger_software")
        cam.arm(Trigger.software() if soft else Trigger.free_run())
        with cam.capture_burst(frames, timeout_s=2.0) as burst:
            if not burst.complete_frames:
                raise LanecamError("no complete frame arrived", device=cam.id)
            image = np.array(burst.complete_frames[-1].array)
        print(f"{cam.id}: {len(burst)}/{frames} frames, counters {cam.counters.as_dict()}")
    _write_png(out, image)
    print(f"wrote {out} ({image.shape[1]}x{image.shape[0]})")


def cmd_grab(args: argparse.Namespace) -> int:
    _emulate(args.emulate)
    camera = args.camera
    if camera is None:
        from .devices.cameras import discover

        cams = discover(backends=["pylon"])
        if not cams:
            raise LanecamError("no pylon camera found; try --emulate 1")
        camera = cams[0].id
    _grab_to_png(camera, args.frames, Path(args.out), args.exposure, _producers(args))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .sim.demo import run_demo

    outcomes = run_demo(Path(args.out), args.scenario or None, scale=args.scale,
                        control=args.control)
    return 0 if outcomes else 1


class _PrintSink:
    """Prints one line per lane event (metadata only)."""

    def emit(self, event: object) -> None:
        from .events import LaneEvent

        assert isinstance(event, LaneEvent)
        verified = sum(o.outcome == "verified" for o in event.occupants)
        review = " -> officer review" if event.needs_review else ""
        err = f" ({event.error})" if event.error else ""
        print(f"{event.vehicle_id}: {event.status}{err}, {verified}/{len(event.occupants)} "
              f"verified, {event.frames} frames{review}", flush=True)


def cmd_run(args: argparse.Namespace) -> int:
    import contextlib
    import time

    from .config import load_lane_config
    from .lane.builder import FolderDocuments, build_lane
    from .match.factory import matcher_from_config

    _emulate(args.emulate)
    cfg = load_lane_config(args.config)
    matcher = matcher_from_config(cfg.matcher)
    docs = FolderDocuments(args.documents, matcher)
    with contextlib.ExitStack() as stack:
        lane = build_lane(cfg, matcher, docs, stack, sinks=[_PrintSink()])
        if cfg.mqtt or cfg.metrics or cfg.crop_api:  # the port's outputs (console extra)
            from .publish.attach import attach_port_outputs

            attach_port_outputs(cfg, lane, stack, documents=args.documents)
        lane.start()
        stack.callback(lane.stop)
        print(f"lane {cfg.lane_id} running with {len(cfg.cameras)} camera(s); Ctrl-C stops",
              flush=True)
        end = time.monotonic() + args.duration if args.duration else None
        reported: set[str] = set()
        try:
            while end is None or time.monotonic() < end:
                time.sleep(0.2)
                for name, kind in list(lane.stats.faulted.items()):
                    if name not in reported:  # a worker the lane stopped: say so at once
                        reported.add(name)
                        print(f"FAULTED: lane thread {name} stopped after repeated {kind}",
                              flush=True)
        except KeyboardInterrupt:
            pass
        print(f"stats: {lane.stats.summary()}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .sim.benchmark import ablation, capture_rate

    if args.population is not None:
        from .sim.population.bench import cmd_bench_population

        return cmd_bench_population(args)
    if args.ablation:
        return 0 if ablation(args.scenario) else 1
    return 0 if capture_rate(args.scenario, args.repeat, timing=args.timing) else 1


def cmd_emulators(args: argparse.Namespace) -> int:
    out = Path(args.out)
    _emulate(2 if "PYLON_CAMEMU" not in os.environ else None)
    args.emulate, args.cti, args.viky = None, None, True
    print("== cameras (pylon emulator + viky GenTL simulator) ==")
    cmd_discover(args)
    print("\n== grab: pylon emulator, software trigger ==")
    _grab_to_png("pylon:0815-0000", 4, out / "pylon-emulator.png", 0.002, None)
    print("\n== grab: viky through Harvesters, free-run ==")
    from .devices.cameras.harvesters import viky_cti

    _grab_to_png("harvesters:0", 3, out / "viky.png", None, [viky_cti()])
    return 0


def _vault(args: argparse.Namespace):
    from .store import CaptureVault, MasterKey

    key = MasterKey.from_file(args.key_file) if args.key_file else MasterKey.from_env(args.key_env)
    return CaptureVault(args.root, key, retention_s=args.retention_s, witness=args.witness,
                        keys=args.keys)


def _carried_heads(paths: list[str]) -> list:  # of AuditHead, imported lazily
    """The vault heads carried by lane-event JSONL files (unreadable lines are reported)."""
    from .store.heads import heads_from_events

    heads = []
    for path in paths:
        try:
            with open(path, "rb") as fh:
                found = heads_from_events(fh)
        except OSError as exc:
            raise ConfigError(f"cannot read events: {exc.strerror}", key=path) from exc
        heads += found.heads
        if found.bad_lines:
            print(f"warning: {path}: {len(found.bad_lines)} line(s) without a readable head "
                  f"(first: line {found.bad_lines[0]})")
    return heads


def cmd_vault_verify(args: argparse.Namespace) -> int:
    heads = _carried_heads(args.events or [])
    with _vault(args) as v:
        report = v.verify(heads=heads)
        live = len(v.records())
    if report.ok:
        print(f"audit chain OK: {report.rows} rows, {live} live record(s)"
              + (f", {len(heads)} carried head(s) found in the chain" if heads else ""))
        return 0
    print(f"vault BROKEN: {len(report.problems)} problem(s) in {report.rows} audit rows")
    for p in report.problems:
        print(f"  {p.kind}" + (f" {p.ref}" if p.ref is not None else ""))
    return 1


def cmd_vault_purge(args: argparse.Namespace) -> int:
    with _vault(args) as v:
        n = v.purge_expired(actor=args.actor)
        left = len(v.records())
    print(f"purged {n} expired record(s); {left} live record(s) remain")
    return 0


def cmd_vault_keygen(args: argparse.Namespace) -> int:
    from .store import generate_key_file

    key = generate_key_file(args.path)
    print(f"wrote {args.path} (mode 600), key id {key.key_id}")
    return 0


#: The distributions whose versions ``lanecam info`` reports (what a bug report needs).
INFO_DISTRIBUTIONS = ("numpy", "numba", "llvmlite", "opencv-python-headless", "pypylon",
                      "harvesters", "genicam", "pyserial", "cryptography", "dlib-bin",
                      "face_recognition_models")


def info() -> dict[str, object]:
    """What this installation is: versions, where the package and its kernel cache live."""
    import platform
    from importlib import metadata

    from . import __version__
    from .jit import cache_status

    versions: dict[str, str | None] = {}
    for dist in INFO_DISTRIBUTIONS:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    cache = cache_status()
    return {"lanecam": __version__, "python": platform.python_version(),
            "package": str(Path(__file__).resolve().parent),
            "kernel_cache": {"path": str(cache.path), "usable": cache.usable,
                             "source": cache.source, "reason": cache.reason},
            "dependencies": versions}


def cmd_info(args: argparse.Namespace) -> int:
    import json

    data = info()
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    cache = data["kernel_cache"]
    assert isinstance(cache, dict)
    state = ("writable" if cache["usable"]
             else f"NOT usable ({cache['reason']}); compiling in memory")
    print(f"lanecam {data['lanecam']} (Python {data['python']}) at {data['package']}")
    print(f"kernel cache: {cache['path']} [{state}; chosen by {cache['source']}]")
    deps = data["dependencies"]
    assert isinstance(deps, dict)
    for name, version in deps.items():
        print(f"  {name:<24} {version or 'not installed'}")
    return 0


def shipped_profile_titles() -> dict[str, dict[str, str]]:
    """kind → profile name → title, every shipped profile loaded through its kind's loader
    (a broken or missing profile raises ConfigError)."""
    from .devices.cameras import load_profiles
    from .devices.illuminators import load_illuminator_profile
    from .devices.profiles import KINDS, shipped_profiles
    from .devices.rotators import load_rotator_profile

    out: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
    out["cameras"] = {p.name: p.title for p in load_profiles().values()}
    for name in shipped_profiles("illuminators"):
        out["illuminators"][name] = load_illuminator_profile(name).title
    for name in shipped_profiles("rotators"):
        out["rotators"][name] = load_rotator_profile(name).title
    for name in shipped_profiles("sensors"):  # no sensor schema yet: listed, not parsed
        out["sensors"][name] = ""
    return out


def cmd_profiles(args: argparse.Namespace) -> int:
    from .devices.profiles import KINDS, profile_dir

    titles = shipped_profile_titles()
    if args.json:
        import json

        print(json.dumps({k: {"dir": str(profile_dir(k)), "profiles": titles[k]}
                          for k in KINDS}, indent=2))
        return 0
    for kind in KINDS:
        print(f"{kind} ({profile_dir(kind)})")
        for name, title in sorted(titles[kind].items()):
            print(f"  {name:<26} {title}")
        if not titles[kind]:
            print("  (none shipped)")
    return 0


if TYPE_CHECKING:  # argparse's sub-command container (a private class name in typeshed)
    _Sub = argparse._SubParsersAction[argparse.ArgumentParser]


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    from .calibration.cli import add_parser as add_calibrate_parser
    from .console.server import add_parser as add_console_parser
    from .devices.cameras.cli import add_parser as add_camera_settings_parser
    from .devices.cameras.profile_cli import add_parser as add_profile_parser
    from .devices.sensors.sensor_cli import add_parser as add_sensor_parser
    from .sim.cli import add_parser as add_sim_parser

    p = argparse.ArgumentParser(prog="lanecam", description=__doc__.split("\n\n")[0])
    p.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    p.add_argument("--version", action="version", version=f"lanecam {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    _add_info_parsers(sub)
    _add_camera_parsers(sub)
    add_camera_settings_parser(sub)  # camera load-settings | save-settings | user-set
    _add_vault_parser(sub)
    _add_lane_parsers(sub)
    add_sim_parser(sub)
    add_sensor_parser(sub)
    add_profile_parser(sub)
    add_calibrate_parser(sub)
    add_console_parser(sub)
    return p


def _add_info_parsers(sub: _Sub) -> None:
    """``info`` and ``profiles``: what this installation is and ships."""
    i = sub.add_parser("info", help="versions, package location and the kernel cache directory")
    i.add_argument("--json", action="store_true", help="print JSON")
    i.set_defaults(func=cmd_info)

    pr = sub.add_parser("profiles", help="list the shipped firmware profiles per device kind")
    pr.add_argument("--json", action="store_true", help="print JSON")
    pr.set_defaults(func=cmd_profiles)


def _add_camera_parsers(sub: _Sub) -> None:
    """``discover`` and ``grab``: commissioning cameras."""
    def cam_opts(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--emulate", type=int, metavar="N",
                        help="N emulated Basler cameras (sets PYLON_CAMEMU)")
        sp.add_argument("--cti", action="append", metavar="PATH", help="a GenTL producer")
        sp.add_argument("--viky", action="store_true", help="add the viky.cti simulator")

    d = sub.add_parser("discover", help="list every camera of every backend")
    cam_opts(d)
    d.add_argument("--check", action="store_true",
                   help="check each GigE camera's network path: NIC, MTU, speed, rmem_max, "
                        "bandwidth; say what to change (exit 1 if anything should)")
    d.add_argument("--plan", action="append", metavar="IP:WxH:FORMAT:FPS",
                   help="also check a camera not (yet) connected, e.g. "
                        "192.168.10.11:2048x1536:Mono8:40")
    d.set_defaults(func=cmd_discover)

    g = sub.add_parser("grab", help="grab frames from one camera into a PNG (commissioning; "
                                    "writes unencrypted pixels, never use it on live traffic)")
    cam_opts(g)
    g.add_argument("--camera", help="backend:serial, e.g. pylon:0815-0000 (default: first)")
    g.add_argument("--frames", type=int, default=3)
    g.add_argument("--exposure", type=float, metavar="SECONDS")
    g.add_argument("--out", default="lanecam-grab.png")
    g.set_defaults(func=cmd_grab)


def _add_vault_parser(sub: _Sub) -> None:
    """``vault verify|purge|keygen``."""
    v = sub.add_parser("vault", help="capture vault maintenance")
    vsub = v.add_subparsers(dest="vault_command", required=True)
    for name, func, text in (("verify", cmd_vault_verify, "check the audit chain"),
                             ("purge", cmd_vault_purge,
                              "apply retention: destroy expired records")):
        sp = vsub.add_parser(name, help=text)
        sp.add_argument("--root", required=True, help="vault directory")
        src = sp.add_mutually_exclusive_group(required=True)
        src.add_argument("--key-file", help="master key file (mode 600)")
        src.add_argument("--key-env", help="environment variable holding the base64 master key")
        sp.add_argument("--retention-s", type=float, default=86400.0,
                        help="retention for new records (existing ones keep theirs)")
        sp.add_argument("--actor", default="lanecam-cli", help="who is acting (audited)")
        sp.add_argument("--witness", default=None,
                        help="the vault's witness file (default: <root>.witness beside root)")
        sp.add_argument("--keys", default=None,
                        help="the epoch-key directory (default: <root>.keys beside root)")
        if name == "verify":
            sp.add_argument("--events", action="append", metavar="JSONL",
                            help="lane events (JSONL sink) whose vault heads must be in the "
                                 "chain; repeatable")
        sp.set_defaults(func=func)
    kg = vsub.add_parser("keygen", help="create a new master key file")
    kg.add_argument("path")
    kg.set_defaults(func=cmd_vault_keygen)


def _add_lane_parsers(sub: _Sub) -> None:
    """``demo``, ``run``, ``bench`` and ``emulators``: running a lane."""
    m = sub.add_parser("demo", help="the simulated lane over the scenario suite (no hardware)")
    m.add_argument("--out", default="lanecam-demo", help="report directory")
    m.add_argument("--scenario", action="append", help="run only these scenarios")
    m.add_argument("--control", default="exposure",
                   choices=["baseline", "exposure", "bracket", "polarization", "all"],
                   help="capture control (default: face-metered exposure and strobe)")
    m.add_argument("--scale", type=float, default=1.0,
                   help="render scale (1.0 = 2448x2048; smaller is faster, faces get smaller)")
    m.set_defaults(func=cmd_demo)

    r = sub.add_parser("run", help="run a lane from a TOML config (real or emulated hardware)")
    r.add_argument("config", help="lane TOML (see lanecam.config)")
    r.add_argument("--documents", required=True,
                   help="folder of travel-document photos expected at the lane")
    r.add_argument("--duration", type=float, help="stop after this many seconds")
    r.add_argument("--emulate", type=int, metavar="N", help="N emulated Basler cameras")
    r.set_defaults(func=cmd_run)

    b = sub.add_parser("bench", help="capture-rate table of the simulated lane over the suite")
    b.add_argument("--scenario", action="append", help="only these scenarios")
    b.add_argument("--repeat", type=int, default=1, help="runs per scenario")
    b.add_argument("--ablation", action="store_true",
                   help="one run per control arm (baseline, exposure, bracket, polarization, all)")
    b.add_argument("--timing", choices=("simulated", "real"), default="simulated",
                   help="simulated time (deterministic; default) or real time (latencies)")
    from .sim.population.bench import add_bench_arguments

    add_bench_arguments(b)
    b.set_defaults(func=cmd_bench)

    e = sub.add_parser("emulators", help="tour of the camera emulators: discover and grab")
    e.add_argument("--out", default="lanecam-emulators", help="output directory")
    e.set_defaults(func=cmd_emulators)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except LanecamError as exc:
        print(f"lanecam: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
