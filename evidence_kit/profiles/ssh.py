"""SSH profiles: prompts, privilege modes, pager, identity commands, legacy algorithms.

Modelled on Scrapli's platform definitions: vendors as data, never as code.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from evidence_kit.profiles.base import Model, ProfileBase, Regex
from evidence_kit.profiles.target import HostKeyPin, RoutedTarget, SecretField, TargetBase, TargetProblem


class SshTarget(RoutedTarget):
    """An inventory target captured over SSH (or, when asked in so many words, telnet)."""

    enable_secret: SecretField = None
    key_file: Path | None = None
    key_passphrase: SecretField = None
    host_key: HostKeyPin = Field(None, description="Pinned SSH host key fingerprint, SHA256:...")
    known_hosts: Path | None = None
    legacy: bool = Field(False, description="Allow the profile's legacy algorithms (old devices).")
    key: Literal["agent"] | None = Field(None, description="'agent': sign with a key from SSH_AUTH_SOCK.")
    ssh_config: Path | bool | None = Field(
        None, description="OpenSSH client config for Host aliases (true: ~/.ssh/config).")
    transport: Literal["ssh", "telnet"] = "ssh"
    insecure_telnet: bool = Field(False, description="Required for transport: telnet (no encryption).")


def check_telnet(target: SshTarget) -> None:
    """Telnet only when asked in so many words, and only with what telnet can use."""
    if not target.insecure_telnet:
        raise TargetProblem("insecure_telnet", "transport: telnet sends the user name and password in clear; "
                            "set insecure_telnet: true on the target to allow it")
    if target.password is None:
        raise TargetProblem("password", "a telnet target needs a password")
    for name in ("key_file", "key", "host_key", "ssh_config"):
        if getattr(target, name):
            raise TargetProblem(name, "means nothing over telnet (no keys, no host key)")


class Interaction(Model):
    """Something the device asks before a prompt appears (a menu, 'Press any key')."""

    expect: Regex = Field(description="Regex that shows the question.")
    send: str = Field(description="What to answer (a line ending is added unless 'raw').")
    raw: bool = Field(False, description="Send exactly 'send', without a line ending.")
    optional: bool = Field(True, description="Skip silently if the question never comes.")



class ModeEntry(Model):
    command: str = Field(description="Command that enters the mode, e.g. 'enable'.")
    secret: str | None = Field(
        None, description="Inventory field holding the secret asked for (e.g. 'enable_secret')."
    )
    secret_prompt: Regex = Field(r"(?i)password:\s*$", description="Regex of the secret question.")



class Mode(Model):
    name: str
    pattern: Regex = Field(description="Regex matching the prompt of this mode (multiline).")
    privilege: int = Field(description="Higher is more privileged; compared with expected_mode.")
    enter: ModeEntry | None = Field(None, description="How to reach this mode from a lower one.")



class Pager(Model):
    pattern: Regex = Field(description="Regex of a pager prompt (e.g. '--More--').")
    send: str = Field(" ", description="Key that shows the next page.")



class Legacy(Model):
    """Old algorithms an old device may need; only enabled when the target allows legacy."""

    kex: list[str] = Field(default_factory=list)
    ciphers: list[str] = Field(default_factory=list)
    macs: list[str] = Field(default_factory=list)
    host_key_types: list[str] = Field(default_factory=list)
    pubkey_types: list[str] = Field(default_factory=list)


class SshProfile(ProfileBase):
    driver: ClassVar[str] = "evidence_kit.drivers.ssh:SshDriver"
    target_model: ClassVar[type[TargetBase]] = SshTarget

    kind: Literal["ssh"] = "ssh"
    port: int = Field(22, ge=1, le=65535)
    modes: list[Mode] = Field(min_length=1, description="Prompt modes, lowest privilege first.")
    expected_mode: str = Field(
        description="Mode the credential is expected to reach; below it is login_limited."
    )
    on_connect: list[Interaction] = Field(
        default_factory=list, description="Questions before the first prompt (menus, banners)."
    )
    on_open: list[str] = Field(default_factory=list, description="Commands after login (pager off).")
    identity_commands: list[str] = Field(
        default_factory=list, description="Read-only commands whose output identifies the device."
    )
    pager: Pager | None = None
    failure_patterns: list[Regex] = Field(
        default_factory=list, description="Regexes of command errors (recorded, not fatal)."
    )
    auth_failure_patterns: list[Regex] = Field(
        default_factory=list,
        description="Regexes showing the device refused the credential inside the shell.",
    )
    exit_commands: list[str] = Field(default_factory=lambda: ["exit"])
    line_ending: str = "\n"
    username_suffix: str = Field(
        "", description="Appended to the username at login (MikroTik '+cte' turns off colours)."
    )
    terminal_width: int = Field(200, ge=40, le=1000)
    terminal_height: int = Field(50, ge=10, le=500)
    legacy: Legacy = Field(default_factory=Legacy)

    @model_validator(mode="after")
    def _expected_mode_exists(self) -> SshProfile:
        names = [m.name for m in self.modes]
        if self.expected_mode not in names:
            raise ValueError(f"expected_mode {self.expected_mode!r} is not one of the modes {names}")
        if len(set(names)) != len(names):
            raise ValueError("mode names must be unique")
        return self

    def check_target(self, target: TargetBase) -> None:
        assert isinstance(target, SshTarget)
        for required in ("host", "username"):
            if getattr(target, required) is None:
                raise TargetProblem(required, f"is required for ssh profile '{self.name}'")
        if target.transport == "telnet":
            check_telnet(target)
        elif target.password is None and target.key_file is None and target.key is None:
            raise TargetProblem("password", "an SSH target needs password, key_file or key: agent")

    def mode(self, name: str) -> Mode:
        return next(m for m in self.modes if m.name == name)
