"""A small SSH network device served from inside the process, for ``evidence-kit demo``.

Built on paramiko's server API; it speaks like a Cisco IOS router (user ``>`` and enable
``#`` modes, ``terminal length 0``, ``show version``), accepts one correct credential and
refuses every other. 127.0.0.1 only; no root, no set-up.
"""

from __future__ import annotations

import io
import logging
import secrets
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

HOSTNAME = "demo-edge-rtr"
SHOW_VERSION = """Cisco IOS XE Software, Version 17.09.04a
Cisco IOS Software [Cupertino], ISR Software (X86_64_LINUX_IOSD-UNIVERSALK9-M), Version 17.9.4a
Technical Support: http://www.cisco.com/techsupport
ROM: IOS-XE ROMMON
{host} uptime is 41 weeks, 3 days, 2 hours, 9 minutes
System image file is "bootflash:isr4300-universalk9.17.09.04a.SPA.bin"
cisco ISR4331/K9 (1RU) processor with 1795999K/6147K bytes of memory.
Processor board ID FDO21520TGH
3 Gigabit Ethernet interfaces
Configuration register is 0x2102
"""
INVENTORY = """NAME: "Chassis", DESCR: "Cisco ISR4331 Chassis"
PID: ISR4331/K9        , VID: V04  , SN: FDO21520TGH
"""


def _host_key() -> Any:
    import paramiko
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    return paramiko.Ed25519Key(file_obj=io.StringIO(pem.decode()))


@dataclass
class DemoDevice:
    """A running demo device: ``host``/``port``, its credentials and host key fingerprint."""

    username: str = "netadmin"
    password: str = field(default_factory=lambda: "Demo-" + secrets.token_urlsafe(10))
    enable_secret: str = field(default_factory=lambda: "En-" + secrets.token_urlsafe(10))
    host: str = "127.0.0.1"
    port: int = 0
    fingerprint: str = ""
    _sock: socket.socket | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _key: Any = None

    def start(self) -> DemoDevice:
        from evidence_kit.drivers.ssh import ssh_fingerprint
        # The demo server's own transport errors (a client hanging up) are not worth a stderr line.
        logging.getLogger("paramiko").addHandler(logging.NullHandler())

        self._key = _host_key()
        self.fingerprint = ssh_fingerprint(self._key.asbytes())
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((self.host, 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        thread = threading.Thread(target=self._accept, name="demo-ssh-accept", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def _accept(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            worker = threading.Thread(target=self._serve, args=(conn,), name="demo-ssh-conn", daemon=True)
            worker.start()
            self._threads.append(worker)

    def _serve(self, conn: socket.socket) -> None:
        import paramiko

        device = self

        class Server(paramiko.ServerInterface):
            def __init__(self) -> None:
                self.shell = threading.Event()

            def get_allowed_auths(self, username: str) -> str:
                return "password"

            def check_auth_password(self, username: str, password: str) -> int:
                ok = secrets.compare_digest(username, device.username) and secrets.compare_digest(
                    password.encode(), device.password.encode()
                )
                return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

            def check_channel_request(self, kind: str, chanid: int) -> int:
                if kind == "session":
                    return paramiko.OPEN_SUCCEEDED
                return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

            def check_channel_pty_request(self, *args: Any) -> bool:
                return True

            def check_channel_shell_request(self, channel: Any) -> bool:
                self.shell.set()
                return True

        transport = paramiko.Transport(conn)
        transport.add_server_key(self._key)
        server = Server()
        try:
            transport.start_server(server=server)
            channel = transport.accept(20)
            if channel is None or not server.shell.wait(10):
                return
            _Cli(channel, self).run()
        except (paramiko.SSHException, EOFError, OSError):
            pass
        finally:
            transport.close()

    def stop(self) -> None:
        self._stop.set()
        if self._sock is not None:
            self._sock.close()

    def __enter__(self) -> DemoDevice:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Cli:
    """The device's command line: line editing, echo, modes, a few read-only commands."""

    def __init__(self, channel: Any, device: DemoDevice) -> None:
        self.ch = channel
        self.device = device
        self.enabled = False
        self.paging = True

    def write(self, text: str) -> None:
        self.ch.sendall(text.replace("\n", "\r\n").encode())

    def readline(self, echo: bool = True) -> str | None:
        line = b""
        while True:
            data = self.ch.recv(1)
            if not data:
                return None
            if data in (b"\r", b"\n"):
                if data == b"\r" and self.ch.recv_ready():
                    # swallow the \n of a \r\n pair
                    peek = self.ch.recv(1)
                    if peek not in (b"\n",):
                        line += peek
                self.write("\n")
                return line.decode("utf-8", "replace")
            if data in (b"\x7f", b"\x08"):
                line = line[:-1]
                continue
            line += data
            if echo:
                self.ch.sendall(data)

    def prompt(self) -> str:
        return f"{HOSTNAME}{'#' if self.enabled else '>'}"

    def run(self) -> None:
        self.write("\n*** Demo device for evidence-kit. Authorized access only. ***\n\n")
        while True:
            self.write(self.prompt())
            line = self.readline()
            if line is None:
                return
            command = " ".join(line.split())
            if not command:
                continue
            if command in ("exit", "logout", "quit"):
                self.ch.close()
                return
            self.handle(command)

    def handle(self, command: str) -> None:
        if command in ("enable", "en"):
            if self.enabled:
                return
            self.write("Password: ")
            secret = self.readline(echo=False)
            if secret is not None and secrets.compare_digest(secret.encode(), self.device.enable_secret.encode()):
                self.enabled = True
            else:
                self.write("% Access denied\n\n")
        elif command == "disable":
            self.enabled = False
        elif command.startswith("terminal length"):
            self.paging = command.split()[-1] != "0"
        elif command.startswith("terminal width"):
            pass
        elif command in ("show version", "sh ver"):
            self.write(SHOW_VERSION.format(host=HOSTNAME))
        elif command in ("show inventory", "sh inv"):
            self.write(INVENTORY)
        elif command.startswith("show privilege"):
            self.write(f"Current privilege level is {15 if self.enabled else 1}\n")
        else:
            self.write(f"{' ' * len(self.prompt())}^\n% Invalid input detected at '^' marker.\n\n")
