"""Simulator test fixtures; small renders (scale option) keep the suite quick on 2 cores."""

from __future__ import annotations

import pytest
from sim_helpers import simple_world

from lanecam.sim import World


@pytest.fixture
def world() -> World:
    return simple_world()
