"""The officer console's web application (Starlette; pages rendered by Jinja2 on the server,
live updates by server-sent events).

Pages: ``/login``, ``/`` (per-lane live vehicles and the referral queue), ``/referrals/{id}``
(document photo beside the chosen crop, quality, score; the decision form), ``/audit``,
``/health``.  Roles: officers see their lanes' referrals and crops, supervisors all lanes,
auditors the audit log and lane health but no vehicle, referral or crop (403).  Every
response is ``Cache-Control: no-store``; every POST checks the CSRF token; images come only
through single-use per-session handles (:mod:`.auth`).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from ..errors import LanecamError, LaneUnavailableError
from ..store.decisions import DECISIONS
from .auth import Auth, Handle, Session
from .config import ConsoleConfig
from .lanes import LaneClients
from .queue import ReferralStore
from .state import ConsoleState

__all__ = ["ConsoleApp", "build_app"]

COOKIE = "lc_session"
AUDIT_ROWS = 300  # the audit page: the newest rows over every lane
PRE = "lc_pre"
_WORDS = {"confirmed": "Confirmed: same person", "not_same_person": "Not the same person",
          "recapture": "Re-capture needed", "unable_to_decide": "Unable to decide"}
_CSP = (b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        b"img-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
        b"base-uri 'none'")
_HEADERS = [(b"cache-control", b"no-store"), (b"pragma", b"no-cache"),
            (b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"), (b"content-security-policy", _CSP)]


class NoStore:
    """ASGI middleware: no response of the console may be cached or framed."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_no_store(msg: Any) -> None:
            if msg["type"] == "http.response.start":
                msg["headers"] = [h for h in msg.get("headers", [])
                                  if h[0].lower() != b"cache-control"] + _HEADERS
            await send(msg)

        await self.app(scope, receive, send_no_store)


class ConsoleApp:
    def __init__(self, cfg: ConsoleConfig, auth: Auth | None = None) -> None:
        from jinja2 import Environment, PackageLoader, select_autoescape

        self.cfg = cfg
        self.tls = cfg.server.tls_cert is not None
        s = cfg.server
        self.auth = auth or Auth(cfg.users, s.session_s, s.lockout_failures, s.lockout_s)
        self.state = ConsoleState([c.lane_id for c in cfg.lanes],
                                  store=ReferralStore(cfg.state_dir))
        self.remote = LaneClients(cfg.lanes)
        self.live_script = resources.files("lanecam.console").joinpath(
            "templates/live.js").read_bytes()
        self.jinja = Environment(loader=PackageLoader("lanecam.console", "templates"),
                                 autoescape=select_autoescape(default=True))

    # ------------------------------------------------------------------ helpers
    def page(self, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        ctx.setdefault("words", _WORDS)
        return HTMLResponse(self.jinja.get_template(name).render(**ctx), status_code=status)

    def session(self, request: Request) -> Session | None:
        return self.auth.session(request.cookies.get(COOKIE))

    def lanes_of(self, s: Session) -> frozenset[str] | None:
        """Lanes whose vehicles and referrals ``s`` may see (None: all)."""
        if s.user.role == "supervisor":
            return None
        return s.user.lanes if s.user.role == "officer" else frozenset()

    @staticmethod
    def to_login() -> RedirectResponse:
        return RedirectResponse("/login", status_code=303)

    @staticmethod
    def forbidden(text: str = "forbidden") -> Response:
        return Response(text, status_code=403, media_type="text/plain")

    @staticmethod
    def lane_down(lane_id: str, exc: LaneUnavailableError) -> Response:
        """The lane's crop service cannot be used now (counted; shown on /health)."""
        return Response(f"lane {lane_id} unavailable ({exc.feature}); try again later",
                        status_code=503, media_type="text/plain")

    # ------------------------------------------------------------------ login
    async def login_form(self, request: Request) -> Response:
        return self._login_page(401 if request.method == "POST" else 200, "")

    def _login_page(self, status: int, error: str) -> Response:
        pre = secrets.token_urlsafe(24)
        resp = self.page("login.html", status, csrf=pre, error=error)
        resp.set_cookie(PRE, pre, httponly=True, samesite="strict", secure=self.tls)
        return resp

    async def login(self, request: Request) -> Response:
        form = await request.form()
        pre = request.cookies.get(PRE)
        if not pre or not secrets.compare_digest(pre, str(form.get("csrf", ""))):
            return self.forbidden("CSRF token missing or wrong")
        s = await run_in_threadpool(self.auth.login, str(form.get("user", "")),
                                    str(form.get("password", "")))
        if s is None:
            return self._login_page(401, "Wrong user or password, or the account is locked.")
        resp = RedirectResponse("/", status_code=303)
        resp.set_cookie(COOKIE, s.token, httponly=True, samesite="strict", secure=self.tls)
        resp.delete_cookie(PRE)
        return resp

    async def logout(self, request: Request) -> Response:
        s = self.session(request)
        form = await request.form()
        if s is not None and not s.csrf_ok(str(form.get("csrf", ""))):
            return self.forbidden("CSRF token missing or wrong")
        self.auth.logout(request.cookies.get(COOKIE))
        resp = self.to_login()
        resp.delete_cookie(COOKIE)
        return resp

    # ------------------------------------------------------------------ pages
    async def home(self, request: Request) -> Response:
        s = self.session(request)
        if s is None:
            return self.to_login()
        if s.user.role == "auditor":
            return RedirectResponse("/audit", status_code=303)
        lanes = self.lanes_of(s)
        shown = [c.lane_id for c in self.cfg.lanes if lanes is None or c.lane_id in lanes]
        return self.page("home.html", s=s, lanes=shown,
                         vehicles={lane: self.state.vehicles(lane) for lane in shown},
                         referrals=[r.public() for r in self.state.open_referrals(lanes)])

    async def state_json(self, request: Request) -> Response:
        s = self.session(request)
        if s is None:
            return self.to_login()
        lanes = self.lanes_of(s)
        shown = [c.lane_id for c in self.cfg.lanes if lanes is None or c.lane_id in lanes]
        return JSONResponse({"lanes": {lane: self.state.vehicles(lane) for lane in shown},
                             "referrals": [r.public()
                                           for r in self.state.open_referrals(lanes)]})

    async def referral(self, request: Request) -> Response:
        s = self.session(request)
        if s is None:
            return self.to_login()
        r = self.state.referrals.get(request.path_params["ref_id"])
        if r is None:
            return Response("no such referral", status_code=404, media_type="text/plain")
        if not s.user.may_see(r.lane_id):
            return self.forbidden()
        crop = doc = None
        if r.record_id is not None:
            crop = s.new_handle(Handle(r.lane_id, r.record_id, "crop"))
            doc = s.new_handle(Handle(r.lane_id, r.record_id, "document"))
        return self.page("referral.html", s=s, r=r.public(), threshold=r.threshold,
                         crop=crop, doc=doc, decisions=DECISIONS)

    async def decide(self, request: Request) -> Response:
        s = self.session(request)
        if s is None:
            return self.to_login()
        form = await request.form()
        if not s.csrf_ok(str(form.get("csrf", ""))):
            return self.forbidden("CSRF token missing or wrong")
        r = self.state.referrals.get(request.path_params["ref_id"])
        if r is None or not s.user.may_see(r.lane_id):
            return self.forbidden()
        decision, reason = str(form.get("decision", "")), str(form.get("reason", ""))
        if decision not in DECISIONS or len(reason) > 500:
            return Response("choose a decision; a reason of at most 500 characters",
                            status_code=400, media_type="text/plain")
        if r.record_id is not None:
            try:
                await run_in_threadpool(self.remote.decide, r.lane_id, r.record_id, s.user.id,
                                        decision, reason, r.ref_id)
            except LaneUnavailableError as exc:  # not recorded: the referral stays open
                return self.lane_down(r.lane_id, exc)
            except LanecamError as exc:
                return Response(f"not recorded: {exc.feature or type(exc).__name__}",
                                status_code=410, media_type="text/plain")
        self.state.decide(r.ref_id, decision, s.user.id)
        return RedirectResponse("/", status_code=303)

    async def image(self, request: Request) -> Response:
        s = self.session(request)
        if s is None:
            return self.to_login()
        if s.user.role == "auditor":
            return self.forbidden("auditors see no crops")
        h = s.take_handle(request.path_params["handle"])
        if h is None or not s.user.may_see(h.lane_id):
            return Response("gone", status_code=404, media_type="text/plain")
        try:
            if h.kind == "crop":
                png = await run_in_threadpool(self.remote.crop_png, h.lane_id, h.record_id,
                                              s.user.id)
                return Response(png, media_type="image/png")
            found = await run_in_threadpool(self.remote.document, h.lane_id, h.record_id)
        except LaneUnavailableError as exc:
            return self.lane_down(h.lane_id, exc)
        except LanecamError as exc:  # purged, missing, tampered: the officer sees why
            return Response(f"unavailable: {exc.feature or type(exc).__name__}",
                            status_code=410, media_type="text/plain")
        if found is None:
            return Response("no document photo", status_code=404, media_type="text/plain")
        return Response(found[0], media_type=found[1])

    async def audit(self, request: Request) -> Response:
        s = self.session(request)
        if s is None:
            return self.to_login()
        if s.user.role not in ("auditor", "supervisor"):
            return self.forbidden()
        lane, before = request.query_params.get("lane"), request.query_params.get("before")
        if lane is not None and lane in self.remote.clients:  # one lane, paged back by seq
            rows, down = await run_in_threadpool(
                self.remote.audit_lane, lane, AUDIT_ROWS,
                int(before) if before and before.isdigit() else None)
        else:
            lane = None
            rows, down = await run_in_threadpool(self.remote.audit, AUDIT_ROWS)
        for r in rows:
            try:
                r["detail"] = json.loads(r["detail"]) if r.get("detail") else {}
            except (TypeError, ValueError):
                r["detail"] = {}
        older = rows[-1]["seq"] if lane and len(rows) == AUDIT_ROWS else None
        return self.page("audit.html", s=s, rows=rows, down=down, lane=lane, older=older,
                         lanes=list(self.remote.clients))

    async def health(self, request: Request) -> Response:
        s = self.session(request)
        if s is None:
            return self.to_login()
        lanes = []
        for c in self.cfg.lanes:
            v = self.state.lanes[c.lane_id]
            lanes.append({"id": c.lane_id, "health": v.health, "events": v.events,
                          "rate": (v.captured / v.occupants) if v.occupants else None,
                          "unavailable": self.remote.unavailable[c.lane_id],
                          "last_error": self.remote.last_error[c.lane_id]})
        return self.page("health.html", s=s, lanes=lanes)

    async def live_js(self, request: Request) -> Response:
        """The live-update script (a file, so the CSP allows no inline script)."""
        return Response(self.live_script, media_type="text/javascript")

    async def live(self, request: Request) -> Response:
        s = self.session(request)
        if s is None:
            return self.to_login()
        if s.user.role == "auditor":
            return self.forbidden()
        listener = self.state.listen(self.lanes_of(s))

        async def stream() -> AsyncIterator[bytes]:
            try:
                yield b": live\n\n"
                while True:
                    try:
                        msg = await asyncio.wait_for(listener.queue.get(), 10)
                        yield f"data: {json.dumps(msg)}\n\n".encode()
                    except TimeoutError:
                        yield b": keepalive\n\n"
            finally:
                self.state.unlisten(listener)

        return StreamingResponse(stream(), media_type="text/event-stream")


def build_app(cfg: ConsoleConfig, console: ConsoleApp | None = None) -> tuple[Any, ConsoleApp]:
    """The ASGI app (wrapped in :class:`NoStore`) and the console behind it."""
    c = console or ConsoleApp(cfg)
    routes = [
        Route("/login", c.login_form, methods=["GET"]),
        Route("/login", c.login, methods=["POST"]),
        Route("/logout", c.logout, methods=["POST"]),
        Route("/", c.home),
        Route("/api/state", c.state_json),
        Route("/live", c.live),
        Route("/live.js", c.live_js),
        Route("/referrals/{ref_id}", c.referral, methods=["GET"]),
        Route("/referrals/{ref_id}/decision", c.decide, methods=["POST"]),
        Route("/image/{handle}", c.image),
        Route("/audit", c.audit),
        Route("/health", c.health),
    ]
    return NoStore(Starlette(routes=routes)), c

