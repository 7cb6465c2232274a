"""The lane's crop service over real mutual TLS on a free port, over a real vault: only the
pinned client gets pixels (no certificate → 401, another certificate of the site CA → 403,
a certificate of another CA → no TLS at all); a read is audited in the lane's vault with the
officer as the reader; decisions, metadata and paged audit rows; typed errors at the client;
nothing identifying in the URL, the headers or the service's log."""

from __future__ import annotations

import http.client
import json
import logging
import os
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lanecam.config import CropApiConfig, parse_lane_config
from lanecam.console.config import ConsoleLane
from lanecam.console.lanes import LaneClient, LaneClients
from lanecam.errors import ConfigError, LaneUnavailableError, StorageError
from lanecam.publish.cropapi import CropService
from lanecam.publish.simlane import sim_crop
from lanecam.store import CaptureVault, MasterKey
from lanecam.store.decisions import decisions_of
from lanecam.testing.mosquitto import free_port
from lanecam.testing.pki import TestCA

pytestmark = pytest.mark.timeout(60)
DOCS = Path(__file__).parents[2] / "lanecam" / "sim" / "assets" / "documents"


@dataclass
class Lane:
    vault: CaptureVault
    service: CropService
    ca: TestCA
    client: tuple[Path, Path]
    record: str
    crop: np.ndarray

    def lane(self, client: tuple[Path, Path] | None = None) -> ConsoleLane:
        c = client or self.client
        return ConsoleLane("n1", f"https://127.0.0.1:{self.service.port}",
                           str(self.ca.cert_path), str(c[0]), str(c[1]))


@pytest.fixture
def lane(tmp_path: Path) -> Iterator[Lane]:
    ca = TestCA(tmp_path / "pki")
    crt, key = ca.issue("n1", server=True)
    client = ca.issue("console", server=False)
    cfg = CropApiConfig(str(crt), str(key), str(client[0]), port=free_port(),
                        client_ca=str(ca.cert_path), documents=str(DOCS))
    with CaptureVault(tmp_path / "vault", MasterKey(os.urandom(32), "t"), 3600) as vault:
        crop = sim_crop("obama")
        rid = vault.write(crop, {"traveler": "obama", "lane": "n1"})
        service = CropService(cfg, vault).start()
        try:
            yield Lane(vault, service, ca, client, rid, crop)
        finally:
            service.close()


def raw_post(lane: Lane, path: str, body: dict[str, Any],
             cert: tuple[Path, Path] | None) -> tuple[int, dict[str, str], bytes]:
    ctx = ssl.create_default_context(cafile=str(lane.ca.cert_path))
    if cert is not None:
        ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    conn = http.client.HTTPSConnection("127.0.0.1", lane.service.port, context=ctx, timeout=5)
    try:
        conn.request("POST", path, json.dumps(body).encode(),
                     {"Content-Type": "application/json"})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def test_only_the_pinned_client_gets_pixels(lane: Lane, tmp_path: Path) -> None:
    body = {"record": lane.record, "officer": "officer-9"}
    status, headers, data = raw_post(lane, "/v1/crop", body, None)
    assert status == 401 and json.loads(data)["error"] == "no_client_certificate"
    assert b"\x89PNG" not in data and headers["cache-control"] == "no-store"
    other = lane.ca.issue("laptop", server=False)  # the site CA's, but not the pinned one
    status, headers, data = raw_post(lane, "/v1/crop", body, other)
    assert status == 403 and b"\x89PNG" not in data
    for path in ("/v1/audit", "/v1/meta", "/v1/decision"):
        assert raw_post(lane, path, {**body, "limit": 5}, other)[0] == 403
    foreign = TestCA(tmp_path / "elsewhere").issue("console", server=False)
    with pytest.raises(LaneUnavailableError) as e:  # another CA: the handshake fails
        LaneClient(lane.lane(foreign)).crop_png(lane.record, "officer-9")
    assert e.value.feature in ("tls", "down")
    assert [r["action"] for r in lane.vault.audit_rows()] == ["write"]  # nobody read it
    assert lane.service.counts["error_401"] == 1 and lane.service.counts["error_403"] == 4

    status, headers, data = raw_post(lane, "/v1/crop", body, lane.client)
    assert status == 200 and headers["content-type"] == "image/png"
    assert headers["cache-control"] == "no-store" and data.startswith(b"\x89PNG")


def test_a_console_read_is_audited_in_the_lane_vault_with_the_officer(
        lane: Lane, caplog: pytest.LogCaptureFixture) -> None:
    import cv2

    caplog.set_level(logging.DEBUG)
    c = LaneClient(lane.lane())
    png = c.crop_png(lane.record, "officer-9")
    img = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(img, lane.crop)
    reads = [r for r in lane.vault.audit_rows() if r["action"] == "read"]
    assert [(r["record_id"], r["actor"]) for r in reads] == [(lane.record, "officer-9")]
    doc = c.document(lane.record)
    assert doc is not None and doc[1] == "image/jpeg" and doc[0][:3] == b"\xff\xd8\xff"
    c.decide(lane.record, "officer-9", "recapture", "glare", "ev-1.0")
    [d] = decisions_of(lane.vault, lane.record)
    assert d["actor"] == "officer-9" and d["detail"]["decision"] == "recapture"
    with pytest.raises(ConfigError) as e:  # the lane refuses it; nothing is written
        c.decide(lane.record, "officer-9", "maybe", "", "ev-1.0")
    assert e.value.key == "decision"
    assert c.call("/v1/meta", {"record": lane.record})[0] == json.dumps(
        {"record": lane.record, "meta": {"lane": "n1", "traveler": "obama"}}).encode()
    # privacy: the service logs method, path and status; no id, no officer, no pixels
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "POST /v1/crop" in logged
    assert lane.record not in logged and "officer-9" not in logged and "PNG" not in logged


def test_the_audit_is_read_newest_first_in_pages(lane: Lane) -> None:
    for i in range(7):
        lane.vault.note(lane.record, f"officer-{i}", "decision", {"decision": "confirmed"})
    c = LaneClient(lane.lane())
    first = c.audit_page(3)
    assert [r["seq"] for r in first] == [8, 7, 6]
    assert [r["seq"] for r in c.audit_page(3, before=6)] == [5, 4, 3]
    assert [r["seq"] for r in c.audit_page(10, before=3)] == [2, 1]
    assert all(set(r) == {"seq", "ts", "action", "record_id", "actor", "detail", "mac"}
               for r in first)
    assert lane.vault.audit_page(3) == lane.vault.audit_rows()[::-1][:3]


def test_missing_purged_and_down_are_typed(lane: Lane) -> None:
    clients = LaneClients((lane.lane(),))
    with pytest.raises(StorageError) as e:
        clients.crop_png("n1", "0" * 32, "officer-9")
    assert e.value.feature == "missing"
    lane.vault.purge(lane.record, "test", "asked")
    with pytest.raises(StorageError) as e:
        clients.crop_png("n1", lane.record, "officer-9")
    assert e.value.feature == "purged"
    with pytest.raises(ConfigError) as e:  # a record id that is no id: refused
        clients.crop_png("n1", "../x", "officer-9")
    assert e.value.key == "record"
    assert clients.unavailable["n1"] == 0
    lane.service.close()
    with pytest.raises(LaneUnavailableError) as e:
        clients.crop_png("n1", lane.record, "officer-9")
    assert e.value.feature == "down" and clients.unavailable["n1"] == 1
    rows, down = clients.audit()
    assert rows == [] and down == ["n1"] and clients.last_error["n1"] == "down"


def test_a_lane_config_takes_a_crop_api_table() -> None:
    base = {"lane": {"id": "n1"}, "cameras": [{"name": "c0", "device": "sim"}]}
    api = {"tls_cert": "l.crt", "tls_key": "l.key", "client_cert": "console.crt"}
    cfg = parse_lane_config({**base, "vault": {"root": "v", "key_env": "K"}, "crop_api": api})
    assert cfg.crop_api is not None and cfg.crop_api.port == 8444
    with pytest.raises(ConfigError) as e:
        parse_lane_config({**base, "crop_api": api})  # nothing to serve
    assert e.value.key == "crop_api"
    with pytest.raises(ConfigError) as e:
        parse_lane_config({**base, "vault": {"root": "v", "key_env": "K"},
                           "crop_api": {**api, "port": "x"}})
    assert e.value.key == "crop_api.port"


def test_privacy_scan_over_the_crop_services_answers_and_log(
        lane: Lane, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Pixels only in the body of the pinned client's crop fetch; every answer no-store; no
    record id, officer or pixel in any header or log line."""
    caplog.set_level(logging.DEBUG)
    other = lane.ca.issue("laptop", server=False)
    body = {"record": lane.record, "officer": "officer-9", "limit": 50,
            "decision": "confirmed", "reason": "", "referral": "ev-2.0"}
    answers = [(cert, path, raw_post(lane, path, body, cert))
               for cert in (None, other, lane.client)
               for path in ("/v1/crop", "/v1/document", "/v1/meta", "/v1/decision",
                            "/v1/audit", "/v1/nothing")]
    answers.append((lane.client, "/v1/crop", raw_post(lane, "/v1/crop",
                                                      {"record": "0" * 32, "officer": "o"},
                                                      lane.client)))
    rows = [lane.crop[i, :16].tobytes() for i in range(40, 120, 13)]
    pixels = 0
    for cert, path, (status, headers, data) in answers:
        assert headers["cache-control"] == "no-store", (path, status)
        assert headers["x-content-type-options"] == "nosniff"
        head = json.dumps(headers).encode()
        assert lane.record.encode() not in head and b"officer-9" not in head
        image = data.startswith((b"\x89PNG", b"\xff\xd8\xff"))
        if image:
            assert cert == lane.client and path in ("/v1/crop", "/v1/document") and \
                status == 200
            pixels += path == "/v1/crop"
        else:
            for row in rows:
                assert row not in data and row.hex().encode() not in data
    assert pixels == 1
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert lane.record not in logged and "officer-9" not in logged and "ev-2.0" not in logged


def test_a_flood_of_idle_connections_is_cut_off_and_the_service_recovers(lane: Lane) -> None:
    import socket
    import time

    from lanecam.publish.cropapi import MAX_CONNECTIONS

    idle = [socket.create_connection(("127.0.0.1", lane.service.port))
            for _ in range(MAX_CONNECTIONS)]  # each holds a slot in its TLS handshake
    try:
        c = LaneClient(lane.lane())
        end = time.monotonic() + 5
        while lane.service._server.slots._value > 0:  # type: ignore[attr-defined]
            assert time.monotonic() < end, "the idle connections were not all taken up"
            time.sleep(0.01)
        with pytest.raises(LaneUnavailableError):
            c.crop_png(lane.record, "officer-9")
        assert lane.service.counts["busy"] == 1
    finally:
        for s in idle:
            s.close()
    end = time.monotonic() + 5
    while True:  # the slots come back as the idle handshakes fail
        try:
            assert c.crop_png(lane.record, "officer-9").startswith(b"\x89PNG")
            break
        except LaneUnavailableError:
            assert time.monotonic() < end
            time.sleep(0.05)
