"""A real mosquitto broker for tests: started on a free local port, killed and restarted on
the same port and persistence folder (so that persistent sessions survive, as at a site that
runs mosquitto with ``persistence true``).

    with Mosquitto(tmp_path) as broker:
        broker.port ...; broker.kill(); broker.start()

``mosquitto_binary()`` is None when the distribution's package is not installed (tests skip
with that reason; CI installs it).
"""

from __future__ import annotations

import getpass
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Self

__all__ = ["Mosquitto", "free_port", "lane_toml", "mosquitto_binary"]


def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()),
        None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout_s: float = 10.0, host: str = "127.0.0.1") -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout_s} s")


class Mosquitto:
    """One broker process on ``port`` (default: a free one), data under ``folder``."""

    def __init__(self, folder: Path, port: int | None = None, *, extra: str = "") -> None:
        binary = mosquitto_binary()
        if binary is None:
            raise FileNotFoundError("mosquitto is not installed (apt-get install mosquitto)")
        self.binary = binary
        self.folder = Path(folder)
        self.port = port or free_port()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.conf = self.folder / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
            f"persistence true\npersistence_location {self.folder}/\nautosave_interval 1\n"
            "autosave_on_changes true\n"
            f"log_dest file {self.folder}/mosquitto.log\nuser {getpass.getuser()}\n{extra}")
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> Self:
        self.proc = subprocess.Popen([self.binary, "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)
        self.starts += 1
        return self

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, no last save."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self.proc = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def lane_toml(folder: Path, lane: str, port: int, site: str = "port1",
              vault: bool = False, crop_api: dict[str, str | int] | None = None) -> Path:
    """A lane config with ``[mqtt]`` (and a ``[vault]`` with a key file, and a ``[crop_api]``
    table with the keys given) under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    text = (f'[lane]\nid = "{lane}"\n\n[[cameras]]\nname = "c0"\ndevice = "sim"\n\n'
            f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\nsite = "{site}"\n'
            f'outbox = "{folder}/outbox.sqlite"\n')
    if vault:
        from lanecam.store.keys import generate_key_file

        key = folder / "master.key"
        if not key.exists():
            generate_key_file(key)
        text += (f'\n[vault]\nroot = "{folder}/vault"\nkey_file = "{key}"\n'
                 'retention_s = 3600\n')
    if crop_api is not None:
        text += "\n[crop_api]\n" + "".join(
            f"{k} = {v}\n" if isinstance(v, int) else f'{k} = "{v}"\n'
            for k, v in crop_api.items())
    p = folder / f"{lane}.toml"
    p.write_text(text)
    return p
