"""``lanecam calibrate apply``: merge procedure fragments into a lane config.

Tables merge key by key; ``[[cameras]]`` entries (and any array of tables whose entries carry a
``name``) merge by name; a scalar replaces the old value.  The merged document keeps the lane
file's comments and layout (tomlkit), is validated with :func:`lanecam.config.parse_lane_config`
before anything is written, and is written atomically, the old file kept as ``lane.toml.bak``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError


@dataclass(frozen=True)
class Change:
    """One value the merge sets: ``path`` such as ``cameras[cam0].height_m``; ``old`` is
    None for a key the lane config did not have."""

    path: str
    old: Any
    new: Any
    source: str

    def __str__(self) -> str:
        old = "(unset)" if self.old is None else repr(self.old)
        return f"{self.path}: {old} -> {self.new!r}   [{self.source}]"


def _unwrap(v: Any) -> Any:
    return v.unwrap() if hasattr(v, "unwrap") else v


def _merge_table(dst: Any, src: Mapping[str, Any], path: str, source: str,
                 changes: list[Change]) -> None:
    import tomlkit

    for key, new in src.items():
        here = f"{path}.{key}" if path else key
        if isinstance(new, Mapping):
            if key not in dst:
                dst[key] = tomlkit.table()
            elif not isinstance(_unwrap(dst[key]), dict):
                raise ConfigError("fragment gives a table where the lane config has a value",
                                  key=here)
            _merge_table(dst[key], new, here, source, changes)
        elif isinstance(new, list) and new and all(isinstance(x, Mapping) for x in new):
            _merge_named(dst, key, new, here, source, changes)
        else:
            old = _unwrap(dst[key]) if key in dst else None
            if old != new:
                dst[key] = new
                changes.append(Change(here, old, new, source))


def _merge_named(dst: Any, key: str, entries: Sequence[Mapping[str, Any]], path: str,
                 source: str, changes: list[Change]) -> None:
    """Array of tables merged by each entry's ``name`` (a fragment names every entry)."""
    if key not in dst:
        raise ConfigError("fragment names entries the lane config does not have", key=path)
    existing = dst[key]
    by_name = {str(_unwrap(t).get("name")): t for t in existing}
    for entry in entries:
        name = entry.get("name")
        if name is None:
            raise ConfigError("a fragment's array entry must carry a name", key=path)
        if str(name) not in by_name:
            raise ConfigError("fragment names an entry the lane config does not have",
                              key=f"{path}[{name}]")
        rest = {k: v for k, v in entry.items() if k != "name"}
        _merge_table(by_name[str(name)], rest, f"{path}[{name}]", source, changes)


def load_fragments(directory: str | Path) -> list[tuple[str, dict[str, Any]]]:
    """Every ``KIND.toml`` in ``directory`` (sorted), parsed; a malformed one is a ConfigError."""
    import tomllib

    d = Path(directory)
    if not d.is_dir():
        raise ConfigError("no such calibration directory", key=str(d))
    out = []
    for p in sorted(d.glob("*.toml")):
        try:
            out.append((p.stem, tomllib.loads(p.read_text(encoding="utf-8"))))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"fragment is not valid TOML: {exc}", key=str(p)) from exc
    if not out:
        raise ConfigError("no fragment (KIND.toml) in the calibration directory", key=str(d))
    return out


def merge_fragments(lane_text: str, fragments: Sequence[tuple[str, Mapping[str, Any]]]
                    ) -> tuple[str, list[Change]]:
    """The lane config text with every fragment merged, and the changes in order.  The result
    is validated as a lane config (ConfigError if the merge made it invalid)."""
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    from ..config import parse_lane_config

    try:
        doc = tomlkit.parse(lane_text)
    except TOMLKitError as exc:
        raise ConfigError(f"lane config is not valid TOML: {exc}", key="lane") from exc
    changes: list[Change] = []
    for source, frag in fragments:
        _merge_table(doc, frag, "", source, changes)
    text = tomlkit.dumps(doc)
    parse_lane_config(tomlkit.parse(text).unwrap())
    return text, changes


def apply_fragments(directory: str | Path, lane_toml: str | Path, *, dry_run: bool = False
                    ) -> list[Change]:
    """Merge every fragment of ``directory`` into ``lane_toml``; unless ``dry_run``, write it
    (the previous file kept as ``<name>.bak``).  Returns the changes (empty: nothing written)."""
    lane = Path(lane_toml)
    try:
        text = lane.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read lane config: {exc.strerror}", key=str(lane)) from exc
    merged, changes = merge_fragments(text, load_fragments(directory))
    if changes and not dry_run:
        shutil.copy2(lane, lane.with_name(lane.name + ".bak"))
        tmp = lane.with_name(lane.name + ".tmp")
        tmp.write_text(merged, encoding="utf-8")
        os.replace(tmp, lane)
    return changes
