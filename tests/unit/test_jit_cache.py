"""Numba's on-disk cache lives in a per-user directory, never inside the installed package (a
pip uninstall leaves untracked files there, and the left-over folder shadows a later editable
install); an unusable directory degrades to in-memory compilation with one warning."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import lanecam
from lanecam import jit

PACKAGE = Path(lanecam.__file__).parent

#: Compiles one small cached kernel, then decorates every quality kernel, and reports.
SCRIPT = """
import json, warnings
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as seen:
    import numpy as np
    from lanecam.sim.image_sensor import splitmix64
    import lanecam.quality.kernels, lanecam.quality.polarization  # many cached decorations
    value = int(splitmix64(np.uint64(1)))
from lanecam.jit import JitCacheWarning, cache_status
st = cache_status()
print(json.dumps({"value": value, "usable": st.usable, "path": str(st.path),
                  "source": st.source, "reason": st.reason,
                  "warnings": sum(issubclass(w.category, JitCacheWarning) for w in seen)}))
"""


def _run(env_extra: dict[str, str], *args: str, code: str = SCRIPT) -> dict:  # type: ignore[type-arg]
    env = {k: v for k, v in os.environ.items() if k not in (jit.CACHE_ENV, "XDG_CACHE_HOME")}
    env.update(env_extra)
    r = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True,
                       text=True, timeout=240)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _numba_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.suffix in (".nbi", ".nbc")]


def test_kernels_cache_into_the_user_directory_and_not_the_package(tmp_path: Path) -> None:
    before = set(_numba_files(PACKAGE))
    out = _run({jit.CACHE_ENV: str(tmp_path / "c")})
    assert out["usable"] and out["warnings"] == 0 and out["source"] == jit.CACHE_ENV
    assert Path(out["path"]) == tmp_path / "c" / "numba"
    cached = _numba_files(tmp_path / "c")
    assert any(p.name.startswith("image_sensor.splitmix64") for p in cached), cached
    assert set(_numba_files(PACKAGE)) == before == set()
    again = _run({jit.CACHE_ENV: str(tmp_path / "c")})  # a second process loads, same result
    assert again["value"] == out["value"]


def test_an_unusable_cache_directory_compiles_in_memory_with_one_warning(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")  # as root, chmod cannot make a directory read-only
    out = _run({jit.CACHE_ENV: str(blocker / "cache")})
    assert not out["usable"] and out["warnings"] == 1
    assert out["reason"].startswith(("NotADirectoryError", "FileExistsError"))
    ok = _run({jit.CACHE_ENV: str(tmp_path / "fine")})
    assert out["value"] == ok["value"]  # same kernel, same answer, compiled in memory
    assert _numba_files(tmp_path) == _numba_files(tmp_path / "fine")


def test_cache_root_follows_the_xdg_rules(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(jit.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert jit.cache_root() == (tmp_path / "lanecam", "XDG_CACHE_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")  # the spec: ignore a relative path
    assert jit.cache_root() == (Path.home() / ".cache" / "lanecam", "home")
    monkeypatch.setenv(jit.CACHE_ENV, str(tmp_path / "mine"))
    assert jit.cache_root() == (tmp_path / "mine", jit.CACHE_ENV)


def test_decorating_leaves_the_host_applications_numba_cache_setting_alone() -> None:
    from numba.core import config

    before = config.CACHE_DIR

    @jit.njit(cache=True)
    def plus_one(x: int) -> int:
        return x + 1

    assert config.CACHE_DIR == before
    assert plus_one(1) == 2


def test_lanecam_info_reports_the_cache_directory(tmp_path: Path) -> None:
    code = "import sys; from lanecam.cli import main; sys.exit(main(sys.argv[1:]))"
    env = {k: v for k, v in os.environ.items() if k != jit.CACHE_ENV}
    env[jit.CACHE_ENV] = str(tmp_path / "k")
    r = subprocess.run([sys.executable, "-c", code, "info", "--json"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["kernel_cache"]["path"] == str(tmp_path / "k" / "numba")
    assert data["kernel_cache"]["usable"] is True
    assert data["dependencies"]["numba"] and data["lanecam"] == lanecam.__version__
    v = subprocess.run([sys.executable, "-c", code, "--version"], env=env, capture_output=True,
                       text=True, timeout=120)
    assert v.returncode == 0 and v.stdout.strip() == f"lanecam {lanecam.__version__}"
