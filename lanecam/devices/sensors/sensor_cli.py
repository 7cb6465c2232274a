"""``lanecam sensor record DEVICE FILE`` and ``lanecam sensor replay MODEL FILE [--json]``.

Record: copy the raw bytes a serial sensor sends into a recording
(:mod:`lanecam.devices.sensors.recording`), with the host's monotonic and wall clocks, until
``--duration`` / ``--max-bytes`` / Ctrl-C.  By default the recorder only listens (the sensor
keeps the settings it has); ``--configure`` first opens lanecam's driver for ``--model``,
which applies lanecam's settings (that exchange is not recorded).

Replay: decode a recording, or a file of raw lines / raw bytes without timestamps, with
``MODEL``'s decoder (:mod:`lanecam.devices.sensors.replay`) and print one reading, reply or
fault per line (JSON with ``--json``).  Exit status 0, or 1 when the recording itself is
malformed (the fault is printed after every event before it).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ...errors import ConfigError
from ..serial_link import SerialLink
from .recording import MAGIC, RecordingError, is_recording, iter_recording, record_stream
from .replay import MODELS, Event, decode_chunks, decode_stream, decoder_for

__all__ = ["add_parser", "cmd_record", "cmd_replay"]

#: Default UART rates: OPS243 19200 8N1 (manual p.13; irrelevant over USB), TF 115200.
_BAUD = {"ops243-a": 19200, "ops243-c": 19200, "tf-luna": 115200, "tf02-pro": 115200}


def _driver(model: str, link: SerialLink) -> Any:
    from .lidar import TF02_PRO, TF_LUNA, BenewakeLidar
    from .radar import OPS243Radar

    if model in ("ops243-a", "ops243-c"):
        return OPS243Radar(link, model=model.upper())  # type: ignore[arg-type]
    if model in ("tf-luna", "tf02-pro"):
        return BenewakeLidar(link, model=TF_LUNA if model == "tf-luna" else TF02_PRO)
    raise ConfigError("--configure needs a sensor model with a driver", key="model",
                      allowed=list(MODELS))


def cmd_record(args: argparse.Namespace) -> int:
    from ... import __version__

    if args.model is not None and args.model not in MODELS:
        decoder_for(args.model)  # the loop detector: ConfigError saying why
    if args.configure and args.model is None:
        raise ConfigError("--configure needs --model", key="model", allowed=list(MODELS))
    baud = args.baudrate or _BAUD.get(args.model or "", 115200)
    link = SerialLink(args.device, baudrate=baud, timeout=0.5)
    driver = _driver(args.model, link) if args.configure else None
    if driver is not None:
        driver.open()
    else:
        link.open()
    meta = {"device": args.device, "model": args.model, "baudrate": baud,
            "configured": bool(args.configure), "lanecam": __version__}
    try:
        with open(args.file, "wb") as fh:
            writer = record_stream(link, fh, meta, duration_s=args.duration,
                                   max_bytes=args.max_bytes)
    finally:
        if driver is not None:
            driver.close()
        else:
            link.close()
    print(f"recorded {writer.bytes} byte(s) in {writer.chunks} chunk(s) to {args.file}")
    return 0


def _num(v: object) -> str:
    return f"{v:.6f}".rstrip("0").rstrip(".") if isinstance(v, float) else str(v)


def _human(ev: Event) -> str:
    t = "-" if ev.get("t_ns") is None else f"{ev['t_ns'] / 1e9:.6f}"
    skip = {"type", "t_ns", "t_wall_ns", "source"}
    fields = " ".join(f"{k}={_num(v)}" for k, v in ev.items() if k not in skip and v is not None)
    return f"{t:>18}  {ev['type']:<12} {fields}"


def _events(args: argparse.Namespace, fh: Any) -> Iterator[Event]:
    decoder = decoder_for(args.model, reports=args.reports)
    if is_recording(fh.read(len(MAGIC))):
        fh.seek(0)
        meta, chunks = iter_recording(fh)
        recorded = meta.get("model")
        if recorded not in (None, args.model):
            print(f"warning: recorded as {recorded!r}, decoding as {args.model!r}",
                  file=sys.stderr)
        if not args.json:
            print(f"# recording of {meta.get('device')} ({recorded or 'model not given'})")
        yield from decode_chunks(decoder, chunks)
    else:
        fh.seek(0)
        yield from decode_stream(decoder, [(fh.read(), None, None)])


def cmd_replay(args: argparse.Namespace) -> int:
    out = (lambda ev: json.dumps(ev, sort_keys=True)) if args.json else _human
    try:
        fh = open(args.file, "rb")  # noqa: SIM115 - closed below, read lazily by _events
    except OSError as exc:
        raise ConfigError(f"cannot read {args.file}: {exc.strerror}", key="file") from exc
    with fh:
        try:
            for ev in _events(args, fh):
                print(out(ev), flush=False)
        except RecordingError as exc:
            print(out({"type": "fault", "t_ns": None, "t_wall_ns": None,
                       "error": type(exc).__name__, "feature": exc.feature,
                       "detail": exc.message}))
            return 1
    return 0


if TYPE_CHECKING:
    _Sub = argparse._SubParsersAction[argparse.ArgumentParser]


def add_parser(sub: _Sub) -> None:
    """``sensor record|replay``."""
    s = sub.add_parser("sensor", help="record a sensor's byte stream; decode a recording")
    ssub = s.add_subparsers(dest="sensor_command", required=True)
    r = ssub.add_parser("record", help="write a serial sensor's raw bytes with host timestamps")
    r.add_argument("device", help="serial port (e.g. /dev/ttyACM0) or pyserial URL")
    r.add_argument("file", help="the recording to write")
    r.add_argument("--model", choices=MODELS, help="sensor model (kept in the recording)")
    r.add_argument("--configure", action="store_true",
                   help="apply lanecam's settings with the model's driver first")
    r.add_argument("--baudrate", type=int, help="UART rate (default: the model's)")
    r.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long")
    r.add_argument("--max-bytes", type=int, help="stop after this many bytes")
    r.set_defaults(func=cmd_record)
    p = ssub.add_parser("replay", help="decode a recording (or raw lines/bytes), one event a line")
    p.add_argument("model", choices=MODELS, help="sensor model whose decoder to use")
    p.add_argument("file", help="a recording, or a file of raw lines / raw bytes")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--reports", type=int, default=2,
                   help="OPS243 reports per measurement the radar was set to (default 2, "
                        "lanecam's setting; plain lines are read by it)")
    p.set_defaults(func=cmd_replay)
