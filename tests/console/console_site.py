"""Helpers of the console tests — a port in miniature: a real mosquitto, two lanes as
processes (``simlane --serve``: each owns its vault and serves its crop service over mutual
TLS; batches of vehicles are asked for on stdin), the officer console as a real ``lanecam
console`` process over TLS, a site CA that issued the lanes' server certificates and the
console's client certificate, users of every role."""

from __future__ import annotations

import datetime
import ipaddress
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from lanecam.testing.mosquitto import Mosquitto, wait_port

DOCUMENTS = Path(__file__).parents[2] / "lanecam" / "sim" / "assets" / "documents"
PASSWORD = "correct horse battery staple"
USERS = {"officer-1": ("officer", ["north-1"]), "officer-2": ("officer", ["south-1"]),
         "super-1": ("supervisor", []), "auditor-1": ("auditor", []),
         "locked-1": ("officer", ["north-1"])}


@dataclass
class Site:
    folder: Path
    broker: Mosquitto
    url: str
    cert: Path
    lanes: dict[str, Path]  # lane id → lane config
    console: subprocess.Popen[bytes]
    serving: dict[str, subprocess.Popen[str]]  # lane id → its lane process
    config: Path  # console.toml
    port: int

    def restart_console(self) -> None:
        """Stop the console process (SIGTERM) and start it again on the same config."""
        self.console.terminate()
        self.console.wait(timeout=15)
        self.console = subprocess.Popen([sys.executable, "-m", "lanecam.cli", "console",
                                         "--config", str(self.config)])
        wait_port(self.port, 20)

    def emit(self, lane: str, start: int, count: int, refer_every: int) -> str:
        """Vehicles ``start..start+count`` from the lane process; its output to ``drained``."""
        p = self.serving[lane]
        assert p.stdin is not None and p.stdout is not None
        p.stdin.write(f"emit {start} {count} {refer_every}\n")
        p.stdin.flush()
        out = ""
        while not out.endswith("\n") or not out.splitlines()[-1].startswith("drained"):
            line = p.stdout.readline()
            assert line, f"lane {lane} ended: {out}"
            out += line
        return out


def serve_lane(config: Path) -> subprocess.Popen[str]:
    """A lane process serving its crop service (returns once it listens)."""
    p = subprocess.Popen([sys.executable, "-m", "lanecam.publish.simlane", "--config",
                          str(config), "--serve"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    line = p.stdout.readline()
    assert line.startswith("serving"), line
    return p


def self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    c, k = folder / "console.crt", folder / "console.key"
    c.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    k.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    return c, k


def console_toml(folder: Path, broker_port: int, port: int, lanes: dict[str, int],
                 cert: Path, key: Path, ca: Path, client: tuple[Path, Path]) -> Path:
    """``lanes``: lane id → its crop service's port."""
    from argon2 import PasswordHasher

    h = PasswordHasher().hash(PASSWORD)  # one hash, every user: the salt differs per hash
    text = (f'[console]\nhost = "127.0.0.1"\nport = {port}\ntls_cert = "{cert}"\n'
            f'tls_key = "{key}"\nsession_s = 600\nlockout_failures = 5\nlockout_s = 600\n'
            f'state_dir = "{folder}/console-state"\n\n'
            f'[mqtt]\nhost = "127.0.0.1"\nport = {broker_port}\nsite = "port1"\n')
    for lane, api_port in lanes.items():
        text += (f'\n[[lanes]]\nid = "{lane}"\napi = "https://127.0.0.1:{api_port}"\n'
                 f'ca = "{ca}"\nclient_cert = "{client[0]}"\nclient_key = "{client[1]}"\n')
    for uid, (role, ls) in USERS.items():
        text += (f'\n[[users]]\nid = "{uid}"\nrole = "{role}"\nlanes = {ls!r}\n'
                 f'password_hash = "{h}"\n').replace("'", '"')
    p = folder / "console.toml"
    p.write_text(text)
    return p


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF field on the page"
    return m.group(1)
