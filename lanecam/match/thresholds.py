"""The shipped matchers' default thresholds and the measurement behind them.

``thresholds.toml`` (beside this module) holds one table per matcher (``[dlib]``, ``[sface]``)
written from ``bench/matcher_thresholds.py``: the decision threshold as a *similarity*
(higher = more alike; dlib's descriptor distance is 1 − similarity), the false-match rate it
was set for, how many impostor pairs were measured, how many of them reached it, the one-sided
Clopper–Pearson upper bound of the FMR (at ``confidence``), the genuine pairs and false
non-matches seen there with their bound, and what was measured (gallery, regime, command).
:class:`~lanecam.match.dlib_matcher.DlibMatcher` and
:class:`~lanecam.match.sface_matcher.SFaceMatcher` take their default threshold and the
``fmr`` their decisions report (the upper bound) from here.

A file that is not what it should be is a :class:`ThresholdsError` naming the key; nothing is
filled in silently.
"""

from __future__ import annotations

import functools
import math
import tomllib
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import ConfigError

__all__ = ["MATCHERS", "MeasuredThreshold", "ThresholdsError", "load_thresholds",
           "parse_thresholds", "shipped_threshold"]

#: matcher names the file must describe
MATCHERS = ("dlib", "sface")
FILE_NAME = "thresholds.toml"


class ThresholdsError(ConfigError):
    """The thresholds file is missing, not TOML, or a value is absent, mistyped or out of
    range (``key`` = ``"<matcher>.<field>"`` or the file)."""


@dataclass(frozen=True)
class MeasuredThreshold:
    """One matcher's measured default threshold.

    ``similarity_threshold``: decide "match" at scores ≥ this (similarity); ``target_fmr``:
    the false-match rate it was set for; ``impostor_pairs`` / ``false_matches``: measured
    pairs and those at or above the threshold; ``fmr_upper``: one-sided Clopper–Pearson upper
    bound of the FMR at ``confidence``; ``genuine_pairs`` / ``false_non_matches`` /
    ``fnmr_upper``: the same for pairs of one person; ``gallery``, ``regime``, ``command``,
    ``measured``: what was measured, how and when (free text).
    """

    similarity_threshold: float
    target_fmr: float
    confidence: float
    impostor_pairs: int
    false_matches: int
    fmr_upper: float
    genuine_pairs: int
    false_non_matches: int
    fnmr_upper: float
    gallery: str
    regime: str
    command: str
    measured: str

    @property
    def fmr(self) -> float:
        """Measured false-match rate at the threshold (false matches / impostor pairs)."""
        return self.false_matches / self.impostor_pairs

    @property
    def fnmr(self) -> float:
        """Measured false non-match rate (NaN without genuine pairs)."""
        return (self.false_non_matches / self.genuine_pairs if self.genuine_pairs
                else math.nan)

    @property
    def distance_threshold(self) -> float:
        """The threshold as dlib's descriptor distance (1 − similarity)."""
        return 1.0 - self.similarity_threshold


_RATES = ("target_fmr", "fmr_upper", "fnmr_upper")
_COUNTS = ("impostor_pairs", "false_matches", "genuine_pairs", "false_non_matches")
_TEXTS = ("gallery", "regime", "command", "measured")


def _number(table: dict[str, Any], name: str, key: str) -> float:
    v = table.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ThresholdsError("missing or not a finite number", key=f"{name}.{key}")
    return float(v)


def _count(table: dict[str, Any], name: str, key: str) -> int:
    v = table.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ThresholdsError("missing or not a count (integer ≥ 0)", key=f"{name}.{key}",
                              allowed="integer >= 0")
    return v


def _parse_one(name: str, table: Any) -> MeasuredThreshold:
    if not isinstance(table, dict):
        raise ThresholdsError("missing matcher table", key=name)
    known = {f.name for f in fields(MeasuredThreshold)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ThresholdsError("unknown key", key=f"{name}.{unknown[0]}", allowed=sorted(known))
    sim = _number(table, name, "similarity_threshold")
    if not -1.0 < sim < 1.0:
        raise ThresholdsError("threshold out of range", key=f"{name}.similarity_threshold",
                              allowed="(-1, 1)")
    rates = {k: _number(table, name, k) for k in _RATES}
    for k, v in rates.items():
        if not 0.0 <= v <= 1.0:
            raise ThresholdsError("rate out of range", key=f"{name}.{k}", allowed="[0, 1]")
    conf = _number(table, name, "confidence")
    if not 0.5 <= conf < 1.0:
        raise ThresholdsError("confidence out of range", key=f"{name}.confidence",
                              allowed="[0.5, 1)")
    counts = {k: _count(table, name, k) for k in _COUNTS}
    texts = {}
    for k in _TEXTS:
        v = table.get(k)
        if not isinstance(v, str) or not v.strip():
            raise ThresholdsError("missing or empty text", key=f"{name}.{k}")
        texts[k] = v
    _check_consistent(name, counts, rates)
    return MeasuredThreshold(similarity_threshold=sim, confidence=conf, **rates, **counts,
                             **texts)


def _check_consistent(name: str, counts: dict[str, int], rates: dict[str, float]) -> None:
    """Counts within their totals; an upper bound not below the rate it bounds."""
    if counts["impostor_pairs"] == 0:
        raise ThresholdsError("no impostor pairs measured", key=f"{name}.impostor_pairs",
                              allowed="> 0")
    if counts["false_matches"] > counts["impostor_pairs"]:
        raise ThresholdsError("more false matches than pairs", key=f"{name}.false_matches")
    if counts["false_non_matches"] > counts["genuine_pairs"]:
        raise ThresholdsError("more false non-matches than pairs",
                              key=f"{name}.false_non_matches")
    if rates["fmr_upper"] < counts["false_matches"] / counts["impostor_pairs"]:
        raise ThresholdsError("upper bound below the measured rate", key=f"{name}.fmr_upper")
    if counts["genuine_pairs"] and (
            rates["fnmr_upper"] < counts["false_non_matches"] / counts["genuine_pairs"]):
        raise ThresholdsError("upper bound below the measured rate", key=f"{name}.fnmr_upper")


def parse_thresholds(doc: Any) -> dict[str, MeasuredThreshold]:
    """The measured threshold of each of :data:`MATCHERS` from a parsed TOML document."""
    if not isinstance(doc, dict):
        raise ThresholdsError("not a table of matchers", key=FILE_NAME)
    unknown = sorted(set(doc) - set(MATCHERS))
    if unknown:
        raise ThresholdsError("unknown matcher", key=str(unknown[0]), allowed=list(MATCHERS))
    return {name: _parse_one(name, doc.get(name)) for name in MATCHERS}


def load_thresholds(path: str | Path | None = None) -> dict[str, MeasuredThreshold]:
    """Read and check a thresholds file (default: the one shipped in this package)."""
    try:
        if path is None:
            text = resources.files(__package__).joinpath(FILE_NAME).read_text("utf-8")
        else:
            text = Path(path).read_text("utf-8")
        doc = tomllib.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise ThresholdsError("cannot read the thresholds file", key=str(path or FILE_NAME)
                              ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ThresholdsError(f"not valid TOML: {exc}", key=str(path or FILE_NAME)) from exc
    return parse_thresholds(doc)


@functools.cache
def shipped_threshold(matcher: str) -> MeasuredThreshold:
    """The shipped measured threshold of ``matcher`` (``"dlib"`` or ``"sface"``)."""
    if matcher not in MATCHERS:
        raise ThresholdsError("unknown matcher", key=str(matcher), allowed=list(MATCHERS))
    return load_thresholds()[matcher]
