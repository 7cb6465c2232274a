"""Feature files and user sets on a camera: the thin public methods.

:class:`FeatureFilesMixin` gives every camera with a GenICam node map (the pylon and
Harvesters backends, through :class:`~lanecam.devices.cameras.genicam_nodes.GenicamNodeHooks`)
``load_settings``, ``save_settings`` and ``user_sets``.  The logic lives in
:mod:`.feature_file` (the format), :mod:`.feature_load`, :mod:`.feature_save` and
:mod:`.user_sets`; here the camera's lock is held, the camera must be open and not streaming
(pylon cannot write locked features then, and silently leaves them out of a saved file), and
lanecam's own view of the camera is brought up to date afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, cast

from ...errors import DeviceError, UnsupportedFeatureError
from .feature_file import FeatureFile, read_feature_file, write_feature_file
from .feature_load import LoadReport, load_feature_file
from .feature_save import SaveReport, feature_file_text
from .node_text import NodeText
from .user_sets import UserSets

if TYPE_CHECKING:
    from .camera import Camera

__all__ = ["FeatureFilesMixin"]

log = logging.getLogger(__name__)


class FeatureFilesMixin:
    """``.pfs`` feature files and user sets for a :class:`~lanecam.devices.cameras.Camera`."""

    def _do_node_text(self) -> NodeText:
        """Text access to every node of the open camera (backends with a node map)."""
        cam = self._as_camera()
        raise UnsupportedFeatureError("this camera backend has no GenICam node map",
                                      device=cam._name_for_errors(), feature="feature_file")

    def _as_camera(self) -> Camera:
        return cast("Camera", self)

    @contextmanager
    def _node_session(self, what: str) -> Iterator[NodeText]:
        cam = self._as_camera()
        with cam._lock:
            cam._require_open()
            if cam.is_armed:
                raise DeviceError("disarm the camera first: streaming locks features",
                                  device=cam.id, feature=what)
            yield self._do_node_text()

    def load_settings(self, source: str | Path | FeatureFile, *, dry_run: bool = False,
                      any_model: bool = False, strict: bool = False) -> LoadReport:
        """Apply a pylon feature file (``.pfs``) all-or-nothing; see
        :mod:`~lanecam.devices.cameras.feature_load`.

        The file is parsed before the camera is touched (FeatureFileError names a bad line).
        Keys the camera lacks or would refuse are listed in the report and not written
        (``strict``: the load is refused instead); a file for another camera description
        raises ModelMismatchError unless ``any_model``.  Settings lanecam configured earlier
        and the file overwrote are no longer restored by :meth:`reconnect`."""
        ff = source if isinstance(source, FeatureFile) else read_feature_file(source)
        path = None if isinstance(source, FeatureFile) else str(source)
        cam = self._as_camera()
        with self._node_session("load_settings") as nodes:
            report = load_feature_file(nodes, ff, path=path, dry_run=dry_run,
                                       any_model=any_model, strict=strict)
            if report.applied:
                self._forget_overwritten({w.name for w in report.writes})
                cam._refresh_meta_cache()
                log.info("%s: loaded %d key(s) from %s (%d not written)", cam.id,
                         len(report.writes), path or "a feature file", len(report.problems))
            return report

    def _forget_overwritten(self, nodes: set[str]) -> None:
        cam = self._as_camera()
        for name in list(cam._applied):
            fmap = cam.profile.feature(name)
            if fmap is not None and fmap.node in nodes:
                del cam._applied[name]

    def settings_text(self, *, crlf: bool = False) -> tuple[str, SaveReport]:
        """The camera's settings as feature-file text (see :meth:`save_settings`)."""
        with self._node_session("save_settings") as nodes:
            return feature_file_text(nodes, crlf=crlf)

    def save_settings(self, path: str | Path, *, crlf: bool = False) -> SaveReport:
        """Write the camera's persisted settings to a ``.pfs`` that pylon Viewer, pypylon and
        :meth:`load_settings` read; ``crlf`` for Windows line ends."""
        text, report = self.settings_text(crlf=crlf)
        write_feature_file(path, text)
        return replace(report, path=str(path))

    @property
    def user_sets(self) -> UserSets:
        """``UserSetSelector``/``Load``/``Save`` and the startup set (``UserSetDefault``)."""
        return UserSets(self._node_session, self._after_user_set_load)

    def _after_user_set_load(self) -> None:
        cam = self._as_camera()
        with cam._lock:
            cam._applied.clear()  # the set replaced them: reconnect must not bring them back
            cam._refresh_meta_cache()
