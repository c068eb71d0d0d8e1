"""FreeRDP's ``freerdp-shadow-cli`` sharing a private Xvfb display with NLA, for the RDP client tests.

The one RDP server available on Debian that does NLA (CredSSP with NTLM), as Windows does by
default. ``ShadowServer`` (context manager; benchmarks use it too) starts an authenticated Xvfb
(:class:`evidence_kit.drivers.rdp.display.PrivateDisplay`), paints it -- a full-screen xterm in a known
colour showing a known text -- and shares it with
``freerdp-shadow-cli /bind-address:127.0.0.1 /port:P /sec:nla /sam-file:SAM +auth``.

The SAM file holds NT hashes (MD4 of the UTF-16LE password, computed here with pyspnego's MD4
so no password ever reaches a command line; ``winpr-hash -u U -p P -f sam`` writes the same
lines); the ``upn`` account's line holds its user principal name whole with an empty domain, as
NTLM carries a UPN. The shadow server makes its own self-signed certificate on first start, in
``$HOME/.config/freerdp/shadow/``; HOME is the work folder, so each run has a fresh one.

A wrong password: the server closes the connection during CredSSP without an NTSTATUS (FreeRDP
logs ``ERRCONNECT_CONNECT_TRANSPORT_FAILED`` in state ``CONNECTION_STATE_NLA``).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import pytest

from evidence_kit.drivers.rdp.display import PrivateDisplay
from tests.helpers import free_port, random_password
from tests.servers.lifecycle import ServerFixture
from tests.servers.rdp_common import RdpAccount, cert_sha256_of_pem, secrets_of
from tests.servers.sshd import SilentServer

SHADOW = "freerdp-shadow-cli"
COLOUR = "#cc6633"
WIDTH, HEIGHT = 1024, 768


def nt_hash(password: str) -> str:
    from spnego._ntlm_raw.md4 import md4

    return md4(password.encode("utf-16-le")).hex()


def sam_line(user: str, domain: str, password: str) -> str:
    return f"{user}:{domain}::{nt_hash(password)}:::"


@dataclass(frozen=True)
class ShadowTargets:
    host: str
    port: int
    accounts: Mapping[str, RdpAccount]
    cert_sha256: str
    workdir: Path
    colour: str
    text: str
    silent_port: int
    closed_port: int

    def account(self, role: str) -> RdpAccount:
        return self.accounts[role]

    def secrets(self) -> list[str]:
        return secrets_of(self.accounts)

    @property
    def log(self) -> Path:
        return self.workdir / "shadow.log"

    def log_mark(self) -> int:
        return self.log.stat().st_size if self.log.exists() else 0

    def log_since(self, mark: int) -> str:
        with open(self.log, "rb") as f:
            f.seek(mark)
            return f.read().decode(errors="replace")


@dataclass
class ShadowServer(ServerFixture[ShadowTargets]):
    suffix: str = field(default_factory=lambda: secrets.token_hex(3))
    workdir: Path = field(init=False)
    port: int = field(init=False, default=0)
    _display: PrivateDisplay | None = field(init=False, default=None)
    _procs: list[subprocess.Popen[bytes]] = field(init=False, default_factory=list)
    _silent: SilentServer | None = field(init=False, default=None)


    def start(self) -> ShadowTargets:
        self.workdir = Path(tempfile.mkdtemp(prefix="ekt-shadow-"))
        marker = secrets.token_hex(4)
        text = f"EVIDENCE-KIT-DESKTOP-{marker}-shadow"
        accounts = {
            "admin": RdpAccount("admin", f"ekt_{self.suffix}_nadm", random_password("Nla"), COLOUR, text,
                                domain="EKTLAB"),
            "plain": RdpAccount("plain", f"ekt_{self.suffix}_npln", random_password("Nla"), COLOUR, text),
            # A user principal name: clients send it whole with an empty domain, so that is its SAM line.
            "upn": RdpAccount("upn", f"ekt_{self.suffix}_nupn@ektlab.test", random_password("Nla"), COLOUR, text),
        }
        sam = self.workdir / "SAM"
        sam.write_text("".join(sam_line(a.username, a.domain, a.password) + "\n" for a in accounts.values()))
        sam.chmod(0o600)

        self._display = PrivateDisplay(self.workdir / "display", WIDTH, HEIGHT)
        self._display.start()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.workdir), "LANG": "C.UTF-8",
               **self._display.env()}
        # A window larger than the screen at 0,0 covers it all: no window manager needed.
        self._spawn(["xterm", "-geometry", "200x80+0+0", "-bg", COLOUR, "-fg", "white", "-fa", "DejaVu Sans Mono",
                     "-fs", "18", "-e", "sh", "-c", f"echo {text}; exec sleep 86400"], env, "xterm.log")
        self._wait_painted()
        self.port = free_port()
        self._spawn([SHADOW, "/bind-address:127.0.0.1", f"/port:{self.port}", "/sec:nla", f"/sam-file:{sam}",
                     "+auth"], env, "shadow.log")
        self._wait_listening()
        cert = self.workdir / ".config" / "freerdp" / "shadow" / "shadow.crt"
        self._silent = SilentServer()
        return ShadowTargets(
            host="127.0.0.1", port=self.port, accounts=MappingProxyType(accounts), cert_sha256=cert_sha256_of_pem(cert),
            workdir=self.workdir, colour=COLOUR, text=text, silent_port=self._silent.port, closed_port=free_port(),
        )

    def _spawn(self, args: list[str], env: dict[str, str], log_name: str) -> None:
        with open(self.workdir / log_name, "wb") as out:
            self._procs.append(subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                                stderr=subprocess.STDOUT, cwd=self.workdir))

    def _wait_painted(self) -> None:
        assert self._display is not None
        rgb = tuple(int(COLOUR[i:i + 2], 16) for i in (1, 3, 5))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            top = self._display.grab().colours(1)
            if top and top[0][1] == rgb and top[0][0] > 0.5:
                return
            time.sleep(0.1)
        raise RuntimeError("the shadow server's desktop did not paint within 15 s")

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + 15
        cert = self.workdir / ".config" / "freerdp" / "shadow" / "shadow.crt"
        while time.monotonic() < deadline:
            proc = self._procs[-1]
            if proc.poll() is not None:
                raise RuntimeError(f"freerdp-shadow-cli exited ({proc.returncode}): "
                                   f"{(self.workdir / 'shadow.log').read_text(errors='replace')[-800:]}")
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex(("127.0.0.1", self.port)) == 0 and cert.exists():
                    return
            time.sleep(0.05)
        raise RuntimeError(f"freerdp-shadow-cli did not listen on port {self.port} within 15 s")

    def stop(self) -> None:
        if self._silent is not None:
            self._silent.close()
            self._silent = None
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        self._procs.clear()
        if self._display is not None:
            self._display.stop()
            self._display = None
        if getattr(self, "workdir", None) is not None and self.workdir.exists():
            shutil.rmtree(self.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def rdp_shadow() -> Iterator[ShadowTargets]:
    if not shutil.which(SHADOW) or not shutil.which("Xvfb"):
        pytest.skip("needs freerdp-shadow-cli and Xvfb (apt-get install freerdp2-shadow-x11 xvfb)")
    with ShadowServer() as targets:
        yield targets
