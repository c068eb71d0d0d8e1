"""``schedule print|install INVENTORY ...``: the systemd timer (and crontab line) for ``run``.

Thin: checks what a scheduled run would need (the inventory, the signing key, a recipient, the
alerts block, no ``prompt`` secret), builds evidence_kit.schedule.units.Schedule, prints or
installs it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import click

from evidence_kit.cli.options import apply, profiles_option
from evidence_kit.errors import InputError, UsageError

_options = apply([
    click.argument("inventory", type=click.Path(path_type=Path)),
    click.option("--case", "case_dir", type=click.Path(path_type=Path),
                 help="The case every run appends to. Default: cases/<client> beside the inventory."),
    click.option("--archive-dir", type=click.Path(path_type=Path),
                 help="The history folder the runs seal into. Default: archives/<client> beside the inventory."),
    click.option("--sign-key", required=True, type=click.Path(path_type=Path), help="Ed25519 signing key."),
    click.option("--recipient", "-r", "recipients", multiple=True, help="Extra age recipient (repeatable)."),
    click.option("--passphrase-env", metavar="NAME", help="Encrypt to the passphrase in this variable."),
    click.option("--tsa", "tsa_urls", multiple=True, metavar="URL", help="RFC 3161 TSA (repeatable)."),
    click.option("--tsa-ca", "tsa_cas", multiple=True, type=click.Path(path_type=Path), help="Trusted TSA root(s)."),
    click.option("--alerts", "alerts_path", type=click.Path(path_type=Path), help="Alert settings file."),
    click.option("--junit", "junit_path", type=click.Path(path_type=Path), help="JUnit report each run writes."),
    click.option("--only", multiple=True, metavar="NAME", help="Only this target (repeatable)."),
    click.option("--concurrency", type=click.IntRange(1, 256), default=8, show_default=True),
    profiles_option,
    click.option("--every", default="daily", show_default=True, help="How often: hourly, daily, weekly or monthly."),
    click.option("--at", "at", default="02:00", show_default=True, help="HH:MM (minute only, for hourly)."),
    click.option("--on-calendar", metavar="EXPR", help="A systemd OnCalendar= expression instead of --every/--at."),
    click.option("--randomized-delay", type=click.IntRange(0, 86400), default=0, show_default=True,
                 help="Seconds of random delay, so many schedules do not start at one instant."),
    click.option("--name", help="Unit name. Default: evidence-kit-<client>."),
    click.option("--env-file", type=click.Path(path_type=Path),
                 help="EnvironmentFile with the env: secrets. Default: /etc/evidence-kit/<name>.env."),
    click.option("--user", help="Run as this user (User=)."),
    click.option("--timeout", default="4h", show_default=True, help="TimeoutStartSec= of one run."),
    click.option("--log", "log_file", type=click.Path(path_type=Path), help="Where the crontab line appends output."),
    click.option("--credential", "credentials", multiple=True, metavar="NAME:FILE",
                 help="systemd LoadCredential= (repeatable): the inventory reads it as "
                      "file:/run/credentials/<name>.service/NAME."),
])


def _refs(inventory: Any, loaded_alerts: Any) -> list[tuple[str, Any]]:
    refs = [(f"target '{t.name}' field '{f}'", ref) for t in inventory.targets for f, ref in t.secret_refs().items()]
    keepass = inventory.case.keepass
    if keepass is not None and keepass.password is not None:
        refs.append(("field 'case.keepass.password'", keepass.password))
    if loaded_alerts is not None:
        config = loaded_alerts.config
        if config.email is not None and config.email.smtp.password is not None:
            refs.append(("field 'alerts.email.smtp.password'", config.email.smtp.password))
        if config.webhook is not None:
            refs.append(("field 'alerts.webhook.secret'", config.webhook.secret))
            if "://" not in config.webhook.url:
                from evidence_kit.secrets import parse_secret_ref

                refs.append(("field 'alerts.webhook.url'", parse_secret_ref(config.webhook.url)))
    return refs


def build_schedule(inventory: Path, case_dir: Path | None, archive_dir: Path | None, sign_key: Path,
                   recipients: tuple[str, ...], passphrase_env: str | None, tsa_urls: tuple[str, ...],
                   tsa_cas: tuple[Path, ...], alerts_path: Path | None, junit_path: Path | None,
                   only: tuple[str, ...], concurrency: int, profile_dirs: tuple[Path, ...], every: str, at: str,
                   on_calendar: str | None, randomized_delay: int, name: str | None, env_file: Path | None,
                   user: str | None, timeout: str, log_file: Path | None, credentials: tuple[str, ...] = (),
                   **_: Any) -> Any:
    from evidence_kit.case.session import slug
    from evidence_kit.inventory import load_inventory
    from evidence_kit.profiles import ProfileRegistry
    from evidence_kit.schedule.alerts_config import alerts_file, alerts_of_inventory
    from evidence_kit.schedule.units import Schedule
    from evidence_kit.seal.keys import load_signing_key
    from evidence_kit.seal.timestamp import load_roots

    inventory = inventory.absolute()
    inv = load_inventory(inventory, ProfileRegistry(list(profile_dirs)))
    inv.select(list(only))
    load_signing_key(sign_key)
    load_roots(list(tsa_cas))
    if passphrase_env is None and not (recipients or inv.case.recipients):
        raise UsageError("no recipient: list the client in the inventory's case.recipients, or give --recipient")
    loaded = alerts_file(alerts_path) if alerts_path is not None else alerts_of_inventory(inventory)
    env_names: set[str] = {passphrase_env} if passphrase_env else set()
    for label, ref in _refs(inv, loaded):
        if ref.scheme == "prompt":
            source = loaded.file if loaded is not None and "alerts" in label else str(inventory)
            raise InputError(source, f"{label}: `prompt` needs a terminal, and a scheduled run has none; use env:, "
                                     "file: or keepass:")
        if ref.scheme == "env":
            env_names.add(ref.arg)
    client = slug(inv.case.client).lower().replace("_", "-")
    name = name or f"evidence-kit-{client}"
    base = inventory.parent
    args = [str(inventory), "--case", str((case_dir or base / "cases" / client).absolute()),
            "--archive-dir", str((archive_dir or base / "archives" / client).absolute()),
            "--sign-key", str(sign_key.absolute()), "--concurrency", str(concurrency)]
    for recipient in recipients:
        args += ["--recipient", recipient]
    if passphrase_env:
        args += ["--passphrase-env", passphrase_env]
    for url in tsa_urls:
        args += ["--tsa", url]
    for ca in tsa_cas:
        args += ["--tsa-ca", str(ca.absolute())]
    if alerts_path is not None:
        args += ["--alerts", str(alerts_path.absolute())]
    if junit_path is not None:
        args += ["--junit", str(junit_path.absolute())]
    for target in only:
        args += ["--only", target]
    for folder in profile_dirs:
        args += ["--profiles", str(folder.absolute())]
    loaded_credentials = []
    for item in credentials:
        cred_name, sep, cred_file = item.partition(":")
        if not sep or not cred_file:
            raise UsageError(f"--credential {item!r}: give NAME:FILE")
        if not Path(cred_file).is_file():
            raise UsageError(f"--credential {cred_name}: {cred_file} is not a file")
        loaded_credentials.append((cred_name, Path(cred_file).absolute()))
    return Schedule(
        credentials=loaded_credentials,
        name=name, description=f"evidence-kit scheduled run: {inv.case.client} ({inventory.name})", run_args=args,
        working_dir=base, env_file=(env_file or Path("/etc/evidence-kit") / f"{name}.env").absolute(),
        env_names=sorted(env_names), every=every, at=at, on_calendar=on_calendar, randomized_delay=randomized_delay,
        user=user, timeout=timeout, log_file=log_file.absolute() if log_file else None,
    )


@click.group()
def schedule() -> None:
    """Run INVENTORY on a timer: systemd service + timer units, or a crontab line."""


@schedule.command("print")
@_options
@click.option("--json", "as_json", is_flag=True, help="Print the units and the crontab line as JSON.")
def print_units(as_json: bool, **kwargs: Any) -> Any:
    """Print the service and timer units, the EnvironmentFile's names and the crontab line."""
    plan = build_schedule(**kwargs)
    if as_json:
        click.echo(json.dumps(plan.as_dict(), indent=2, sort_keys=True))
        return None
    click.echo(f"# ---- /etc/systemd/system/{plan.name}.service\n{plan.service()}")
    click.echo(f"# ---- /etc/systemd/system/{plan.name}.timer\n{plan.timer()}")
    click.echo(f"# ---- {plan.env_file} (mode 0600; fill in the values)\n{plan.env_template()}")
    click.echo(f"# ---- the crontab line (crontab -e), where there is no systemd\n{plan.crontab()}", nl=False)
    return None


@schedule.command("install")
@_options
@click.option("--unit-dir", type=click.Path(path_type=Path), default=Path("/etc/systemd/system"), show_default=True,
              help="Where the units are written.")
@click.option("--force", is_flag=True, help="Replace units of the same name.")
@click.option("--enable", is_flag=True, help="Then run systemctl daemon-reload and enable --now the timer.")
def install(unit_dir: Path, force: bool, enable: bool, **kwargs: Any) -> Any:
    """Write the units (checked with systemd-analyze verify first) and the EnvironmentFile template."""
    from evidence_kit.schedule.units import verify_units

    plan = build_schedule(**kwargs)
    if not unit_dir.is_dir():
        raise UsageError(f"--unit-dir {unit_dir}: not a folder")
    finals = [unit_dir / f"{plan.name}.service", unit_dir / f"{plan.name}.timer"]
    existing = [p for p in finals if p.exists()]
    if existing and not force:
        raise UsageError(f"{existing[0]}: already exists (give --force to replace it)")
    with tempfile.TemporaryDirectory(prefix="evidence-kit-units-") as tmp:
        for path, text in zip(finals, (plan.service(), plan.timer()), strict=True):
            (Path(tmp) / path.name).write_text(text)
        ok, said = verify_units(Path(tmp), plan.name)
        if not ok:
            raise UsageError(f"systemd-analyze verify refused the generated units: {' '.join(said.split())[:300]}")
        for path in finals:
            shutil.copyfile(Path(tmp) / path.name, path)
            path.chmod(0o644)
    click.echo(f"wrote {finals[0]} and {finals[1]}" + ("" if said.startswith("systemd-analyze not found") else
                                                       " (systemd-analyze verify: clean)"))
    _env_file(plan)
    if enable and Path("/run/systemd/system").is_dir():
        for command in (["systemctl", "daemon-reload"], ["systemctl", "enable", "--now", f"{plan.name}.timer"]):
            proc = subprocess.run(command, capture_output=True, text=True, timeout=60)
            if proc.returncode != 0:
                raise UsageError(f"{' '.join(command)} failed: {' '.join(proc.stderr.split())[:300]}")
        click.echo(f"enabled {plan.name}.timer: systemctl list-timers {plan.name}.timer")
    else:
        why = "systemd is not running here; " if enable else ""
        click.echo(f"{why}next: systemctl daemon-reload && systemctl enable --now {plan.name}.timer")
    return None


def _env_file(plan: Any) -> None:
    path = Path(plan.env_file)
    if path.exists():
        present = {line.split("=", 1)[0].strip() for line in path.read_text(errors="replace").splitlines()
                   if "=" in line and not line.lstrip().startswith("#")}
        missing = [n for n in plan.env_names if n not in present]
        if missing:
            click.echo(f"warning: {path} does not set {', '.join(missing)}", err=True)
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(plan.env_template())
    names = ", ".join(plan.env_names) or "nothing yet"
    click.echo(f"wrote {path} (mode 0600) with empty values for {names}: fill them in")
