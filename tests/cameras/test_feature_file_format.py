"""The .pfs format without a camera: real files, the structures they hold, and a fuzzed parser.

Every refusal is a FeatureFileError (a ConfigError) judged on ``reason``/``line``/``feature``,
never on its message.  Real and synthetic files: tests/data/pfs/SOURCES.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lanecam.devices.cameras.feature_check import ValueRejected, canonical_value, parse_int
from lanecam.devices.cameras.feature_file import (
    EMPTY_STRING,
    MAGIC,
    MAX_LINE_CHARS,
    DeviceDescription,
    Entry,
    FeatureFileError,
    format_feature_file,
    parse_feature_file,
    read_feature_file,
)
from lanecam.devices.cameras.node_text import NodeFacts, NodeKind
from lanecam.errors import ConfigError

DATA = Path(__file__).resolve().parents[1] / "data" / "pfs"
REAL_GIGE = DATA / "basler_ace_gige_node-camera-admin.pfs"
SEQ_CRLF = DATA / "synthetic_usb_sequential_crlf.pfs"
INLINE = DATA / "synthetic_usb_inline_nested.pfs"
HEAD = f"# {MAGIC}\n"


def test_real_ace_gige_file_crlf_trailing_space_repeated_keys_and_a_32_kb_lut() -> None:
    raw = REAL_GIGE.read_bytes()
    assert raw.splitlines()[0].endswith(b"} ") and b"\r\n" in raw  # as found: CRLF, trailing sp
    ff = read_feature_file(REAL_GIGE)
    assert ff.crlf and ff.genapi_version == "2.3.1"
    assert ff.device == DeviceDescription(
        "Basler", "GigECamera", "Basler generic GigEVision camera interface", "3.4.0",
        "1F3C6A72-7842-4edd-9130-E2E90A2058BA", "77AA03A8-3227-4A2C-9408-976006E8209B")
    names = [e.name for e in ff.entries]
    assert names.count("GainRaw") == 3 and names.count("LineSelector") > 10
    lut = next(e for e in ff.entries if e.name == "LUTValueAll")
    assert len(lut.value) > 30_000 and not lut.value.endswith("\r")
    assert all(not e.selectors for e in ff.entries)  # GenApi 2.3: selector state in sequence
    assert ff.entries[0] == Entry("GainAuto", "Off", 4)


def test_genapi_35_braces_with_nested_selectors_separated_by_a_tab() -> None:
    ff = read_feature_file(INLINE)
    ctv = [e for e in ff.entries if e.name == "ColorTransformationValue"]
    assert ctv[1].selectors == (("ColorTransformationSelector", "RGBtoRGB"),
                                ("ColorTransformationValueSelector", "Gain01"))
    assert ctv[1].value == "-0.25000"
    lut = next(e for e in ff.entries if e.name == "LUTValueAll")
    assert lut.selectors == (("LUTSelector", "Luminance"),) and len(lut.value) == 32770
    assert not ff.crlf and ff.genapi_version == "3.5.0"


def test_sequential_crlf_file_parses_to_the_keys_of_the_braced_one() -> None:
    seq, inl = read_feature_file(SEQ_CRLF), read_feature_file(INLINE)
    assert seq.crlf and seq.device == inl.device
    only_braced = {e.name for e in inl.entries} - {e.name for e in seq.entries}
    assert only_braced == {"DeviceUserID", "UserOutputValueAll"}


@pytest.mark.parametrize(("text", "reason", "line"), [
    ("", "empty", 1),
    ("Width\t640\n", "no_magic", 1),
    (HEAD + "Width 640\n", "no_tab", 2),
    (HEAD + "# c\n\nWi dth\t640\n", "bad_name", 4),
    (HEAD + "9Width\t640\n", "bad_name", 2),
    (HEAD + "TriggerMode\t{TriggerSelector=FrameEnd, LineSelector=Line1}\tOn\n", "bad_selector", 2),
    (HEAD + "TriggerMode\t{TriggerSelector}\tOn\n", "bad_selector", 2),
    (HEAD + "Width\t6\x0140\n", "binary", 2),
    (HEAD + "Width\t640\rHeight\t480\n", "binary", 2),
])
def test_malformed_lines_name_their_line_and_reason(text: str, reason: str, line: int) -> None:
    with pytest.raises(FeatureFileError) as err:
        parse_feature_file(text.encode())
    assert (err.value.reason, err.value.line) == (reason, line)
    assert isinstance(err.value, ConfigError) and err.value.key == f"line {line}"


def test_an_empty_value_as_pylon_7_writes_it_reads_as_the_empty_string() -> None:
    """pypylon 4.0's FeaturePersistence.Save writes ``ImageFilename<TAB>`` and nothing else."""
    entries = parse_feature_file((HEAD + "ImageFilename\t\r\nWidth\t640\n").encode()).entries
    assert [(e.name, e.value, e.line) for e in entries] == [
        ("ImageFilename", "GENICAM_EMPTY_STRING", 2), ("Width", "640", 3)]


def test_binary_junk_and_bad_utf8_and_huge_lines() -> None:
    with pytest.raises(FeatureFileError) as err:
        parse_feature_file(HEAD.encode() + b"Width\t640\n\x00\x01\x02")
    assert (err.value.reason, err.value.line) == ("binary", 3)
    with pytest.raises(FeatureFileError) as err:
        parse_feature_file(HEAD.encode() + b"DeviceUserID\tcam\xe9ra\n")
    assert (err.value.reason, err.value.line) == ("encoding", 2)
    huge = HEAD + "LUTValueAll\t0x" + "0" * MAX_LINE_CHARS + "\n"
    with pytest.raises(FeatureFileError) as err:
        parse_feature_file(huge.encode())
    assert (err.value.reason, err.value.line) == ("too_long", 2)


def test_blank_lines_comments_and_the_empty_string_token() -> None:
    ff = parse_feature_file((HEAD + "# GenApi persistence file (version 3.1.0)\n\nWidth\t640  \n"
                             "# a later comment\nDeviceUserID\t" + EMPTY_STRING + "\n\n").encode())
    assert [(e.name, e.value, e.line) for e in ff.entries] == [
        ("Width", "640  ", 4), ("DeviceUserID", EMPTY_STRING, 6)]
    assert ff.device is None and ff.comments[-1] == "a later comment"


# ---------------------------------------------------------------- writer
names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,40}", fullmatch=True)
values = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=60)
entries = st.lists(st.builds(Entry, names, values), max_size=30)
device = st.builds(DeviceDescription, names, names, st.just("a tooltip"), st.just("1.0.0"),
                   st.uuids().map(str), st.uuids().map(str))


@given(entries, st.one_of(st.none(), device), st.booleans())
def test_what_the_writer_writes_the_reader_reads_back(es: list[Entry],
                                                      dev: DeviceDescription | None,
                                                      crlf: bool) -> None:
    text = format_feature_file(es, dev, crlf=crlf)
    ff = parse_feature_file(text.encode())
    assert [(e.name, e.value) for e in ff.entries] == [
        (e.name, e.value if e.value else EMPTY_STRING) for e in es]
    assert ff.device == dev and ff.crlf == crlf
    assert all(len(line) <= 1024 for line in text.splitlines() if line.startswith("#"))


@pytest.mark.parametrize("entry", [Entry("Width", "6\n40"), Entry("Bad Name", "1"),
                                   Entry("DeviceUserID", "a\tb"),
                                   Entry("Gain", "1", selectors=(("GainSelector", "All"),))])
def test_the_writer_refuses_what_pylon_would_misread(entry: Entry) -> None:
    with pytest.raises(ConfigError):
        format_feature_file([entry], None)


# ---------------------------------------------------------------- fuzz
lines = st.one_of(
    st.text(max_size=80),
    st.builds(lambda n, v: f"{n}\t{v}", names, values),
    st.builds(lambda n, s, v: f"{n}\t{{{s}}}\t{v}", names, st.text(max_size=20), values),
    st.just("#" + "x" * 2000), st.just(""), st.just("\t"), st.just("{\t}"),
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(lines, max_size=20), st.booleans(), st.booleans())
@example(["Width\t640"], False, False)
def test_fuzzed_text_parses_or_raises_a_located_feature_file_error(body: list[str],
                                                                   header: bool,
                                                                   crlf: bool) -> None:
    nl = "\r\n" if crlf else "\n"
    text = (HEAD.rstrip("\n") + nl if header else "") + nl.join(body)
    try:
        ff = parse_feature_file(text.encode("utf-8", "surrogatepass"))
    except FeatureFileError as exc:
        assert exc.reason and (exc.line is None or exc.line >= 1)
        return
    assert header
    for e in ff.entries:
        assert e.value and "\t" not in e.name and "\n" not in e.value


@settings(max_examples=300)
@given(st.binary(max_size=400))
def test_fuzzed_bytes_parse_or_raise_a_feature_file_error(data: bytes) -> None:
    try:
        parse_feature_file(HEAD.encode() + data)
    except FeatureFileError as exc:
        assert exc.reason in ("binary", "encoding", "no_tab", "bad_name", "bad_selector",
                              "empty_value", "too_long")
        assert exc.line is not None and exc.line >= 2


# ---------------------------------------------------------------- values
def facts(kind: NodeKind, **kw: object) -> NodeFacts:
    return NodeFacts("N", kind, True, readable=True, writable=True, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("f", "text", "want"), [
    (facts(NodeKind.INT, minimum=0, maximum=4096, increment=4), "0640", "640"),
    (facts(NodeKind.INT, minimum=0, maximum=4096, increment=1), "0x0", "0"),
    (facts(NodeKind.INT, minimum=0, maximum=4096, increment=1), " 512 ", "512"),
    (facts(NodeKind.FLOAT, minimum=0.0, maximum=48.0), "-0.00000", "-0.0"),
    (facts(NodeKind.FLOAT, minimum=0.0, maximum=48.0), "1.500e+00", "1.5"),
    (facts(NodeKind.BOOL), "true", "1"),
    (facts(NodeKind.ENUM, entries=("On", "Off"), available_entries=("On", "Off")), "Off ", "Off"),
    (facts(NodeKind.STRING, max_length=16), EMPTY_STRING, ""),
    (facts(NodeKind.STRING, max_length=16), " cam 1 ", " cam 1 "),
    (facts(NodeKind.REGISTER, length=2), "0x00ff", "0x00ff"),
])
def test_values_are_normalised_to_what_is_written(f: NodeFacts, text: str, want: str) -> None:
    assert canonical_value(f, text) == want


@pytest.mark.parametrize(("f", "text", "kind"), [
    (facts(NodeKind.INT, minimum=0, maximum=4096, increment=4), "642", "off_increment"),
    (facts(NodeKind.INT, minimum=0, maximum=4096, increment=4), "4100", "out_of_range"),
    (facts(NodeKind.INT, minimum=0, maximum=9, increment=1, valid_values=(1, 2, 4)), "3",
     "not_listed"),
    (facts(NodeKind.INT, minimum=0, maximum=9, increment=1), "1.0", "bad_value"),
    (facts(NodeKind.FLOAT, minimum=0.0, maximum=48.0), "nan", "bad_value"),
    (facts(NodeKind.FLOAT, minimum=0.0, maximum=48.0), "48.1", "out_of_range"),
    (facts(NodeKind.BOOL), "True", "bad_value"),  # GenApi refuses it too
    (facts(NodeKind.BOOL), "Off", "bad_value"),   # pypylon issue #376
    (facts(NodeKind.ENUM, entries=("On", "Off"), available_entries=("Off",)), "On",
     "entry_unavailable"),
    (facts(NodeKind.ENUM, entries=("On", "Off"), available_entries=("On", "Off")), "0",
     "unknown_entry"),
    (facts(NodeKind.STRING, max_length=3), "abcd", "too_long"),
    (facts(NodeKind.REGISTER, length=2), "0x00", "wrong_length"),
    (facts(NodeKind.COMMAND), "1", "not_a_value"),
])
def test_refused_values_say_why(f: NodeFacts, text: str, kind: str) -> None:
    with pytest.raises(ValueRejected) as err:
        canonical_value(f, text)
    assert err.value.kind == kind


@given(st.integers(-(2 ** 63), 2 ** 63 - 1))
def test_integers_in_decimal_and_hex(v: int) -> None:
    assert parse_int(str(v)) == v
    if v >= 0:
        assert parse_int(hex(v)) == v
