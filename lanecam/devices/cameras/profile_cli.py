"""``lanecam profile check CAMERA.xml``: the command over :mod:`.xml_check`.

Exit status: 0 when every feature a lane needs is there (or met by an alternative the profile
names in ``[lane_alternatives]`` and the XML allows, listed as ``alternative:``) and nothing it
writes mismatches,
1 when something is missing or mismatched, 2 on a usage or file error (lanecam's CLI).
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from .xml_check import LANE_NEEDS, CheckReport, check_xml

__all__ = ["add_parser", "cmd_profile_check", "render"]

if TYPE_CHECKING:
    _Sub = argparse._SubParsersAction[argparse.ArgumentParser]


def add_parser(sub: _Sub) -> None:
    """Register ``profile check`` on ``lanecam``'s sub-command container."""
    p = sub.add_parser("profile", help="firmware profiles against a camera's own description")
    psub = p.add_subparsers(dest="profile_command", required=True)
    c = psub.add_parser(
        "check", help="check a camera's GenICam XML against its firmware profile (no device)",
        description="Load a camera's GenICam XML (.xml or .zip, as the camera or a viewer "
        "saved it) into GenApi and report, per canonical feature, the node the profile uses, "
        "its type, access, unit against the profile's scale and range, and what a lane needs "
        "that is missing.  Exit 0 only when nothing a lane needs is missing or mismatched.")
    c.add_argument("xml", help="the camera's GenICam XML (.xml or .zip)")
    c.add_argument("--profile", help="profile name (default: chosen by vendor and model)")
    c.add_argument("--model", help="the camera's DeviceModelName, e.g. acA1300-60gm "
                   "(default: the XML's ModelName, which is often a family name)")
    c.add_argument("--vendor", help="the camera's DeviceVendorName (default: the XML's)")
    c.add_argument("--profile-dir", action="append", default=[], metavar="DIR",
                   help="also load profiles from DIR (after the shipped ones; repeatable)")
    c.add_argument("--json", action="store_true", help="print JSON")
    c.set_defaults(func=cmd_profile_check)


def cmd_profile_check(args: argparse.Namespace) -> int:
    from .profile import builtin_profile_dir, load_profiles

    profiles = load_profiles([builtin_profile_dir(), *args.profile_dir])
    report = check_xml(args.xml, profiles, profile=args.profile, model=args.model,
                       vendor=args.vendor)
    print(json.dumps(report.to_json(), indent=2) if args.json else render(report))
    return 0 if report.ok else 1


def render(report: CheckReport) -> str:
    """The report as text: one line per canonical feature, then what is missing or wrong."""
    lines = [f"{report.vendor} {report.model}: profile {report.profile}", "",
             f"{'feature':<22} {'node':<28} {'type':<12} {'access':<6} {'unit':<22} range"]
    for canon, f in sorted(report.features.items(), key=lambda kv: kv[0] not in LANE_NEEDS):
        mark = "*" if canon in LANE_NEEDS else " "
        if not f.present:
            lines.append(f"{mark}{canon:<21} {f.node:<28} (not in the XML)")
            continue
        unit = f"{f.unit} ({f.unit_status})" if f.unit_status else f.unit
        rng = _range_text(f.range, f.entries)
        lines.append(f"{mark}{canon:<21} {f.node:<28} {f.type:<12} {f.access:<6} {unit:<22} "
                     f"{rng}")
    lines += ["", "* a lane needs it"]
    lines += [f"alternative: {need} by {alt['way']}: {alt['reason']}"
              for need, alt in report.alternatives.items()]
    lines += [f"missing: {name}" for name in report.missing]
    lines += [f"mismatch: {m['feature']} ({m['node']}): {m['problem']}"
              for m in report.mismatches]
    lines += [f"note: {n}" for n in report.notes]
    lines.append("OK: everything a lane needs is there" if report.ok else "NOT OK")
    return "\n".join(lines)


def _range_text(rng: object, entries: list[str]) -> str:
    if entries:
        shown = ", ".join(entries[:8])
        return "{" + shown + (", …}" if len(entries) > 8 else "}")
    if isinstance(rng, list):
        return f"[{rng[0]:g}, {rng[1]:g}]"
    return "" if rng is None else str(rng)
