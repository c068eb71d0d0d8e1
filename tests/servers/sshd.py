"""A real OpenSSH sshd on 127.0.0.1 with throw-away users, for SSH driver tests and benchmarks.

The session fixture ``sshd_targets`` starts ``/usr/sbin/sshd -D -e -f CONFIG`` with its own
config and host keys in a temporary folder, creates one system user per role (``useradd``,
random password via ``chpasswd``; tests run as root) and removes them all at teardown, also
when a test or the start-up itself fails. Roles:

- ``linux``: a real bash shell; ``key``: the same, logging in with an ed25519 key;
- one per simulated vendor profile (``cisco_ios``, ``juniper_junos``, ...): the login runs
  tests/servers/vendor_cli.py through ``Match User`` + ``ForceCommand``;
- ``cisco_limited``: a ``>``-only Cisco account that cannot enable;
- ``cisco_pager``: a Cisco account that may not turn the pager off, so output pages;
- ``fortinet_readonly``: a FortiGate read-only admin (``$`` prompt);
- ``banner_html`` / ``banner_huge``: bash users whose pre-auth banner is hostile (HTML with
  ``<script>`` and ANSI escapes) or huge (250 KB, the most sshd sends, then 1 MB of hostile
  text before the shell prompt).

Besides: a "silent" TCP port that accepts and never speaks, and a port nobody listens on.
:class:`SshdServer` works without pytest too (benchmarks/bench_ssh.py uses it).

Optional parameters let the same set-up run inside a network namespace as a jump host or a
target behind one (tests/servers/netns.py): ``netns``, ``listen_address``, ``listen_port``,
``allow_tcp_forwarding`` and ``log_level`` (``VERBOSE`` logs every connection, which tests read
from ``SshdTargets.log`` to prove that nothing reached a server). Their defaults keep the
behaviour above.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
import yaml

from tests.helpers import free_port, random_password
from tests.servers.lifecycle import ServerFixture, add_user, end_process, remove_users, run_checked

SSHD = "/usr/sbin/sshd"
SIMULATOR = Path(__file__).with_name("vendor_cli.py")
SIMULATOR_FILES = (SIMULATOR, Path(__file__).with_name("vendor_texts.py"))
SYSTEM_PYTHON = "/usr/bin/python3"  # the test users cannot read root's pyenv; stdlib suffices


def install_simulator(folder: Path) -> Path:
    """Copy the device simulator (and its texts) where the test users can read and run it."""
    for src in SIMULATOR_FILES:
        shutil.copyfile(src, folder / src.name)
        (folder / src.name).chmod(0o755)
    return folder / SIMULATOR.name


@dataclass(frozen=True)
class Role:
    """How one test account behaves: a shell, or the simulator with some options."""

    name: str
    tag: str  # short, goes into the user name
    profile: str
    vendor: str | None = None  # simulator vendor; None = real bash
    sim_args: tuple[str, ...] = ()
    enable: bool = False  # the account has an enable password file
    key: bool = False
    banner: str | None = None  # "html" | "huge"
    kbd_only: bool = False  # password only through keyboard-interactive (PAM), as many devices do
    expect: str = "login_ok"
    identity: str = ""  # text the identity commands print (checked in transcripts)


ROLES: tuple[Role, ...] = (
    Role("linux", "lnx", "linux", identity="GNU/Linux"),
    Role("key", "key", "linux", key=True, identity="GNU/Linux"),
    Role("kbd", "kbd", "linux", kbd_only=True, identity="GNU/Linux"),
    Role("cisco_ios", "ios", "cisco_ios", "cisco_ios", ("--start", "user"), enable=True,
         identity="Cisco IOS XE Software, Version 17.09.04a"),
    Role("cisco_nxos", "nxos", "cisco_nxos", "cisco_nxos", identity="NXOS: version 10.3(4a)"),
    Role("cisco_asa", "asa", "cisco_asa", "cisco_asa", ("--start", "user"), enable=True,
         identity="Cisco Adaptive Security Appliance Software Version 9.18(4)"),
    Role("juniper_junos", "junos", "juniper_junos", "juniper_junos", identity="Junos: 21.4R3-S5.4"),
    Role("arista_eos", "eos", "arista_eos", "arista_eos", ("--start", "user"), enable=True,
         identity="Software image version: 4.30.2F"),
    Role("fortinet", "fgt", "fortinet", "fortinet", identity="Version: FortiGate-100F v7.2.7"),
    Role("paloalto_panos", "panos", "paloalto_panos", "paloalto_panos", identity="sw-version: 10.2.7-h3"),
    Role("mikrotik_routeros", "mt", "mikrotik_routeros", "mikrotik_routeros",
         identity="version: 7.12.1 (stable)"),
    Role("ubiquiti_edge", "edge", "ubiquiti_edge", "ubiquiti_edge", ("--start", "user"), enable=True,
         identity="Machine Model.................................. ES-24-Lite"),
    Role("ubiquiti_edgerouter", "er", "ubiquiti_edgerouter", "ubiquiti_edgerouter",
         identity="HW model:     EdgeRouter X 5-Port"),
    Role("hp_procurve", "hp", "hp_procurve", "hp_procurve", identity="Software revision  : WC.16.11.0016"),
    Role("aruba_aoscx", "cx", "aruba_aoscx", "aruba_aoscx", identity="Version      : FL.10.10.1040"),
    Role("pfsense", "pf", "pfsense", "pfsense", identity="FreeBSD pfSense.home.arpa 14.0-CURRENT"),
    Role("cisco_limited", "lim", "cisco_ios", "cisco_ios", ("--start", "user", "--no-enable"),
         expect="login_limited", identity="Cisco IOS XE Software, Version 17.09.04a"),
    Role("cisco_pager", "pag", "cisco_ios", "cisco_ios", ("--start", "priv", "--deny-pager-off"),
         identity="Configuration register is 0x102"),
    Role("fortinet_readonly", "fro", "fortinet", "fortinet", ("--start", "user"),
         expect="login_limited", identity="Serial-Number: FG100FTK21012345"),
    Role("banner_html", "bhtml", "linux", banner="html", identity="GNU/Linux"),
    Role("banner_huge", "bbig", "linux", banner="huge", identity="GNU/Linux"),
)
ROLES_BY_NAME = {r.name: r for r in ROLES}

# What the hostile banner carries: markup a report must not execute, escapes a terminal must
# not obey (clear screen, set title, hide cursor), and a fake prompt line.
HOSTILE_BANNER = (
    "<html><script>alert(document.cookie)</script><img src=x onerror=\"fetch('//evil')\">\n"
    "\x1b[2J\x1b[H\x1b]0;pwned-title\x07\x1b[31;1mRED ALERT\x1b[0m \x1b[?25l\n"
    "</html>\nR1-core#\n"
)
# OpenSSH 9.2 cannot send a pre-auth banner much over 256 KB (its monitor drops the connection,
# "mm_request_send: write: Broken pipe"), so the huge-banner account gets the largest banner sshd
# delivers plus 1 MB of hostile text printed before its shell prompt (a "MOTD").
HUGE_BANNER_BYTES = 250 * 1024
HUGE_MOTD_BYTES = 1024 * 1024


@dataclass(frozen=True)
class SshAccount:
    role: str
    username: str  # as an inventory gives it (a profile's username_suffix is added at login)
    password: str
    profile: str
    enable_secret: str | None = None
    key_file: Path | None = None
    expect: str = "login_ok"
    identity: str = ""
    system_user: str = ""  # the account as sshd sees it (with the suffix)


@dataclass(frozen=True)
class SshdTargets:
    """What tests need to reach the servers. Values are test-only random secrets."""

    host: str
    port: int
    host_key_fingerprints: Mapping[str, str]  # key type (ssh-ed25519...) -> SHA256:...
    known_hosts: Path
    accounts: Mapping[str, SshAccount]
    silent_port: int
    unreachable_port: int
    workdir: Path
    log: Path | None = None  # sshd's own log (-e): connections, auth results
    netns: str | None = None  # the network namespace sshd runs in (None: the root one)
    hostile_banner: str = HOSTILE_BANNER
    huge_banner_bytes: int = HUGE_BANNER_BYTES
    huge_motd_bytes: int = HUGE_MOTD_BYTES

    def account(self, role: str) -> SshAccount:
        return self.accounts[role]

    def secrets(self) -> list[str]:
        """Every password and enable secret of every account (for assert_no_secrets)."""
        out: list[str] = []
        for a in self.accounts.values():
            out.append(a.password)
            if a.enable_secret:
                out.append(a.enable_secret)
        return out

    def key_private_text(self) -> str:
        key = self.accounts["key"].key_file if "key" in self.accounts else None
        return key.read_text() if key else ""


def fingerprint_of_pub(line: str) -> str:
    """OpenSSH SHA-256 fingerprint (``SHA256:...``, unpadded base64) of a .pub line."""
    blob = base64.b64decode(line.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")




class SilentServer:
    """Accepts TCP connections and never says a word (the SSH banner wait must time out)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="silent-tcp", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self._held.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        for conn in self._held:
            conn.close()
        self.sock.close()


@dataclass
class SshdServer(ServerFixture[SshdTargets]):
    """Start/stop the whole set-up; use as a context manager (cleans up on any failure)."""

    roles: Iterable[str] | None = None  # None = all of ROLES
    max_startups: str = "100:30:200"
    max_sessions: int = 50
    suffix: str = field(default_factory=lambda: secrets.token_hex(3))
    netns: str | None = None  # run sshd inside this network namespace (ip netns exec)
    listen_address: str = "127.0.0.1"
    listen_port: int = 0  # 0: a free port on 127.0.0.1
    allow_tcp_forwarding: bool = False  # True: "local" forwarding (a jump host's direct-tcpip)
    log_level: str | None = None  # sshd LogLevel; None: sshd's default (INFO)
    workdir: Path = field(init=False)
    port: int = field(init=False, default=0)
    _users: list[str] = field(init=False, default_factory=list)
    _proc: subprocess.Popen[bytes] | None = field(init=False, default=None)
    _silent: SilentServer | None = field(init=False, default=None)


    # -- set-up ---------------------------------------------------------------------------------

    def start(self) -> SshdTargets:
        if os.geteuid() != 0:
            raise RuntimeError("the sshd fixture creates system users: run the tests as root")
        self.workdir = Path(tempfile.mkdtemp(prefix="ekt-sshd-"))
        self.workdir.chmod(0o755)  # test users read the simulator from here
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)
        sim = install_simulator(self.workdir)

        host_keys = self._host_keys()
        roles = [ROLES_BY_NAME[r] for r in (self.roles or [r.name for r in ROLES])]
        accounts: dict[str, SshAccount] = {}
        match_blocks: list[str] = []
        for role in roles:
            account, block = self._make_account(role, sim)
            accounts[role.name] = account
            match_blocks.append(block)

        self.port = self.listen_port or free_port()
        config = self.workdir / "sshd_config"
        config.write_text(self._config(host_keys, accounts, match_blocks))
        run_checked([SSHD, "-t", "-f", str(config)])
        self._start_sshd(config)
        self._silent = SilentServer()

        known_hosts = self.workdir / "known_hosts"
        lines, fingerprints = [], {}
        for pub in host_keys:
            text = pub.read_text().strip()
            ktype, blob = text.split()[:2]
            where = self.listen_address if self.port == 22 else f"[{self.listen_address}]:{self.port}"
            lines.append(f"{where} {ktype} {blob}")
            fingerprints[ktype] = fingerprint_of_pub(text)
        known_hosts.write_text("\n".join(lines) + "\n")
        return SshdTargets(
            host=self.listen_address, port=self.port, host_key_fingerprints=MappingProxyType(fingerprints),
            known_hosts=known_hosts, accounts=MappingProxyType(accounts), silent_port=self._silent.port,
            unreachable_port=free_port(), workdir=self.workdir, log=self.workdir / "sshd.log", netns=self.netns,
        )

    def _host_keys(self) -> list[Path]:
        pubs = []
        for ktype, extra in (("ed25519", []), ("ecdsa", ["-b", "256"]), ("rsa", ["-b", "2048"])):
            key = self.workdir / f"ssh_host_{ktype}_key"
            run_checked(["ssh-keygen", "-q", "-t", ktype, *extra, "-N", "", "-C", f"ekt-{ktype}", "-f", str(key)])
            pubs.append(key.with_suffix(".pub"))
        return pubs

    def _make_account(self, role: Role, sim: Path) -> tuple[SshAccount, str]:
        base = f"ekt_{self.suffix}_{role.tag}"
        from evidence_kit.profiles import ProfileRegistry

        suffix = getattr(ProfileRegistry().get(role.profile).profile, "username_suffix", "")
        system_user = base + suffix  # RouterOS reads "+cte" from the name; sshd sees it whole
        password = random_password("Pw")
        self._users.append(system_user)
        add_user(system_user, password, f"evidence-kit test {role.name}")
        home = Path(f"/home/{system_user}")

        enable_secret = key_file = None
        block = [f"Match User {system_user}"]
        if role.vendor:
            command = [SYSTEM_PYTHON, str(sim), "--vendor", role.vendor, *role.sim_args]
            if role.enable:
                enable_secret = random_password("En")
                secret_file = self.workdir / f"enable-{system_user}"
                secret_file.write_text(enable_secret + "\n")
                secret_file.chmod(0o600)
                shutil.chown(secret_file, system_user, system_user)
                command += ["--enable-file", str(secret_file)]
            block.append("    ForceCommand " + " ".join(command))
        if role.kbd_only:
            block.append("    PasswordAuthentication no")
        if role.key:
            key_file = self.workdir / f"id_ed25519_{role.tag}"
            run_checked(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"ekt-{role.tag}", "-f", str(key_file)])
            ssh_dir = home / ".ssh"
            ssh_dir.mkdir(mode=0o700, exist_ok=True)
            (ssh_dir / "authorized_keys").write_text(key_file.with_suffix(".pub").read_text())
            (ssh_dir / "authorized_keys").chmod(0o600)
            for p in (ssh_dir, ssh_dir / "authorized_keys"):
                shutil.chown(p, system_user, system_user)
        if role.banner:
            banner = self.workdir / f"banner-{role.banner}.txt"
            if not banner.exists():
                if role.banner == "html":
                    banner.write_text(HOSTILE_BANNER)
                else:
                    line = "HUGE BANNER " + "x" * 51 + "\n"  # 64 bytes a line
                    banner.write_text(line * (HUGE_BANNER_BYTES // len(line)))
            block.append(f"    Banner {banner}")
            if role.banner == "huge":
                motd = self.workdir / "motd-huge.txt"
                chunk = HOSTILE_BANNER.replace("R1-core#\n", "") + "y" * 900 + "\n"
                motd.write_text(chunk * (HUGE_MOTD_BYTES // len(chunk) + 1))
                motd.chmod(0o644)
                block.append(f"    ForceCommand /bin/cat {motd}; exec /bin/bash -il")
        account = SshAccount(
            role=role.name, username=base, password=password, profile=role.profile,
            enable_secret=enable_secret, key_file=key_file, expect=role.expect, identity=role.identity,
            system_user=system_user,
        )
        return account, "\n".join(block) if len(block) > 1 else ""

    def _config(self, host_keys: list[Path], accounts: dict[str, SshAccount], blocks: list[str]) -> str:
        users = " ".join(a.system_user for a in accounts.values())
        keys = "\n".join(f"HostKey {p.with_suffix('')}" for p in host_keys)
        return f"""\
# evidence-kit test sshd (generated)
ListenAddress {self.listen_address}
Port {self.port}
{keys}
PidFile {self.workdir}/sshd.pid
AuthorizedKeysFile .ssh/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication yes
UsePAM yes
PermitRootLogin no
# Only our throw-away users can log in through this server.
AllowUsers {users}
MaxStartups {self.max_startups}
MaxSessions {self.max_sessions}
MaxAuthTries 6
LoginGraceTime 60
PrintMotd no
PrintLastLog no
UseDNS no
X11Forwarding no
AllowTcpForwarding {"local" if self.allow_tcp_forwarding else "no"}
AllowAgentForwarding no
{f"LogLevel {self.log_level}" if self.log_level else ""}
Subsystem sftp internal-sftp
{chr(10).join(b for b in blocks if b)}
"""

    def _start_sshd(self, config: Path) -> None:
        log_path = self.workdir / "sshd.log"
        prefix = ["ip", "netns", "exec", self.netns] if self.netns else []  # ip execs sshd: same PID
        with open(log_path, "wb") as log:  # sshd keeps its own copy of the fd
            self._proc = subprocess.Popen([*prefix, SSHD, "-D", "-e", "-f", str(config)], stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"sshd exited: {log_path.read_text()[-1000:]}")
            if self.netns:
                # Not reachable from this (root) namespace: sshd says when it listens.
                if f"Server listening on {self.listen_address} port {self.port}." in log_path.read_text():
                    return
                time.sleep(0.02)
                continue
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.settimeout(2)
                    if s.recv(64).startswith(b"SSH-2.0-"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("sshd did not start listening within 10 s")

    # -- tear-down ------------------------------------------------------------------------------

    def stop(self) -> None:
        if self._silent is not None:
            self._silent.close()
            self._silent = None
        if self._proc is not None:
            end_process(self._proc)
            self._proc = None
        remove_users(self._users)
        if getattr(self, "workdir", None) is not None and self.workdir.exists():
            shutil.rmtree(self.workdir, ignore_errors=True)


# --- inventories for these targets -------------------------------------------------------------


@dataclass
class InventoryTarget:
    name: str
    account: SshAccount
    port: int
    host: str = "127.0.0.1"
    profile: str | None = None  # default: the account's profile
    password: str | None = None  # override (e.g. a wrong one); default: the account's
    use_key: bool = False
    with_enable: bool = True
    extra: dict[str, Any] = field(default_factory=dict)  # more inventory fields (timeouts...)


def build_inventory(path: Path, targets: list[InventoryTarget], case: dict[str, Any] | None = None) -> dict[str, str]:
    """Write an inventory YAML for ``targets``; return the environment it needs.

    Secrets go into the file as ``env:`` references only; the caller puts the returned
    variables into ``os.environ`` (e.g. with ``monkeypatch.setenv``) before capturing.
    """
    env: dict[str, str] = {}
    rows = []
    for t in targets:
        key = "".join(c if c.isalnum() else "_" for c in t.name).upper()
        row: dict[str, Any] = {
            "name": t.name, "profile": t.profile or t.account.profile, "host": t.host, "port": t.port,
            "username": t.account.username,
        }
        if t.use_key:
            row["key_file"] = str(t.account.key_file)
        else:
            env[f"EKT_PW_{key}"] = t.password if t.password is not None else t.account.password
            row["password"] = f"env:EKT_PW_{key}"
        if t.with_enable and t.account.enable_secret:
            env[f"EKT_EN_{key}"] = t.account.enable_secret
            row["enable_secret"] = f"env:EKT_EN_{key}"
        row.update(t.extra)
        rows.append(row)
    doc = {
        "case": case or {"client": "Contoso Ltd", "provider": "Example MSP", "technician": "Test Runner"},
        "targets": rows,
    }
    Path(path).write_text(yaml.safe_dump(doc, sort_keys=False))
    return env


# --- the pytest fixture ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def sshd_targets() -> Iterator[SshdTargets]:
    if os.geteuid() != 0 or not Path(SSHD).exists():
        pytest.skip("needs root and OpenSSH sshd (apt-get install openssh-server)")
    with SshdServer() as targets:
        yield targets
