"""Numba compilation for lanecam's kernels, with the on-disk cache kept out of the package.

Numba's ``cache=True`` writes ``*.nbi``/``*.nbc`` files into ``__pycache__`` beside the source
by default.  Inside an installed package those files are not in the wheel's RECORD, so
``pip uninstall`` leaves them behind, and the left-over ``site-packages/lanecam/`` directory
(without ``__init__.py``) becomes a namespace package that shadows a later editable install.

Every kernel is therefore compiled through :func:`njit`, which caches into a per-user
directory instead (:func:`cache_status`):

1. ``$LANECAM_CACHE_DIR/numba`` when that variable is set;
2. else ``$XDG_CACHE_HOME/lanecam/numba``;
3. else ``~/.cache/lanecam/numba``.

The directory is created on first use.  When it cannot be created or written (a read-only
home, a path under a file), kernels compile in memory on every start (slower start-up, same
results): one :class:`JitCacheWarning` says so, and :func:`cache_status` reports why.
``lanecam info`` prints the directory and its state.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numba
from numba.core import config as numba_config

__all__ = ["CACHE_ENV", "CacheStatus", "JitCacheWarning", "cache_root", "cache_status", "njit"]

log = logging.getLogger(__name__)

#: Environment variable that overrides lanecam's per-user cache root.
CACHE_ENV = "LANECAM_CACHE_DIR"

F = TypeVar("F", bound=Callable[..., Any])


class JitCacheWarning(UserWarning):
    """The kernel cache directory is unusable: kernels compile in memory at every start."""


@dataclass(frozen=True)
class CacheStatus:
    """Where compiled kernels are cached, and whether that works.

    ``path``: the Numba cache directory; ``usable``: it exists and is writable; ``reason``: why
    not (an OS error's text), None when usable; ``source``: which setting chose the path
    (``"LANECAM_CACHE_DIR"``, ``"XDG_CACHE_HOME"`` or ``"home"``).
    """

    path: Path
    usable: bool
    source: str
    reason: str | None = None


def cache_root() -> tuple[Path, str]:
    """lanecam's per-user cache root and which setting chose it (see the module docstring)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser(), CACHE_ENV
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and Path(xdg).is_absolute():  # the XDG spec: a relative value is to be ignored
        return Path(xdg) / "lanecam", "XDG_CACHE_HOME"
    return Path.home() / ".cache" / "lanecam", "home"


@functools.cache
def cache_status() -> CacheStatus:
    """The kernel cache directory, created and write-tested once per process."""
    root, source = cache_root()
    path = root / "numba"
    try:
        path.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError as exc:
        reason = f"{type(exc).__name__}: {exc.strerror or exc}"
        warnings.warn(
            f"lanecam kernel cache {path} is not usable ({reason}); kernels compile in memory "
            f"at every start. Set {CACHE_ENV} to a writable directory to cache them.",
            JitCacheWarning, stacklevel=3)
        log.warning("kernel cache %s not usable (%s): compiling in memory", path, reason)
        return CacheStatus(path, False, source, reason)
    return CacheStatus(path, True, source)


@contextlib.contextmanager
def _numba_cache_dir(path: Path) -> Iterator[None]:
    """Point Numba's cache locator at ``path`` while a kernel is decorated.

    Numba picks a function's cache directory when ``cache=True`` is applied (at decoration),
    from ``numba.config.CACHE_DIR``; setting it only around our own decorations leaves the
    host application's Numba functions where they were."""
    old = numba_config.CACHE_DIR
    numba_config.CACHE_DIR = str(path)
    try:
        yield
    finally:
        numba_config.CACHE_DIR = old


def njit(*args: Any, cache: bool = False, **options: Any) -> Any:
    """:func:`numba.njit` whose ``cache=True`` caches into :func:`cache_status`'s directory
    (or compiles in memory, warned once, when that directory is unusable).

    Used exactly like ``numba.njit``: ``@njit(nogil=True, cache=True)``."""
    if args and callable(args[0]) and not options and len(args) == 1:
        return njit(cache=cache)(args[0])

    def decorate(fn: F) -> F:
        if not cache:
            return numba.njit(*args, **options)(fn)  # type: ignore[no-any-return]
        status = cache_status()
        if not status.usable:
            return numba.njit(*args, cache=False, **options)(fn)  # type: ignore[no-any-return]
        with _numba_cache_dir(status.path):
            return numba.njit(*args, cache=True, **options)(fn)  # type: ignore[no-any-return]

    return decorate
