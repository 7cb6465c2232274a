"""Motorized polarizer rotators: rotator profiles, the rotator base, the Thorlabs Elliptec driver.

The rotatable analyzer (a linear polarizer in front of a lane camera's lens) sits in a
motorized rotation mount.  :class:`PolarizerRotator` is the policy layer: angles in degrees at
the API, the mount calibration (``offset_deg``: analyzer axis in the image frame = mechanical
angle + offset, counter-clockwise from the image rows like ``camera.polarizer_deg``), the
polarizer's 180° periodicity (a move takes the short way modulo ``periodic_deg``), the
position check after every move, counters, and fault recovery.  Drivers implement ``_do_*``.

Thorlabs Elliptec ELL14 (rotation mount; the ELL18 rotation stage speaks the same protocol:
ELL18K kit manual §4.2.3, https://manualshive.com/en/manual/thorlabs/ell18/1111022?page=12)
------------------------------------------------------------------------------------------
Sources read (third-party code, none of it Thorlabs' own; the Thorlabs "ELLx modules protocol
manual" itself was not in the store beyond its table of contents, documents.pub / pdffox):

* [K]  ELL18K manual §4.2.3 (above): 9600 baud, 8 data bits, 1 stop bit, no parity; "protocol
  data is sent in ASCII HEX format, while module addresses and commands are mnemonic
  characters (no package length is sent)"; default address ``0``; lower-case commands from
  the host, upper-case replies; each motor is protected by a 2.5 s time-out.
* [P]  pylablib ``pylablib/devices/Thorlabs/elliptec.py`` (AlexShkarin/pyLabLib): commands
  written with **no terminator**, replies end with CR LF; reply data lengths ``IN`` 30,
  ``GS`` 2, ``PO``/``HO``/``GJ``/``BO`` 8, ``GV``/``BS`` 2; ``IN`` = model (2 hex), serial (8),
  year (4 decimal), firmware (2 hex), hardware (2 hex), travel (4 hex), pulses (8 hex); stage
  scale = pulses/travel; positions 8 hex, two's complement; ``ma``/``mr``/``ho`` reply ``PO``
  when the move ends or ``GS`` with a status; ``ho`` takes a direction digit (0 cw, 1 ccw); a
  fault status is returned again by the next ``gs`` unless it is read ("clear the fault
  status"); a move "issued too soon after a previous one can move to 0 instead" (it waits
  0.1 s); status codes 0 ok, 1 communication time-out, 2 mechanical time-out, 3 command not
  supported, 4 value out of range, 5 module isolated, 6 out of isolation, 7 initialising
  error, 8 thermal error, 9 busy, 10 sensor error, 11 motor error, 12 out of range,
  13 over-current.
* [R]  the ``elliptec`` PyPI package (roesel/elliptec ``src/elliptec/tools.py``, ``cmd.py``,
  ``errcodes.py``, ``tests/test_unit.py``): the same framing, status table and ``IN`` layout
  (it splits the hardware byte into thread type + hardware release), ``ho0``/``ho1``.
* [W]  MaximilianWinter/RotatorAPI (as vendored in nspyre drivers): ELL14 ``rev_in_pulses =
  143360``, two's-complement 8-hex positions, ``ma``/``mr`` answered by ``PO``.
* [F]  TheFermiSea/elliptec-controller ``controller.py``: a mock ELL14 ``IN`` reply with
  travel ``0168`` (360) and pulses ``00023000`` (143360); but its default is 262144.
* [D]  rust_daq notes (code search, "ELL14 Performance Characteristics" and an LLM-style
  "Elliptec Stage Communication Protocol" summary): 430 °/s maximum speed, 0.4° bidirectional
  accuracy; they use 136533 pulses/rev, and claim a 4-hex ``GS`` bit field and an ``ER``
  reply, which [P], [R] and [F] contradict (2-hex status code).

Pulses per revolution therefore disagree between sources (143360 [W][F]; 136533 [D]; 262144
[F] default).  The driver takes the scale from the device's own ``in`` reply and refuses to run
(ConfigError naming ``motion.pulses_per_rev``) unless it equals the firmware profile's value,
so no disagreement can silently mis-scale angles.

ASSUMED, check on hardware: the 2-hex ``GS`` code (not [D]'s bit field); that ``PO`` after a
relative move through 0 reports the position wrapped into one revolution (the driver
normalises either way); that ``ho0`` homes clockwise by decreasing counts; that a jammed move
is answered by ``GS02`` after the motor time-out; 430 °/s, the settle time and the 0.4°
position tolerance in ``rotator-thorlabs-ell14.toml``; that the hardware byte's meaning does
not matter here.  The direction in which increasing counts turn the analyzer as seen in the
image is part of the mount calibration: only an offset is modelled, so mount the rotator so
that counts increase counter-clockwise in the image.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ...clock import MONOTONIC, Clock
from ...errors import (
    ConfigError,
    DeviceError,
    DeviceTimeoutError,
    LanecamError,
    LimitError,
    ProtocolError,
    UnsupportedFeatureError,
)
from ..serial_link import SerialLink
from .profile import RotatorProfile, load_rotator_profile
from .rotator import PolarizerRotator, wrap_deg

__all__ = [
    "ElliptecInfo",
    "ElliptecRotator",
    "parse_elliptec_reply",
    "parse_elliptec_info",
    "decode_pulses",
    "encode_pulses",
    "ELLIPTEC_STATUS",
    "ELLIPTEC_REPLY_LENGTHS",
]

log = logging.getLogger(__name__)


#: ``GS`` status codes ([P] ``_status_codes``, [R] ``errcodes.py``; the two agree).
ELLIPTEC_STATUS: dict[int, str] = {
    0: "ok", 1: "communication time-out", 2: "mechanical time-out", 3: "command not supported",
    4: "value out of range", 5: "module isolated", 6: "module out of isolation",
    7: "initialising error", 8: "thermal error", 9: "busy", 10: "sensor error",
    11: "motor error", 12: "out of range", 13: "over-current error",
}
#: Payload length (characters) of every reply code this driver accepts ([P]).
ELLIPTEC_REPLY_LENGTHS: dict[str, int] = {"IN": 30, "GS": 2, "PO": 8, "HO": 8, "GJ": 8,
                                          "GV": 2, "BO": 8, "BS": 2}
_ADDRESSES = "0123456789ABCDEF"
_HEX = frozenset("0123456789ABCDEF")
_MAX_REPLY = 64
_BUSY = 9


def parse_elliptec_reply(raw: bytes, *, device: str | None = None) -> tuple[str, str, str]:
    """Split one reply line into ``(address, code, payload)``.

    ``raw`` may end with CR LF or CR.  ProtocolError (never anything else) on non-ASCII or
    control bytes, an address outside ``0``-``F``, an unknown reply code, a payload of the
    wrong length for its code, or non-hex (or lower-case) payload characters.
    """
    line = bytes(raw)
    if line.endswith(b"\r\n"):
        line = line[:-2]
    elif line.endswith(b"\r"):
        line = line[:-1]
    if len(line) > _MAX_REPLY:
        raise ProtocolError(f"reply longer than {_MAX_REPLY} bytes", device=device)
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError:
        raise ProtocolError("non-ASCII bytes in rotator reply", device=device) from None
    if not text.isprintable():
        raise ProtocolError("control characters in rotator reply", device=device)
    if len(text) < 3:
        raise ProtocolError(f"reply {text!r} shorter than address + code", device=device)
    addr, code, payload = text[0], text[1:3], text[3:]
    if addr not in _ADDRESSES:
        raise ProtocolError(f"reply address {addr!r} is not 0-F", device=device)
    if code not in ELLIPTEC_REPLY_LENGTHS:
        raise ProtocolError(f"unknown reply code {code!r}", device=device,
                            allowed=sorted(ELLIPTEC_REPLY_LENGTHS))
    want = ELLIPTEC_REPLY_LENGTHS[code]
    if len(payload) != want:
        raise ProtocolError(f"{code} reply carries {len(payload)} characters, need {want}",
                            device=device, feature=code)
    if not _HEX.issuperset(payload):
        raise ProtocolError(f"{code} payload {payload!r} is not upper-case hex", device=device,
                            feature=code)
    return addr, code, payload


def decode_pulses(payload: str) -> int:
    """8 hex characters, 32-bit two's complement → signed pulse count."""
    if len(payload) != 8 or not _HEX.issuperset(payload):
        raise ProtocolError(f"position {payload!r} is not 8 hex characters")
    v = int(payload, 16)
    return v - (1 << 32) if v & 0x80000000 else v


def encode_pulses(pulses: int) -> str:
    """Signed pulse count → 8 upper-case hex characters (32-bit two's complement)."""
    if not -(1 << 31) <= pulses < (1 << 31):
        raise LimitError("pulse count outside 32 bits", feature="pulses")
    return f"{pulses & 0xFFFFFFFF:08X}"


@dataclass(frozen=True)
class ElliptecInfo:
    """The ``IN`` reply: model code, serial number, year, firmware and hardware release,
    travel (deg for a rotator) and pulses per travel."""

    model_code: int
    serial: str
    year: int
    firmware: int
    hardware: int
    travel: int
    pulses: int

    def __str__(self) -> str:
        return (f"ELL{self.model_code} serial {self.serial} ({self.year}, firmware "
                f"{self.firmware:02X}, hardware {self.hardware:02X}, travel {self.travel}, "
                f"{self.pulses} pulses)")


def parse_elliptec_info(payload: str) -> ElliptecInfo:
    """Decode a 30-character ``IN`` payload (layout from [P]; ProtocolError when malformed)."""
    if len(payload) != 30 or not _HEX.issuperset(payload):
        raise ProtocolError("IN payload must be 30 upper-case hex characters", feature="IN")
    year = payload[10:14]
    if not year.isdigit():
        raise ProtocolError(f"IN year {year!r} is not decimal", feature="IN")
    return ElliptecInfo(model_code=int(payload[0:2], 16), serial=payload[2:10], year=int(year),
                        firmware=int(payload[14:16], 16), hardware=int(payload[16:18], 16),
                        travel=int(payload[18:22], 16), pulses=int(payload[22:30], 16))


def _status_error(code: int, command: str, device: str | None) -> DeviceError:
    text = ELLIPTEC_STATUS.get(code, "reserved")
    msg = f"{command!r} answered status {code} ({text})"
    feature = f"GS{code:02X}"
    if code == 3:
        return UnsupportedFeatureError(msg, device=device, feature=feature)
    if code == 1:  # the device saw an incomplete command
        return ProtocolError(msg, device=device, feature=feature)
    return DeviceError(msg, device=device, feature=feature)


class ElliptecRotator(PolarizerRotator):
    """A Thorlabs Elliptec rotation mount (ELL14; ELL18 with its own profile) on its serial bus.

    Wire format (module docstring): ``<address><cmd>[data]`` with no terminator; replies
    ``<address><CODE><payload>\\r\\n``.  Used: ``in`` (identify; checked against the profile),
    ``gp`` → ``PO``, ``gs`` → ``GS``, ``mr``/``ma`` + 8 hex pulses and ``ho0``/``ho1`` →
    ``PO`` at the end of motion (or ``GS`` with an error status).  After any failure the driver
    waits for the line to go quiet and polls ``gs`` until the device is idle (which also reads
    out a latched fault status) before the next command.

    Args:
        address: the module's bus address, ``"0"``-``"F"``.
        resync_quiet_s: how long the line must stay quiet before a resynchronising ``gs``.
    """

    def __init__(self, link: SerialLink, address: str = "0",
                 profile: str | RotatorProfile = "thorlabs-ell14", *, offset_deg: float = 0.0,
                 periodic_deg: float | None = 180.0, clock: Clock = MONOTONIC,
                 name: str | None = None, resync_quiet_s: float = 0.05) -> None:
        prof = profile if isinstance(profile, RotatorProfile) else load_rotator_profile(profile)
        if prof.protocol != "elliptec":
            raise ConfigError("profile is not for the Elliptec protocol", key="rotator.protocol",
                              allowed=["elliptec"])
        if not isinstance(address, str) or len(address) != 1 or address not in _ADDRESSES:
            raise ConfigError("Elliptec address must be one character 0-9 or A-F",
                              key="address", allowed=list(_ADDRESSES))
        if link.baudrate != prof.baudrate:
            raise ConfigError(f"link runs at {link.baudrate} baud; {prof.model} needs "
                              f"{prof.baudrate}", key="baudrate", allowed=[prof.baudrate])
        if not resync_quiet_s > 0:
            raise ConfigError("resync_quiet_s must be > 0", key="resync_quiet_s")
        super().__init__(link, prof, offset_deg=offset_deg, periodic_deg=periodic_deg,
                         clock=clock, name=name or f"{prof.name}@{address}")
        self.address = address
        self.resync_quiet_s = resync_quiet_s
        self.info: ElliptecInfo | None = None
        self.pulses_per_rev = prof.pulses_per_rev  # replaced by the device's value on open
        self._last_reply_ns: int | None = None

    # -- wire ----------------------------------------------------------------------------------
    def _send(self, cmd: str, data: str = "") -> None:
        self.link.write(f"{self.address}{cmd}{data}".encode("ascii"))

    def _reply(self, cmd: str, timeout: float | None = None) -> tuple[str, str]:
        try:
            line = self.link.read_line(b"\n", timeout=timeout)
        except DeviceTimeoutError as exc:
            raise DeviceTimeoutError(
                f"no reply to {cmd!r} within {self.link.timeout if timeout is None else timeout:g}"
                " s", device=self.name, feature=cmd) from exc
        self._last_reply_ns = self.clock.now_ns()
        addr, code, payload = parse_elliptec_reply(line, device=self.name)
        if addr != self.address:
            raise ProtocolError(f"reply from address {addr} to a command for {self.address}",
                                device=self.name, feature=cmd)
        return code, payload

    def _query(self, cmd: str, data: str = "", *, expect: str,
               timeout: float | None = None) -> str:
        """Send ``cmd``; return the payload of its ``expect`` reply.  A ``GS`` reply instead
        (or a non-zero ``GS`` when ``expect`` is ``GS``) raises the status' typed error."""
        self._send(cmd, data)
        code, payload = self._reply(cmd, timeout)
        if code == "GS" and expect != "GS" and int(payload, 16) != 0:
            raise _status_error(int(payload, 16), cmd + data, self.name)
        if code == "GS" and expect == "GS" and int(payload, 16) not in (0, _BUSY):
            raise _status_error(int(payload, 16), cmd + data, self.name)
        if code != expect:
            raise ProtocolError(f"{cmd!r} answered {code}{payload}, expected {expect}",
                                device=self.name, feature=cmd)
        return payload

    def _wait_gap(self) -> None:
        """Moves issued too soon after a reply can go to 0 instead ([P]): keep the gap."""
        if self._last_reply_ns is None:
            return
        left = self.profile.command_gap_s - (self.clock.now_ns() - self._last_reply_ns) / 1e9
        if left > 0:
            self.clock.sleep(left)

    def _deg(self, pulses: int) -> float:
        return wrap_deg(pulses * 360.0 / self.pulses_per_rev, 360.0)

    def _pulses(self, deg: float) -> int:
        return round(deg * self.pulses_per_rev / 360.0)

    # -- hooks ---------------------------------------------------------------------------------
    def _step_deg(self) -> float:
        return 360.0 / self.pulses_per_rev

    def _do_open(self) -> None:
        info = parse_elliptec_info(self._query("in", expect="IN"))
        p = self.profile
        if info.model_code != p.model_code:
            raise ConfigError(f"device reports model ELL{info.model_code}, profile {p.name} is "
                              f"for {p.model}", key="rotator.model_code", allowed=p.model_code)
        if info.travel != p.travel_deg:
            raise ConfigError(f"device reports travel {info.travel}, profile {p.name} says "
                              f"{p.travel_deg:g}", key="motion.travel_deg", allowed=info.travel)
        if info.pulses != p.pulses_per_rev:
            raise ConfigError(f"device reports {info.pulses} pulses per revolution, profile "
                              f"{p.name} says {p.pulses_per_rev}: refusing to scale angles",
                              key="motion.pulses_per_rev", allowed=info.pulses)
        self.info = info
        self.pulses_per_rev = info.pulses
        log.info("%s: %s", self.name, info)

    def _do_identify(self) -> str:
        self._do_open()
        return str(self.info)

    def _do_read_deg(self) -> float:
        return self._deg(decode_pulses(self._query("gp", expect="PO")))

    def _do_busy(self) -> bool:
        return int(self._query("gs", expect="GS"), 16) == _BUSY

    def _do_home(self, direction: str, timeout_s: float) -> float:
        self._wait_gap()
        payload = self._query("ho", "0" if direction == "cw" else "1", expect="PO",
                              timeout=timeout_s)
        return self._deg(decode_pulses(payload))

    def _do_move_by(self, delta_deg: float, timeout_s: float) -> float:
        self._wait_gap()
        payload = self._query("mr", encode_pulses(self._pulses(delta_deg)), expect="PO",
                              timeout=timeout_s)
        return self._deg(decode_pulses(payload))

    def _do_move_abs(self, mechanical_deg: float, timeout_s: float) -> float:
        self._wait_gap()
        target = self._pulses(mechanical_deg) % self.pulses_per_rev
        payload = self._query("ma", encode_pulses(target), expect="PO", timeout=timeout_s)
        return self._deg(decode_pulses(payload))

    @property
    def stale_replies(self) -> int:
        """Late replies skipped while resynchronising (also in ``fault_counts["stale_reply"]``)."""
        return self.fault_counts["stale_reply"]

    def _do_recover(self, exc: LanecamError) -> None:
        """Drain the line until quiet, then poll ``gs`` until the device is idle.

        A move that timed out may still be running (``GS09``) and end with a late ``PO``; a
        device that reported an error keeps the status latched until ``gs`` reads it ([P]).
        Late replies (``fault_counts["stale_reply"]``) and unreadable lines
        (``fault_counts["unreadable_reply"]``) are skipped with a warning.
        """
        self._drain()
        self._do_sync_query()

    def _do_sync_query(self) -> None:
        """Poll ``gs`` until the device is idle (late replies skipped and counted); the
        lifecycle's resync drains the line first."""
        p = self.profile
        budget = (p.travel_deg / p.speed_deg_s + p.settle_s + p.motor_timeout_s
                  + self.link.timeout)
        deadline = self.link.now_s() + budget
        while True:
            self._send("gs")
            status = int(self._status_reply(deadline, budget), 16)
            if status != _BUSY:
                if status:
                    log.warning("%s: cleared status %d (%s)", self.name, status,
                                ELLIPTEC_STATUS.get(status, "reserved"))
                return
            self.clock.sleep(0.02)

    def _drain(self) -> None:
        """Read and skip lines until the line stays quiet for ``resync_quiet_s``."""
        while True:
            try:
                line = self.link.read_line(b"\n", timeout=self.resync_quiet_s)
            except DeviceTimeoutError:
                return
            except ProtocolError as exc:  # an over-long line, discarded by the link
                self._count("unreadable_reply", f"while draining: {exc.message}")
                continue
            self._count("stale_reply", f"skipped {line[:32]!r} while resynchronising")

    def _status_reply(self, deadline: float, budget: float) -> str:
        """The payload of the next ``GS`` reply, skipping others, before ``deadline``."""
        while True:
            left = deadline - self.link.now_s()
            if left <= 0:
                raise DeviceTimeoutError(f"still busy or silent after {budget:.1f} s",
                                         device=self.name, feature="gs")
            try:
                code, payload = self._reply("gs", timeout=min(left, self.link.timeout))
            except ProtocolError as exc:
                self._count("unreadable_reply", f"while polling gs: {exc.message}")
                continue
            if code == "GS":
                return payload
            # e.g. the PO of a move that ended meanwhile
            self._count("stale_reply", f"skipped {code}{payload} while polling gs")
