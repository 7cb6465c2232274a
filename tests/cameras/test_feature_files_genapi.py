"""User sets and feature files on GenApi itself (the ``genicam`` wheel), and through Harvesters.

The pylon emulator has ``UserSetSelector`` (only ``Default``) and a ``UserSetLoad`` that changes
nothing, and no ``UserSetSave`` or startup node.  So the user-set API also runs on a small
GenICam description loaded into GenApi behind an in-memory port (tests/data/genapi): GenApi
decides what is writable (``UserSetSave`` is locked on the factory set), the port stores and
restores the registers as a camera would.  Harvesters on viky.cti covers the other binding.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from emulated_cameras import VIKY_SERIALS
from genicam import genapi

from lanecam.devices.cameras.feature_file import parse_feature_file
from lanecam.devices.cameras.feature_load import load_feature_file
from lanecam.devices.cameras.feature_save import feature_file_text
from lanecam.devices.cameras.harvesters import HarvestersCamera, viky_cti
from lanecam.devices.cameras.node_text import GenapiNodeText, NodeText
from lanecam.devices.cameras.user_sets import UserSets
from lanecam.errors import LimitError

XML = Path(__file__).resolve().parents[1] / "data" / "genapi" / "user_sets_camera.xml"
LIVE = [(0x10, 4), (0x100, 8)]  # Gain, LUTValueAll: what a user set holds
SELECTOR, LOAD, SAVE = 0x20, 0x24, 0x28


class UserSetPort(genapi.AbstractPort):  # type: ignore[misc]
    """Registers in memory; UserSetSave/Load copy the live registers to/from the selected set."""

    def __init__(self) -> None:
        super().__init__()
        self.mem = bytearray(0x200)
        self.sets: dict[int, bytes] = {}

    def is_open(self) -> bool:
        return True

    def get_access_mode(self) -> int:
        return int(genapi.EAccessMode.RW)

    def read(self, address: int, length: int) -> bytes:
        return bytes(self.mem[address:address + length])

    def _live(self) -> bytes:
        return b"".join(self.mem[a:a + n] for a, n in LIVE)

    def write(self, address: int, value: bytes) -> None:
        self.mem[address:address + len(value)] = value
        chosen = int.from_bytes(self.mem[SELECTOR:SELECTOR + 4], "little")
        if address == SAVE:
            self.sets[chosen] = self._live()
        elif address == LOAD:
            stored = self.sets.get(chosen, bytes(sum(n for _, n in LIVE)))  # factory: zeros
            at = 0
            for a, n in LIVE:
                self.mem[a:a + n] = stored[at:at + n]
                at += n


@pytest.fixture
def nodes() -> Iterator[NodeText]:
    nm = genapi.NodeMap()
    nm.load_xml_from_file(str(XML))
    port = UserSetPort()
    nm.connect(port, "Device")
    yield GenapiNodeText(nm, genapi, "xml:user-sets")
    nm.disconnect()


def test_user_sets_select_load_save_and_startup_on_genapi(nodes: NodeText) -> None:
    loads: list[int] = []

    @contextmanager
    def session(what: str) -> Iterator[NodeText]:
        yield nodes

    sets = UserSets(session, lambda: loads.append(1))
    assert sets.names() == ("Default", "UserSet1", "UserSet2")
    nodes.set("Gain", "77")
    with pytest.raises(LimitError) as err:
        sets.save("Default")  # GenApi: UserSetSave is locked on the factory set
    assert err.value.allowed == ["UserSet1", "UserSet2"] and err.value.key == "user_set"
    assert nodes.get("UserSetSelector") == "Default"  # probing put the selector back
    sets.save("UserSet1")
    nodes.set("Gain", "5")
    sets.load("UserSet1")
    assert nodes.get("Gain") == "77" and sets.selected() == "UserSet1" and loads == [1]
    sets.load("Default")
    assert nodes.get("Gain") == "0"
    sets.set_startup("UserSet1")
    assert sets.startup() == "UserSet1"
    with pytest.raises(LimitError):
        sets.set_startup("UserSet9")


def test_registers_round_trip_through_a_feature_file_on_genapi(nodes: NodeText) -> None:
    nodes.set("LUTValueAll", "0x0102030405060708")
    nodes.set("Gain", "12")
    text, report = feature_file_text(nodes)
    assert "LUTValueAll\t0x0102030405060708" in text and report.keys == 2
    nodes.set("LUTValueAll", "0x0000000000000000")
    nodes.set("Gain", "0")
    loaded = load_feature_file(nodes, parse_feature_file(text))
    assert loaded.complete and nodes.get("LUTValueAll") == "0x0102030405060708"
    short = text.replace("0x0102030405060708", "0x0102")
    checked = load_feature_file(nodes, parse_feature_file(short), dry_run=True)
    assert [(p.name, p.kind) for p in checked.problems] == [("LUTValueAll", "wrong_length")]


@pytest.mark.emulator
def test_feature_files_through_harvesters_on_viky(tmp_path: Path) -> None:
    a = HarvestersCamera(VIKY_SERIALS[0], cti=viky_cti())
    b = HarvestersCamera(VIKY_SERIALS[1], cti=viky_cti())
    with a, b:
        a.configure({"width": 320})
        saved = a.save_settings(tmp_path / "viky.pfs")
        ff = parse_feature_file((tmp_path / "viky.pfs").read_bytes())
        assert ff.device is not None and ff.device.model == "Viky" and saved.keys >= 5
        assert ("ChunkSelector" in {e.name for e in ff.entries}) == any(
            e.name == "ChunkEnable" for e in ff.entries)
        report = b.load_settings(tmp_path / "viky.pfs")
        assert report.applied and report.complete
        assert b.get("width") == 320
        assert b.settings_text()[0].split("\n", 3)[3] == a.settings_text()[0].split("\n", 3)[3]
