"""Helpers of the console tests — a port in miniature: a real mosquitto, two lane folders (config, vault, key), the officer
console as a real ``lanecam console`` process over TLS (a self-signed certificate made here),
users of every role; simulated lanes are started by the tests as processes."""

from __future__ import annotations

import datetime
import ipaddress
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from lanecam.testing.mosquitto import Mosquitto

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

    def simlane(self, lane: str, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "lanecam.publish.simlane", "--config",
                                 str(self.lanes[lane]), *args], stdout=subprocess.PIPE,
                                text=True)


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


def console_toml(folder: Path, broker_port: int, port: int, lanes: dict[str, Path],
                 cert: Path, key: Path) -> Path:
    from argon2 import PasswordHasher

    h = PasswordHasher().hash(PASSWORD)  # one hash, every user: the salt differs per hash
    text = (f'[console]\nhost = "127.0.0.1"\nport = {port}\ntls_cert = "{cert}"\n'
            f'tls_key = "{key}"\nsession_s = 600\nlockout_failures = 5\nlockout_s = 600\n\n'
            f'[mqtt]\nhost = "127.0.0.1"\nport = {broker_port}\nsite = "port1"\n')
    for cfg in lanes.values():
        text += f'\n[[lanes]]\nconfig = "{cfg}"\ndocuments = "{DOCUMENTS}"\n'
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
