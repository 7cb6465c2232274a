"""``lanecam calibrate KIND [lane.toml] --out DIR [--sim SCENARIO]`` and ``calibrate apply``.

Each procedure lives in its own module of this package, which provides::

    HELP: str                                      # one line for --help
    def add_arguments(p: argparse.ArgumentParser) -> None   # its own options
    def run(args: argparse.Namespace) -> tuple[Calibration, Draw | None]

``args`` carries ``lane`` (Path or None), ``out`` (Path), ``sim`` (scenario name or None) and
``seed`` (int).  Exit status: 0 good fit (fragment written), 3 poor fit (no fragment; the reason
printed), 2 the procedure could not run (CalibrationError/ConfigError, typed).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from ..errors import LanecamError
from .result import write_outputs

if TYPE_CHECKING:
    _Sub = argparse._SubParsersAction[argparse.ArgumentParser]

#: procedure name -> module (a procedure module imports its heavy dependencies inside ``run``)
PROCEDURES: dict[str, str] = {
    "latency": "lanecam.calibration.latency",
    "matcher": "lanecam.calibration.matcher",
    "polarizer": "lanecam.calibration.polarizer",
    "pose": "lanecam.calibration.pose",
    "radar": "lanecam.calibration.radar",
    "response": "lanecam.calibration.response",
    "strobe": "lanecam.calibration.strobe",
}

EXIT_GOOD, EXIT_ERROR, EXIT_POOR = 0, 2, 3


def _module(kind: str) -> ModuleType:
    return importlib.import_module(PROCEDURES[kind])


def add_parser(sub: _Sub) -> None:
    c = sub.add_parser("calibrate", help="site calibration procedures (see calibration/README.md)")
    csub = c.add_subparsers(dest="kind", required=True)
    for kind in sorted(PROCEDURES):
        mod = _module(kind)
        sp = csub.add_parser(kind, help=mod.HELP)
        add_common_arguments(sp)
        mod.add_arguments(sp)
        sp.set_defaults(func=cmd_calibrate)
    ap = csub.add_parser("apply", help="merge the fragments of DIR into a lane config "
                                       "(shows the diff first)")
    ap.add_argument("dir", type=Path, help="a --out directory of calibration runs")
    ap.add_argument("lane", type=Path, help="the lane config to update")
    ap.add_argument("--dry-run", action="store_true", help="show the diff, write nothing")
    ap.set_defaults(func=cmd_apply)


def add_common_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("lane", type=Path, nargs="?", help="lane config (not needed with --sim)")
    p.add_argument("--out", type=Path, required=True, help="directory for KIND.toml/png/json")
    p.add_argument("--sim", metavar="SCENARIO",
                   help="run against the simulated lane (which injects the error to find)")
    p.add_argument("--seed", type=int, default=0, help="simulator seed (default 0)")


def cmd_calibrate(args: argparse.Namespace) -> int:
    kind = args.kind
    if args.lane is None and args.sim is None:
        print(f"calibrate {kind}: give a lane config or --sim SCENARIO", file=sys.stderr)
        return EXIT_ERROR
    try:
        cal, draw = _module(kind).run(args)
    except LanecamError as exc:
        print(f"calibrate {kind}: cannot measure: {exc}", file=sys.stderr)
        return EXIT_ERROR
    paths = write_outputs(cal, args.out, draw)
    print(json.dumps(cal.as_json(), indent=2, sort_keys=True))
    for p in paths.values():
        print(f"wrote {p}")
    if not cal.good:
        print(f"calibrate {kind}: poor fit, no fragment written: {cal.why}", file=sys.stderr)
        return EXIT_POOR
    return EXIT_GOOD


def cmd_apply(args: argparse.Namespace) -> int:
    from .fragment import apply_fragments

    try:
        changes = apply_fragments(args.dir, args.lane, dry_run=True)
        for ch in changes:
            print(ch)
        if not changes:
            print("nothing to change")
        elif not args.dry_run:
            apply_fragments(args.dir, args.lane)
            print(f"updated {args.lane} ({len(changes)} value(s); previous in {args.lane}.bak)")
    except LanecamError as exc:
        print(f"calibrate apply: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_GOOD


def script_main(kind: str, argv: Sequence[str] | None = None) -> int:
    """Entry of ``calibration/KIND.py``: the same as ``lanecam calibrate KIND`` (this module's
    own parser, so the procedures never import the ``lanecam`` command above them)."""
    import logging

    parser = argparse.ArgumentParser(prog=f"calibration/{kind}.py")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    add_parser(parser.add_subparsers(dest="command", required=True))
    rest = sys.argv[1:] if argv is None else list(argv)
    verbose = [a for a in rest if a in ("-v", "--verbose")]
    args = parser.parse_args([*verbose, "calibrate", kind,
                              *(a for a in rest if a not in ("-v", "--verbose"))])
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except LanecamError as exc:
        print(f"calibrate {kind}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR
