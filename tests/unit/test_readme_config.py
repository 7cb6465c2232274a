"""The lane configuration shown in the README is valid as printed."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from lanecam.config import parse_lane_config

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_lane_config_parses_and_validates() -> None:
    blocks = re.findall(r"```toml\n(.*?)```", README.read_text(), flags=re.S)
    lane = [b for b in blocks if "[lane]" in b]
    assert len(lane) == 1
    text = "\n".join(line[3:] if line.startswith("   ") else line
                     for line in lane[0].splitlines())
    cfg = parse_lane_config(tomllib.loads(text))
    assert cfg.control.exposure and cfg.control.malus_probe
    assert cfg.cameras[0].rotator is not None and cfg.cameras[0].rotator.model == "thorlabs-ell14"
    assert cfg.illuminator is not None and cfg.illuminator.model == "gardasoft-rt"
