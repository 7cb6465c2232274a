"""``lanecam console --config console.toml``: the web app under uvicorn (TLS from the
config) and the site subscriber feeding it from the broker."""

from __future__ import annotations

import argparse
import getpass
import socket
import sys
from typing import Any

from .config import ConsoleConfig, load_console_config

__all__ = ["add_parser", "serve"]


def serve(cfg: ConsoleConfig) -> None:
    """Run until interrupted."""
    import uvicorn

    from ..publish.subscribe import SiteSubscriber
    from .app import build_app

    app, console = build_app(cfg)
    sub = SiteSubscriber(cfg.mqtt, f"lanecam-console-{cfg.mqtt.site}-{socket.gethostname()}",
                         console.state.on_event, console.state.on_health).start()
    s = cfg.server
    scheme = "https" if s.tls_cert else "http"
    print(f"console on {scheme}://{s.host}:{s.port}/ (site {cfg.mqtt.site}, "
          f"{len(cfg.lanes)} lane(s))", flush=True)
    try:
        uvicorn.run(app, host=s.host, port=s.port, ssl_certfile=s.tls_cert,
                    ssl_keyfile=s.tls_key, access_log=False, log_level="warning",
                    timeout_graceful_shutdown=2)
    finally:
        sub.stop()
        console.remote.close()
        if console.state.store is not None:
            console.state.store.close()


def cmd_console(args: argparse.Namespace) -> int:
    if args.hash_password:
        from .auth import hash_password

        pw = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else \
            getpass.getpass("password: ")
        print(hash_password(pw))
        return 0
    if not args.config:
        print("lanecam console: --config is required", file=sys.stderr)
        return 2
    serve(load_console_config(args.config))
    return 0


def add_parser(sub: Any) -> None:
    c = sub.add_parser("console", help="the officer console (web; needs the console extra)")
    c.add_argument("--config", help="console TOML (see lanecam.console.config)")
    c.add_argument("--hash-password", action="store_true",
                   help="print an argon2 hash of a password read from stdin, for [[users]]")
    c.set_defaults(func=cmd_console)
