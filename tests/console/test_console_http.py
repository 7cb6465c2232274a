"""The console over real HTTPS (uvicorn, TLS from the config) with a real broker and two
simulated lanes in two processes: roles, CSRF, single-use image handles, ``no-store``,
audited reads and decisions, and the privacy scan over every non-image response."""

from __future__ import annotations

import re
import ssl
import threading
import time
from typing import Any

import httpx
import pytest
from console_site import PASSWORD, Site, csrf_of

from lanecam.publish.simlane import SIM_TRAVELERS, sim_crop

pytestmark = pytest.mark.timeout(90)


def client(site: Site) -> httpx.Client:
    return httpx.Client(base_url=site.url, verify=ssl.create_default_context(
        cafile=str(site.cert)), timeout=10,
                        follow_redirects=False)


def login(site: Site, user: str, password: str = PASSWORD) -> httpx.Client:
    c = client(site)
    form = c.get("/login")
    r = c.post("/login", data={"user": user, "password": password,
                               "csrf": csrf_of(form.text)})
    assert r.status_code == 303, (user, r.status_code)
    return c


def wait_state(c: httpx.Client, ok: Any, timeout_s: float = 15) -> dict[str, Any]:
    end = time.monotonic() + timeout_s
    while True:
        state = c.get("/api/state").json()
        if ok(state) or time.monotonic() > end:
            return state
        time.sleep(0.1)


class Live(threading.Thread):
    """Reads the server-sent events of one session into ``blob``."""

    def __init__(self, c: httpx.Client) -> None:
        super().__init__(daemon=True)
        self.c, self.blob, self.stop = c, bytearray(), threading.Event()

    def run(self) -> None:
        try:
            with self.c.stream("GET", "/live", timeout=30) as r:
                self.blob += r.headers["content-type"].encode() + b"\n"
                for chunk in r.iter_bytes():
                    self.blob += chunk
                    if self.stop.is_set():
                        return
        except httpx.HTTPError:  # the console stopped at the end of the module
            return


def test_logged_out_pages_redirect_and_https_is_required(site: Site) -> None:
    c = client(site)
    for path in ("/", "/audit", "/health", "/api/state", "/live", "/referrals/x.0",
                 "/image/abc"):
        r = c.get(path)
        assert r.status_code == 303 and r.headers["location"] == "/login", path
        assert r.headers["cache-control"] == "no-store"
        assert "script-src 'self';" in r.headers["content-security-policy"]
    with pytest.raises(httpx.HTTPError):  # the console speaks TLS only
        httpx.get(site.url.replace("https", "http") + "/login", timeout=5)
    r = c.post("/login", data={"user": "officer-1", "password": PASSWORD, "csrf": "forged"})
    assert r.status_code == 403  # no CSRF token, no log-in


def test_two_lanes_one_console_roles_audit_and_privacy(site: Site) -> None:
    sup, off1, off2 = login(site, "super-1"), login(site, "officer-1"), login(site, "officer-2")
    live = Live(login(site, "officer-1"))
    live.start()
    assert "drained 0" in site.emit("north-1", 0, 6, 3)
    assert "drained 0" in site.emit("south-1", 0, 4, 2)
    state = wait_state(sup, lambda s: len(s["lanes"]["north-1"]) == 6 and
                       len(s["lanes"]["south-1"]) == 4)
    assert {v["vehicle"] for v in state["lanes"]["south-1"]} == {f"south-1-{i}"
                                                                  for i in range(4)}
    assert len(state["referrals"]) == 2 + 2  # north-1: 0 and 3; south-1: 0 and 2
    mine = off1.get("/api/state").json()
    assert set(mine["lanes"]) == {"north-1"}
    assert {r["lane"] for r in mine["referrals"]} == {"north-1"}
    ref = mine["referrals"][0]["ref_id"]
    south = next(r["ref_id"] for r in state["referrals"] if r["lane"] == "south-1")
    assert off1.get(f"/referrals/{south}").status_code == 403  # not an assigned lane

    page = off1.get(f"/referrals/{ref}")
    assert page.status_code == 200
    handles = re.findall(r'src="/image/([A-Za-z0-9_-]+)"', page.text)
    assert len(handles) == 2  # the document photo and the crop
    doc, crop = (off1.get(f"/image/{h}") for h in handles)
    assert crop.headers["content-type"] == "image/png" and crop.content[:4] == b"\x89PNG"
    assert doc.headers["content-type"] == "image/jpeg"
    assert crop.headers["cache-control"] == "no-store"
    assert off1.get(f"/image/{handles[1]}").status_code == 404  # a handle works once
    assert off2.get(f"/referrals/{ref}").status_code == 403

    aud = login(site, "auditor-1")
    assert aud.get(f"/referrals/{ref}").status_code == 403
    assert aud.get("/live").status_code == 403
    h2 = re.findall(r'src="/image/([A-Za-z0-9_-]+)"', sup.get(f"/referrals/{ref}").text)
    assert aud.get(f"/image/{h2[1]}").status_code == 403  # auditors get no crop
    form = {"decision": "not_same_person", "reason": "different ear shape",
            "csrf": csrf_of(page.text)}
    assert off1.post(f"/referrals/{ref}/decision", data=dict(form, csrf="x")).status_code \
        == 403
    r = off1.post(f"/referrals/{ref}/decision", data=form)
    assert r.status_code == 303
    assert ref not in {x["ref_id"] for x in off1.get("/api/state").json()["referrals"]}
    audit = aud.get("/audit")
    assert audit.status_code == 200
    rows = re.findall(r'<tr class="a-(\w+)"><td>north-1</td>.*?</tr>', audit.text, re.DOTALL)
    assert "read" in rows and "decision" in rows
    assert re.search(r"<td>decision</td>\s*<td>[0-9a-f]{32}</td><td>officer-1</td>\s*"
                     r"<td>not_same_person: different ear shape</td>", audit.text)
    assert off1.get("/audit").status_code == 403
    health = aud.get("/health")
    assert health.status_code == 200 and "north-1" in health.text
    assert re.search(r'id="health-south-1">\s*<tr><th>Devices</th><td>sim-0</td>', health.text)
    assert "decision: 0.350 / 0.350 s" in health.text and "100.0 %" in health.text
    time.sleep(0.3)
    live.stop.set()

    # privacy: no pixels, no image bytes, no record id in any page, state or live update
    texts = [page.content, state_bytes(sup), bytes(live.blob), sup.get("/").content,
             health.content]
    assert bytes(live.blob).startswith(b"text/event-stream")
    assert b"referral" in bytes(live.blob) and b"south-1" not in bytes(live.blob)
    crops = [sim_crop(t) for t in SIM_TRAVELERS]
    for blob in texts:
        assert b"\x89PNG" not in blob and b"\xff\xd8\xff" not in blob
        assert not re.search(rb"[0-9a-f]{32}\b(?!\.)", blob.replace(ref.encode(), b""))
        for c in crops:
            for row in c[40:120:13]:
                assert row[:16].tobytes() not in blob and row[:16].tobytes().hex().encode() \
                    not in blob


def _referrals_of(c: httpx.Client, vehicles: set[str]) -> list[dict[str, Any]]:
    state = wait_state(c, lambda s: vehicles <= {r["vehicle"] for r in s["referrals"]})
    return [r for r in state["referrals"] if r["vehicle"] in vehicles]


def test_the_referral_queue_survives_a_console_restart(site: Site) -> None:
    assert "drained 0" in site.emit("north-1", 50, 3, 1)
    off1 = login(site, "officer-1")
    refs = _referrals_of(off1, {"north-1-50", "north-1-51", "north-1-52"})
    assert len(refs) == 3
    decided = refs[0]["ref_id"]
    page = off1.get(f"/referrals/{decided}")
    r = off1.post(f"/referrals/{decided}/decision", data={
        "decision": "confirmed", "reason": "", "csrf": csrf_of(page.text)})
    assert r.status_code == 303
    open_before = {x["ref_id"] for x in off1.get("/api/state").json()["referrals"]}
    assert decided not in open_before and {x["ref_id"] for x in refs[1:]} <= open_before

    site.restart_console()
    off1 = login(site, "officer-1")  # sessions are in memory: a new log-in
    open_after = {x["ref_id"] for x in off1.get("/api/state").json()["referrals"]}
    assert open_after == open_before  # loaded from the console's state_dir
    assert off1.get(f"/referrals/{decided}").status_code == 404
    assert "drained 0" in site.emit("north-1", 60, 1, 1)  # and it still hears the broker
    assert _referrals_of(off1, {"north-1-60"})


def test_a_lane_that_is_down_is_shown_unavailable_and_counted(site: Site) -> None:
    assert "drained 0" in site.emit("south-1", 70, 1, 1)
    assert "drained 0" in site.emit("north-1", 80, 1, 0)  # a crop write in north-1's audit
    sup = login(site, "super-1")
    ref = _referrals_of(sup, {"south-1-70"})[0]["ref_id"]
    page = sup.get(f"/referrals/{ref}")
    handles = re.findall(r'src="/image/([A-Za-z0-9_-]+)"', page.text)
    lane = site.serving.pop("south-1")  # the lane process ends: its crop service is gone
    assert lane.stdin is not None
    lane.stdin.close()
    assert lane.wait(timeout=20) == 0
    crop = sup.get(f"/image/{handles[1]}")
    assert crop.status_code == 503 and b"\x89PNG" not in crop.content
    assert crop.headers["cache-control"] == "no-store"
    r = sup.post(f"/referrals/{ref}/decision", data={
        "decision": "confirmed", "reason": "", "csrf": csrf_of(page.text)})
    assert r.status_code == 503  # not recorded anywhere: the referral stays open
    assert ref in {x["ref_id"] for x in sup.get("/api/state").json()["referrals"]}
    health = sup.get("/health").text
    assert re.search(r'id="health-south-1">.*?unavailable \(down\); failed calls: 2',
                     health, re.DOTALL)
    assert re.search(r'id="health-north-1">.*?ok; failed calls: 0', health, re.DOTALL)
    audit = sup.get("/audit")
    assert audit.status_code == 200 and 'id="down-south-1"' in audit.text
    assert '<td>north-1</td>' in audit.text  # the other lane's rows are still there
    assert site.console.poll() is None  # the console did not fall over


def state_bytes(c: httpx.Client) -> bytes:
    return c.get("/api/state").content


def test_five_wrong_passwords_lock_the_account(site: Site) -> None:
    c = client(site)
    for _ in range(5):
        r = c.post("/login", data={"user": "locked-1", "password": "wrong",
                                   "csrf": csrf_of(c.get("/login").text)})
        assert r.status_code == 401
    r = c.post("/login", data={"user": "locked-1", "password": PASSWORD,
                               "csrf": csrf_of(c.get("/login").text)})
    assert r.status_code == 401  # locked: even the right password does not log in
