"""``lanecam camera``: one camera's settings as pylon feature files (``.pfs``) and user sets.

``lanecam camera load-settings DEVICE FILE.pfs [--dry-run] [--any-model] [--strict] [--json]``
    checks the file's model against the camera and every key against the camera before writing
    anything, lists the keys it will not write, then writes the rest all-or-nothing.  Exit 0:
    every key written (or, with ``--dry-run``, would be); 1: some keys not written (listed);
    2: nothing written (bad file, other model, ``--strict`` refusal, a refused write undone).
``lanecam camera save-settings DEVICE FILE.pfs [--crlf]``
    writes the camera's persisted settings, readable by pylon Viewer and pypylon.
``lanecam camera user-set DEVICE list|load NAME|save NAME|startup [NAME]``
    the camera's own stored sets and the one it starts with.

``DEVICE`` is ``pylon:SERIAL`` or ``harvesters:SERIAL`` (with ``--cti``); ``--emulate N`` asks
pylon for N emulated cameras.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import UnsupportedFeatureError

if TYPE_CHECKING:
    from .feature_load import LoadReport
    from .persistence import FeatureFilesMixin

    _Sub = argparse._SubParsersAction[argparse.ArgumentParser]

__all__ = ["add_parser"]


@contextmanager
def _opened(args: argparse.Namespace) -> Iterator[tuple[str, FeatureFilesMixin]]:
    """The open camera (its id, and the camera itself); closed on exit."""
    if args.emulate is not None:
        if "pypylon" in sys.modules and os.environ.get("PYLON_CAMEMU") != str(args.emulate):
            raise SystemExit("--emulate must be given before pypylon is loaded")
        os.environ["PYLON_CAMEMU"] = str(args.emulate)
    from .discovery import open_camera
    from .persistence import FeatureFilesMixin

    kwargs = {"cti": [Path(p) for p in args.cti]} if args.cti else {}
    cam = open_camera(args.device, **kwargs)
    if not isinstance(cam, FeatureFilesMixin):
        raise UnsupportedFeatureError("this camera has no GenICam node map", device=args.device,
                                      feature="feature_file")
    with cam:
        yield cam.id, cam


def _context(ctx: tuple[tuple[str, str], ...]) -> str:
    return "{" + ", ".join(f"{s}={v}" for s, v in ctx) + "}" if ctx else ""


def _print_load(report: LoadReport, device: str) -> None:
    same = "this camera's description" if not report.model_differences else \
        f"another description ({', '.join(report.model_differences)} differ; --any-model)"
    named = report.file_device.info_line() if report.file_device else "no device header"
    print(f"{device}: {report.path}: {named}\n  {same}")
    for p in report.problems:
        allowed = f" (allowed: {p.allowed})" if p.allowed else ""
        print(f"line {p.line:>5}  {p.name}{_context(p.context)} = {p.value[:60]}: "
              f"{p.kind}{allowed}")
    for n in report.notes:
        print(f"line {n.line:>5}  {n.name}: written without selector {n.selector} "
              "(this camera has none for it)")
    verb = "would be written" if report.dry_run else "written"
    print(f"{len(report.writes)} key(s) {verb}, {len(report.problems)} not written"
          + ("; nothing written (dry run)" if report.dry_run else "; selectors restored"))
    for f in report.selector_restore_failures:
        print(f"warning: selector {f.name} could not be put back to {f.value}: {f.reason}")


def cmd_load(args: argparse.Namespace) -> int:
    with _opened(args) as (device, cam):
        report = cam.load_settings(args.file, dry_run=args.dry_run, any_model=args.any_model,
                                   strict=args.strict)
        if args.json:
            print(json.dumps(_load_json(report, device), indent=2))
        else:
            _print_load(report, device)
    return 0 if report.complete else 1


def _load_json(report: LoadReport, device: str) -> dict[str, Any]:
    return {"device": device, "file": report.path,
            "file_device": asdict(report.file_device) if report.file_device else None,
            "camera_device": asdict(report.camera_device),
            "model_differences": list(report.model_differences), "dry_run": report.dry_run,
            "applied": report.applied, "writes": [asdict(w) for w in report.writes],
            "problems": [asdict(p) for p in report.problems],
            "notes": [asdict(n) for n in report.notes]}


def cmd_save(args: argparse.Namespace) -> int:
    with _opened(args) as (device, cam):
        report = cam.save_settings(args.file, crlf=args.crlf)
        print(f"{device}: wrote {args.file}: {report.keys} value(s), {report.entries} line(s)")
    if report.not_writable:
        print(f"not saved (read-only at save time): {', '.join(report.not_writable)}")
    return 0


def cmd_user_set(args: argparse.Namespace) -> int:
    with _opened(args) as (device, cam):
        sets = cam.user_sets
        if args.action == "list":
            selected = sets.selected()
            try:
                startup: str | None = sets.startup()
            except UnsupportedFeatureError:
                startup = None
            for name in sets.names():
                marks = [m for m, on in (("selected", name == selected),
                                         ("startup", name == startup)) if on]
                print(f"{name}{'  (' + ', '.join(marks) + ')' if marks else ''}")
            if startup is None:
                print("(this camera has no startup-set node)")
            return 0
        if args.action in ("load", "save") and not args.name:
            raise SystemExit(f"user-set {args.action} needs a set NAME")
        if args.action == "load":
            sets.load(args.name)
        elif args.action == "save":
            sets.save(args.name)
        elif args.name:
            sets.set_startup(args.name)
        done = {"load": "loaded", "save": "saved"}
        print(f"{device}: startup set {sets.startup()}" if args.action == "startup"
              else f"{device}: {done[args.action]} user set {args.name}")
    return 0


def _device_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("device", help="backend:serial, e.g. pylon:40123456")
    sp.add_argument("--emulate", type=int, metavar="N",
                    help="N emulated Basler cameras (sets PYLON_CAMEMU)")
    sp.add_argument("--cti", action="append", metavar="PATH",
                    help="GenTL producer for harvesters:SERIAL")


def add_parser(sub: _Sub) -> None:
    """Register ``camera load-settings|save-settings|user-set``."""
    c = sub.add_parser("camera", help="one camera's settings: pylon feature files and user sets")
    csub = c.add_subparsers(dest="camera_command", required=True)
    ld = csub.add_parser("load-settings", help="check a .pfs against the camera, then apply "
                                               "it all-or-nothing")
    _device_args(ld)
    ld.add_argument("file", help="feature file (.pfs, e.g. saved by pylon Viewer)")
    ld.add_argument("--dry-run", action="store_true", help="check only; write nothing")
    ld.add_argument("--any-model", action="store_true",
                    help="load a file saved from another camera model (keys still checked)")
    ld.add_argument("--strict", action="store_true",
                    help="refuse the whole file if any key would not be written")
    ld.add_argument("--json", action="store_true", help="print the report as JSON")
    ld.set_defaults(func=cmd_load)
    sv = csub.add_parser("save-settings", help="write the camera's settings as a .pfs")
    _device_args(sv)
    sv.add_argument("file")
    sv.add_argument("--crlf", action="store_true", help="Windows line ends")
    sv.set_defaults(func=cmd_save)
    us = csub.add_parser("user-set", help="list, load, save user sets; show or set the startup "
                                          "set")
    _device_args(us)
    us.add_argument("action", choices=["list", "load", "save", "startup"])
    us.add_argument("name", nargs="?", help="user set (e.g. UserSet1)")
    us.set_defaults(func=cmd_user_set)
