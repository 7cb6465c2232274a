"""Log-in rules on a clock the test moves: lockout and its end, idle expiry, handles."""

from __future__ import annotations

import pytest

pytest.importorskip("argon2", reason="needs the console extra")

from lanecam.console.auth import Auth, Handle, hash_password
from lanecam.console.config import ConsoleUser


class Clock:
    t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_lockout_expiry_and_single_use_handles() -> None:
    clock = Clock()
    user = ConsoleUser("o1", "officer", hash_password("pw"), frozenset({"n1"}))
    auth = Auth((user,), session_s=60, lockout_failures=3, lockout_s=300, clock=clock)
    assert auth.login("nobody", "pw") is None
    for _ in range(3):
        assert auth.login("o1", "bad") is None
    assert auth.locked("o1") and auth.login("o1", "pw") is None
    clock.t += 301
    s = auth.login("o1", "pw")
    assert s is not None and not auth.locked("o1")
    clock.t += 59
    assert auth.session(s.token) is s  # used: the idle timer restarts
    clock.t += 59
    assert auth.session(s.token) is s
    h = s.new_handle(Handle("n1", "r" * 32, "crop"))
    assert s.take_handle(h) == Handle("n1", "r" * 32, "crop") and s.take_handle(h) is None
    assert s.csrf_ok(s.csrf) and not s.csrf_ok("x") and not s.csrf_ok(None)
    clock.t += 61
    assert auth.session(s.token) is None  # idle too long
    s2 = auth.login("o1", "pw")
    assert s2 is not None
    auth.logout(s2.token)
    assert auth.session(s2.token) is None
    assert user.may_see("n1") and not user.may_see("s1")
