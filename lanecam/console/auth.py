"""Who is logged in: argon2 password checks, lockout, expiring sessions, CSRF tokens and
opaque per-session image handles.

* Passwords are checked against argon2id hashes (``argon2-cffi``).  ``lockout_failures``
  wrong passwords in a row lock the account for ``lockout_s`` (a right password during the
  lockout does not log in); an unknown user costs the same hash check.
* A session is a random token in an HttpOnly, SameSite=Strict cookie, kept server-side; it
  ends ``session_s`` after its last use, and on logout.
* Every form carries the session's CSRF token (the login form a pre-session one).
* A crop or document photo is reached through a **handle**: a random token that names
  (lane, record) inside one session only and is used once; a record id never appears in a
  URL, a page or a log.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .config import ConsoleUser

__all__ = ["Auth", "Handle", "Session", "hash_password"]


def hash_password(password: str) -> str:
    from argon2 import PasswordHasher

    return str(PasswordHasher().hash(password))


@dataclass(frozen=True)
class Handle:
    lane_id: str
    record_id: str
    kind: str  # "crop" or "document"


@dataclass
class Session:
    token: str
    user: ConsoleUser
    csrf: str
    last_used: float
    handles: dict[str, Handle] = field(default_factory=dict)

    def new_handle(self, handle: Handle) -> str:
        h = secrets.token_urlsafe(24)
        if len(self.handles) > 256:  # bounded: the oldest go
            for k in list(self.handles)[:128]:
                del self.handles[k]
        self.handles[h] = handle
        return h

    def take_handle(self, h: str) -> Handle | None:
        """The handle's target, once."""
        return self.handles.pop(h, None)

    def csrf_ok(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token, self.csrf)


@dataclass
class _Failures:
    count: int = 0
    locked_until: float = 0.0


class Auth:
    """Users, failures and sessions of one console process (``clock``: seconds)."""

    def __init__(self, users: tuple[ConsoleUser, ...], session_s: float,
                 lockout_failures: int, lockout_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        from argon2 import PasswordHasher

        self.users = {u.id: u for u in users}
        self.session_s = session_s
        self.lockout_failures = lockout_failures
        self.lockout_s = lockout_s
        self.clock = clock
        self._hasher = PasswordHasher()
        self._dummy = self._hasher.hash(secrets.token_hex(8))
        self._failures: dict[str, _Failures] = {}
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def locked(self, user_id: str) -> bool:
        f = self._failures.get(user_id)
        return f is not None and f.locked_until > self.clock()

    def login(self, user_id: str, password: str) -> Session | None:
        """A new session, or None (wrong user or password, or locked)."""
        from argon2.exceptions import InvalidHashError, VerificationError

        user = self.users.get(user_id)
        try:
            ok = self._hasher.verify(user.password_hash if user else self._dummy, password)
        except (VerificationError, InvalidHashError):
            ok = False
        with self._lock:
            if user is None:
                return None
            f = self._failures.setdefault(user_id, _Failures())
            if f.locked_until > self.clock():
                return None
            if not ok:
                f.count += 1
                if f.count >= self.lockout_failures:
                    f.locked_until, f.count = self.clock() + self.lockout_s, 0
                return None
            f.count = 0
            s = Session(secrets.token_urlsafe(32), user, secrets.token_urlsafe(24), self.clock())
            self._sessions[s.token] = s
            return s

    def session(self, token: str | None) -> Session | None:
        """The live session of ``token`` (its idle timer restarts), or None."""
        if not token:
            return None
        with self._lock:
            s = self._sessions.get(token)
            if s is None:
                return None
            now = self.clock()
            if now - s.last_used > self.session_s:
                del self._sessions[token]
                return None
            s.last_used = now
            return s

    def logout(self, token: str | None) -> None:
        with self._lock:
            self._sessions.pop(token or "", None)
