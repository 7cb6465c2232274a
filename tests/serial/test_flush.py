"""Readings buffered before a consumer starts are dropped by flush(), not stamped 'now'."""

from __future__ import annotations

import time

from lanecam.devices.fakes import BenewakeFake
from lanecam.devices.sensors import TF02_PRO, BenewakeLidar
from lanecam.devices.serial_link import SerialLink


def test_flush_discards_the_backlog() -> None:
    with BenewakeFake("TF02-Pro") as fake:
        fake.set_target(12.0)
        lidar = BenewakeLidar(SerialLink(fake.port, timeout=0.5), model=TF02_PRO,
                              frame_rate_hz=100)
        with lidar:
            time.sleep(0.3)  # ~30 frames pile up unread
            before = lidar.link.counters.garbage_bytes
            lidar.flush()
            dropped = lidar.link.counters.garbage_bytes - before
            assert dropped >= 9 * 10  # at least ten whole frames were waiting
            assert abs(lidar.read(1.0).range_m - 12.0) < 0.05  # the stream goes on
