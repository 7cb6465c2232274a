"""pylon feature files (``.pfs``): GenApi's persistence format, read and written as text.

No camera here: this module turns bytes into :class:`FeatureFile` entries and back.  The
format, as GenApi writes and reads it (``GenApi/Persistence.h``, CFeatureBag):

* line 1 holds the magic GUID ``{05D8C294-F295-4dfb-9D01-096BD04049F4}`` (anywhere in the line:
  real files carry a trailing space after it);
* ``#`` lines are comments; the header comments say the GenApi version and describe the device
  (``# Device = Basler::GigECamera -- <tooltip> -- Device version = 3.4.0 -- Product GUID =
  <guid> -- Product version GUID = <guid>``: the vendor and model of the camera's GenICam
  description, not the camera's model name);
* every other line is ``Name<TAB>Value``.  Selector state is written in sequence (GenApi ≤ 3.1:
  ``TriggerSelector<TAB>FrameStart`` then ``TriggerMode<TAB>On``), or in braces on the line
  (GenApi 3.5, pylon 8 and later: ``TriggerMode<TAB>{TriggerSelector=FrameStart}<TAB>On``,
  nested selectors separated by a tab inside the braces:
  ``ColorTransformationValue<TAB>{ColorTransformationSelector=RGBtoRGB<TAB>
  ColorTransformationValueSelector=Gain00}<TAB>1.43750``); a name repeats once per selector
  value;
* lines end in LF or CRLF; a register (``LUTValueAll``) is one hex line of 30 KB or more;
  pylon 8 writes an empty string as ``GENICAM_EMPTY_STRING`` (and refuses a line with no value);
  pylon 7 writes nothing after the tab: read as the empty string too.

Malformed input raises :class:`FeatureFileError` (a :class:`~lanecam.errors.ConfigError`) whose
``line`` and ``reason`` say where and what; callers decide on those fields, never on the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ...errors import ConfigError, StorageError

__all__ = [
    "EMPTY_STRING",
    "MAGIC",
    "MAX_FILE_BYTES",
    "MAX_LINE_CHARS",
    "DeviceDescription",
    "Entry",
    "FeatureFile",
    "FeatureFileError",
    "format_feature_file",
    "parse_feature_file",
    "read_feature_file",
    "write_feature_file",
]

#: GENAPI_PERSISTENCE_MAGIC: a GenApi feature stream has it in its first line.
MAGIC = "{05D8C294-F295-4dfb-9D01-096BD04049F4}"
#: How pylon (GenApi 3.5) writes an empty string value; GenApi refuses an empty value.
EMPTY_STRING = "GENICAM_EMPTY_STRING"
#: Longest line read: LUTs of real cameras take 32,783 characters; this leaves room for 12-bit
#: LUTs of 4-byte entries and refuses what no camera writes.
MAX_LINE_CHARS = 1 << 20
#: Largest file read (real files are 3-40 KB).
MAX_FILE_BYTES = 16 << 20
#: GenApi's reader skips comment lines with ``istream::ignore(1024, '\n')``: a longer comment
#: would be read as data by pylon, so lanecam never writes one.
MAX_COMMENT_CHARS = 1023

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_PAIR = r"[A-Za-z_][A-Za-z0-9_]*=[^{}\t=,]+"
_INLINE = re.compile(rf"\{{({_PAIR}(?:\t{_PAIR})*)\}}\t(.*)\Z", re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_VERSION = re.compile(r"GenApi persistence file \(version ([0-9][0-9.]*)\)")
_DEVICE = re.compile(r"Device = (?P<vendor>[^:\s]+)::(?P<model>\S+)(?P<rest>.*)\Z")

#: Why a file was refused (:attr:`FeatureFileError.reason`).
REASONS = ("empty", "too_large", "binary", "encoding", "no_magic", "too_long", "no_tab",
           "bad_name", "bad_selector", "empty_value")


class FeatureFileError(ConfigError):
    """A feature file is malformed.  ``line`` (1-based, ``None`` for the whole file) and
    ``reason`` (one of :data:`REASONS`) say where and what; ``feature`` names the key when the
    line had one.  ``key`` is ``"line N"``."""

    def __init__(self, message: str, *, reason: str, line: int | None,
                 feature: str | None = None, path: str | None = None) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown reason {reason!r}; one of {REASONS}")
        self.reason = reason
        self.line = line
        self.path = path
        where = f"line {line}" if line is not None else "file"
        super().__init__(message, key=where if path is None else f"{path}:{where}",
                         feature=feature)


@dataclass(frozen=True)
class DeviceDescription:
    """Which GenICam description a node map (or a file's header) belongs to.

    ``vendor``/``model`` are the description's names (``Basler``/``GigECamera`` for every ace
    classic GigE); ``version_guid`` changes with the camera model and firmware, so a file is
    "for this camera" only when all three of vendor, model and both GUIDs agree."""

    vendor: str
    model: str
    tooltip: str = ""
    version: str = ""
    product_guid: str = ""
    version_guid: str = ""

    def info_line(self) -> str:
        """The header comment GenApi writes (without the leading ``# ``)."""
        return (f"Device = {self.vendor}::{self.model} -- {self.tooltip} -- Device version = "
                f"{self.version} -- Product GUID = {self.product_guid} -- Product version GUID"
                f" = {self.version_guid}")

    @classmethod
    def parse(cls, text: str) -> DeviceDescription | None:
        """The description in a ``Device = ...`` header comment, or None if it is not one."""
        m = _DEVICE.match(text.strip())
        if m is None:
            return None
        parts = [p.strip() for p in m["rest"].split(" -- ")]
        fields = {"tooltip": "", "version": "", "product_guid": "", "version_guid": ""}
        for p in parts[1:]:
            for label, key in (("Device version = ", "version"),
                               ("Product GUID = ", "product_guid"),
                               ("Product version GUID = ", "version_guid")):
                if p.startswith(label):
                    fields[key] = p[len(label):].strip()
                    break
            else:
                if not fields["tooltip"]:
                    fields["tooltip"] = p
        return cls(m["vendor"], m["model"], **fields)

    def differences(self, other: DeviceDescription) -> tuple[str, ...]:
        """Which of vendor, model, product_guid, version_guid differ (GUIDs case-blind)."""
        out = [f for f in ("vendor", "model") if getattr(self, f) != getattr(other, f)]
        out += [f for f in ("product_guid", "version_guid")
                if getattr(self, f).lower() != getattr(other, f).lower()]
        return tuple(out)


@dataclass(frozen=True)
class Entry:
    """One ``Name<TAB>Value`` line.  ``selectors`` are the braced ``(name, value)`` pairs of a
    GenApi 3.5 line, outer first (empty for a line written in sequence); ``line`` is 1-based
    (0: not from a file).  ``value`` is the text as written (trailing spaces kept; the camera
    layer normalises it)."""

    name: str
    value: str
    line: int = 0
    selectors: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class FeatureFile:
    """A parsed feature file: its entries in file order and what its header says."""

    entries: tuple[Entry, ...]
    device: DeviceDescription | None = None
    genapi_version: str | None = None
    comments: tuple[str, ...] = ()
    crlf: bool = False


def _decode(data: bytes, path: str | None) -> str:
    if not data:
        raise FeatureFileError("empty file", reason="empty", line=1, path=path)
    if len(data) > MAX_FILE_BYTES:
        raise FeatureFileError(f"larger than {MAX_FILE_BYTES} bytes", reason="too_large",
                               line=None, path=path)
    nul = data.find(b"\x00")
    if nul >= 0:
        raise FeatureFileError("binary data (NUL byte)", reason="binary",
                               line=data.count(b"\n", 0, nul) + 1, path=path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FeatureFileError("not UTF-8 text", reason="encoding",
                               line=data.count(b"\n", 0, exc.start) + 1, path=path) from None


def _entry(text: str, n: int, path: str | None) -> Entry:
    name, tab, rest = text.partition("\t")
    if not tab:
        raise FeatureFileError("no tab between name and value", reason="no_tab", line=n,
                               path=path)
    if not _NAME.match(name) or len(name) > 1023:
        raise FeatureFileError("not a GenICam feature name", reason="bad_name", line=n,
                               path=path)
    selectors: tuple[tuple[str, str], ...] = ()
    if rest.startswith("{") and "}\t" in rest:
        m = _INLINE.match(rest)
        if m is None:  # pylon ignores braces it cannot read and writes the value anyway
            raise FeatureFileError("selectors must be {Name=Value<TAB>Name=Value}",
                                   reason="bad_selector", line=n, feature=name, path=path)
        pairs = [p.partition("=") for p in m[1].split("\t")]
        selectors, rest = tuple((k, v.strip()) for k, _, v in pairs), m[2]
    # pylon 8 writes an empty string as GENICAM_EMPTY_STRING, but pylon 7 (pypylon 4.0's
    # FeaturePersistence.Save) leaves the value empty: a real file, read as the empty string
    return Entry(name, rest if rest else EMPTY_STRING, n, selectors)


def parse_feature_file(data: bytes | str, *, path: str | None = None) -> FeatureFile:
    """Parse a feature file; :class:`FeatureFileError` names the first bad line."""
    text = _decode(data, path) if isinstance(data, bytes) else data
    if not text:
        raise FeatureFileError("empty file", reason="empty", line=1, path=path)
    lines = text.split("\n")
    crlf = lines[0].endswith("\r")
    entries: list[Entry] = []
    comments: list[str] = []
    device: DeviceDescription | None = None
    version: str | None = None
    for n, raw in enumerate(lines, 1):
        line = raw.removesuffix("\r")
        if len(line) > MAX_LINE_CHARS:
            raise FeatureFileError(f"line longer than {MAX_LINE_CHARS} characters",
                                   reason="too_long", line=n, path=path)
        if _CONTROL.search(line):
            raise FeatureFileError("control character in line", reason="binary", line=n,
                                   path=path)
        if n == 1:
            if MAGIC not in line:
                raise FeatureFileError("not a GenApi feature stream (no magic GUID in line 1)",
                                       reason="no_magic", line=1, path=path)
            continue
        if line.startswith("#"):
            body = line[1:].strip()
            comments.append(body)
            if not entries:  # the header: GenApi version and device description
                m = _VERSION.search(body)
                version = m[1] if m and version is None else version
                device = device or DeviceDescription.parse(body)
            continue
        if not line.strip():  # pylon skips blank lines (and a file's trailing newline)
            continue
        entries.append(_entry(line, n, path))
    return FeatureFile(tuple(entries), device, version, tuple(comments), crlf)


def read_feature_file(path: str | Path) -> FeatureFile:
    """Read and parse a ``.pfs`` file (ConfigError if it cannot be read)."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read feature file: {exc.strerror}", key=str(p)) from exc
    return parse_feature_file(data, path=str(p))


def _check_text(text: str, what: str, name: str) -> None:
    if _CONTROL.search(text) or "\t" in text:
        raise ConfigError(f"{what} holds a tab or control character; the format cannot carry "
                          "it", key=name)


def format_feature_file(entries: tuple[Entry, ...] | list[Entry],
                        device: DeviceDescription | None, *, genapi_version: str = "3.1.0",
                        comments: tuple[str, ...] = (), crlf: bool = False) -> str:
    """Entries as a feature file, selector state in sequence (every GenApi reads that form).

    An empty string value is written as ``GENICAM_EMPTY_STRING`` for GenApi ≥ 3.5 (pylon 8),
    as nothing for older GenApi (pylon 7 reads the marker as text); a name that is no GenICam
    name, a value with a tab or newline, a braced selector or a comment pylon would misread
    raise ConfigError."""
    head = [f"# {MAGIC}", f"# GenApi persistence file (version {genapi_version})"]
    if device is not None:
        head.append(f"# {device.info_line()}")
    head += [f"# {c}" for c in comments]
    for h in head:
        _check_text(h, "a comment", "<header>")
        if len(h) - 2 > MAX_COMMENT_CHARS:
            raise ConfigError(f"comment longer than {MAX_COMMENT_CHARS} characters",
                              key="<header>")
    body = []
    empty = EMPTY_STRING if _version_tuple(genapi_version) >= (3, 5) else ""
    for e in entries:
        if not _NAME.match(e.name) or e.selectors:
            raise ConfigError("not a GenICam feature name (or a braced selector)", key=e.name)
        value = e.value if e.value not in ("", EMPTY_STRING) else empty
        _check_text(value, "value", e.name)
        body.append(f"{e.name}\t{value}")
    nl = "\r\n" if crlf else "\n"
    return nl.join(head + body) + nl


def _version_tuple(text: str) -> tuple[int, ...]:
    """``"3.1.0"`` → (3, 1, 0); an unreadable version counts as the newest format."""
    try:
        return tuple(int(x) for x in text.split("."))
    except ValueError:
        return (99,)


def write_feature_file(path: str | Path, text: str) -> None:
    """Write a formatted feature file as given (no newline translation); StorageError if the
    file cannot be written."""
    p = Path(path)
    try:
        with p.open("w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    except OSError as exc:
        raise StorageError(f"cannot write feature file: {exc.strerror}", key=str(p)) from exc
