#!/usr/bin/env python3
"""A scripted network-device CLI, run as an sshd ``ForceCommand`` so tests drive real SSH.

    ForceCommand /usr/bin/python3 /path/vendor_cli.py --vendor cisco_ios --enable-file F

Speaks like the device each shipped SSH profile targets: banner/MOTD, prompts, ``enable``
with a hidden password question, pager-off commands, identity commands with realistic text,
``--More--`` paging while the pager is on, the vendor's error text for unknown commands,
pfSense's numbered console menu, ProCurve's "Press any key to continue", MikroTik's
``[user@MikroTik] >`` (the ``+cte`` login suffix is stripped from the name, as RouterOS does).

Options (or the environment variables in brackets):
  --vendor NAME [EKT_VENDOR]           one of VENDORS below
  --start user|priv [EKT_START]        level at login (default: the vendor's usual one)
  --enable-file PATH [EKT_ENABLE_FILE] file (mode 0600) whose first line is the enable
                                       password; never given on the command line
  --no-enable                          a read-only account: ``enable`` always refuses
  --deny-pager-off                     the account may not turn the pager off (error text),
                                       so long output pages with --More--
  --page-lines N                       lines per page while the pager is on (default 20)

Standard library only: it runs under the system python as the unprivileged test user.
"""

from __future__ import annotations

import argparse
import os
import sys
import termios
import tty
from collections.abc import Callable
from dataclasses import dataclass, field

try:  # a module of the test suite (tests/profiles imports VENDORS)
    from tests.servers import vendor_texts as texts
except ImportError:  # run as the ForceCommand script, vendor_texts.py beside it
    import vendor_texts as texts  # type: ignore[no-redef]

# --- what each device says -------------------------------------------------------------------


def caret_error(message: str) -> Callable[[str, str], str]:
    """Cisco-style: a caret under the first character of the command, then the message."""

    def render(prompt: str, command: str) -> str:
        return " " * len(prompt) + "^\n" + message + "\n"

    return render


def plain_error(template: str) -> Callable[[str, str], str]:
    def render(prompt: str, command: str) -> str:
        return template.format(cmd=command, word=command.split()[0] if command.split() else "") + "\n"

    return render


@dataclass
class Vendor:
    hostname: str
    prompts: dict[str, str]  # level -> format with {host} and {user}
    start: str = "user"
    banner: str = ""
    enable: str | None = None  # command that climbs from "user" to "priv"
    enable_fail: str = "% Access denied\n"
    pager_off: dict[str, str] = field(default_factory=dict)  # command -> its reply
    more: str = " --More-- "
    commands: dict[str, str] = field(default_factory=dict)
    priv_commands: set[str] = field(default_factory=set)  # refused below "priv"
    error: Callable[[str, str], str] = field(
        default_factory=lambda: caret_error("% Invalid input detected at '^' marker.")
    )
    exits: set[str] = field(default_factory=lambda: {"exit", "logout", "quit"})
    before_prompt: str | None = None  # "anykey", "license", "menu"


VENDORS: dict[str, Vendor] = {
    "cisco_ios": Vendor(
        hostname="R1-core", prompts={"user": "{host}>", "priv": "{host}#"},
        banner="\n**************************************************\n"
               "* Authorized access only. Activity is monitored. *\n"
               "**************************************************\n\n",
        enable="enable", enable_fail="% Bad secrets\n\n",
        pager_off={"terminal length 0": "", "terminal width 511": ""},
        commands={"show version": texts.CISCO_IOS_VERSION, "show inventory": texts.CISCO_IOS_INVENTORY,
                  "show clock": "*09:12:44.123 UTC Wed Nov 25 2026\n"},
        priv_commands={"show inventory"},
    ),
    "cisco_nxos": Vendor(
        hostname="N9K-spine1", prompts={"user": "{host}>", "priv": "{host}#"}, start="priv",
        banner="Cisco Nexus Operating System (NX-OS) Software\nTAC support: http://www.cisco.com/tac\n"
               "Copyright (C) 2002-2023, Cisco and/or its affiliates.\nAll rights reserved.\n",
        pager_off={"terminal length 0": "", "terminal width 511": ""},
        commands={"show version": texts.NXOS_VERSION, "show hostname": "{host}\n"},
        error=caret_error("% Invalid command at '^' marker."),
    ),
    "cisco_asa": Vendor(
        hostname="asa-fw1", prompts={"user": "{host}>", "priv": "{host}#"},
        banner="Type help or '?' for a list of available commands.\n",
        enable="enable", enable_fail="Invalid password\n",
        pager_off={"terminal pager 0": ""}, more="<--- More --->",
        commands={"show version": texts.ASA_VERSION},
        error=caret_error("ERROR: % Invalid input detected at '^' marker."),
    ),
    "juniper_junos": Vendor(
        hostname="mx-edge1", prompts={"user": "{user}@{host}> "},
        banner="Last login: Tue Nov 24 16:02:11 2026 from 192.0.2.99\n"
               "--- JUNOS 21.4R3-S5.4 Kernel 64-bit  JNPR-12.1-20230913.5a5c3b2_buil\n",
        pager_off={"set cli screen-length 0": "Screen length set to 0\n",
                   "set cli screen-width 511": "Screen width set to 511\n"},
        more="---(more 48%)---", commands={"show version": texts.JUNOS_VERSION},
        error=caret_error("unknown command."),
    ),
    "arista_eos": Vendor(
        hostname="leaf1", prompts={"user": "{host}>", "priv": "{host}#"},
        banner="Last login: Tue Nov 24 16:02:11 2026 from 192.0.2.99\n",
        enable="enable", enable_fail="% Access denied\n",
        pager_off={"terminal length 0": "Pagination disabled.\n",
                   "terminal width 32767": "Width set to 32767 columns.\n"},
        commands={"show version": texts.EOS_VERSION},
        error=plain_error("% Invalid input"),
    ),
    "fortinet": Vendor(
        hostname="FGT-HQ", prompts={"user": "{host} $ ", "priv": "{host} # "}, start="priv",
        pager_off={}, more="--More-- ",
        commands={"get system status": texts.FORTIOS_STATUS},
        error=plain_error("Unknown action 0\n\nCommand fail. Return code -61"),
    ),
    "paloalto_panos": Vendor(
        hostname="PA-3220", prompts={"user": "{user}@{host}> "},
        banner="Last login: Tue Nov 24 16:02:11 2026 from 192.0.2.99\n\n"
               "Number of failed attempts since last successful login: 0\n\n\n",
        pager_off={"set cli pager off": "", "set cli scripting-mode on": ""},
        more="lines 1-20 ", commands={"show system info": texts.PANOS_INFO},
        error=plain_error("Unknown command: {word}"),
    ),
    "mikrotik_routeros": Vendor(
        hostname="MikroTik", prompts={"user": "[{user}@{host}] > "}, banner=texts.MIKROTIK_BANNER,
        more="-- [Q quit|D dump|down]",
        commands={"/system resource print": texts.MIKROTIK_RESOURCE,
                  "/system identity print": "  name: {host}\n"},
        error=plain_error("bad command name {word} (line 1 column 1)"),
        exits={"/quit", "quit"}, before_prompt="license",
    ),
    "ubiquiti_edge": Vendor(
        hostname="UBNT EdgeSwitch", prompts={"user": "({host}) >", "priv": "({host}) #"},
        banner="\nWelcome to EdgeSwitch\n\nBy logging in, accessing, or using the Ubiquiti product, you\n"
               "acknowledge that you have read and understood the Ubiquiti\nLicense Agreement.\n\n",
        enable="enable", enable_fail="Incorrect Password!\n",
        pager_off={"terminal length 0": ""}, more="--More-- or (q)uit",
        commands={"show version": texts.EDGESWITCH_VERSION},
    ),
    "ubiquiti_edgerouter": Vendor(
        hostname="er-x", prompts={"user": "{user}@{host}:~$ "},
        banner="Welcome to EdgeOS\n\nBy logging in, accessing, or using the Ubiquiti product, you\n"
               "acknowledge that you have read and understood the Ubiquiti\n"
               "License Agreement (available in the Web UI at, by default,\n"
               "http://192.168.1.1) and agree to be bound by its terms.\n\n"
               "Linux er-x 4.14.54-UBNT #1 SMP Thu Jun 22 13:16:08 UTC 2023 mips\n",
        pager_off={"terminal length 0": ""}, more=":",
        commands={"show version": texts.EDGEOS_VERSION},
        error=plain_error("Invalid command: [{word}]"),
    ),
    "hp_procurve": Vendor(
        hostname="HP-2930F-48G", prompts={"user": "{host}> ", "priv": "{host}# "}, start="priv",
        banner="HPE J9728A 2920-48G Switch\nSoftware revision WC.16.11.0016\n\n"
               "(C) Copyright 2023 Hewlett Packard Enterprise Development LP\n\n"
               "                   RESTRICTED RIGHTS LEGEND\n"
               " Confidential computer software. Valid license from HPE required for possession,\n"
               " use or copying.\n\nWe'd like to keep you up to date about:\n"
               "  * Software feature updates\n  * New product announcements\n"
               "  * Special events\n\nPlease register your products now at:  www.hpe.com/networking/register\n\n\n",
        pager_off={"no page": "", "terminal width 511": ""},
        more="-- MORE --, next page: Space, next line: Enter, quit: Control-C",
        commands={"show system information": texts.PROCURVE_SYSTEM, "show version": texts.PROCURVE_VERSION},
        error=plain_error("Invalid input: {word}"), exits={"exit", "logout"}, before_prompt="anykey",
    ),
    "aruba_aoscx": Vendor(
        hostname="6300-core", prompts={"user": "{host}> ", "priv": "{host}# "}, start="priv",
        banner="\nLast login: 2026-11-24 16:02:11 from 192.0.2.99\nUser \"admin\" has logged in 12 times "
               "in the past 30 days\n",
        pager_off={"no page": ""}, more="-- MORE --, next page: Space, next line: Enter, quit: q",
        commands={"show version": texts.AOSCX_VERSION, "show system": texts.AOSCX_SYSTEM},
        error=plain_error("Invalid input: {word}"),
    ),
    "pfsense": Vendor(
        hostname="pfSense.home.arpa", prompts={"user": "[2.7.2-RELEASE][{user}@{host}]/root: "},
        commands={"uname -a": "FreeBSD pfSense.home.arpa 14.0-CURRENT FreeBSD 14.0-CURRENT #1 "
                              "RELENG_2_7_2-n255948-8d2b56da39c: Wed Dec  6 20:45:47 UTC 2023     "
                              "root@freebsd:/var/jenkins/workspace/pfSense-CE-snapshots-2_7_2-main/"
                              "obj/amd64/StdASW5b/var/jenkins/workspace/pfSense-CE-snapshots-2_7_2-main/"
                              "sources/FreeBSD-src-RELENG_2_7_2/amd64.amd64/sys/pfSense amd64\n",
                  "cat /etc/version": "2.7.2-RELEASE\n", "cat /etc/platform": "pfSense\n"},
        error=plain_error("{word}: Command not found."), exits={"exit"}, before_prompt="menu",
    ),
}

PAGE_LINES = 20


# --- the terminal ----------------------------------------------------------------------------


class Terminal:
    """Raw-mode I/O that behaves like a device: it echoes what it reads and ends lines CR LF."""

    def __init__(self) -> None:
        self.tty = os.isatty(0)
        self._saved = termios.tcgetattr(0) if self.tty else None
        if self.tty:
            tty.setraw(0)
        self._after_cr = False

    def restore(self) -> None:
        if self._saved is not None:
            termios.tcsetattr(0, termios.TCSADRAIN, self._saved)

    def write(self, text: str) -> None:
        data = text.replace("\r\n", "\n").replace("\n", "\r\n").encode()
        while data:
            data = data[os.write(1, data):]

    def key(self) -> str | None:
        """One key press (a CR LF pair counts once)."""
        while True:
            b = os.read(0, 1)
            if not b:
                return None
            ch = b.decode("latin-1")
            if ch == "\n" and self._after_cr:
                self._after_cr = False
                continue
            self._after_cr = ch == "\r"
            return ch

    def line(self, echo: bool = True) -> str | None:
        buf: list[str] = []
        while True:
            ch = self.key()
            if ch is None or (ch == "\x04" and not buf):
                return None
            if ch in "\r\n":
                self.write("\n")
                return "".join(buf)
            if ch in "\x7f\x08":
                if buf:
                    buf.pop()
                    if echo:
                        self.write("\b \b")
                continue
            if ch == "\x03":
                self.write("^C\n")
                return ""
            if ch == "\x15":  # Ctrl-U
                buf.clear()
                continue
            buf.append(ch)
            if echo:
                self.write(ch)


# --- the device --------------------------------------------------------------------------------


class Device:
    def __init__(self, name: str, args: argparse.Namespace) -> None:
        self.name = name
        self.v = VENDORS[name]
        self.args = args
        user = os.environ.get("USER") or os.environ.get("LOGNAME") or "admin"
        self.user = user.split("+", 1)[0]  # RouterOS strips its console options from the name
        self.level = args.start or self.v.start
        self.pager = True
        self.sub: str | None = None  # FortiOS "config system console" block
        self.term = Terminal()

    def enable_password(self) -> str | None:
        path = self.args.enable_file
        if not path:
            return None
        with open(path, encoding="utf-8") as fh:
            return fh.read().splitlines()[0] if os.path.getsize(path) else ""

    @property
    def prompt(self) -> str:
        fmt = self.v.prompts.get(self.level) or next(iter(self.v.prompts.values()))
        text = fmt.format(host=self.v.hostname, user=self.user)
        if self.sub:
            text = text.replace(" # ", f" ({self.sub}) # ")
        return text

    def out(self, text: str) -> None:
        """Write command output, paging it while the pager is on."""
        text = text.format(host=self.v.hostname, user=self.user)
        lines = text.split("\n")
        if text.endswith("\n"):
            lines.pop()
        page = self.args.page_lines
        if not self.pager or len(lines) <= page:
            self.term.write("".join(line + "\n" for line in lines))
            return
        shown = 0
        step = page
        while shown < len(lines):
            chunk = lines[shown:shown + step]
            self.term.write("".join(line + "\n" for line in chunk))
            shown += len(chunk)
            if shown >= len(lines):
                break
            self.term.write(self.v.more)
            key = self.term.key()
            # Erase the pager prompt the way devices do: CR, blanks, CR.
            self.term.write("\r" + " " * len(self.v.more) + "\r")
            if key is None or key in "qQ\x03":
                return
            step = 1 if key in "\r\n" else page

    def run(self) -> int:
        try:
            self.term.write(self.v.banner)
            if self.v.before_prompt == "anykey":
                self.term.write("Press any key to continue")
                if self.term.key() is None:
                    return 0
                self.term.write("\n")
            elif self.v.before_prompt == "license":
                self.term.write("\nDo you want to see the software license? [Y/n]: ")
                key = self.term.key()
                if key is None:
                    return 0
                self.term.write(key + "\n")
                if key in "Yy\r\n":
                    self.out("MikroTik RouterOS licence: see https://mikrotik.com/downloadterms.html\n")
            elif self.v.before_prompt == "menu":
                return self.menu()
            self.shell()
            return 0
        finally:
            self.term.restore()

    def menu(self) -> int:
        while True:
            self.term.write(texts.PFSENSE_MENU + "Enter an option: ")
            choice = self.term.line()
            if choice is None or choice.strip() == "0":
                self.term.write("\n")
                return 0
            if choice.strip() == "8":
                self.term.write("\n")
                self.shell()
                continue
            if choice.strip():
                self.term.write(f"\nOption {choice.strip()} is not available on this console.\n\n")

    def shell(self) -> None:
        while True:
            self.term.write(self.prompt)
            line = self.term.line()
            if line is None:
                return
            command = " ".join(line.split())
            if not command:
                continue
            if not self.execute(command):
                return

    def execute(self, command: str) -> bool:
        v = self.v
        lower = command.lower()
        if self.sub is not None:  # FortiOS config block
            if lower == "end":
                self.sub = None
            elif lower == "set output standard":
                self.pager = False
            elif lower == "set output more":
                self.pager = True
            return True
        if lower in v.exits:
            if self.name == "hp_procurve" and lower == "logout":
                self.term.write("Do you want to log out [y/n]? ")
                key = self.term.key() or "y"
                self.term.write(key + "\n")
                return key in "nN"  # "n" stays logged in
            return False
        if lower == "enable" and v.enable:
            self.enable()
            return True
        if lower == "disable" and v.enable:
            self.level = "user"
            return True
        if self.name == "fortinet" and lower == "config system console":
            if self.level != "priv":
                self.term.write(v.error(self.prompt, command))
            else:
                self.sub = "console"
            return True
        if lower in v.pager_off:
            if self.args.deny_pager_off:
                self.term.write(v.error(self.prompt, command))
            else:
                self.pager = False
                self.term.write(v.pager_off[lower])
            return True
        if lower in v.commands:
            if lower in v.priv_commands and self.level != "priv":
                self.term.write(v.error(self.prompt, command))
                return True
            self.out(v.commands[lower])
            return True
        if self.name == "paloalto_panos" and lower.startswith("set cli "):
            self.term.write("Invalid syntax.\n")
            return True
        self.term.write(v.error(self.prompt, command))
        return True

    def enable(self) -> None:
        expected = None if self.args.no_enable else self.enable_password()
        if self.level == "priv":
            return
        if expected is None and not self.args.no_enable:
            self.level = "priv"  # no enable password configured
            return
        for _ in range(3):
            self.term.write("Password: ")
            given = self.term.line(echo=False)
            if given is None:
                return
            if expected is not None and given == expected:
                self.level = "priv"
                return
            if self.name in ("cisco_asa", "arista_eos", "ubiquiti_edge"):
                break  # these say no after one wrong answer
        self.term.write(self.v.enable_fail)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vendor", default=os.environ.get("EKT_VENDOR"), choices=sorted(VENDORS))
    parser.add_argument("--start", default=os.environ.get("EKT_START"), choices=["user", "priv"])
    parser.add_argument("--enable-file", default=os.environ.get("EKT_ENABLE_FILE"))
    parser.add_argument("--no-enable", action="store_true")
    parser.add_argument("--deny-pager-off", action="store_true")
    parser.add_argument("--page-lines", type=int, default=PAGE_LINES)
    args = parser.parse_args(argv)
    if not args.vendor:
        parser.error("--vendor (or EKT_VENDOR) is required")
    # sshd runs ForceCommand for exec requests too: refuse them like a device without exec.
    if os.environ.get("SSH_ORIGINAL_COMMAND"):
        sys.stderr.write("exec request refused: interactive shell only\n")
        return 1
    return Device(args.vendor, args).run()


if __name__ == "__main__":
    sys.exit(main())
