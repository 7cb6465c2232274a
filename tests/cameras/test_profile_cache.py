"""Profiles are parsed once per process (issue 13): opening a camera again reads no TOML, and
an edited profile file is read again."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from emulated_cameras import PYLON_SERIALS

import lanecam.devices.cameras.profile as camera_profile
import lanecam.devices.illuminators.profile as illuminator_profile
import lanecam.devices.rotators.profile as rotator_profile
from lanecam.devices.cameras.profile import builtin_profile_dir, load_profiles
from lanecam.devices.cameras.pylon import PylonCamera
from lanecam.devices.illuminators import load_illuminator_profile
from lanecam.devices.profiles.cache import clear_profile_cache
from lanecam.devices.rotators import load_rotator_profile


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Every TOML file the profile loaders parse (the real parser, counted), from a cold cache."""
    counted: Counter[str] = Counter()
    clear_profile_cache()
    for module in (camera_profile, illuminator_profile, rotator_profile):
        real = module.read_toml

        def counting(path: Path, real: Any = real) -> dict[str, Any]:
            counted[Path(path).name] += 1
            return real(path)  # type: ignore[no-any-return]

        monkeypatch.setattr(module, "read_toml", counting)
    yield counted
    clear_profile_cache()


@pytest.mark.emulator
def test_reopening_a_pylon_camera_parses_no_profile_again(reads: Counter[str]) -> None:
    cam = PylonCamera(PYLON_SERIALS[0], device_class="BaslerCamEmu")
    seen = []
    for _ in range(5):
        with cam:
            seen.append(cam.profile)
    shipped = {p.name for p in builtin_profile_dir().glob("*.toml")}
    assert set(reads) == shipped and set(reads.values()) == {1}, reads  # once each, in 5 opens
    assert seen[0].name == "basler-camemu"
    assert all(p is seen[0] for p in seen)  # the same object: nothing re-built per open


def test_an_edited_profile_file_is_read_again(reads: Counter[str], tmp_path: Path) -> None:
    f = tmp_path / "acme.toml"
    f.write_text('[profile]\nname = "acme"\n[features]\ngain = { node = "Gain" }\n')
    first = load_profiles([tmp_path])["acme"]
    assert load_profiles([tmp_path])["acme"] is first and reads["acme.toml"] == 1
    load_profiles([tmp_path])["acme"] = first  # a caller's dict is its own copy
    st = f.stat()
    f.write_text('[profile]\nname = "acme"\n[features]\ngain = { node = "GainRaw" }\n')
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    again = load_profiles([tmp_path])["acme"]
    assert reads["acme.toml"] == 2 and again.feature("gain").node == "GainRaw"
    (tmp_path / "other.toml").write_text('[profile]\nname = "other"\n')
    assert set(load_profiles([tmp_path])) == {"acme", "other"}  # a new file is found


def test_illuminator_and_rotator_profiles_are_parsed_once(reads: Counter[str]) -> None:
    lamps = [load_illuminator_profile("gardasoft-rt") for _ in range(3)]
    mounts = [load_rotator_profile("thorlabs-ell14") for _ in range(3)]
    assert reads == {"gardasoft-rt.toml": 1, "thorlabs-ell14.toml": 1}
    assert all(p is lamps[0] for p in lamps) and all(p is mounts[0] for p in mounts)
