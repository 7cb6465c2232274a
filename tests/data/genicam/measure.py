"""Measure the real GenICam XMLs listed in ``xmls.toml`` into ``measured/*.json``.

The XMLs are vendor files without a licence to redistribute them, so they are not in this
repository: fetch the repositories ``xmls.toml`` names at the commits it gives and point this
script at the folder holding the files (one folder; names as in ``xmls.toml``)::

    python tests/data/genicam/measure.py /path/to/xmls

Each JSON holds, per node name a profile may use (plus a few alternates later work needs), what
GenApi reports on the seeded register image: type, access, unit, enum entries and constant
ranges (``lanecam.devices.cameras.xml_check.measure``).  No XML text is kept.  The tests check
every profile against these facts; with ``LANECAM_GENICAM_XML_DIR`` set they also re-measure.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

from lanecam.devices.cameras import load_profiles
from lanecam.devices.cameras.xml_check import measure

HERE = Path(__file__).parent
#: nodes recorded besides those the shipped profiles name: the alternates families use
ALTERNATES = (
    "ExposureTime", "ExposureTimeAbs", "ExposureTimeRaw", "Gain", "GainRaw", "GainAbs",
    "PtpEnable", "GevIEEE1588", "PtpMode", "LineDebouncerTime", "LineDebouncerTimeAbs",
    "LineFilterWidth", "BslInputFilterTime", "SyncInGlitchFilter", "ActionSelector",
    "AcquisitionBurstFrameCount", "AcquisitionFrameCount", "TimestampLatch",
    "TimestampLatchValue", "GevTimestampControlLatch", "GevTimestampValue",
    "GevTimestampTickFrequency", "DeviceTimestampLatch", "DeviceTimestamp", "LineMode",
    "SyncOutSelector", "SyncOutSource", "SequenceEnable", "SequencerMode", "ChunkModeActive",
    "ChunkSelector", "GevSCPSPacketSize", "GevSCPD", "DeviceLinkThroughputLimit",
)


def node_names() -> set[str]:
    names = {f.node for p in load_profiles().values() for f in p.features.values()}
    return names | set(ALTERNATES)


def main(xml_dir: Path) -> int:
    manifest = tomllib.loads((HERE / "xmls.toml").read_text(encoding="utf-8"))["xml"]
    out = HERE / "measured"
    out.mkdir(exist_ok=True)
    names = node_names()
    for stem in sorted({Path(row["file"]).stem for row in manifest}):
        facts = measure(xml_dir / f"{stem}.xml", names)
        doc = facts.to_json()
        doc["origin"] = f"{stem}.xml"
        (out / f"{stem}.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n",
                                          encoding="utf-8")
        print(f"{stem}: {len(facts.nodes)} nodes")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
