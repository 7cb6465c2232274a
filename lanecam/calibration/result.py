"""What a calibration procedure returns, and the three files it leaves in ``--out``."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..errors import LanecamError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Quality = Literal["good", "poor"]

#: draws the report into a fresh figure (the procedure chooses its axes)
Draw = Callable[["Figure"], None]


class CalibrationError(LanecamError):
    """A procedure could not measure at all (no target found, a device missing, bad input).

    ``kind`` is the procedure; ``reason`` a stable token tests and scripts decide on
    (``"target_not_found"``, ``"too_few_views"``, ``"device_missing"``, ...)."""

    def __init__(self, message: str, *, kind: str, reason: str, **context: Any) -> None:
        self.kind = kind
        self.reason = reason
        super().__init__(message, **context)


@dataclass(frozen=True)
class Calibration:
    """One procedure's result.

    ``estimate`` and ``uncertainty`` (1σ unless the key says otherwise) are in SI units (angles
    in degrees, as the lane config writes them), keyed by the quantity; ``fragment`` is the
    lane-config tables to merge (TOML shape: ``{"cameras": [{"name": "cam0", "height_m": ...}]}``,
    cameras matched by ``name``); ``truth`` and ``error`` only from a simulated run."""

    kind: str
    estimate: Mapping[str, Any]
    uncertainty: Mapping[str, Any]
    fragment: Mapping[str, Any]
    quality: Quality
    why: str
    truth: Mapping[str, Any] | None = None
    error: Mapping[str, Any] | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.quality not in ("good", "poor"):
            raise ValueError(f"quality must be 'good' or 'poor', not {self.quality!r}")

    @property
    def good(self) -> bool:
        return self.quality == "good"

    def as_json(self) -> dict[str, Any]:
        """The ``KIND.json`` document (``details`` holds extra measured figures)."""
        doc: dict[str, Any] = {"kind": self.kind, "estimate": _plain(self.estimate),
                               "uncertainty": _plain(self.uncertainty),
                               "quality": self.quality, "why": self.why}
        if self.truth is not None:
            doc["truth"] = _plain(self.truth)
        if self.error is not None:
            doc["error"] = _plain(self.error)
        if self.details:
            doc["details"] = _plain(self.details)
        return doc


def _plain(v: Any) -> Any:
    """JSON-safe copy: numpy scalars/arrays to Python, non-finite floats to None."""
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if hasattr(v, "tolist"):
        return _plain(v.tolist())
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_outputs(cal: Calibration, out: str | Path, draw: Draw | None = None) -> dict[str, Path]:
    """Write ``KIND.json``, ``KIND.png`` (when ``draw`` is given) and, for a good fit only,
    ``KIND.toml`` into ``out``; a stale fragment from an earlier good run is removed when this
    run is poor, so ``calibrate apply`` can never merge it.  Returns the paths written."""
    import tomlkit

    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    p = d / f"{cal.kind}.json"
    _atomic_write(p, (json.dumps(cal.as_json(), indent=2, sort_keys=True) + "\n").encode())
    paths["json"] = p
    if draw is not None:
        paths["png"] = _write_png(d / f"{cal.kind}.png", draw)
    frag = d / f"{cal.kind}.toml"
    if cal.good:
        text = f"# lanecam calibrate {cal.kind}: {cal.why}\n" + tomlkit.dumps(
            _plain(cal.fragment))
        _atomic_write(frag, text.encode())
        paths["toml"] = frag
    else:
        frag.unlink(missing_ok=True)
    return paths


def _write_png(path: Path, draw: Draw) -> Path:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 6.5), layout="constrained")
    draw(fig)
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, dpi=100)
    os.replace(tmp, path)
    return path
