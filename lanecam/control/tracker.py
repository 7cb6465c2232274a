"""Vehicle tracking: fuse radar speed, lidar/radar range and loop edges into vehicle tracks.

Coordinates: ``range_m`` is the distance along the lane from the lane origin (normally the
camera's foot point) to the vehicle front, decreasing as the vehicle approaches; ``speed_mps``
is the approach speed (positive = approaching) and ``accel_mps2`` its rate of change
(negative = braking).  Sensor readings are mapped into lane range with their mounting offsets.

Each track is a constant-acceleration Kalman filter with state ``[r, ṙ, r̈]`` and white-jerk
process noise (Bar-Shalom, Li & Kirubarajan, *Estimation with Applications to Tracking and
Navigation*, 2001, §6.2.3).  Range measurements that fall outside the innovation gate but agree
with each other start a new track: that is how a tailgating vehicle appears when the leader
leaves the lidar beam (range jumps up).  A track with no updates coasts on its model, with its
uncertainty (and so its confidence) growing, and is dropped after ``max_coast_s``.

A radar set to report several objects per measurement (:attr:`RadarReading.speeds` /
``ranges``) sees a tailgater while the leader is still in view.  Such a report's values are
associated jointly: each measurement to at most one track and each track to at most one
measurement, the most likely pairs first (global nearest neighbour: pairs inside the gate,
in order of normalized innovation).  A range left over is a second object — but one report
could be a glitch, so it starts a track only when a later report's leftover range agrees
with it on the motion model (:meth:`VehicleTracker.update_ranges`).  Speeds and ranges are
separate spectra and are never paired with each other: two vehicles at one speed give a
single Doppler peak, which goes to one track only.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from ..errors import ConfigError
from ..readings import LidarReading, LoopEdge, RadarReading

__all__ = ["TrackerConfig", "Track", "VehicleTracker"]

_CHI2_1DOF_999 = 10.83  # 99.9 % gate for a scalar innovation (chi-square table, 1 dof)


@dataclass(frozen=True)
class TrackerConfig:
    """Noise and gating parameters (SI units).

    Defaults: lidar σ 0.05 m (TF02-Pro ±5 cm / ±1 % class, datasheet accuracy), radar speed
    σ 0.15 m/s (OPS243 resolution 0.06 m/s at 10 ksps/1024 samples, doubled at 20 ksps),
    radar range σ 0.3 m (OPS243-C range resolution ≈ 0.08 m plus target extent), loop σ 0.5 m
    (loop field extent).  ``jerk_psd`` (m²/s⁵) sets how fast acceleration may change.
    """

    lidar_sigma_m: float = 0.05
    radar_speed_sigma_mps: float = 0.15
    radar_range_sigma_m: float = 0.3
    loop_sigma_m: float = 0.5
    jerk_psd: float = 2.0
    initial_speed_sigma_mps: float = 10.0
    initial_accel_sigma_mps2: float = 3.0
    gate_chi2: float = _CHI2_1DOF_999
    min_jump_m: float = 1.5  # a range jump smaller than this never spawns a new track
    spawn_agreement_m: float = 1.0  # two out-of-gate ranges must agree this well to spawn
    confirm_updates: int = 3  # range updates before a track counts as confirmed
    candidate_window_s: float = 0.5  # leftover multi-object ranges this old may start a track
    #: closest front-to-front spacing of two vehicles in one lane (ASSUMED: a 2.7 m city car
    #: plus 0.8 m of air at a standstill); a leftover multi-object range nearer a track than
    #: this is that vehicle (its body, or a late-stamped reading), never a new one
    min_spacing_m: float = 3.5
    max_coast_s: float = 3.0  # drop a track after this long without any update
    passed_range_m: float = -5.0  # drop a track once it is this far past the origin
    lidar_offset_m: float = 0.0  # lane range of the lidar (its reading adds to this)
    radar_offset_m: float = 0.0
    loop_position_m: float | None = None  # lane range of the loop's leading edge

    def __post_init__(self) -> None:
        for k in ("lidar_sigma_m", "radar_speed_sigma_mps", "radar_range_sigma_m",
                  "loop_sigma_m", "jerk_psd", "initial_speed_sigma_mps",
                  "initial_accel_sigma_mps2", "gate_chi2", "max_coast_s",
                  "candidate_window_s", "min_spacing_m"):
            v = getattr(self, k)
            if not (math.isfinite(v) and v > 0):
                raise ConfigError("must be > 0", key=k)


@dataclass(frozen=True)
class Track:
    """A snapshot of one vehicle's estimated motion at ``t_ns``."""

    id: int
    t_ns: int
    range_m: float
    speed_mps: float
    accel_mps2: float
    range_sigma_m: float
    speed_sigma_mps: float
    confidence: float  # 0..1
    updates: int
    confirmed: bool

    def predict(self, t_ns: int) -> tuple[float, float]:
        """(range m, speed m/s) extrapolated to ``t_ns`` on the constant-acceleration model,
        holding the vehicle once it would stop."""
        dt = (t_ns - self.t_ns) / 1e9
        v, a = self.speed_mps, self.accel_mps2
        if a < 0 < v and dt > -v / a:
            dt = -v / a  # stopped
        return self.range_m - (v * dt + 0.5 * a * dt * dt), v + a * dt

    def time_at_range(self, range_m: float) -> int | None:
        """When (ns) the front reaches ``range_m``; ``now`` if already past; None if the
        vehicle is predicted to stop (or is not approaching) before it gets there."""
        dist = self.range_m - range_m
        if dist <= 0:
            return self.t_ns
        v, a = self.speed_mps, self.accel_mps2
        if abs(a) < 1e-9:
            if v <= 0:
                return None
            return self.t_ns + round(dist / v * 1e9)
        disc = v * v + 2 * a * dist
        if disc < 0:
            return None  # stops first
        tau = (-v + math.sqrt(disc)) / a
        if tau < 0:
            return None
        if a < 0 and tau > -v / a:
            return None
        return self.t_ns + round(tau * 1e9)


class _Filter:
    """One constant-acceleration Kalman filter."""

    def __init__(self, tid: int, t_ns: int, r: float, r_var: float, v: float, v_var: float,
                 cfg: TrackerConfig) -> None:
        self.id = tid
        self.t_ns = t_ns
        self.x = np.array([r, -v, 0.0])
        self.P = np.diag([r_var, v_var, cfg.initial_accel_sigma_mps2**2])
        self.cfg = cfg
        self.updates = 1
        self.range_updates = 1
        self.last_update_ns = t_ns
        self.outliers: list[tuple[int, float]] = []  # out-of-gate (t_ns, range) candidates

    @staticmethod
    def _F(dt: float) -> np.ndarray:
        return np.array([[1.0, dt, 0.5 * dt * dt], [0.0, 1.0, dt], [0.0, 0.0, 1.0]])

    def _Q(self, dt: float) -> np.ndarray:
        q = self.cfg.jerk_psd
        return q * np.array([
            [dt**5 / 20, dt**4 / 8, dt**3 / 6],
            [dt**4 / 8, dt**3 / 3, dt**2 / 2],
            [dt**3 / 6, dt**2 / 2, dt],
        ])

    def predict_to(self, t_ns: int) -> None:
        dt = (t_ns - self.t_ns) / 1e9
        if dt <= 0:
            return
        F = self._F(dt)
        self.x = F @ self.x
        self.P = F @ self.P @ F.T + self._Q(dt)
        self.t_ns = t_ns

    def _h(self, t_ns: int, H: np.ndarray) -> np.ndarray:
        """Measurement row for a reading at ``t_ns`` (≤ filter time: mapped back on the model)."""
        dt = (t_ns - self.t_ns) / 1e9
        return H @ self._F(dt) if dt < 0 else H

    def innovation(self, t_ns: int, H: np.ndarray, z: float, var: float) -> tuple[float, float]:
        self.predict_to(t_ns)
        h = self._h(t_ns, H)
        nu = z - float(h @ self.x)
        s = float(h @ self.P @ h) + var
        return nu, s

    def update(self, t_ns: int, H: np.ndarray, z: float, var: float) -> None:
        self.predict_to(t_ns)
        h = self._h(t_ns, H)
        nu = z - float(h @ self.x)
        s = float(h @ self.P @ h) + var
        k = (self.P @ h) / s
        self.x = self.x + k * nu
        ikh = np.eye(3) - np.outer(k, h)
        self.P = ikh @ self.P @ ikh.T + np.outer(k, k) * var  # Joseph form
        self.updates += 1
        self.last_update_ns = max(self.last_update_ns, t_ns)

    def snapshot(self, t_ns: int | None = None) -> Track:
        x, P, t = self.x, self.P, self.t_ns
        if t_ns is not None and t_ns > self.t_ns:
            dt = (t_ns - self.t_ns) / 1e9
            F = self._F(dt)
            x, P, t = F @ x, F @ P @ F.T + self._Q(dt), t_ns
        rs, vs = math.sqrt(max(P[0, 0], 0.0)), math.sqrt(max(P[1, 1], 0.0))
        confirmed = self.range_updates >= self.cfg.confirm_updates
        conf = (1.0 - math.exp(-self.range_updates / self.cfg.confirm_updates)) / (
            1.0 + (rs / 0.5) ** 2 + (vs / 1.0) ** 2)
        return Track(self.id, t, float(x[0]), float(-x[1]), float(-x[2]), rs, vs,
                     float(conf), self.updates, confirmed)


_H_RANGE = np.array([1.0, 0.0, 0.0])
_H_SPEED = np.array([0.0, -1.0, 0.0])  # approach speed = -ṙ


_R = TypeVar("_R")


def _locked(method: Callable[..., _R]) -> Callable[..., _R]:
    """Run a :class:`VehicleTracker` method under the tracker's own lock."""
    @functools.wraps(method)
    def run(self: VehicleTracker, *args: object, **kwargs: object) -> _R:
        with self._lock:
            return method(self, *args, **kwargs)
    return run


class VehicleTracker:
    """Multi-vehicle tracker for one lane.

    Feed readings in (roughly) time order with :meth:`feed`; read :meth:`tracks` /
    :meth:`lead`.  Readings older than a track's latest update are folded in on the motion
    model (a few tens of ms of reordering between sensors is normal).
    """

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        #: the tracker owns its lock: sensor threads feed it while the planner and the capture
        #: engines read it (every public method holds it; re-entrant, feed calls update_*)
        self._lock = threading.RLock()
        self._tracks: list[_Filter] = []
        self._next_id = 1
        self._last_speed: tuple[int, float] | None = None  # (t_ns, m/s) for seeding tracks
        # the last speed report: (t_ns, every speed, speeds no track took)
        self._last_speeds: tuple[int, tuple[float, ...], tuple[float, ...]] | None = None
        self._candidates: list[tuple[int, float]] = []  # leftover multi-object (t_ns, range)
        self.rejected = 0  # readings that fit no track and started none
        self.spawned = 0

    # -- input ---------------------------------------------------------------------------------
    @_locked
    def feed(self, reading: RadarReading | LidarReading | LoopEdge) -> None:
        """Fold one sensor reading into the tracks."""
        if isinstance(reading, LidarReading):
            if reading.reliable:
                self.update_range(reading.t_ns, self.config.lidar_offset_m + reading.range_m,
                                  self.config.lidar_sigma_m)
        elif isinstance(reading, RadarReading):
            cfg = self.config
            if len(reading.speeds) > 1:
                self.update_speeds(reading.t_ns, reading.speeds, cfg.radar_speed_sigma_mps)
            elif reading.speed_mps is not None:
                self.update_speed(reading.t_ns, reading.speed_mps, cfg.radar_speed_sigma_mps)
            if len(reading.ranges) > 1:
                self.update_ranges(reading.t_ns,
                                   [cfg.radar_offset_m + r for r in reading.ranges],
                                   cfg.radar_range_sigma_m)
            elif reading.range_m is not None:
                self.update_range(reading.t_ns, cfg.radar_offset_m + reading.range_m,
                                  cfg.radar_range_sigma_m)
        elif isinstance(reading, LoopEdge):
            if reading.present:
                if self.config.loop_position_m is None:
                    raise ConfigError("loop edges need TrackerConfig.loop_position_m",
                                      key="loop_position_m")
                self.update_range(reading.t_ns, self.config.loop_position_m,
                                  self.config.loop_sigma_m, spawn_immediately=True)
        else:
            raise TypeError(f"not a sensor reading: {type(reading).__name__}")

    @_locked
    def feed_all(self, readings: Iterable[RadarReading | LidarReading | LoopEdge]) -> None:
        for r in readings:
            self.feed(r)

    @_locked
    def update_speed(self, t_ns: int, speed_mps: float, sigma_mps: float) -> None:
        """Approach-speed measurement (m/s): applied to the nearest track it gates with."""
        self._last_speed = (t_ns, speed_mps)
        self._expire(t_ns)
        best: tuple[float, _Filter] | None = None
        for f in self._tracks:
            nu, s = f.innovation(t_ns, _H_SPEED, speed_mps, sigma_mps**2)
            if nu * nu / s <= self.config.gate_chi2 and (best is None or f.x[0] < best[1].x[0]):
                best = (nu, f)
        self._last_speeds = (t_ns, (speed_mps,), (speed_mps,) if best is None else ())
        if best is None:
            self.rejected += 1 if self._tracks else 0
            return
        best[1].update(t_ns, _H_SPEED, speed_mps, sigma_mps**2)

    @_locked
    def update_range(self, t_ns: int, range_m: float, sigma_m: float, *,
                     spawn_immediately: bool = False) -> None:
        """Lane-range measurement (m) of a vehicle front."""
        cfg = self.config
        self._expire(t_ns)
        var = sigma_m**2
        gated: list[tuple[float, _Filter]] = []
        for f in self._tracks:
            nu, s = f.innovation(t_ns, _H_RANGE, range_m, var)
            d2 = nu * nu / s
            if d2 <= cfg.gate_chi2 or abs(nu) < cfg.min_jump_m:
                gated.append((d2, f))
        if gated:
            _, f = min(gated, key=lambda g: g[0])
            f.update(t_ns, _H_RANGE, range_m, var)
            f.range_updates += 1
            f.outliers.clear()
            return
        if not self._tracks or spawn_immediately:
            self._spawn(t_ns, range_m, var)
            return
        # out of every gate: a new vehicle if a second such reading agrees with this one
        lead = min(self._tracks, key=lambda f: f.t_ns - f.last_update_ns)
        for t0, r0 in lead.outliers:
            speed = -float(lead.x[1])
            expected = r0 - speed * (t_ns - t0) / 1e9
            if abs(expected - range_m) <= cfg.spawn_agreement_m + 0.5 * abs(
                    float(lead.x[2])) * ((t_ns - t0) / 1e9) ** 2:
                self._spawn(t_ns, range_m, var, seed_speed=speed)
                lead.outliers.clear()
                return
        lead.outliers.append((t_ns, range_m))
        del lead.outliers[:-4]
        self.rejected += 1

    @_locked
    def update_speeds(self, t_ns: int, speeds: Iterable[float], sigma_mps: float) -> None:
        """Several approach speeds from one measurement (m/s, strongest first): each to at
        most one track and each track at most one, the best-fitting pairs first."""
        zs = list(speeds)
        if not zs:
            return
        self._last_speed = (t_ns, zs[0])
        self._expire(t_ns)
        var = sigma_mps**2
        pairs = []
        for i, z in enumerate(zs):
            for f in self._tracks:
                nu, s = f.innovation(t_ns, _H_SPEED, z, var)
                if nu * nu / s <= self.config.gate_chi2:
                    pairs.append((nu * nu / s, float(f.x[0]), i, f))
        taken = self._assign(pairs, lambda i, f: f.update(t_ns, _H_SPEED, zs[i], var))
        gated = {p[2] for p in pairs}
        self.rejected += sum(1 for i in range(len(zs)) if i not in gated) if self._tracks else 0
        self._last_speeds = (t_ns, tuple(zs), tuple(z for i, z in enumerate(zs)
                                                  if i not in taken))

    @_locked
    def update_ranges(self, t_ns: int, ranges_m: Iterable[float], sigma_m: float) -> None:
        """Several lane ranges from one measurement (m, strongest first), e.g. a leader and
        its tailgater.  Each goes to at most one track and each track takes at most one, the
        best-fitting pairs first; a range no track takes is a candidate object, and a track
        starts when a candidate from a later measurement agrees with it — on a speed from
        the latest radar speed report, preferring a speed no track took, else on the nearest
        track's speed.  A leftover within ``min_spacing_m`` of a track is that vehicle (a
        second scattering centre on its body, or a reading stamped late on a busy host),
        never a new one."""
        cfg = self.config
        zs = list(ranges_m)
        if not zs:
            return
        self._expire(t_ns)
        var = sigma_m**2
        pairs = []
        body: set[int] = set()  # measurements within min_spacing_m of some track
        for i, z in enumerate(zs):
            for f in self._tracks:
                nu, s = f.innovation(t_ns, _H_RANGE, z, var)
                if abs(nu) < max(cfg.min_spacing_m, cfg.min_jump_m):
                    body.add(i)
                if nu * nu / s <= cfg.gate_chi2 or abs(nu) < cfg.min_jump_m:
                    pairs.append((nu * nu / s, float(f.x[0]), i, f))

        def apply(i: int, f: _Filter) -> None:
            f.update(t_ns, _H_RANGE, zs[i], var)
            f.range_updates += 1
            f.outliers.clear()

        taken = self._assign(pairs, apply)
        left = [i for i in range(len(zs)) if i not in taken and i not in body]
        if not self._tracks and left:
            self._spawn(t_ns, zs[left.pop(0)], var)  # the first object seen, as update_range
        for i in left:
            self._candidate(t_ns, zs[i], var)

    @staticmethod
    def _assign(pairs: list[tuple[float, float, int, _Filter]],
                apply: Callable[[int, _Filter], None]) -> set[int]:
        """Greedy one-to-one assignment over gated (d², track range, measurement, track)
        pairs, smallest d² first (ties: the nearer track); returns the measurements used."""
        used: set[int] = set()
        busy: set[int] = set()
        for _, _, i, f in sorted(pairs, key=lambda p: (p[0], p[1])):
            if i in used or f.id in busy:
                continue
            used.add(i)
            busy.add(f.id)
            apply(i, f)
        return used

    def _candidate(self, t_ns: int, range_m: float, var: float) -> None:
        """A leftover multi-object range: start a track if an earlier leftover agrees."""
        cfg = self.config
        window_ns = round(cfg.candidate_window_s * 1e9)
        self._candidates = [(t0, r0) for t0, r0 in self._candidates
                            if 0 <= t_ns - t0 <= window_ns]
        speeds: list[tuple[float, float]] = []  # (m/s, seed variance), preferred first
        if self._last_speeds is not None and abs(t_ns - self._last_speeds[0]) <= window_ns:
            _, every, free = self._last_speeds
            # a peak no track explains is the new object's; else it may share a tracked one's
            # (one Doppler bin): still a measured speed, seeded a little looser
            speeds += [(v, (3 * cfg.radar_speed_sigma_mps) ** 2) for v in free]
            speeds += [(v, 1.0) for v in every if v not in free]
        if self._tracks:
            near = min(self._tracks, key=lambda f: abs(float(f.x[0]) - range_m))
            speeds.append((-float(near.x[1]), (0.5 * cfg.initial_speed_sigma_mps) ** 2))
        for t0, r0 in reversed(self._candidates):
            dt = (t_ns - t0) / 1e9
            if dt <= 0:
                continue
            for v, v_var in speeds:
                if abs(r0 - v * dt - range_m) <= cfg.spawn_agreement_m:
                    self._spawn(t_ns, range_m, var, seed_speed=v, seed_var=v_var)
                    self._candidates = [(t1, r1) for t1, r1 in self._candidates
                                        if abs(r1 - v * (t_ns - t1) / 1e9 - range_m)
                                        > cfg.spawn_agreement_m]
                    return
        self._candidates.append((t_ns, range_m))
        del self._candidates[:-8]
        self.rejected += 1

    def _spawn(self, t_ns: int, range_m: float, var: float,
               seed_speed: float | None = None, seed_var: float | None = None) -> None:
        cfg = self.config
        v, v_var = 0.0, cfg.initial_speed_sigma_mps**2
        if seed_speed is not None:
            v = seed_speed
            v_var = (0.5 * cfg.initial_speed_sigma_mps) ** 2 if seed_var is None else seed_var
        elif self._last_speed is not None and abs(t_ns - self._last_speed[0]) < 0.5e9:
            v, v_var = self._last_speed[1], (3 * cfg.radar_speed_sigma_mps) ** 2
        self._tracks.append(_Filter(self._next_id, t_ns, range_m, var, v, v_var, cfg))
        self._next_id += 1
        self.spawned += 1

    def _expire(self, t_ns: int) -> None:
        cfg = self.config
        keep = []
        for f in self._tracks:
            coast = (t_ns - f.last_update_ns) / 1e9
            if coast > cfg.max_coast_s:
                continue
            if f.snapshot(t_ns).range_m < cfg.passed_range_m:
                continue
            keep.append(f)
        self._tracks = keep

    # -- output --------------------------------------------------------------------------------
    @_locked
    def tracks(self, t_ns: int | None = None) -> list[Track]:
        """All live tracks, nearest first, extrapolated to ``t_ns`` if given."""
        if t_ns is not None:
            self._expire(t_ns)
        snaps = [f.snapshot(t_ns) for f in self._tracks]
        return sorted(snaps, key=lambda s: s.range_m)

    @_locked
    def lead(self, t_ns: int | None = None, *, min_range_m: float = -math.inf) -> Track | None:
        """The nearest confirmed track at or beyond ``min_range_m`` (None if there is none)."""
        for t in self.tracks(t_ns):
            if t.confirmed and t.range_m >= min_range_m:
                return t
        return None

    @_locked
    def track(self, track_id: int, t_ns: int | None = None) -> Track | None:
        for f in self._tracks:
            if f.id == track_id:
                return f.snapshot(t_ns)
        return None

    def live_predict(self, track: Track, t_ns: int) -> tuple[float, float]:
        """(range m, speed m/s) of ``track``'s vehicle at ``t_ns`` from the tracker's *live*
        estimate: the tracker keeps fusing readings during a burst, and a vehicle braking
        towards the booth is ~1.6 m short of a constant-speed extrapolation from a snapshot a
        second old (rear_seat scenario).  The snapshot stands in once the track is gone."""
        live = self.track(track.id)
        return (live if live is not None else track).predict(t_ns)
