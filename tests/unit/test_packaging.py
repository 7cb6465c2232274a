"""Shipped firmware profiles: found through the one lookup, loaded by their kind's loader, and
inside a built (non-editable) wheel under the package, where an installed copy finds them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from lanecam.cli import shipped_profile_titles
from lanecam.devices.profiles import KINDS, PROFILE_PACKAGE, profile_dir, shipped_profiles

REPO = Path(__file__).parents[2]
SOURCE = REPO / "firmware_profiles"


def _source_profiles() -> dict[str, list[str]]:
    return {kind: sorted(p.stem for p in (SOURCE / kind).glob("*.toml")) for kind in KINDS}


def test_there_is_a_folder_per_kind() -> None:
    assert sorted(p.name for p in SOURCE.iterdir() if p.is_dir() and p.name in KINDS) == \
        sorted(KINDS)
    src = _source_profiles()
    assert src["cameras"] and src["illuminators"] and src["rotators"]


def test_the_lookup_finds_every_shipped_profile_and_loads_it() -> None:
    src = _source_profiles()
    titles = shipped_profile_titles()  # loads every profile through its kind's loader
    for kind in KINDS:
        assert sorted(shipped_profiles(kind)) == src[kind], kind
        assert sorted(titles[kind]) == src[kind], kind
        for path in shipped_profiles(kind).values():
            assert path.parent == profile_dir(kind)


def test_declared_packages_are_every_package_under_lanecam() -> None:
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {".".join(p.parent.relative_to(REPO).parts)
             for p in (REPO / "lanecam").rglob("__init__.py")}
    assert set(declared["packages"]) == found | {PROFILE_PACKAGE}
    assert declared["package-dir"] == {PROFILE_PACKAGE: "firmware_profiles"}


def _build_wheel(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("lanecam", "firmware_profiles"):
        shutil.copytree(REPO / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    out = tmp_path / "dist"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps",
                        "--no-build-isolation", "--no-index", "-q", "-w", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    (wheel,) = out.glob("lanecam-*.whl")
    return wheel


def test_a_wheel_ships_every_profile_of_every_kind_and_an_install_finds_them(
        tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "lanecam/firmware_profiles/__init__.py" in names
    for kind, stems in _source_profiles().items():
        for stem in stems:
            assert f"lanecam/firmware_profiles/{kind}/{stem}.toml" in names, (kind, stem)
    assert not any(n.startswith("firmware_profiles/") for n in names)  # no top-level package

    site = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q",
                        "--target", str(site), str(wheel)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    env = {**os.environ, "PYTHONPATH": str(site)}
    r = subprocess.run([sys.executable, "-m", "lanecam.cli", "profiles", "--json"], cwd=tmp_path,
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    listed = json.loads(r.stdout)
    for kind, stems in _source_profiles().items():
        assert Path(listed[kind]["dir"]).is_relative_to(site / "lanecam"), listed[kind]["dir"]
        assert sorted(listed[kind]["profiles"]) == stems


def test_profiles_command_lists_every_kind() -> None:
    r = subprocess.run([sys.executable, "-m", "lanecam.cli", "profiles"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    for kind in KINDS:
        assert f"{kind} (" in r.stdout
    for stems in _source_profiles().values():
        for stem in stems:
            assert stem in r.stdout


def test_an_unknown_kind_is_a_config_error() -> None:
    from lanecam.errors import ConfigError

    with pytest.raises(ConfigError) as exc:
        profile_dir("lasers")
    assert exc.value.key == "kind" and "cameras" in exc.value.allowed
