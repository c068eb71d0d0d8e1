"""Every shipped SSH profile loads, lints, and recognises the prompts of the device it targets.

The prompt strings below are what the real devices print (and what tests/servers/vendor_cli.py
prints for them); the driver matches mode patterns against the last line of output, with
escape sequences removed, so that is what these tests do too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from evidence_kit.profiles import ProfileRegistry, builtin_dir, lint
from evidence_kit.profiles.ssh import SshProfile
from tests.servers import vendor_cli

REQUIRED = [
    "linux", "cisco_ios", "cisco_nxos", "cisco_asa", "juniper_junos", "arista_eos", "fortinet",
    "paloalto_panos", "mikrotik_routeros", "ubiquiti_edge", "hp_procurve", "aruba_aoscx", "pfsense",
]

# profile -> [(prompt line as the device shows it, mode it must match)]
REAL_PROMPTS: dict[str, list[tuple[str, str]]] = {
    "linux": [("alice@web01:~$ ", "user"), ("[root@db01 ~]# ", "root"), ("bob@bsd:/usr/home/bob % ", "user"),
              ("\x1b[?2004halice@web01:~$ ", "user")],
    "cisco_ios": [("R1-core>", "exec"), ("R1-core#", "privilege_exec"), ("sw-01.lab#", "privilege_exec")],
    "cisco_nxos": [("N9K-spine1#", "privilege_exec"), ("N9K-spine1(maint-mode)#", "privilege_exec")],
    "cisco_asa": [("asa-fw1>", "exec"), ("asa-fw1#", "privilege_exec"), ("asa-fw1/admin#", "privilege_exec")],
    "juniper_junos": [("admin@mx-edge1> ", "exec"), ("admin@mx-edge1# ", "configuration"),
                      ("netops@srx-re0.dc1> ", "exec")],
    "arista_eos": [("leaf1>", "exec"), ("leaf1#", "privilege_exec")],
    "fortinet": [("FGT-HQ # ", "admin"), ("FGT-HQ $ ", "read_only"), ("FGT-HQ (root) # ", "admin"),
                 ("FG100F-01 (global) # ", "admin")],
    "paloalto_panos": [("admin@PA-3220> ", "exec"), ("admin@PA-3220(active)> ", "exec"),
                       ("admin@PA-3220# ", "configuration")],
    "mikrotik_routeros": [("[admin@MikroTik] > ", "exec"), ("[admin@core-rtr] /ip/address> ", "exec")],
    "ubiquiti_edge": [("(UBNT EdgeSwitch) >", "exec"), ("(UBNT EdgeSwitch) #", "privilege_exec")],
    "ubiquiti_edgerouter": [("ubnt@er-x:~$ ", "exec"), ("ubnt@er-x# ", "configuration")],
    "hp_procurve": [("HP-2930F-48G> ", "operator"), ("HP-2930F-48G# ", "manager")],
    "aruba_aoscx": [("6300-core> ", "operator"), ("6300-core# ", "manager")],
    "pfsense": [("[2.7.2-RELEASE][admin@pfSense.home.arpa]/root: ", "admin_shell"),
                ("[2.7.2-RELEASE][root@fw.example.net]/root: ", "admin_shell"),
                ("[2.7.2-RELEASE][backup@pfSense.home.arpa]/home/backup: ", "user_shell")],
}

# Lines that must not be taken for a prompt (output that happens to end like one).
NOT_PROMPTS: dict[str, list[str]] = {
    "cisco_ios": ["R1-core#show version", "Configuration register is 0x102", "  --More-- "],
    "juniper_junos": ["admin@mx-edge1> show version", "---(more 48%)---"],
    "mikrotik_routeros": ["[admin@MikroTik] > /system resource print",
                          "Do you want to see the software license? [Y/n]: "],
    "pfsense": ["Enter an option: ", " 8) Shell"],
    "hp_procurve": ["Press any key to continue"],
    "fortinet": ["FGT-HQ # get system status", "--More-- "],
}


def ssh_profiles() -> list[SshProfile]:
    out = []
    for loaded in ProfileRegistry(use_env=False).all():
        if isinstance(loaded.profile, SshProfile):
            out.append(loaded.profile)
    return out


def mode_of(profile: SshProfile, line: str) -> str | None:
    """The first mode whose pattern matches ``line``, as the driver decides it."""
    from evidence_kit.drivers.terminal import last_line

    last = last_line(line)
    for mode in profile.modes:
        if re.search(mode.pattern, last):
            return mode.name
    return None


def test_every_required_profile_is_shipped() -> None:
    names = {p.name for p in ssh_profiles()}
    assert set(REQUIRED) <= names, f"missing: {sorted(set(REQUIRED) - names)}"


@pytest.mark.parametrize("name", sorted(REAL_PROMPTS))
def test_profile_lints_clean(name: str) -> None:
    path = builtin_dir() / f"{name}.yaml"
    [result] = lint([path])
    assert result.ok, result.message
    assert "warning" not in result.message


@pytest.mark.parametrize("profile", ssh_profiles(), ids=lambda p: p.name)
def test_profile_is_complete(profile: SshProfile) -> None:
    # What a reviewer needs to trust the profile: who it is for, and what it proves.
    assert profile.vendor and profile.product and profile.description and profile.notes
    assert profile.identity_commands, "a profile must record something that identifies the device"
    assert profile.exit_commands
    # Read-only identity commands only: nothing that configures, saves, reloads or deletes.
    forbidden = re.compile(
        r"^(?:conf|configure|write|copy|reload|delete|erase|set(?! cli)|commit|request|/system reboot)", re.I
    )
    for command in profile.identity_commands + profile.on_open:
        assert not forbidden.search(command), f"{profile.name}: '{command}' is not read-only"
    if profile.pager is not None:
        assert profile.pager.send


@pytest.mark.parametrize("name", sorted(REAL_PROMPTS))
def test_prompt_patterns_match_the_devices(name: str) -> None:
    profile = ProfileRegistry(use_env=False).get(name).profile
    assert isinstance(profile, SshProfile)
    for line, mode in REAL_PROMPTS[name]:
        assert mode_of(profile, line) == mode, f"{name}: {line!r} should be mode {mode}"
    for line in NOT_PROMPTS.get(name, []):
        assert mode_of(profile, line) is None, f"{name}: {line!r} is not a prompt"


@pytest.mark.parametrize("vendor", sorted(vendor_cli.VENDORS))
def test_simulator_prompts_match_their_profile(vendor: str) -> None:
    """The simulator speaks each profile's language: every prompt it prints is recognised."""
    profile = ProfileRegistry(use_env=False).get(vendor).profile
    assert isinstance(profile, SshProfile)
    spec = vendor_cli.VENDORS[vendor]
    for level, fmt in spec.prompts.items():
        prompt = fmt.format(host=spec.hostname, user="netops")
        found = mode_of(profile, "\r\n" + prompt)
        assert found is not None, f"{vendor}: simulator prompt {prompt!r} ({level}) matches no mode"
        if level == "priv" or len(spec.prompts) == 1:
            expected = profile.mode(profile.expected_mode)
            assert profile.mode(found).privilege >= expected.privilege, f"{vendor}: {prompt!r}"
        else:
            assert profile.mode(found).privilege < profile.mode(profile.expected_mode).privilege
    if profile.pager is not None and spec.more:
        assert re.search(profile.pager.pattern, spec.more), f"{vendor}: pager {spec.more!r}"
    # The simulator knows every identity and pager-off command of the profile.
    known = set(spec.commands) | set(spec.pager_off)
    for command in profile.identity_commands:
        assert command.lower() in known, f"{vendor}: simulator lacks '{command}'"
    for command in profile.on_open:
        assert command.lower() in known, f"{vendor}: simulator lacks '{command}'"


def test_questions_before_the_prompt_are_recognised() -> None:
    reg = ProfileRegistry(use_env=False)
    cases = {
        "pfsense": "Enter an option: ",
        "hp_procurve": "Press any key to continue",
        "mikrotik_routeros": "Do you want to see the software license? [Y/n]: ",
    }
    for name, question in cases.items():
        profile = reg.get(name).profile
        assert isinstance(profile, SshProfile)
        assert any(re.search(i.expect, question) for i in profile.on_connect), name
    mikrotik = reg.get("mikrotik_routeros").profile
    assert isinstance(mikrotik, SshProfile)
    assert mikrotik.username_suffix == "+cte" and mikrotik.line_ending == "\r\n"


def test_builtin_folder_is_the_shipped_one() -> None:
    assert Path(builtin_dir(), "cisco_ios.yaml").is_file()
