"""Synthetic lane traffic and sensor readings for tracker/scheduler tests (seeded)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from lanecam.devices.sensors import LidarReading, LoopEdge, RadarReading

NS = 1_000_000_000


@dataclass(frozen=True)
class Vehicle:
    """Front at ``r0`` (m) at ``t0`` (s), approach speed ``v0`` (m/s), acceleration ``a``."""

    r0: float
    v0: float
    a: float = 0.0
    t0: float = 0.0
    length_m: float = 4.5

    def _dt(self, t: float) -> float:
        dt = t - self.t0
        if self.a < 0 and dt > -self.v0 / self.a:
            return -self.v0 / self.a  # stopped
        return dt

    def range_at(self, t: float) -> float:
        dt = self._dt(t)
        return self.r0 - (self.v0 * dt + 0.5 * self.a * dt * dt)

    def speed_at(self, t: float) -> float:
        return self.v0 + self.a * self._dt(t)

    def time_at(self, r: float) -> float | None:
        d = self.r0 - r
        if abs(self.a) < 1e-12:
            return self.t0 + d / self.v0
        disc = self.v0**2 + 2 * self.a * d
        if disc < 0:
            return None
        return self.t0 + (-self.v0 + math.sqrt(disc)) / self.a


@dataclass
class Sensors:
    lidar_hz: float = 100.0
    radar_hz: float = 20.0
    lidar_sigma: float = 0.05
    radar_sigma: float = 0.10
    lidar_range: tuple[float, float] = (2.0, 40.0)  # TF02-Pro-like, mounted at the camera
    radar_max_range: float = 60.0
    loop_position: float = 45.0
    loop_length: float = 2.0
    loop_jitter_s: float = 0.01  # detector response time spread (σ, s)
    radar_reports: int = 1  # objects per radar report (OPS243 On); > 1: lists, nearest first
    radar_ranges: bool = False  # an OPS243-C: ranges too
    radar_range_sigma: float = 0.15
    speed_bin: float = 0.121  # Doppler FFT bin at 20 ksps / 1024 samples: one peak per bin
    dropouts: list[tuple[str, float, float]] = field(default_factory=list)
    seed: int = 1

    def _dropped(self, sensor: str, t: float) -> bool:
        return any(s == sensor and a <= t < b for s, a, b in self.dropouts)

    def readings(self, vehicles: list[Vehicle], duration_s: float) -> list:  # type: ignore[type-arg]
        rng = np.random.default_rng(self.seed)
        out: list = []  # type: ignore[type-arg]
        lo, hi = self.lidar_range
        for k in range(int(duration_s * self.lidar_hz)):
            t = k / self.lidar_hz
            if self._dropped("lidar", t):
                continue
            visible = [v.range_at(t) for v in vehicles if lo <= v.range_at(t)]
            if not visible or min(visible) > hi:
                out.append(LidarReading(round(t * NS), 0.0, 20, 25.0, False, "lidar"))
                continue
            r = min(visible) + rng.normal(0, self.lidar_sigma)
            out.append(LidarReading(round(t * NS), round(r, 2), 1500, 25.0, True, "lidar"))
        for k in range(int(duration_s * self.radar_hz)):
            t = k / self.radar_hz + 0.003
            if self._dropped("radar", t):
                continue
            seen = [v for v in vehicles if 0 < v.range_at(t) <= self.radar_max_range
                    and v.speed_at(t) > 0.5]
            if not seen:
                continue
            seen.sort(key=lambda v: v.range_at(t))  # the strongest return is the nearest
            if self.radar_reports == 1 and not self.radar_ranges:
                v = seen[0]
                out.append(RadarReading(round(t * NS), round(
                    v.speed_at(t) + rng.normal(0, self.radar_sigma), 2), None, "radar"))
                continue
            seen = seen[:self.radar_reports]
            speeds: list[float] = []
            for v in seen:  # vehicles in one Doppler bin give one peak
                if all(abs(v.speed_at(t) - s) >= self.speed_bin for s in speeds):
                    speeds.append(v.speed_at(t))
            noisy = tuple(round(x + rng.normal(0, self.radar_sigma), 2) for x in speeds)
            ranges = tuple(round(v.range_at(t) + rng.normal(0, self.radar_range_sigma), 2)
                           for v in seen) if self.radar_ranges else ()
            out.append(RadarReading(round(t * NS), noisy[0], ranges[0] if ranges else None,
                                    "radar", noisy, ranges))
        for v in vehicles:
            enter = v.time_at(self.loop_position)
            leave = v.time_at(self.loop_position - self.loop_length - v.length_m)
            for when, present in ((enter, True), (leave, False)):
                if when is None or when < 0 or self._dropped("loop", when):
                    continue
                when += abs(rng.normal(0, self.loop_jitter_s))  # a detector only lags
                out.append(LoopEdge(round(when * NS), present, "loop"))
        out.sort(key=lambda r: r.t_ns)
        return out
